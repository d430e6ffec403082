-- Per scope and SageMaker operation: the pace (attempts a second) a sync learned from the
-- service's answers, and when; the next sync starts from it while it is under a day old.
CREATE TABLE sagesync_pace (
    scope text NOT NULL,
    operation text NOT NULL,
    pace double precision,
    learned_at timestamptz,
    PRIMARY KEY (scope, operation)
);
