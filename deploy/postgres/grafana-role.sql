-- The read-only database role Grafana signs in as (docs/grafana.md).
--
-- compose.yaml runs it after every `maskwatch migrate` (service `grafana-db-role`), as the owner of the
-- tables, so it is idempotent: the role is created once, and its password and grants are set again each
-- time (a changed GRAFANA_DB_PASSWORD takes effect at the next `docker compose up`). By hand:
--
--   psql -v ON_ERROR_STOP=1 -v role=maskwatch_grafana -v password="$GRAFANA_DB_PASSWORD" \
--        -f deploy/postgres/grafana-role.sql postgresql://maskwatch@HOST/maskwatch
--
-- The role may read the figures and nothing else: the checks, their reasons and retry marks
-- (check_reasons: visitors = attempts - retries), their roll-ups, sites, gates and alerts.
-- Accounts (password hashes), API tokens, notification recipients (webhook secrets), server keys and
-- cameras (RTSP addresses with their credentials) stay out of its reach, and it can write nowhere.

\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\gexec

SELECT format(
    'ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
    :'role', :'password'
)
\gexec

-- Even a statement that slipped through a grant could not write, and a runaway panel is cut short.
SELECT format('ALTER ROLE %I SET default_transaction_read_only = on', :'role')
\gexec
SELECT format('ALTER ROLE %I SET statement_timeout = %L', :'role', '30s')
\gexec

SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role')
\gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'role')
\gexec
SELECT format(
    'GRANT SELECT ON TABLE sites, gates, checks, check_reasons, check_hourly, check_daily, alerts TO %I',
    :'role'
)
\gexec
