//! `sagesync load`: stores DescribeTrainingJob responses read from files or stdin.
//!
//! Each input is one transaction, so a file with a bad record leaves the database exactly as it
//! was (and other files still load). Within a file, a parsing thread reads, validates, flattens
//! and renders SQL for batches of jobs while the writer executes the previous batch; the channel
//! between them is bounded, so memory stays flat however large the input.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use crate::flatten::{Flattener, JobRecord, NUL_WARNING, RecordError};
use crate::input::{Input, Location, ReadError, read_records};
use crate::store::{Backend, Statement, Store, StoreError, Writer};

/// Jobs per batch of statements.
pub const DEFAULT_BATCH: usize = 256;

#[derive(Debug, Default)]
pub struct LoadReport {
    pub inputs: usize,
    pub jobs: u64,
    /// One line per input that was refused, naming it, where, and why.
    pub refused: Vec<String>,
}

/// Why one input was not stored.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("{input}: cannot read: {source}")]
    Io {
        input: String,
        source: std::io::Error,
    },
    #[error("{input}: {}{message}", at.map(|a| format!("{a}: ")).unwrap_or_default())]
    Syntax {
        input: String,
        at: Option<Location>,
        message: String,
    },
    #[error("{input}: {at}: {source}")]
    Record {
        input: String,
        at: Location,
        source: RecordError,
    },
    /// The database refused what a record holds (see [`StoreError::is_content`]).
    #[error("{input}: {}{}{cause}", at.map(|a| format!("{a}: ")).unwrap_or_default(), arn.as_ref().map(|a| format!("{a}: ")).unwrap_or_default())]
    Database {
        input: String,
        at: Option<Location>,
        arn: Option<String>,
        cause: Box<StoreError>,
    },
    /// The writer stopped first; its error is the one to report.
    #[error("writer stopped")]
    WriterGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn load(
    store: &Store,
    inputs: Vec<Input>,
    flattener: Arc<Flattener>,
    batch: usize,
) -> Result<LoadReport, StoreError> {
    let mut report = LoadReport::default();
    let bar = progress_bar(&inputs);
    for input in inputs {
        report.inputs += 1;
        let loaded = load_one(store, &input, flattener.clone(), batch.max(1), bar.clone()).await;
        let result = match loaded {
            Err(Refusal::Store(e)) if e.is_content() => {
                Err(locate(store, &input, &flattener, e).await)
            }
            other => other,
        };
        match result {
            Ok(n) => report.jobs += n,
            Err(Refusal::Store(e)) => return Err(e),
            Err(refusal) => {
                tracing::warn!("refused {refusal}; nothing from it was stored");
                report.refused.push(refusal.to_string());
            }
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

/// Inputs below this size load in a few seconds: no bar.
const BAR_FROM_BYTES: u64 = 32 << 20;

/// A bar of bytes read for large inputs (a spinner for stdin), on a terminal only (see
/// [`crate::log::bars`]).
fn progress_bar(inputs: &[Input]) -> Option<ProgressBar> {
    let size = |i: &Input| match i {
        Input::Stdin => None,
        Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
    };
    let bar = match inputs.iter().map(size).sum::<Option<u64>>() {
        Some(total) if total < BAR_FROM_BYTES => return None,
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("loading {wide_bar} {bytes}/{total_bytes} {eta}").ok()?,
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} loading {bytes} {binary_bytes_per_sec}")
                .ok()?,
        ),
    };
    Some(crate::log::bars().add(bar))
}

/// Finds the record whose content the database refused, by storing the input's records one at
/// a time in a transaction that is rolled back. Only a file can be read again; for stdin the
/// refusal names no record.
async fn locate(
    store: &Store,
    input: &Input,
    flattener: &Arc<Flattener>,
    cause: StoreError,
) -> Refusal {
    let mut refusal = Refusal::Database {
        input: input.to_string(),
        at: None,
        arn: None,
        cause: Box::new(cause),
    };
    if *input == Input::Stdin {
        return refusal;
    }
    let Ok(mut tx) = store.begin().await else {
        return refusal;
    };
    // The records stream from a reading thread one at a time, so memory stays flat here too.
    let (sender, mut receiver) = mpsc::channel::<(Location, JobRecord)>(16);
    let (reading, flattener) = (input.clone(), flattener.clone());
    let reader = tokio::task::spawn_blocking(move || {
        let Ok(file) = reading.open() else { return };
        let _ = read_records(file, |at, value| match flattener.flatten(value) {
            Ok(job) => sender.blocking_send((at, job)).map_err(|_| ()),
            Err(_) => Ok(()),
        });
    });
    let mut writer = Writer::new(store.backend());
    while let Some((at, job)) = receiver.recv().await {
        let Ok(statements) = writer.prepare(std::slice::from_ref(&job)) else {
            continue;
        };
        if let Err(e) = tx.run(statements).await {
            refusal = Refusal::Database {
                input: input.to_string(),
                at: Some(at),
                arn: Some(job.arn),
                cause: Box::new(e),
            };
            break;
        }
    }
    drop(receiver);
    reader.await.ok();
    tx.rollback().await.ok();
    refusal
}

async fn load_one(
    store: &Store,
    input: &Input,
    flattener: Arc<Flattener>,
    batch: usize,
    bar: Option<ProgressBar>,
) -> Result<u64, Refusal> {
    let (sender, mut receiver) = mpsc::channel::<Vec<Statement>>(2);
    let backend = store.backend();
    let input = input.clone();
    let producer = tokio::task::spawn_blocking(move || {
        produce(&input, &flattener, backend, batch, &sender, bar)
    });

    let mut tx = store.begin().await?;
    let mut write_error = None;
    while let Some(statements) = receiver.recv().await {
        if let Err(e) = tx.run(statements).await {
            write_error = Some(e);
            break;
        }
    }
    // Closing the channel makes a still-running producer stop at its next batch.
    drop(receiver);
    let produced = producer.await.unwrap_or_else(|e| {
        Err(Refusal::Store(StoreError::Build(format!(
            "parser thread failed: {e}"
        ))))
    });
    if let Some(e) = write_error {
        tx.rollback().await.ok();
        return Err(Refusal::Store(e));
    }
    match produced {
        Ok(n) => {
            tx.commit().await?;
            Ok(n)
        }
        Err(refusal) => {
            tx.rollback().await?;
            Err(refusal)
        }
    }
}

fn produce(
    input: &Input,
    flattener: &Flattener,
    backend: Backend,
    batch: usize,
    sender: &mpsc::Sender<Vec<Statement>>,
    bar: Option<ProgressBar>,
) -> Result<u64, Refusal> {
    let name = input.to_string();
    let mut reader = input.open().map_err(|source| Refusal::Io {
        input: name.clone(),
        source,
    })?;
    if let Some(bar) = bar {
        reader = Box::new(bar.wrap_read(reader));
    }
    let mut writer = Writer::new(backend);
    let mut send = |jobs: &[JobRecord]| -> Result<(), Refusal> {
        let statements = writer.prepare(jobs)?;
        sender
            .blocking_send(statements)
            .map_err(|_| Refusal::WriterGone)
    };
    let mut pending = Vec::with_capacity(batch);
    let mut count = 0u64;
    let result = read_records(reader, |at, value| {
        let job = flattener.flatten(value).map_err(|source| Refusal::Record {
            input: name.clone(),
            at,
            source,
        })?;
        if job.replaced_nul {
            tracing::warn!("{name}: {at}: {}: {NUL_WARNING}", job.arn);
        }
        pending.push(job);
        count += 1;
        if pending.len() >= batch {
            send(&pending)?;
            pending.clear();
        }
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(ReadError::Stopped(refusal)) => return Err(refusal),
        Err(ReadError::Io(source)) => {
            return Err(Refusal::Io {
                input: name,
                source,
            });
        }
        Err(ReadError::Syntax { at, message }) => {
            return Err(Refusal::Syntax {
                input: name,
                at,
                message,
            });
        }
    }
    if !pending.is_empty() {
        send(&pending)?;
    }
    Ok(count)
}

/// Loads these DescribeTrainingJob responses into `store` as `sagesync load` does: the jobs of
/// the in-process tests of the layers above the store.
#[cfg(test)]
pub(crate) async fn load_responses(store: &Store, jobs: &[serde_json::Value]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.jsonl");
    let lines: Vec<String> = jobs.iter().map(|j| j.to_string()).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let flattener = Arc::new(Flattener {
        redactor: crate::flatten::Redactor::default_rules(),
        arn_context: None,
        synced_at: crate::model::time::Timestamp::now(),
        replace_nul: false,
    });
    let inputs = crate::input::expand(&[path.display().to_string()]).0;
    load(store, inputs, flattener, 16).await.unwrap();
}
