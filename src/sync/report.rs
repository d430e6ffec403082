//! What a sync says of each scope: the counts of one run, and the closing line that gives them
//! to people (a sentence) and to collectors (JSON fields).

use std::time::Duration;

use crate::model::op::Op;
use crate::model::scope::ScopeId;
use crate::source::api::CallCounts;

#[derive(Debug, Default)]
pub struct ScopeReport {
    pub scope: ScopeId,
    pub listed: u64,
    /// Rows a first sync stored from Search records (`stored` counts described ones).
    pub searched: u64,
    pub described: u64,
    pub skipped: u64,
    pub stored: u64,
    pub deleted: u64,
    pub failed: u64,
    /// Rows still built from Search alone after this run: later runs describe them.
    pub incomplete: u64,
    pub calls: CallCounts,
    pub elapsed: Duration,
    /// Why the scope stopped, when it did.
    pub error: Option<String>,
    /// This process, `host:pid`, as the summary names it.
    pub worker: String,
    /// Not synced here: another worker holds it or has just synced it.
    pub elsewhere: Option<Elsewhere>,
    /// The scope's account, when known before any call (an organization's account).
    pub account: Option<String>,
    /// `--all-regions`: the account has not enabled this region; skipped, not failed.
    pub not_enabled: bool,
}

/// Why a scope was left to another worker.
#[derive(Debug)]
pub enum Elsewhere {
    /// Another worker holds the scope (named when the server says which).
    Held(Option<String>),
    /// Another worker completed the scope after this run started.
    Done { worker: Option<String>, at: String },
}

impl ScopeReport {
    /// The other worker a scope was left to, as far as known.
    fn left_to(&self) -> Option<&str> {
        match &self.elsewhere {
            Some(Elsewhere::Held(w)) | Some(Elsewhere::Done { worker: w, .. }) => {
                Some(w.as_deref().unwrap_or("another worker"))
            }
            None => None,
        }
    }

    pub fn new(scope: &ScopeId) -> Self {
        ScopeReport {
            scope: scope.clone(),
            worker: crate::store::worker_name(),
            ..Default::default()
        }
    }

    /// Adds the counts of work done alongside in the same scope.
    pub fn absorb(&mut self, other: ScopeReport) {
        self.searched += other.searched;
        self.described += other.described;
        self.stored += other.stored;
        self.deleted += other.deleted;
        self.failed += other.failed;
        self.incomplete = other.incomplete;
    }

    pub fn stopped(scope: &ScopeId, error: String) -> Self {
        ScopeReport {
            error: Some(error),
            ..Self::new(scope)
        }
    }

    /// The closing line of a scope: the sentence for people, its figures as fields for JSON.
    pub fn log(&self) {
        let calls = |op: Op| self.calls.of(op);
        macro_rules! summary {
            ($level:ident) => {
                tracing::$level!(
                    scope = %self.scope,
                    listed = self.listed,
                    searched = self.searched,
                    described = self.described,
                    skipped = self.skipped,
                    stored = self.stored,
                    deleted = self.deleted,
                    failed = self.failed,
                    incomplete = self.incomplete,
                    calls.ListTrainingJobs = calls(Op::ListTrainingJobs),
                    calls.DescribeTrainingJob = calls(Op::DescribeTrainingJob),
                    calls.ListTags = calls(Op::ListTags),
                    calls.Search = calls(Op::Search),
                    seconds = self.elapsed.as_secs_f64(),
                    error = self.error.as_deref(),
                    worker = %self.worker,
                    left_to = self.left_to(),
                    "synced {self}"
                )
            };
        }
        if self.error.is_some() || self.failed > 0 {
            summary!(error);
        } else {
            summary!(info);
        }
    }
}

impl std::fmt::Display for ScopeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.elsewhere {
            Some(Elsewhere::Held(holder)) => {
                let who = holder.as_deref().unwrap_or("another worker");
                return write!(f, "{}: skipped, {who} holds it", self.scope);
            }
            Some(Elsewhere::Done { worker, at }) => {
                let who = worker.as_deref().unwrap_or("another worker");
                return write!(
                    f,
                    "{}: skipped, {who} synced it at {at}, after this run started",
                    self.scope
                );
            }
            None => {}
        }
        let calls: Vec<String> = self
            .calls
            .0
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        write!(f, "{}: listed {}", self.scope, self.listed)?;
        if self.searched > 0 {
            write!(f, ", from Search {}", self.searched)?;
        }
        write!(
            f,
            ", described {}, skipped {}, stored {}, deleted {}, failed {}",
            self.described, self.skipped, self.stored, self.deleted, self.failed,
        )?;
        if self.incomplete > 0 {
            write!(
                f,
                ", {} rows from Search still to describe (the next syncs complete them)",
                self.incomplete
            )?;
        }
        write!(
            f,
            "; calls: {}; {:.1}s on {}",
            calls.join(", "),
            self.elapsed.as_secs_f64(),
            self.worker
        )?;
        if let Some(e) = &self.error {
            write!(
                f,
                "; stopped: {e} (the cursor did not move: the next sync resumes from it)"
            )?;
        }
        Ok(())
    }
}
