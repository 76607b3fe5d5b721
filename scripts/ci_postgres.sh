#!/usr/bin/env bash
# Make a PostgreSQL 15 server available for the tests (Debian 12, as root, no systemd).
#
# Usage: scripts/ci_postgres.sh [PIDFILE]
#
# - installs postgresql-15 and postgresql-client-15 with apt if they are not installed;
# - starts the 15/main cluster (fsync off: throwaway test data) only if it is down;
# - waits until it accepts connections on 127.0.0.1 (30 s at most);
# - creates the role intranet (password intranet, CREATEDB) and the database
#   intranet_test owned by it, if absent.
#
# If this script started the server, the server's pid is written to PIDFILE (the file is
# left empty if the server was already running), so that the caller stops only a server
# it started (kill -INT = fast shutdown). The last line on stdout is
#   export INTRANET_TEST_POSTGRES_URL=postgresql+psycopg://intranet:intranet@127.0.0.1:5432/intranet_test
# and everything else goes to stderr. Idempotent; never reads standard input.
set -euo pipefail

PG_VERSION=15
PG_CLUSTER=main
PG_HOST=127.0.0.1
PG_PORT=5432
DB_USER=intranet
DB_PASSWORD=intranet
DB_NAME=intranet_test
READY_TIMEOUT=30

pidfile="${1:-}"

log() { printf 'ci_postgres: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, pg_ctlcluster, runuser)"

if [[ -n $pidfile ]]; then
    : >"$pidfile" || die "cannot write the pid file $pidfile"
fi

# --- apt, quietly and without questions -------------------------------------------
apt_install() {
    local logfile opts
    logfile=$(mktemp "${TMPDIR:-/tmp}/ci-apt-postgres.XXXXXX.log")
    export DEBIAN_FRONTEND=noninteractive
    opts=(-y -qq --no-install-recommends
          -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=120
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "apt package lists are empty: apt-get update"
        apt-get update -qq </dev/null >>"$logfile" 2>&1 \
            || { tail -n 40 "$logfile" >&2; die "apt-get update failed (log: $logfile)"; }
    fi
    if ! apt-get install "${opts[@]}" "$@" </dev/null >>"$logfile" 2>&1; then
        log "apt-get install failed; retrying after apt-get update"
        if ! { apt-get update -qq && apt-get install "${opts[@]}" "$@"; } \
                </dev/null >>"$logfile" 2>&1; then
            tail -n 40 "$logfile" >&2
            die "apt-get install $* failed (log: $logfile)"
        fi
    fi
    rm -f "$logfile"
}

is_installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

packages=(postgresql-$PG_VERSION postgresql-client-$PG_VERSION)
missing=()
for p in "${packages[@]}"; do
    is_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    t0=$SECONDS
    apt_install "${missing[@]}"
    log "installed in $((SECONDS - t0)) s"
fi

# --- the cluster --------------------------------------------------------------------
if [[ ! -d /etc/postgresql/$PG_VERSION/$PG_CLUSTER ]]; then
    log "creating the cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster --port "$PG_PORT" --locale C.UTF-8 --encoding UTF8 \
        "$PG_VERSION" "$PG_CLUSTER" </dev/null >&2
fi

# pg_lsclusters -h VERSION CLUSTER: "15 main 5432 down postgres /var/lib/... /var/log/..."
read -r _ _ cluster_port _ _ data_dir _ < <(pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER")
[[ $cluster_port == "$PG_PORT" ]] \
    || die "cluster $PG_VERSION/$PG_CLUSTER listens on port $cluster_port, not $PG_PORT"

set +e
pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status </dev/null >/dev/null 2>&1
status=$?
set -e
case $status in
    0)
        log "cluster $PG_VERSION/$PG_CLUSTER already running: left as it is"
        ;;
    3)
        log "starting cluster $PG_VERSION/$PG_CLUSTER (fsync=off)"
        pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start -- \
            -o "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            </dev/null >&2 || die "pg_ctlcluster start failed; see /var/log/postgresql/"
        pid=$(head -n1 "$data_dir/postmaster.pid" 2>/dev/null || true)
        [[ $pid =~ ^[0-9]+$ ]] || die "no pid in $data_dir/postmaster.pid"
        if [[ -n $pidfile ]]; then
            printf '%s\n' "$pid" >"$pidfile"
        fi
        log "started, pid $pid"
        ;;
    *)
        die "pg_ctlcluster $PG_VERSION $PG_CLUSTER status exited $status"
        ;;
esac

deadline=$((SECONDS + READY_TIMEOUT))
until pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2 </dev/null; do
    ((SECONDS < deadline)) || die "server not ready on $PG_HOST:$PG_PORT after $READY_TIMEOUT s"
    sleep 0.2
done

# --- role and database (idempotent) ------------------------------------------------
cd /   # else psql, run as postgres, complains it cannot enter root's directory
runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >&2 <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    ELSE
        ALTER ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
    END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')
\gexec
SQL

log "ready: database $DB_NAME on $PG_HOST:$PG_PORT"
echo "export INTRANET_TEST_POSTGRES_URL=postgresql+psycopg://$DB_USER:$DB_PASSWORD@$PG_HOST:$PG_PORT/$DB_NAME"
