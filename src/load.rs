//! `sagesync load`: stores DescribeTrainingJob responses read from files or stdin.
//!
//! Each input is one transaction, so a file with a bad record leaves the database exactly as it
//! was (and other files still load). Within a file, a parsing thread reads, validates, flattens
//! and renders SQL for batches of jobs while the writer executes the previous batch; the channel
//! between them is bounded, so memory stays flat however large the input.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::flatten::{Flattener, RecordError};
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
    for input in inputs {
        report.inputs += 1;
        match load_one(store, input, flattener.clone(), batch.max(1)).await {
            Ok(n) => report.jobs += n,
            Err(Refusal::Store(e)) => return Err(e),
            Err(refusal) => {
                crate::log::warn(&format!("refused {refusal}; nothing from it was stored"));
                report.refused.push(refusal.to_string());
            }
        }
    }
    Ok(report)
}

async fn load_one(
    store: &Store,
    input: Input,
    flattener: Arc<Flattener>,
    batch: usize,
) -> Result<u64, Refusal> {
    let (sender, mut receiver) = mpsc::channel::<Vec<Statement>>(2);
    let backend = store.backend();
    let producer =
        tokio::task::spawn_blocking(move || produce(&input, &flattener, backend, batch, &sender));

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
) -> Result<u64, Refusal> {
    let name = input.to_string();
    let reader = input.open().map_err(|source| Refusal::Io {
        input: name.clone(),
        source,
    })?;
    let mut writer = Writer::new(backend);
    let mut send = |jobs| -> Result<(), Refusal> {
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
        pending.push(job);
        count += 1;
        if pending.len() >= batch {
            send(std::mem::replace(&mut pending, Vec::with_capacity(batch)))?;
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
        send(pending)?;
    }
    Ok(count)
}
