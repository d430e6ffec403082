-- Per scope and SageMaker operation: the pace (attempts a second) a sync learned from the
-- service's answers, and when; the next sync starts from it while it is under a day old.
CREATE TABLE sagesync_pace (
    scope TEXT NOT NULL,
    operation TEXT NOT NULL,
    pace REAL,
    learned_at TEXT,
    PRIMARY KEY (scope, operation)
);
