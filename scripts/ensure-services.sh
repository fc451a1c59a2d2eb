#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on localhost, starting the local ones when they are
# installed but stopped, and make sure the database role the app and tests use exists.
#
# The owner role (default `chatsite`) is neither superuser nor BYPASSRLS: row-level security
# applies to it (the tables it owns have FORCE ROW LEVEL SECURITY). It runs migrations and the
# test suite (which creates its test databases). The runtime role (default `chatsite_app`) owns
# nothing and may only read and write rows: the app can connect as it, so that not even a
# bug can switch the policies off. docs/operations.md "Roles and row-level security".
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGADMIN=${PGADMIN:-postgres}
APP_ROLE=${APP_ROLE:-chatsite}
APP_DB=${APP_DB:-chatsite}
RUNTIME_ROLE=${DATABASE_APP_ROLE:-chatsite_app}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

die() { echo "ensure-services: $*" >&2; exit 1; }

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

pg_up() { pg_isready -q -h "$PGHOST" -p "$PGPORT"; }
redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
  else
    exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && read -r -t 2 reply <&3 \
      && [[ "$reply" == +PONG* ]]
  fi
}

command -v pg_isready >/dev/null 2>&1 || die "PostgreSQL client tools (pg_isready, psql) are not installed: apt-get install postgresql"
if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start || true
    wait_for 30 pg_up || die "PostgreSQL did not come up on $PGHOST:$PGPORT"
  else
    die "PostgreSQL is not running on $PGHOST:$PGPORT and no local cluster is installed"
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "ensure-services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no
    wait_for 30 redis_up || die "Redis did not come up on $REDIS_HOST:$REDIS_PORT"
  else
    die "Redis is not running on $REDIS_HOST:$REDIS_PORT and redis-server is not installed"
  fi
fi

psql_admin() { psql -v ON_ERROR_STOP=1 -qtA -h "$PGHOST" -p "$PGPORT" -U "$PGADMIN" -d postgres "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$APP_ROLE'")" != "1" ]; then
  psql_admin -c "CREATE ROLE \"$APP_ROLE\" LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS NOCREATEROLE"
fi
psql_admin -c "ALTER ROLE \"$APP_ROLE\" NOSUPERUSER NOBYPASSRLS"
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$APP_DB'")" != "1" ]; then
  psql_admin -c "CREATE DATABASE \"$APP_DB\" OWNER \"$APP_ROLE\""
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$RUNTIME_ROLE'")" != "1" ]; then
  psql_admin -c "CREATE ROLE \"$RUNTIME_ROLE\" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
fi
psql_admin -c "ALTER ROLE \"$RUNTIME_ROLE\" NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
# Data access to the app database's tables, now and for tables later migrations create (the
# migrations grant it in every database they build, test databases included, too).
psql_admin -d "$APP_DB" -c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"$RUNTIME_ROLE\"" \
  -c "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"$RUNTIME_ROLE\"" \
  -c "ALTER DEFAULT PRIVILEGES FOR ROLE \"$APP_ROLE\" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \"$RUNTIME_ROLE\"" \
  -c "ALTER DEFAULT PRIVILEGES FOR ROLE \"$APP_ROLE\" IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO \"$RUNTIME_ROLE\""
echo "ensure-services: PostgreSQL ($PGHOST:$PGPORT, roles $APP_ROLE and $RUNTIME_ROLE) and Redis ($REDIS_HOST:$REDIS_PORT) are up"
