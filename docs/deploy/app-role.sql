-- PostgreSQL grants for the role the application connects as (docs/security.md, "Audit log").
--
-- Migrations run as the tables' owner (`sessionary db upgrade` with the owner's URL); the app
-- runs as `sessionary_app`, which owns nothing: it cannot drop, disable or replace the audit
-- triggers, and it is not even granted UPDATE, DELETE or TRUNCATE on audit_events.
-- Run as the owner after every upgrade (a new table needs its grants), e.g.
--   psql "$OWNER_URL" -f docs/deploy/app-role.sql
-- tests/audit/test_append_only.py::TestANonOwnerAppRole runs this file as written.
GRANT USAGE ON SCHEMA public TO sessionary_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO sessionary_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO sessionary_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM sessionary_app;
REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM sessionary_app;
