-- Per scope (credentials × region): how far back the last sync's listing reached, advanced only
-- after the rows it covers are committed, and the account its jobs belong to.
CREATE TABLE sagesync_cursor (
    scope TEXT PRIMARY KEY NOT NULL,
    account_id TEXT,
    newest_creation_time TEXT,
    updated_at TEXT NOT NULL
);
