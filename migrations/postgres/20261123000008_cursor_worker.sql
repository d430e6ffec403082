-- The worker (host:pid) that last completed each scope: several workers share the scopes of one
-- Postgres database, and one that finds a scope completed by another since it started skips it.
ALTER TABLE sagesync_cursor ADD COLUMN worker text;
