//! sagesync keeps an SQL-queryable inventory of AWS SageMaker training jobs, mirroring Datadog's
//! DDSQL table `aws.sagemaker_training_job`, in SQLite or PostgreSQL.
//!
//! The data's path: `input` (files) → `flatten` (response JSON → row, kv, children) → `store`
//! (SQLite or Postgres), with `load` orchestrating and `cli` parsing; `query` and `prices` read
//! and annotate what is stored.

pub mod cli;
pub mod flatten;
pub mod input;
pub mod load;
pub mod prices;
pub mod query;
pub mod store;
