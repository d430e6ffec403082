//! The child tables as projections of the job row just written, computed by the database.
//!
//! Key/value rows, metrics and status transitions are nothing but the `hyper_parameters`,
//! `environment`, `tags`, `final_metric_data_list` and `secondary_status_transitions` columns
//! spread out; instance usage is `resource_config`'s instance groups with the job's billable
//! time, what the cost reports sum, and the job's GPU utilization once it is read (the one
//! value not from the job row, [`gpu_share`]). Deriving them in SQL from the stored row means
//! they can never disagree with it. Only jobs actually written are touched: a job whose `raw`
//! did not change keeps its rows as they are, and so does a table whose source columns did not
//! change (see [`rederive`]). So a change to these rules that should reach rows already stored
//! comes with a migration that derives the table again (as migration 12 does for instance usage).
//!
//! Postgres derives them with one statement per table per batch, from the jobs whose `synced_at`
//! is this run's. SQLite derives them in triggers on the job row, which see the row being written
//! (`NEW`) instead of reading it back: SQLite stores most of a row in overflow pages, and reading
//! each batch back twice per child table cost its loads more than the tables themselves
//! (BENCHMARKS.md). The store installs the triggers this module renders whenever the stored ones
//! differ, so they always match the running binary.

use const_format::formatcp;

use super::{Backend, Sql};
use crate::flatten::columns::{JOB_TABLE, KV_TABLE, METRIC_TABLE, TRANSITION_TABLE, USAGE_TABLE};
use crate::sql;

/// A child table of the job table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Child {
    Kv,
    Metric,
    Transition,
    Usage,
}

pub const CHILDREN: [Child; 4] = [Child::Kv, Child::Metric, Child::Transition, Child::Usage];

impl Child {
    /// SQLite: the trigger that derives this table's rows again when a job is updated.
    fn update_trigger(self) -> &'static str {
        match self {
            Child::Kv => "sagesync_kv_on_update",
            Child::Metric => "sagesync_metric_on_update",
            Child::Transition => "sagesync_transition_on_update",
            Child::Usage => "sagesync_usage_on_update",
        }
    }

    /// The flag that says a job's rows of this table are to be derived again ([`rederive`]).
    fn flag(self) -> &'static str {
        match self {
            Child::Kv => "kv",
            Child::Metric => "metric",
            Child::Transition => "transition",
            Child::Usage => "usage",
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Child::Kv => KV_TABLE,
            Child::Metric => METRIC_TABLE,
            Child::Transition => TRANSITION_TABLE,
            Child::Usage => USAGE_TABLE,
        }
    }
}

/// The columns of [`USAGE_TABLE`] copied from the job row as they are.
const USAGE_COMMON: [&str; 12] = [
    "training_job_name",
    "account_id",
    "region",
    "training_job_status",
    "failure_reason",
    "creation_time",
    "training_start_time",
    "training_end_time",
    "last_modified_time",
    "enable_managed_spot_training",
    "deleted_at",
    "tags",
];

/// The job columns each child table is derived from, and nothing else: from the same values the
/// same rows come out.
fn source_columns(child: Child) -> Vec<&'static str> {
    match child {
        Child::Kv => vec!["hyper_parameters", "environment", "tags"],
        Child::Metric => vec!["final_metric_data_list"],
        Child::Usage => {
            let mut columns = USAGE_COMMON.to_vec();
            columns.extend([
                "billable_time_in_seconds",
                "resource_config",
                "warm_pool_status",
                "enable_network_isolation",
                "enable_inter_container_traffic_encryption",
                "vpc_config",
                "output_data_config",
            ]);
            columns
        }
        Child::Transition => vec!["secondary_status_transitions"],
    }
}

/// The one column of [`USAGE_TABLE`] not from the job row: the GPU utilization of the job keyed
/// `job`, as the utilization view states it once read (migration 15 keeps it as that table
/// changes).
fn gpu_share(job: &'static str) -> Sql {
    sql![
        "(SELECT v.gpu_utilization_pct FROM sagemaker_training_job_utilization v \
         WHERE v.training_job_arn = ",
        job,
        ")"
    ]
}

/// The five security controls security-posture counts and security-findings lists, as the usage
/// rows carry them (true: the job has it), of the job row being derived (`c` on Postgres, `NEW`
/// in a SQLite trigger): the one statement of that rule. Migration 18 wrote it out once more, to
/// fill the rows stored before it.
fn controls(backend: Backend) -> [(&'static str, &'static str); 5] {
    match backend {
        Backend::Postgres => [
            (
                "has_network_isolation",
                "coalesce(c.enable_network_isolation, false)",
            ),
            (
                "has_inter_container_encryption",
                "coalesce(c.enable_inter_container_traffic_encryption, false)",
            ),
            (
                "has_vpc",
                "CASE WHEN jsonb_typeof(c.vpc_config->'Subnets') = 'array' \
                 THEN jsonb_array_length(c.vpc_config->'Subnets') > 0 ELSE false END",
            ),
            (
                "has_volume_kms_key",
                "coalesce(c.resource_config->>'VolumeKmsKeyId', '') <> ''",
            ),
            (
                "has_output_kms_key",
                "coalesce(c.output_data_config->>'KmsKeyId', '') <> ''",
            ),
        ],
        Backend::Sqlite => [
            (
                "has_network_isolation",
                "coalesce(NEW.enable_network_isolation, 0) <> 0",
            ),
            (
                "has_inter_container_encryption",
                "coalesce(NEW.enable_inter_container_traffic_encryption, 0) <> 0",
            ),
            (
                "has_vpc",
                "coalesce(json_array_length(NEW.vpc_config, '$.Subnets'), 0) > 0",
            ),
            (
                "has_volume_kms_key",
                "coalesce(json_extract(NEW.resource_config, '$.VolumeKmsKeyId'), '') <> ''",
            ),
            (
                "has_output_kms_key",
                "coalesce(json_extract(NEW.output_data_config, '$.KmsKeyId'), '') <> ''",
            ),
        ],
    }
}

/// The usage table's control columns, and their values for the job row, as [`controls`] says.
fn control_columns(backend: Backend) -> (Sql, Sql) {
    let controls = controls(backend);
    (
        Sql::join(controls.map(|(column, _)| column), ", "),
        Sql::join(controls.map(|(_, value)| value), ", "),
    )
}

fn sources(child: Child) -> Sql {
    Sql::join(source_columns(child), ", ")
}

/// Whether the job row `new`, which replaced `old`, needs its rows of `child`'s table derived
/// again: the columns they come from changed, or it has none there (an older sagesync did not
/// derive them). Rows derived from the same values would come out the same, so an update that
/// leaves a table's sources alone, such as an upgrade filling a new column, leaves its rows be.
fn rederive(backend: Backend, child: Child, old: &'static str, new: &'static str) -> Sql {
    let changed = source_columns(child)
        .into_iter()
        .map(|c| sql![old, ".", c, " ", backend.distinct(), " ", new, ".", c]);
    sql![
        "(",
        Sql::join(changed, " OR "),
        " OR NOT EXISTS (SELECT 1 FROM ",
        child.table(),
        " WHERE training_job_arn = ",
        new,
        "._key))"
    ]
}

/// Postgres, re-deriving: the flags, one per child table, an upsert into the job table returns
/// for each row it rewrote ([`rederive`]). A subquery in `RETURNING` reads the statement's
/// snapshot, which holds the row as it was.
pub fn rederive_flags() -> Sql {
    let flags = CHILDREN.iter().map(|c| {
        sql![
            "(SELECT ",
            rederive(Backend::Postgres, *c, "o", JOB_TABLE),
            formatcp!(" FROM {JOB_TABLE} o WHERE o._key = {JOB_TABLE}._key) AS "),
            c.flag()
        ]
    });
    Sql::join(flags, ", ")
}

/// Postgres: the keys of the jobs written in this batch, with `columns` (none: the keys alone).
/// `n` placeholders for job keys, then, `by_run`, one for the run's `synced_at` (without it, the
/// jobs named: a re-derivation keeps `synced_at`, and names those [`rederive_flags`] chose).
fn changed(n: usize, by_run: bool, columns: Option<Sql>) -> Sql {
    let backend = Backend::Postgres;
    let run = if by_run {
        sql![" AND synced_at = ", Sql::placeholder(backend, n + 1)]
    } else {
        "".into()
    };
    let columns = match columns {
        Some(c) => sql![", ", c],
        None => "".into(),
    };
    sql![
        "SELECT _key",
        columns,
        formatcp!(" FROM {JOB_TABLE} WHERE _key IN ("),
        Sql::placeholders(backend, 1, n),
        ")",
        run
    ]
}

/// Postgres: removes the child rows of the jobs written in this batch.
pub fn delete(child: Child, n: usize, by_run: bool) -> Sql {
    sql![
        "DELETE FROM ",
        child.table(),
        " WHERE training_job_arn IN (",
        changed(n, by_run, None),
        ")"
    ]
}

/// Postgres: inserts the child rows of the jobs written in this batch.
pub fn insert(child: Child, n: usize, by_run: bool) -> Sql {
    let c = sql![
        "WITH c AS (",
        changed(n, by_run, Some(sources(child))),
        ") "
    ];
    let common = Sql::join(USAGE_COMMON, ", ");
    let warm = pg_number("warm_pool_status", "ResourceRetainedBillableTimeInSeconds");
    let volume = pg_number("resource_config", "VolumeSizeInGB");
    let (control_names, control_values) = control_columns(Backend::Postgres);
    match child {
        Child::Kv => sql![
            c,
            formatcp!(
                "INSERT INTO {KV_TABLE} (training_job_arn, kind, key, value) \
                 SELECT c._key, 'hyper_parameters', e.key, e.value FROM c, jsonb_each_text(c.hyper_parameters) e \
                 UNION ALL SELECT c._key, 'environment', e.key, e.value FROM c, jsonb_each_text(c.environment) e \
                 UNION ALL SELECT c._key, 'tags', e.key, e.value FROM c, jsonb_each_text(c.tags) e"
            )
        ],
        Child::Metric => sql![
            c,
            formatcp!(
                "INSERT INTO {METRIC_TABLE} (training_job_arn, metric_name, value, timestamp) \
                 SELECT c._key, coalesce(e->>'MetricName', ''), (e->>'Value')::double precision, \
                 (e->>'Timestamp')::timestamptz \
                 FROM c, jsonb_array_elements(c.final_metric_data_list) e"
            )
        ],
        // A job of one instance type is one group: resource_config itself.
        Child::Usage => sql![
            c,
            formatcp!("INSERT INTO {USAGE_TABLE} (training_job_arn, "),
            &common,
            ", instance_group_name, instance_type, instance_count, billable_instance_seconds, \
             seq, month, warm_pool_instance_seconds, storage_gb_seconds, gpu_utilization_pct, ",
            control_names,
            ") SELECT c._key, ",
            &common,
            ", g.e->>'InstanceGroupName', g.e->>'InstanceType', (g.e->>'InstanceCount')::bigint, \
             coalesce(billable_time_in_seconds, 0) * coalesce((g.e->>'InstanceCount')::bigint, 0), \
             CASE WHEN jsonb_typeof(resource_config->'InstanceGroups') = 'array' \
             AND jsonb_array_length(resource_config->'InstanceGroups') > 0 THEN g.seq ELSE 0 END, \
             to_char(coalesce(training_start_time, creation_time) AT TIME ZONE 'UTC', 'YYYY-MM'), \
             coalesce((g.e->>'InstanceCount')::bigint, 0) * ",
            warm,
            ", coalesce(billable_time_in_seconds, 0) * coalesce((g.e->>'InstanceCount')::bigint, 0) * ",
            volume,
            ", ",
            gpu_share("c._key"),
            ", ",
            control_values,
            " FROM c CROSS JOIN LATERAL jsonb_array_elements(CASE \
             WHEN jsonb_typeof(resource_config->'InstanceGroups') = 'array' \
             AND jsonb_array_length(resource_config->'InstanceGroups') > 0 \
             THEN resource_config->'InstanceGroups' ELSE jsonb_build_array(resource_config) END) \
             WITH ORDINALITY AS g(e, seq)"
        ],
        Child::Transition => sql![
            c,
            formatcp!(
                "INSERT INTO {TRANSITION_TABLE} \
                 (training_job_arn, seq, status, start_time, end_time, status_message) \
                 SELECT c._key, t.seq, t.e->>'Status', (t.e->>'StartTime')::timestamptz, \
                 (t.e->>'EndTime')::timestamptz, t.e->>'StatusMessage' \
                 FROM c, jsonb_array_elements(c.secondary_status_transitions) WITH ORDINALITY AS t(e, seq)"
            )
        ],
    }
}

/// Postgres: a whole-number member of a JSON column, 0 when missing or not a number (the
/// flattener keeps these objects as the API sent them).
fn pg_number(column: &'static str, member: &'static str) -> Sql {
    sql![
        "CASE WHEN jsonb_typeof(",
        column,
        "->'",
        member,
        "') = 'number' THEN (",
        column,
        "->>'",
        member,
        "')::numeric::bigint ELSE 0 END"
    ]
}

/// SQLite: as [`pg_number`], of the job row a trigger fired for.
fn sqlite_number(column: &'static str, member: &'static str) -> Sql {
    sql![
        "CASE WHEN json_type(NEW.",
        column,
        ", '$.",
        member,
        "') IN ('integer', 'real') \
         THEN CAST(json_extract(NEW.",
        column,
        ", '$.",
        member,
        "') AS INTEGER) ELSE 0 END"
    ]
}

/// SQLite: triggers older versions of sagesync installed, dropped where found.
pub const OLD_SQLITE_TRIGGERS: [&str; 1] = ["sagesync_children_on_update"];

/// SQLite: the triggers (name, `CREATE TRIGGER` text) that derive a job's child rows: all of
/// them when the job is inserted; one table's when the job is updated with a new `raw` (a
/// changed job, a re-derivation) and [`rederive`] says so. Marking a job deleted sets
/// `deleted_at` alone and leaves them be.
pub fn sqlite_triggers() -> Vec<(&'static str, Sql)> {
    let inserts = Sql::concat(CHILDREN.iter().map(|c| sql![sqlite_insert(*c), "; "]));
    let mut triggers = vec![(
        "sagesync_children_on_insert",
        sql![
            formatcp!(
                "CREATE TRIGGER sagesync_children_on_insert AFTER INSERT ON {JOB_TABLE} BEGIN "
            ),
            inserts,
            "END"
        ],
    )];
    for child in CHILDREN {
        let name = child.update_trigger();
        let sql = sql![
            "CREATE TRIGGER ",
            name,
            formatcp!(" AFTER UPDATE OF raw ON {JOB_TABLE} WHEN "),
            rederive(Backend::Sqlite, child, "OLD", "NEW"),
            " BEGIN DELETE FROM ",
            child.table(),
            " WHERE training_job_arn = OLD._key; ",
            sqlite_insert(child),
            "; END"
        ];
        triggers.push((name, sql));
    }
    triggers
}

/// SQLite: inserts one table's child rows of the job a trigger fired for (`NEW`).
fn sqlite_insert(child: Child) -> Sql {
    match child {
        Child::Kv => formatcp!(
            "INSERT INTO {KV_TABLE} (training_job_arn, kind, key, value) \
             SELECT NEW._key, 'hyper_parameters', e.key, e.value FROM json_each(NEW.hyper_parameters) e \
             UNION ALL SELECT NEW._key, 'environment', e.key, e.value FROM json_each(NEW.environment) e \
             UNION ALL SELECT NEW._key, 'tags', e.key, e.value FROM json_each(NEW.tags) e"
        )
        .into(),
        Child::Metric => formatcp!(
            "INSERT INTO {METRIC_TABLE} (training_job_arn, metric_name, value, timestamp) \
             SELECT NEW._key, coalesce(json_extract(e.value, '$.MetricName'), ''), \
             json_extract(e.value, '$.Value'), json_extract(e.value, '$.Timestamp') \
             FROM json_each(NEW.final_metric_data_list) e"
        )
        .into(),
        // A job of one instance type is one group: resource_config itself.
        Child::Usage => {
            let common = Sql::join(USAGE_COMMON, ", ");
            let new_common = Sql::join(USAGE_COMMON.map(|c| sql!["NEW.", c]), ", ");
            let groups = "json_array_length(NEW.resource_config, '$.InstanceGroups') > 0";
            let warm = sqlite_number("warm_pool_status", "ResourceRetainedBillableTimeInSeconds");
            let volume = sqlite_number("resource_config", "VolumeSizeInGB");
            let count = "coalesce(json_extract(g.value, '$.InstanceCount'), 0)";
            let (control_names, control_values) = control_columns(Backend::Sqlite);
            sql![
                formatcp!("INSERT INTO {USAGE_TABLE} (training_job_arn, "),
                common,
                ", instance_group_name, instance_type, instance_count, billable_instance_seconds, \
                 seq, month, warm_pool_instance_seconds, storage_gb_seconds, gpu_utilization_pct, ",
                control_names,
                ") SELECT NEW._key, ",
                new_common,
                ", json_extract(g.value, '$.InstanceGroupName'), json_extract(g.value, '$.InstanceType'), \
                 json_extract(g.value, '$.InstanceCount'), \
                 coalesce(NEW.billable_time_in_seconds, 0) * coalesce(json_extract(g.value, '$.InstanceCount'), 0), \
                 CASE WHEN ",
                groups,
                " THEN g.key + 1 ELSE 0 END, \
                 substr(coalesce(NEW.training_start_time, NEW.creation_time), 1, 7), ",
                count,
                " * ",
                warm,
                ", coalesce(NEW.billable_time_in_seconds, 0) * ",
                count,
                " * ",
                volume,
                ", ",
                gpu_share("NEW._key"),
                ", ",
                control_values,
                " FROM json_each(CASE WHEN ",
                groups,
                " THEN json_extract(NEW.resource_config, '$.InstanceGroups') \
                 ELSE json_array(json(coalesce(NEW.resource_config, 'null'))) END) g"
            ]
        }
        Child::Transition => formatcp!(
            "INSERT INTO {TRANSITION_TABLE} \
             (training_job_arn, seq, status, start_time, end_time, status_message) \
             SELECT NEW._key, e.key + 1, json_extract(e.value, '$.Status'), json_extract(e.value, '$.StartTime'), \
             json_extract(e.value, '$.EndTime'), json_extract(e.value, '$.StatusMessage') \
             FROM json_each(NEW.secondary_status_transitions) e"
        )
        .into(),
    }
}
