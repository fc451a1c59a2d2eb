#!/bin/sh
# First start of the postgres container: chatsite's two roles and its database
# (docs/operations.md, "Roles and row-level security").
#
# - chatsite: owns the database and its tables, runs `manage.py migrate` and `seed`. Neither
#   superuser nor BYPASSRLS: the policies apply to it too (FORCE ROW LEVEL SECURITY).
# - chatsite_app: what the web processes connect as. Owns nothing, so it cannot alter or
#   disable the policies; the migrations grant it data access (DATABASE_APP_ROLE).
set -eu
psql -v ON_ERROR_STOP=1 \
    -v owner_password="${CHATSITE_DB_PASSWORD:?}" \
    -v app_password="${CHATSITE_APP_DB_PASSWORD:?}" \
    --username "$POSTGRES_USER" --dbname postgres <<'SQL'
CREATE ROLE chatsite LOGIN PASSWORD :'owner_password' NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
CREATE ROLE chatsite_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
CREATE DATABASE chatsite OWNER chatsite;
SQL
