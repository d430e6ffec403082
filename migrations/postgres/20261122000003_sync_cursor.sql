-- Per scope (credentials × region): how far back the last sync's listing reached, advanced only
-- after the rows it covers are committed, and the account its jobs belong to.
CREATE TABLE sagesync_cursor (
    scope text PRIMARY KEY,
    account_id text,
    newest_creation_time timestamptz,
    updated_at timestamptz NOT NULL
);
