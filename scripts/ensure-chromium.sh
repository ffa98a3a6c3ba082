#!/usr/bin/env bash
# ensure-chromium.sh prints the path of a Chromium the browser tests
# (e2e/ui_test.go, through playwright-core) can drive headless, and nothing
# else on stdout; progress goes to stderr.
#
# MCPGW_CHROMIUM, when set, is taken as is. Else chromium from PATH (Debian
# installs /usr/bin/chromium); without one, Debian's chromium package is
# installed (apt-get, with sudo unless root). Playwright's own browser
# download is not used: the machines we test on reach Debian's archive,
# not Playwright's CDN.
#
# Idempotent: once installed, it only prints the path.
set -euo pipefail

log() { echo "ensure-chromium: $*" >&2; }

if [[ -n "${MCPGW_CHROMIUM:-}" ]]; then
	echo "$MCPGW_CHROMIUM"
	exit 0
fi
for c in chromium chromium-browser; do
	if p="$(command -v "$c" 2>/dev/null)"; then
		echo "$p"
		exit 0
	fi
done
command -v apt-get >/dev/null || { log "no chromium on PATH and no apt-get to install it: set MCPGW_CHROMIUM"; exit 1; }
sudo=""
[[ "$(id -u)" == 0 ]] || sudo="sudo"
log "installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q chromium >&2 || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q chromium >&2; }
command -v chromium
