//! The child tables as projections of the job row just written, computed by the database.
//!
//! Key/value rows, metrics and status transitions are nothing but the `hyper_parameters`,
//! `environment`, `tags`, `final_metric_data_list` and `secondary_status_transitions` columns
//! spread out; instance usage is `resource_config`'s instance groups with the job's billable
//! time, what the cost reports sum. Deriving them in SQL from the stored row means they can never
//! disagree with it, and costs one statement per table per batch instead of binding every pair
//! from the client.
//! Only jobs this batch actually wrote (their `synced_at` is this run's) are touched: a job whose
//! `raw` did not change keeps its rows as they are.

use super::Backend;
use crate::flatten::columns::{JOB_TABLE, KV_TABLE, METRIC_TABLE, TRANSITION_TABLE, USAGE_TABLE};

pub const TABLES: [&str; 4] = [KV_TABLE, METRIC_TABLE, TRANSITION_TABLE, USAGE_TABLE];

/// The columns of [`USAGE_TABLE`] copied from the job row as they are.
const USAGE_COMMON: &str = "training_job_name, account_id, region, \
    training_job_status, creation_time, training_start_time, enable_managed_spot_training, \
    deleted_at, tags";

/// The job columns each child table is derived from.
fn sources(table: &str) -> String {
    match table {
        KV_TABLE => "hyper_parameters, environment, tags".to_string(),
        METRIC_TABLE => "final_metric_data_list".to_string(),
        USAGE_TABLE => format!("{USAGE_COMMON}, billable_time_in_seconds, resource_config"),
        _ => "secondary_status_transitions".to_string(),
    }
}

/// The keys of the jobs written in this batch, with `columns` (none: the keys alone). `n`
/// placeholders for job keys, then, `by_run`, one for the run's `synced_at` (without it, every
/// one of the jobs: a re-derivation from `raw` rewrites them all).
fn changed(backend: Backend, n: usize, by_run: bool, columns: &str) -> String {
    let run = if by_run {
        format!(" AND synced_at = {}", backend.placeholders(n + 1, 1))
    } else {
        String::new()
    };
    let columns = if columns.is_empty() {
        String::new()
    } else {
        format!(", {columns}")
    };
    format!(
        "SELECT _key{columns} FROM {JOB_TABLE} WHERE _key IN ({}){run}",
        backend.placeholders(1, n),
    )
}

/// Removes the child rows of the jobs written in this batch.
pub fn delete(backend: Backend, table: &str, n: usize, by_run: bool) -> String {
    format!(
        "DELETE FROM {table} WHERE training_job_arn IN ({})",
        changed(backend, n, by_run, "")
    )
}

/// Inserts the child rows of the jobs written in this batch.
pub fn insert(backend: Backend, table: &str, n: usize, by_run: bool) -> String {
    let c = changed(backend, n, by_run, &sources(table));
    match (backend, table) {
        (Backend::Sqlite, KV_TABLE) => format!(
            "WITH c AS ({c}) INSERT INTO {KV_TABLE} (training_job_arn, kind, key, value) \
             SELECT c._key, 'hyper_parameters', e.key, e.value FROM c, json_each(c.hyper_parameters) e \
             UNION ALL SELECT c._key, 'environment', e.key, e.value FROM c, json_each(c.environment) e \
             UNION ALL SELECT c._key, 'tags', e.key, e.value FROM c, json_each(c.tags) e"
        ),
        (Backend::Postgres, KV_TABLE) => format!(
            "WITH c AS ({c}) INSERT INTO {KV_TABLE} (training_job_arn, kind, key, value) \
             SELECT c._key, 'hyper_parameters', e.key, e.value FROM c, jsonb_each_text(c.hyper_parameters) e \
             UNION ALL SELECT c._key, 'environment', e.key, e.value FROM c, jsonb_each_text(c.environment) e \
             UNION ALL SELECT c._key, 'tags', e.key, e.value FROM c, jsonb_each_text(c.tags) e"
        ),
        (Backend::Sqlite, METRIC_TABLE) => format!(
            "WITH c AS ({c}) INSERT INTO {METRIC_TABLE} (training_job_arn, metric_name, value, timestamp) \
             SELECT c._key, coalesce(json_extract(e.value, '$.MetricName'), ''), \
             json_extract(e.value, '$.Value'), json_extract(e.value, '$.Timestamp') \
             FROM c, json_each(c.final_metric_data_list) e"
        ),
        (Backend::Postgres, METRIC_TABLE) => format!(
            "WITH c AS ({c}) INSERT INTO {METRIC_TABLE} (training_job_arn, metric_name, value, timestamp) \
             SELECT c._key, coalesce(e->>'MetricName', ''), (e->>'Value')::double precision, \
             (e->>'Timestamp')::timestamptz \
             FROM c, jsonb_array_elements(c.final_metric_data_list) e"
        ),
        // A job of one instance type is one group: resource_config itself.
        (Backend::Sqlite, USAGE_TABLE) => format!(
            "WITH c AS ({c}) INSERT INTO {USAGE_TABLE} (training_job_arn, {USAGE_COMMON}, instance_group_name, \
             instance_type, instance_count, billable_instance_seconds, seq, month) \
             SELECT c._key, {USAGE_COMMON}, \
             json_extract(g.value, '$.InstanceGroupName'), json_extract(g.value, '$.InstanceType'), \
             json_extract(g.value, '$.InstanceCount'), \
             coalesce(billable_time_in_seconds, 0) * coalesce(json_extract(g.value, '$.InstanceCount'), 0), \
             CASE WHEN json_array_length(resource_config, '$.InstanceGroups') > 0 THEN g.key + 1 ELSE 0 END, \
             substr(coalesce(training_start_time, creation_time), 1, 7) \
             FROM c, json_each(CASE WHEN json_array_length(resource_config, '$.InstanceGroups') > 0 \
             THEN json_extract(resource_config, '$.InstanceGroups') \
             ELSE json_array(json(coalesce(resource_config, 'null'))) END) g"
        ),
        (Backend::Postgres, USAGE_TABLE) => format!(
            "WITH c AS ({c}) INSERT INTO {USAGE_TABLE} (training_job_arn, {USAGE_COMMON}, instance_group_name, \
             instance_type, instance_count, billable_instance_seconds, seq, month) \
             SELECT c._key, {USAGE_COMMON}, \
             g.e->>'InstanceGroupName', g.e->>'InstanceType', (g.e->>'InstanceCount')::bigint, \
             coalesce(billable_time_in_seconds, 0) * coalesce((g.e->>'InstanceCount')::bigint, 0), \
             CASE WHEN jsonb_typeof(resource_config->'InstanceGroups') = 'array' \
             AND jsonb_array_length(resource_config->'InstanceGroups') > 0 THEN g.seq ELSE 0 END, \
             to_char(coalesce(training_start_time, creation_time) AT TIME ZONE 'UTC', 'YYYY-MM') \
             FROM c CROSS JOIN LATERAL jsonb_array_elements(CASE \
             WHEN jsonb_typeof(resource_config->'InstanceGroups') = 'array' \
             AND jsonb_array_length(resource_config->'InstanceGroups') > 0 \
             THEN resource_config->'InstanceGroups' ELSE jsonb_build_array(resource_config) END) \
             WITH ORDINALITY AS g(e, seq)"
        ),
        (Backend::Sqlite, _) => format!(
            "WITH c AS ({c}) INSERT INTO {TRANSITION_TABLE} \
             (training_job_arn, seq, status, start_time, end_time, status_message) \
             SELECT c._key, e.key + 1, json_extract(e.value, '$.Status'), json_extract(e.value, '$.StartTime'), \
             json_extract(e.value, '$.EndTime'), json_extract(e.value, '$.StatusMessage') \
             FROM c, json_each(c.secondary_status_transitions) e"
        ),
        (Backend::Postgres, _) => format!(
            "WITH c AS ({c}) INSERT INTO {TRANSITION_TABLE} \
             (training_job_arn, seq, status, start_time, end_time, status_message) \
             SELECT c._key, t.seq, t.e->>'Status', (t.e->>'StartTime')::timestamptz, \
             (t.e->>'EndTime')::timestamptz, t.e->>'StatusMessage' \
             FROM c, jsonb_array_elements(c.secondary_status_transitions) WITH ORDINALITY AS t(e, seq)"
        ),
    }
}
