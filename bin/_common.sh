# shellcheck shell=bash
# Shared helpers for bin/demo and bin/test. Sourced, never executed: the callers own `set -euo pipefail`.
#
# Everything here is idempotent and fast when there is nothing to do, so both scripts can be run
# again and again on a developer machine and still work on a fresh clone / fresh CI machine.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
PY="$VENV/bin/python"

# Local test services. Only ever bound to 127.0.0.1; the password only keeps libpq's password
# authentication (Debian's default for TCP connections) happy, it protects nothing.
PG_HOST=127.0.0.1
PG_PORT=5432
PG_USER=appraisal
PG_PASSWORD="${APPRAISAL_PG_PASSWORD:-appraisal-local}"
PG_DB=appraisal
REDIS_HOST=127.0.0.1
REDIS_PORT=6379

log() { printf '\n\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\n\033[1;31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# Runs `apt-get install` for the given packages. `apt-get update` first, once per script, because a
# fresh Debian image has empty package lists. The lock timeout makes us wait for an unattended
# apt/dpkg run instead of failing on "Could not get lock".
_APT_UPDATED=0
apt_install() {
    [ "$(id -u)" = 0 ] || die "need root to apt-get install $*; install them yourself or run as root"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$_APT_UPDATED" = 0 ]; then
        apt-get -o DPkg::Lock::Timeout=600 -qq update
        _APT_UPDATED=1
    fi
    log "apt-get install $*"
    apt-get -o DPkg::Lock::Timeout=600 -y -qq install --no-install-recommends "$@" >/dev/null
}

# The requirement file plus every file it pulls in with `-r`, one path per line.
_requirement_closure() {
    local file="$1" dir inc
    echo "$file"
    dir="$(dirname "$file")"
    # `|| true`: grep exits 1 when a file includes nothing, which is normal.
    { grep -E '^[[:space:]]*-r[[:space:]]+' "$file" || true; } | sed -E 's/^[[:space:]]*-r[[:space:]]+//; s/[[:space:]]+$//' |
        while read -r inc; do _requirement_closure "$dir/$inc"; done
}

_requirements_hash() {
    # The python version is part of the key: a venv rebuilt on another interpreter must reinstall.
    { _requirement_closure "$1" | xargs cat; "$PY" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1
}

_stamp_file() { echo "$VENV/.installed-$(basename "$1").sha256"; }

# ensure_venv REQUIREMENTS_FILE: creates .venv when missing (or broken) and pip-installs the file,
# skipping pip entirely when the stamp in .venv says exactly these requirements are installed.
ensure_venv() {
    local req="$REPO_ROOT/$1" stamp want inc
    if [ -d "$VENV" ] && ! "$PY" -c '' 2>/dev/null; then
        log "Removing a broken .venv (its interpreter no longer runs)"
        rm -rf "$VENV"
    fi
    if [ ! -d "$VENV" ]; then
        log "Creating .venv"
        if ! python3 -m venv "$VENV" 2>/dev/null; then
            # Debian ships `venv` without ensurepip unless python3-venv is installed.
            rm -rf "$VENV"
            command -v python3 >/dev/null || apt_install python3
            apt_install python3-venv
            python3 -m venv "$VENV"
        fi
    fi
    stamp="$(_stamp_file "$req")"
    want="$(_requirements_hash "$req")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    log "pip install -r $1"
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$req"
    # Mark the file and everything it includes as installed, so e.g. bin/demo after bin/test
    # does not run pip again for requirements.txt.
    while read -r inc; do
        _requirements_hash "$inc" >"$(_stamp_file "$inc")"
    done < <(_requirement_closure "$req")
}

# ensure_chromium: Debian's Chromium for the browser test (tests/test_browser.py drives it with
# Playwright; no browser is ever downloaded) and a CJK font, so its screenshots are readable.
# Without root nothing can be installed: say so and go on; the browser test then skips, or fails
# where it must run (CI=true / REQUIRE_SERVICES=1).
CHROMIUM=/usr/bin/chromium
ensure_chromium() {
    local missing=()
    [ -x "$CHROMIUM" ] || missing+=(chromium)
    dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q 'install ok installed' ||
        missing+=(fonts-wqy-microhei)
    if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            log "not root: cannot apt-get install ${missing[*]} for the browser test"
        else
            DEBIAN_FRONTEND=noninteractive apt_install "${missing[@]}"
        fi
    fi
    ensure_axe
}

# ensure_axe: axe-core for the accessibility test (tests/test_accessibility.py injects
# tests/browser/node_modules/axe-core/axe.min.js into each page), at the version the lock file pins:
# `npm ci` when it is missing or the lock file changed since. Without npm nothing is installed (said
# so); the test then skips, or fails where it must run (CI=true / REQUIRE_SERVICES=1).
BROWSER_TESTS="$REPO_ROOT/tests/browser"
ensure_axe() {
    local lock="$BROWSER_TESTS/package-lock.json" stamp="$BROWSER_TESTS/node_modules/.installed-lock.sha256" want
    want="$(sha256sum "$lock" | cut -d' ' -f1)"
    if [ -f "$BROWSER_TESTS/node_modules/axe-core/axe.min.js" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if ! command -v npm >/dev/null; then
        if [ "$(id -u)" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt_install npm
        else
            log "not root and no npm: cannot install axe-core for the accessibility test"
            return 0
        fi
    fi
    log "npm ci (axe-core for the accessibility test)"
    (cd "$BROWSER_TESTS" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" >"$stamp"
}

_wait_for() {
    # _wait_for SECONDS DESCRIPTION CMD...: polls CMD once a second until it succeeds.
    local seconds="$1" what="$2" i
    shift 2
    for ((i = 0; i < seconds; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    die "$what did not come up within ${seconds}s"
}

# From / so psql does not complain that the postgres user cannot read the current directory.
_as_postgres() { (cd / && runuser -u postgres -- "$@"); }

# ensure_postgres: a PostgreSQL server on 127.0.0.1:5432 with role and database `appraisal`.
ensure_postgres() {
    local version
    if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; then
        if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
            apt_install postgresql
        fi
        # Newest installed major version; Debian 12 has 15.
        version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)"
        [ -n "$version" ] || die "PostgreSQL binaries not found under /usr/lib/postgresql"
        if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version main"; then
            # The package normally creates the cluster; a trimmed image may not have.
            log "Creating PostgreSQL $version cluster 'main'"
            pg_createcluster "$version" main >/dev/null
        fi
        # The package's own post-install may have started it already (where an init system runs).
        if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
            log "Starting PostgreSQL $version"
            # No systemd in containers/CI: pg_ctlcluster starts the server directly as its owner.
            pg_ctlcluster "$version" main start || service postgresql start
        fi
        _wait_for 30 "PostgreSQL" pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    fi
    if id postgres >/dev/null 2>&1; then
        # Idempotent: create the role once, but always (re)set the password and CREATEDB, which the
        # test runner needs to create and drop test_appraisal.
        _as_postgres psql -q -v ON_ERROR_STOP=1 -v user="$PG_USER" -v pw="$PG_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'user') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user')
\gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'pw';
SQL
        if [ -z "$(_as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
            _as_postgres createdb -O "$PG_USER" "$PG_DB"
        fi
    fi
    # Prove the credentials work over TCP before pytest finds out the hard way.
    PGPASSWORD="$PG_PASSWORD" psql -q -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c 'SELECT 1' >/dev/null ||
        die "cannot log in to PostgreSQL as $PG_USER on $PG_HOST:$PG_PORT"
}

# ensure_redis: a Redis server answering on 127.0.0.1:6379.
ensure_redis() {
    if redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        return 0
    fi
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        apt_install redis-server redis-tools
    fi
    # The package may have started its own instance already (on distros with a working init).
    if ! redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        log "Starting redis-server on $REDIS_HOST:$REDIS_PORT"
        # --save '' / --dir /tmp: a test broker needs no snapshots, and none land in the repo.
        redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save '' --appendonly no \
            --dir /tmp --logfile /tmp/redis-appraisal-test.log >/dev/null
    fi
    _wait_for 30 "Redis" sh -c "redis-cli -h '$REDIS_HOST' -p '$REDIS_PORT' ping | grep -q PONG"
}

pg_database_url() {
    # Percent-encode the password so any value of APPRAISAL_PG_PASSWORD makes a valid URL.
    local pw
    pw="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PG_PASSWORD")"
    echo "postgres://$PG_USER:$pw@$PG_HOST:$PG_PORT/$PG_DB"
}

redis_broker_url() { echo "redis://$REDIS_HOST:$REDIS_PORT/0"; }

# ensure_replica: a streaming read replica of the primary on 127.0.0.1:5433 (core.replica sends the
# heavy reads there): Debian cluster "<version> replica", its data directory made by
# `pg_basebackup -R` from the primary (a standby.signal and the primary_conninfo), streaming over
# the primary's Unix socket as the postgres user (peer authentication, no password). Quick when the
# replica already streams; rebuilt from a fresh base backup when it is not a standby or cannot catch
# up. Needs ensure_postgres first and root (the clusters belong to the postgres user).
PG_REPLICA_PORT=5433
PG_REPLICA_CLUSTER=replica

_replica_sql() { _as_postgres psql -X -p "$PG_REPLICA_PORT" -tAqc "$1" 2>/dev/null; }

_replica_streaming() {
    pg_isready -q -h "$PG_HOST" -p "$PG_REPLICA_PORT" 2>/dev/null &&
        [ "$(_replica_sql 'SELECT pg_is_in_recovery()')" = t ] &&
        [ "$(_replica_sql 'SELECT status FROM pg_stat_wal_receiver')" = streaming ]
}

# _poll SECONDS CMD...: like _wait_for, but returns 1 instead of dying.
_poll() {
    local seconds="$1" i
    shift
    for ((i = 0; i < seconds; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    return 1
}

# The primary lets a standby stream from it: wal_level replica (PostgreSQL's default), WAL senders,
# and a pg_hba.conf line for local replication connections. Each is changed only when missing; a
# changed wal_level/max_wal_senders needs a restart of the primary, done here.
_primary_allows_replication() {
    local version="$1" restart=0 hba
    if [ "$(_as_postgres psql -X -tAc 'SHOW wal_level')" = minimal ]; then
        _as_postgres psql -X -qc "ALTER SYSTEM SET wal_level = replica"
        restart=1
    fi
    if [ "$(_as_postgres psql -X -tAc 'SHOW max_wal_senders')" -lt 2 ]; then
        _as_postgres psql -X -qc "ALTER SYSTEM SET max_wal_senders = 10"
        restart=1
    fi
    hba="$(_as_postgres psql -X -tAc 'SHOW hba_file')"
    if ! grep -Eq '^[[:space:]]*local[[:space:]]+replication[[:space:]]+(all|postgres)[[:space:]]+peer' "$hba"; then
        log "Allowing local replication connections in $hba"
        # First match wins in pg_hba.conf: the line goes on top.
        sed -i '1i local   replication     postgres                                peer  # ensure_replica' "$hba"
        _as_postgres psql -X -qc 'SELECT pg_reload_conf()' >/dev/null
    fi
    if [ "$restart" = 1 ]; then
        log "Restarting PostgreSQL $version main (replication settings)"
        pg_ctlcluster "$version" main restart
        _wait_for 30 "PostgreSQL" pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
    fi
    # The services test pauses and resumes replay on the replica as the application's role. Grants
    # on functions are per database: in $PG_DB and in template1, which the test databases are
    # copied from; made on the primary, they reach the replica with everything else.
    local db
    for db in template1 "$PG_DB"; do
        _as_postgres psql -X -q -d "$db" -v user="$PG_USER" <<'SQL'
GRANT EXECUTE ON FUNCTION pg_wal_replay_pause(), pg_wal_replay_resume(), pg_is_wal_replay_paused() TO :"user";
SQL
    done
}

ensure_replica() {
    local version datadir
    [ "$(id -u)" = 0 ] || die "need root to set up the PostgreSQL replica (a second cluster owned by postgres)"
    if _replica_streaming; then
        return 0
    fi
    version="$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -1)"
    _primary_allows_replication "$version"
    if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$version $PG_REPLICA_CLUSTER"; then
        log "Creating PostgreSQL $version cluster '$PG_REPLICA_CLUSTER' on port $PG_REPLICA_PORT"
        pg_createcluster "$version" "$PG_REPLICA_CLUSTER" -p "$PG_REPLICA_PORT" >/dev/null
    fi
    datadir="$(pg_lsclusters -h | awk -v v="$version" -v c="$PG_REPLICA_CLUSTER" '$1 == v && $2 == c {print $6}')"
    [ -n "$datadir" ] || die "no data directory for PostgreSQL cluster $version $PG_REPLICA_CLUSTER"
    # An existing standby that was only stopped: start it and give it a moment to catch up.
    if [ -f "$datadir/standby.signal" ]; then
        pg_isready -q -h "$PG_HOST" -p "$PG_REPLICA_PORT" 2>/dev/null || pg_ctlcluster "$version" "$PG_REPLICA_CLUSTER" start || true
        if _poll 20 _replica_streaming; then
            return 0
        fi
    fi
    log "Making the replica: pg_basebackup -R from the primary into $datadir"
    pg_ctlcluster "$version" "$PG_REPLICA_CLUSTER" stop -m fast 2>/dev/null || true
    find "$datadir" -mindepth 1 -delete
    _as_postgres pg_basebackup -h /var/run/postgresql -p "$PG_PORT" -D "$datadir" -R -X stream -c fast
    pg_ctlcluster "$version" "$PG_REPLICA_CLUSTER" start
    _poll 60 _replica_streaming || die "the replica on port $PG_REPLICA_PORT does not stream from the primary (see /var/log/postgresql/postgresql-$version-$PG_REPLICA_CLUSTER.log)"
}

pg_replica_url() {
    local pw
    pw="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$PG_PASSWORD")"
    echo "postgres://$PG_USER:$pw@$PG_HOST:$PG_REPLICA_PORT/$PG_DB"
}
