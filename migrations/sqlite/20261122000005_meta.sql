-- sagesync's own facts about the database:
-- flatten_version   the version of the response-to-row mapping every stored row was derived with;
-- reflatten_after   while rows are re-derived from raw after an upgrade, the last _key done;
-- unredacted        set while rows may hold values the default redaction would hide.
CREATE TABLE sagesync_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
