#!/bin/sh
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d).
# The services connect as an application role that owns the voiceassist database (each service
# then creates its own schema through its migrations); Keycloak gets a role and database of its
# own; the superuser is kept for administration. Passwords come from deploy/compose/.env.
set -eu

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v app_password="$VOICEASSIST_DB_PASSWORD" \
    -v keycloak_password="$KEYCLOAK_DB_PASSWORD" <<'SQL'
CREATE ROLE voiceassist LOGIN PASSWORD :'app_password';
CREATE DATABASE voiceassist OWNER voiceassist;
CREATE ROLE keycloak LOGIN PASSWORD :'keycloak_password';
CREATE DATABASE keycloak OWNER keycloak;
\connect voiceassist
-- pgvector needs a superuser to install; the local runtime installs it the same way.
CREATE EXTENSION IF NOT EXISTS vector;
SQL
