//! The pace of each SageMaker operation of a scope: how many attempts a second it may start,
//! learned from how the service answers, with no flags. Every attempt, the SDK's retries
//! included, waits for its operation's pace in the HTTP client ([`http::Paced`]) and carries a
//! [`Ticket`] saying which pace it was sent at; the capture tells the pace how the service
//! answered it. A run ends by storing each pace, and the next run starts from it ([`Start`]).
//!
//! SageMaker's quotas are per account and operation, and shared: the SageMaker Python SDK polls
//! DescribeTrainingJob every few seconds for each job a notebook waits on, Studio and Pipelines
//! call it too. So a throttle is either ours (our pace is above what the quota leaves us) or not
//! (another client spent the tokens), and the throttled share alone cannot tell them apart: at
//! 20-25 % over a quota, a pace 5 % lower is throttled about as often, so a judgement built on
//! that step called our own excess "not ours", learned it as background, and climbed to 3.4 × a
//! quota. What tells them apart is the **answered rate**: a pace above the quota answers no more
//! calls a second than the quota, while a pace under it answers in proportion to the pace,
//! whatever share others throttle. The method, as built (`judge`, on the counts of `spell`):
//!
//! - **Spells.** Outcomes are counted per spell at one pace: at least 2 s and 10 outcomes, and,
//!   under a background share `b` (or, before one is known, the last spell's share), enough
//!   outcomes for the answered share to be known within 4 % (up to 300, or 20 s). Only attempts
//!   sent at the spell's pace count (tickets).
//! - **Tests** compare two paces a step apart (20 % for cuts and checks): far enough that our
//!   share of a quota we exceed changes measurably. The verdict takes what the quota admits as
//!   the higher pace's answered rate divided by the lower pace's answered share (pooled with the
//!   background when no different): if the lower pace is under the quota, that is the quota
//!   (or the higher pace, when both are under it); if both are above, it is the lower pace. A
//!   higher pace that does not raise the answered rate is thus our own excess. The estimate's
//!   binomial spread decides how far the pace moves: a cut or a check leaves the higher pace only
//!   when two spreads above the estimate are under it, a probe takes the higher pace only when
//!   the estimate is within one spread of it; else the pace goes to 97 % of the estimate.
//! - **Background.** When the estimate is well above the lower pace (past the middle of the
//!   step by a spread), the lower pace was under the quota and its throttled share is the
//!   background `b`; steady spells no faster add to it. It is never learned at a pace that may
//!   be above the quota, so it cannot ratchet up while our pace rises.
//! - **Excess.** A steady spell throttled more than `b` explains (more than `n·b + 2σ + 1`, and 2
//!   points more at least; early, after 1 s, at `4σ + 2`) starts a cut: a spell at what its
//!   answered rate admits at the background share (a step down at least), then a fresh spell
//!   back at the pace (the one that set the cut off was picked for its throttles), unless the
//!   lower pace was throttled 3 spreads less. If the throttles were others', the lower pace
//!   answers proportionally fewer calls and the verdict puts the pace back: others' throttles
//!   cost a spell at a lower pace, never a slide to the floor.
//! - **Probes and checks.** 30 s after the start (2 minutes, and a 5 % step, after a start from
//!   a learned pace), a step up probes for more quota. A probe that
//!   finds none probes again after one spell, with its step doubled (to 20 %); one that finds
//!   the quota waits twice as long for the next (up to 4 minutes), with its step halved (to
//!   2.5 %); one that cannot tell probes again after a spell. A minute after any test, a step
//!   down checks that the pace still buys its answers, so a background learned when others
//!   were busier cannot keep the pace above a quota.
//! - **Start** at the pace the last run stored for the scope and operation, when it is under a
//!   day old and plausible (above 0, at most 10 × the known quota); else at 95 % of the quota
//!   the operation is known to have. The pace stays between 0.5/s and 10 × the known quota.
//!
//! What the simulations (`sim`) hold it to, and where it is weaker: quotas of 12-60 calls a
//! second with a background up to 15 % keep 1.25 × the answered bound and `1/(1 − b) + 0.05`
//! attempts an answer; a background of a fifth or a third hides a small excess of ours for a
//! while (up to `+0.1` attempts an answer); slow quotas (a few calls a second) under a heavy
//! background take minutes to find, since a spell there takes 20 s.
//!
//! Why not the SDK's adaptive limiter: it measures its rate in half-second buckets and cuts to
//! 70 % of that measure at each throttle, whoever caused it; at a quota of 2 calls/s the measure
//! jumps between 0, 2 and 4 (BENCHMARKS.md). Why not governor: its quota is fixed, and a limiter
//! built anew at each change lets a call through at once.

pub mod http;
mod judge;
#[cfg(test)]
mod sim;
mod spell;

use std::sync::Mutex;

use tokio::time::Instant;

use crate::model::op::Op;
use crate::model::time::Timestamp;
use judge::{CEILING, Change, State};

/// Where an operation's pace starts: the pace a recent run stored, or 95 % of the quota the
/// operation is known to have. AWS publishes no rate per SageMaker operation; the known quotas
/// are the defaults this project measures against (issues 10 and 20: ListTrainingJobs and Search
/// about 2 calls/s, DescribeTrainingJob and ListTags about 20, per account and region), which the
/// stand-in's benchmarks model. A quota that is higher is found by probing; one that is lower by
/// the first throttles, and remembered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Start {
    pub operation: Op,
    pub quota: f64,
    pub rate: f64,
    /// A pace a run learned: the quota was found there, so the first probe for more comes
    /// later and with a smaller step.
    pub learned: bool,
}

/// A pace a run stored: attempts a second (as stored: it may be unreadable), and when.
#[derive(Debug, Clone)]
pub struct Remembered {
    pub rate: Option<f64>,
    pub at: Option<Timestamp>,
}

/// Why a stored pace is not started from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distrust {
    Stale,
    Unreadable,
    Absurd,
}

/// How long a stored pace is trusted: quotas and other clients' habits change.
const TRUSTED_FOR: chrono::Duration = chrono::Duration::days(1);
/// The start when nothing is remembered, of the known quota.
const UNDER_KNOWN: f64 = 0.95;

impl Start {
    /// 95 % of the known quota ([`Op::known_quota`]; one call a second for an operation with
    /// none, whose pace then finds its quota by probing).
    pub fn known(operation: Op) -> Self {
        Start::under(operation, operation.known_quota().unwrap_or(1.0))
    }

    /// 95 % of `quota`, taken as the operation's known quota (the simulations' many quotas).
    pub fn under(operation: Op, quota: f64) -> Self {
        Start {
            operation,
            quota,
            rate: quota * UNDER_KNOWN,
            learned: false,
        }
    }

    /// From a stored pace when it can be trusted at `now`, else [`Start::known`]; says why not.
    pub fn resume(
        operation: Op,
        stored: Option<&Remembered>,
        now: Timestamp,
    ) -> (Self, Option<Distrust>) {
        let known = Start::known(operation);
        let quota = known.quota;
        let Some(stored) = stored else {
            return (known, None);
        };
        let (Some(rate), Some(at)) = (stored.rate, stored.at) else {
            return (known, Some(Distrust::Unreadable));
        };
        if !rate.is_finite() || rate <= 0.0 || rate > quota * CEILING {
            return (known, Some(Distrust::Absurd));
        }
        let age = now.as_datetime() - at.as_datetime();
        if age > TRUSTED_FOR || age < -TRUSTED_FOR {
            return (known, Some(Distrust::Stale));
        }
        (
            Start {
                operation,
                quota,
                rate,
                learned: true,
            },
            None,
        )
    }
}

/// The pace an attempt was sent at, carried from the HTTP client to the capture: an answer to an
/// attempt sent at an older pace says nothing of the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// One operation's pace.
#[derive(Debug)]
pub struct Pace {
    operation: Op,
    state: Mutex<State>,
}

impl Pace {
    pub fn new(start: Start) -> Self {
        Pace {
            operation: start.operation,
            state: Mutex::new(State::new(start, Instant::now())),
        }
    }

    /// Waits until the pace allows one more attempt; the ticket goes with the attempt. A turn
    /// taken at a pace that changed while it waited is taken again at the new pace.
    pub async fn wait(&self) -> Ticket {
        loop {
            let (slot, epoch) = match self.state.lock() {
                Ok(mut s) => (s.reserve(Instant::now()), s.epoch),
                Err(_) => return Ticket(0),
            };
            tokio::time::sleep_until(slot).await;
            match self.state.lock() {
                Ok(mut s) if s.epoch == epoch => return Ticket(s.sent(Instant::now())),
                Ok(_) => continue,
                Err(_) => return Ticket(0),
            }
        }
    }

    /// The service answered an attempt (`None`: one that did not go through [`Pace::wait`]).
    pub fn answered(&self, ticket: Option<Ticket>) {
        self.outcome(ticket, false);
    }

    /// The service throttled an attempt.
    pub fn throttled(&self, ticket: Option<Ticket>) {
        self.outcome(ticket, true);
    }

    fn outcome(&self, ticket: Option<Ticket>, throttled: bool) {
        let change = match self.state.lock() {
            Ok(mut s) => s.outcome(ticket.map(|t| t.0), throttled, Instant::now()),
            Err(_) => None,
        };
        if let Some(change) = change {
            log(self.operation, change);
        }
    }

    /// The pace learned so far, outside a test: what the next run starts from. None before the
    /// service answered a spell's worth of attempts: nothing was learned, and storing the start
    /// again would renew a stored pace no run has tried.
    pub fn learned(&self) -> Option<f64> {
        let s = self.state.lock().ok()?;
        (s.outcomes >= u64::from(judge::MIN_OUTCOMES)).then_some(s.steady)
    }

    /// Attempts a second, now.
    #[cfg(test)]
    pub fn rate(&self) -> f64 {
        self.state.lock().map(|s| s.rate).unwrap_or_default()
    }

    /// The steady pace after each verdict so far.
    #[cfg(test)]
    pub fn verdicts(&self) -> Vec<f64> {
        self.state
            .lock()
            .map(|s| s.verdicts.clone())
            .unwrap_or_default()
    }
}

fn log(operation: Op, change: Change) {
    let operation = operation.name();
    #[cfg(test)]
    if std::env::var_os("PACE_TRACE").is_some() {
        eprintln!("{:?} {change:?}", Instant::now());
    }
    match change {
        Change::Lower { from, to, share } => tracing::debug!(
            operation,
            from,
            to,
            share,
            "throttled more than the background share: a lower pace is tried"
        ),
        Change::Probe { from, to } if to > from => {
            tracing::debug!(operation, from, to, "a higher pace is tried")
        }
        Change::Probe { from, to } => tracing::debug!(
            operation,
            from,
            to,
            "a lower pace is tried: does this one buy its answers"
        ),
        Change::Judged {
            rate,
            under_quota: true,
            background,
        } => tracing::debug!(
            operation,
            rate,
            background,
            "the lower pace was under the quota: its throttles are the background's"
        ),
        Change::Judged { rate, .. } => tracing::debug!(
            operation,
            rate,
            "the higher pace answered no more calls a second: the pace is what the quota admits"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_stored_pace_is_started_from_only_when_recent_and_plausible() {
        let now = at("2026-12-03T12:00:00Z");
        let stored = |rate, when: &str| Remembered {
            rate,
            at: Timestamp::parse(when),
        };
        let resume =
            |r: Option<Remembered>| Start::resume(Op::DescribeTrainingJob, r.as_ref(), now);
        assert_eq!(resume(None), (Start::known(Op::DescribeTrainingJob), None));
        assert_eq!(resume(None).0.rate, 19.0);
        let (start, why) = resume(Some(stored(Some(7.5), "2026-12-03T02:00:00Z")));
        assert_eq!((start.rate, why), (7.5, None));
        for (r, want) in [
            (stored(Some(7.5), "2026-12-02T11:00:00Z"), Distrust::Stale),
            (stored(None, "2026-12-03T02:00:00Z"), Distrust::Unreadable),
            (stored(Some(7.5), "not a time"), Distrust::Unreadable),
            (stored(Some(0.0), "2026-12-03T02:00:00Z"), Distrust::Absurd),
            (stored(Some(-3.0), "2026-12-03T02:00:00Z"), Distrust::Absurd),
            (
                stored(Some(201.0), "2026-12-03T02:00:00Z"),
                Distrust::Absurd,
            ),
            (
                stored(Some(f64::NAN), "2026-12-03T02:00:00Z"),
                Distrust::Absurd,
            ),
        ] {
            let (start, why) = resume(Some(r.clone()));
            assert_eq!(start.rate, 19.0, "{r:?}");
            assert_eq!(why, Some(want), "{r:?}");
        }
    }
}
