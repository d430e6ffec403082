-- The (key, value) index on tags (migration 6) cost SQLite loads about 13 % on its own: three
-- rows per job inserted at random places of a B-tree ordered by value, then by the long ARN
-- (BENCHMARKS.md). It serves only ad-hoc tag lookups in the key/value table, no canned report
-- (cost-by-tag reads the usage rows' own tags), so SQLite leaves it to those who want it:
--   CREATE INDEX sagemaker_training_job_kv_tags ON sagemaker_training_job_kv (key, value)
--       WHERE kind = 'tags';
-- Postgres keeps it: its loads stay within 10 % with it.
DROP INDEX IF EXISTS sagemaker_training_job_kv_tags;
