#!/usr/bin/env bash
# ensure-postgres.sh runs the PostgreSQL the store's tests (and CI) use, and
# prints its URL on stdout and nothing else there; progress goes to stderr.
#
#   scripts/ensure-postgres.sh [start]   start it if needed, print the URL
#   scripts/ensure-postgres.sh url       print the URL of the one started
#   scripts/ensure-postgres.sh stop      stop it (the data stays)
#   scripts/ensure-postgres.sh destroy   stop it and delete its directory
#                                        (only with MCPGW_PG_PORT set: a
#                                        test's private cluster, never the
#                                        default one by accident)
#
# Each port is its own cluster, so a test may start a private one on a free
# port (MCPGW_PG_PORT=<port> ... start), stop and start it again to
# simulate an outage, and destroy it, while other tests use the default.
#
# The URL is postgres://mcpgw:<password>@127.0.0.1:$PORT/mcpgw?sslmode=disable;
# the role mcpgw may create databases (each test makes its own).
#
# 1. initdb comes from PATH or /usr/lib/postgresql/*/bin; without one,
#    Debian's postgresql package is installed (apt-get, with sudo unless root).
# 2. The cluster lives in $REPO/.pgdata/$PORT (gitignored): data/, the
#    socket directory, the log and the generated password. PostgreSQL refuses
#    to run as root, so as root it runs as the package's `postgres` user, and
#    in /tmp/mcpgw-pg-$PORT when that user cannot reach the repository.
# 3. It listens on 127.0.0.1:$PORT only (MCPGW_PG_PORT, default 25432) and on
#    a Unix socket in that directory, which only its owner can enter; fsync is
#    off, because this cluster holds test data only. The default is below
#    Linux's ephemeral port range (32768-60999): a port in it (55432 was)
#    can be held by any test's or bench's port-0 listener at the moment
#    the cluster starts, which then fails with "Address already in use".
#
# Idempotent: a second start only checks that it answers.
set -euo pipefail

PORT="${MCPGW_PG_PORT:-25432}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
CMD="${1:-start}"

log() { echo "ensure-postgres: $*" >&2; }
die() { log "$*"; exit 1; }

# as_pg runs a command as the user the cluster belongs to.
if [[ "$(id -u)" == 0 ]]; then
	as_pg() {
		if command -v runuser >/dev/null; then
			runuser -u postgres -- "$@"
		else
			su postgres -s /bin/sh -c '"$0" "$@"' -- "$@"
		fi
	}
else
	as_pg() { "$@"; }
fi

# find_bin prints the directory of initdb, pg_ctl and postgres, if any.
find_bin() {
	local d
	if d="$(command -v initdb 2>/dev/null)"; then
		dirname "$(readlink -f "$d")"
		return 0
	fi
	d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
	[[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

install_postgres() {
	local sudo=()
	[[ "$(id -u)" == 0 ]] || sudo=(sudo)
	log "initdb not found: installing Debian's postgresql package"
	export DEBIAN_FRONTEND=noninteractive
	"${sudo[@]}" apt-get install -y -q postgresql >&2 ||
		{ "${sudo[@]}" apt-get update -q >&2 && "${sudo[@]}" apt-get install -y -q postgresql >&2; }
}

# The cluster's directory; as root it must be one the postgres user reaches.
ROOT="$REPO/.pgdata/$PORT"
if [[ "$(id -u)" == 0 ]] && id postgres >/dev/null 2>&1 && ! as_pg test -x "$REPO"; then
	ROOT="/tmp/mcpgw-pg-$PORT"
fi
DATA="$ROOT/data"
SOCK="$ROOT/socket"
PWFILE="$ROOT/password"
LOGFILE="$ROOT/postgres.log"

url() {
	[[ -s "$PWFILE" ]] || die "no cluster in $ROOT yet: run scripts/ensure-postgres.sh first"
	echo "postgres://mcpgw:$(cat "$PWFILE")@127.0.0.1:$PORT/mcpgw?sslmode=disable"
}

running() { [[ -f "$DATA/postmaster.pid" ]] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

case "$CMD" in
url)
	url
	exit 0
	;;
stop)
	BIN="$(find_bin)" || die "PostgreSQL is not installed"
	if running; then
		as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
	else
		log "not running"
	fi
	exit 0
	;;
destroy)
	[[ -n "${MCPGW_PG_PORT:-}" ]] || die "destroy needs MCPGW_PG_PORT (it deletes that port's cluster)"
	if BIN="$(find_bin)" && running; then
		as_pg "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >&2
	fi
	rm -rf "$ROOT"
	exit 0
	;;
start) ;;
*) die "usage: $0 [start|url|stop|destroy]" ;;
esac

BIN="$(find_bin)" || { install_postgres && BIN="$(find_bin)"; } || die "no initdb after installing postgresql"
[[ -n "$BIN" ]] || die "no initdb after installing postgresql"
if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
	die "running as root, and there is no postgres user to run PostgreSQL as"
fi

mkdir -p "$ROOT"
if [[ ! -s "$PWFILE" ]]; then
	(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$PWFILE")
fi
if [[ "$(id -u)" == 0 ]]; then
	mkdir -p "$DATA" "$SOCK"
	chown postgres: "$DATA" "$SOCK"
else
	mkdir -p "$DATA" "$SOCK"
fi
chmod 700 "$DATA" "$SOCK"

if [[ ! -f "$DATA/PG_VERSION" ]]; then
	log "initdb in $DATA"
	as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
		--auth-local=trust --auth-host=scram-sha-256 >&2
fi

if running && as_pg "$BIN/pg_isready" -q -h "$SOCK" -p "$PORT"; then
	log "already running on 127.0.0.1:$PORT ($DATA)"
else
	log "starting on 127.0.0.1:$PORT ($DATA)"
	# A log file the cluster's user can write.
	touch "$LOGFILE"
	[[ "$(id -u)" == 0 ]] && chown postgres: "$LOGFILE"
	if ! as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
		start >&2; then
		tail -n 20 "$LOGFILE" >&2 || true
		die "PostgreSQL did not start (log: $LOGFILE)"
	fi
fi

for _ in $(seq 1 60); do
	as_pg "$BIN/pg_isready" -q -h "$SOCK" -p "$PORT" && break
	sleep 0.5
done
as_pg "$BIN/pg_isready" -q -h "$SOCK" -p "$PORT" || die "PostgreSQL does not answer on $SOCK"

# The role and database; the password is (re)set each time so that the
# password file and the cluster always agree.
PW="$(cat "$PWFILE")"
as_pg "$BIN/psql" -q -X -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >&2 <<SQL
SELECT format('CREATE ROLE mcpgw LOGIN CREATEDB PASSWORD %L', '$PW')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mcpgw') \gexec
ALTER ROLE mcpgw LOGIN CREATEDB PASSWORD '$PW';
SELECT 'CREATE DATABASE mcpgw OWNER mcpgw'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mcpgw') \gexec
SQL

url
