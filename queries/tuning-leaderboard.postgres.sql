-- description: The training jobs of a hyperparameter tuning job ranked by a final metric, with their hyperparameters
-- param tuning_job: the tuning job's ARN or name
-- param metric?: the metric to rank by (default: each job's _tuning_objective_metric hyperparameter)
-- param order = desc: desc (higher is better, e.g. accuracy) or asc (lower is better, e.g. loss)
WITH jobs AS (
    SELECT j._key, j.training_job_name, j.training_job_status, j.hyper_parameters,
           coalesce(CAST(:metric AS text), trim(both '"' FROM j.hyper_parameters->>'_tuning_objective_metric')) AS metric
    FROM sagemaker_training_job j
    WHERE j.tuning_job_arn = CAST(:tuning_job AS text)
       OR split_part(j.tuning_job_arn, ':hyper-parameter-tuning-job/', 2) = lower(CAST(:tuning_job AS text))
)
SELECT
    row_number() OVER (ORDER BY
        CASE WHEN lower(CAST(:order AS text)) = 'asc' THEN m.value END ASC,
        CASE WHEN lower(CAST(:order AS text)) <> 'asc' THEN m.value END DESC,
        jobs.training_job_name) AS rank,
    jobs.training_job_name,
    jobs.training_job_status,
    jobs.metric AS metric_name,
    m.value AS metric_value,
    jobs.hyper_parameters
FROM jobs
JOIN sagemaker_training_job_metric m ON m.training_job_arn = jobs._key AND m.metric_name = jobs.metric
ORDER BY rank
