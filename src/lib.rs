//! sagesync keeps an SQL-queryable inventory of AWS SageMaker training jobs, mirroring Datadog's
//! DDSQL table `aws.sagemaker_training_job`, in SQLite or PostgreSQL.
//!
//! The data's path: `source` (the SageMaker API) or `input` (files) → `flatten` (response JSON →
//! row) → `store` (SQLite or Postgres), with `sync` and `load` orchestrating and `cli` parsing;
//! `query`, `report` and `prices` read and annotate what is stored.

pub mod billing;
pub mod cli;
pub mod flatten;
pub mod input;
pub mod load;
pub mod log;
pub mod metrics;
pub mod model;
pub mod prices;
pub mod query;
pub mod reflatten;
pub mod report;
pub mod source;
pub mod store;
pub mod sync;
