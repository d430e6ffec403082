//! The pace of each SageMaker operation of a scope: how many attempts a second it may start,
//! learned from the service's throttles with no flags. Every attempt, the SDK's retries included,
//! waits for its operation's pace in the HTTP client ([`http::Paced`]) and carries a [`Ticket`]
//! saying which pace it was sent at; the capture tells the pace how the service answered it.
//!
//! SageMaker's quotas are per account and operation, and shared: the SageMaker Python SDK polls
//! DescribeTrainingJob every few seconds for each job a notebook waits on, Studio and Pipelines
//! call it too. So a throttle is either ours (our pace is above what the quota leaves us) or not
//! (another client spent the tokens). Only the first kind goes away when we slow down, and that
//! is how the two are told apart:
//!
//! - **Start** at 95 % of the quota the operation is known to have ([`Start`]), taken as a pace
//!   already found too fast: no ramp from nothing, no climb past it for the first 30 s.
//! - **Background.** The share of attempts throttled at paces that showed no excess of ours is
//!   the background share `b`, counted over the last few hundred of them.
//! - **Cut** when the attempts sent at the current pace are throttled significantly more than
//!   `b` explains (more throttles than `n·b + 2σ + 1`, σ the binomial spread): to 95 % of the
//!   pace the last answers came at, divided by `1 − b` (what the quota admits, background
//!   included), and never below a pace that showed no excess for a whole spell. The pace cut is
//!   the pace last found too fast.
//! - **Judge** the cut, with no further cut meanwhile (attempts sent at another pace do not
//!   count: tickets). If the next 20 attempts at the lower pace have fewer than 3 throttles, the
//!   cut stands. Otherwise the pace goes back for 20 attempts: a fresh spell there, not the one
//!   that set the cut off (picked for its throttles), is compared with the lower one. If it is
//!   throttled significantly more, the throttles were ours: the lower spell's share is the
//!   background and the pace is cut again, measured afresh, for good. If not, they were others':
//!   the two spells' share is the background from then on and the pace stays where it was. So
//!   throttles that are not ours lower the pace for one judgement at a time, never to the floor.
//! - **Raise** by 5 % every 2 s without excess while the pace is what holds the calls back, up to
//!   95 % of the pace last found too fast, and past that only 30 s after the last cut that stood,
//!   to follow a quota that grows: each probe above the quota costs a throttled attempt.
//!
//! Why not the SDK's adaptive limiter: it measures its rate in half-second buckets and cuts to
//! 70 % of that measure at each throttle, whoever caused it; at a quota of 2 calls/s the measure
//! jumps between 0, 2 and 4 (BENCHMARKS.md). Why not governor: its quota is fixed, and a limiter
//! built anew at each change lets a call through at once.

pub mod http;
#[cfg(test)]
mod sim;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Answers over which the service's pace is measured at a cut.
const ANSWERS: usize = 6;
/// The pace after a cut, of the pace measured.
const BELOW: f64 = 0.95;
/// The cut when too few answers came since the last cut to measure their pace, after this many
/// throttles (until then, the answers to come measure it).
const HALVE: f64 = 0.5;
const UNMEASURED_AFTER: u32 = 12;
/// Attempts at the lower pace that judge a cut.
const JUDGE: u32 = 20;
/// Throttles a judgement needs at the lower pace to call them not ours.
const NOT_OURS_MIN: u32 = 3;
/// How far above the expected throttles (in binomial spreads, plus a constant) is an excess.
const SPREADS: f64 = 2.0;
const MARGIN: f64 = 1.0;
/// The background share assumed at least, so rare throttles over a long spell are no excess.
const MIN_SHARE: f64 = 0.01;
/// The background share is at most this, so that `1 − b` stays a divisor.
const MAX_SHARE: f64 = 0.9;
/// Outcomes the background share is counted over (older ones fade out).
const BACKGROUND_OUTCOMES: f64 = 400.0;
/// A spell of outcomes at one pace closes after this long and this many outcomes.
const SPELL: Duration = Duration::from_secs(2);
const SPELL_OUTCOMES: u32 = 20;
/// No raise until this long after a cut that stood.
const QUIET: Duration = Duration::from_secs(5);
const RAISE: f64 = 1.05;
/// Raises stop at this much of the pace last found too fast...
const UNDER_HIT: f64 = 0.95;
/// ...until this long after it was found.
const PROBE_AFTER: Duration = Duration::from_secs(30);
/// A pace is raised only while the attempts come at least this close to it: a pace the
/// concurrency never reaches says nothing of the quota.
const BINDING: f64 = 0.8;
/// The slowest pace, the SDK's adaptive floor too.
const FLOOR: f64 = 0.5;

/// The quota an operation is known to start from, in calls a second. AWS publishes no rate per
/// SageMaker operation; these are the default quotas this project measures against (issues 10
/// and 20: ListTrainingJobs and Search about 2 calls/s, DescribeTrainingJob and ListTags about
/// 20, per account and region), which the stand-in's benchmarks model. A quota that is higher is
/// found by probing after 30 s; one that is lower by the first throttles.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub operation: &'static str,
    pub quota: f64,
}

/// The pace an attempt was sent at, carried from the HTTP client to the capture: an answer to an
/// attempt sent at an older pace says nothing of the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket(u64);

/// One operation's pace.
#[derive(Debug)]
pub struct Pace {
    operation: &'static str,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    rate: f64,
    /// When the next attempt may start, and when the last one did.
    next: Option<Instant>,
    last_sent: Option<Instant>,
    /// Changes with the rate; tickets carry it.
    epoch: u64,
    spell: Spell,
    /// The last answers, since the last cut.
    answers: VecDeque<Instant>,
    /// A cut being judged.
    trial: Option<Trial>,
    background: Share,
    /// The pace last found too fast, and when.
    hit: f64,
    hit_at: Instant,
    /// The last pace a spell of at least [`SPELL`] showed no excess at.
    safe: Option<f64>,
}

/// Outcomes of the attempts sent at the current pace since `since`.
#[derive(Debug, Clone, Copy)]
struct Spell {
    since: Instant,
    sent: u32,
    answered: u32,
    throttled: u32,
}

/// A cut being judged.
#[derive(Debug, Clone, Copy)]
enum Trial {
    /// Cut from `before`; a spell at the lower pace comes first.
    Lower { before: f64, back: Hit },
    /// `lower` was the spell at the lower pace: back at the pace before the cut, a fresh spell
    /// there (not the one that set the cut off, which was picked for its throttles) judges.
    Again { lower: Counts, back: Hit },
}

/// Outcomes and throttles of a spell.
#[derive(Debug, Clone, Copy)]
struct Counts {
    outcomes: u32,
    throttled: u32,
}

/// The pace last found too fast, and when: what a cut found not ours puts back.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rate: f64,
    at: Instant,
}

/// A share of throttled outcomes, counted over the last [`BACKGROUND_OUTCOMES`].
#[derive(Debug, Clone, Copy, Default)]
struct Share {
    outcomes: f64,
    throttled: f64,
}

impl Pace {
    pub fn new(start: Start) -> Self {
        Pace {
            operation: start.operation,
            state: Mutex::new(State::new(start.quota, Instant::now())),
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
                Ok(mut s) if s.epoch == epoch => return s.sent(Instant::now()),
                Ok(_) => continue,
                Err(_) => return Ticket(0),
            }
        }
    }

    /// The service answered an attempt (`None`: one that did not go through [`Pace::wait`]).
    pub fn answered(&self, ticket: Option<Ticket>) {
        if let Ok(mut s) = self.state.lock()
            && let Some(change) = s.answered(ticket, Instant::now())
        {
            change.log(self.operation);
        }
    }

    /// The service throttled an attempt.
    pub fn throttled(&self, ticket: Option<Ticket>) {
        if let Ok(mut s) = self.state.lock()
            && let Some(change) = s.throttled(ticket, Instant::now())
        {
            change.log(self.operation);
        }
    }

    /// Attempts a second, now.
    #[cfg(test)]
    pub fn rate(&self) -> f64 {
        self.state.lock().map(|s| s.rate).unwrap_or_default()
    }
}

/// What an outcome changed, for `-v`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    Cut {
        rate: f64,
        share: f64,
        background: f64,
    },
    NotOurs {
        rate: f64,
        background: f64,
    },
    Raised {
        rate: f64,
    },
}

impl Change {
    fn log(self, operation: &'static str) {
        #[cfg(test)]
        if std::env::var_os("PACE_TRACE").is_some() {
            eprintln!("{:?} {self:?}", tokio::time::Instant::now());
        }
        match self {
            Change::Cut {
                rate,
                share,
                background,
            } => tracing::debug!(
                operation,
                rate,
                share,
                background,
                "throttled more than the background share: the pace is lowered"
            ),
            Change::NotOurs { rate, background } => tracing::debug!(
                operation,
                rate,
                background,
                "throttled as often at the lower pace: the throttles are not ours, the pace goes back"
            ),
            Change::Raised { rate } => tracing::debug!(operation, rate, "the pace is raised"),
        }
    }
}

impl Spell {
    fn new(since: Instant) -> Self {
        Spell {
            since,
            sent: 0,
            answered: 0,
            throttled: 0,
        }
    }

    fn outcomes(&self) -> u32 {
        self.answered + self.throttled
    }

    fn counts(&self) -> Counts {
        Counts {
            outcomes: self.outcomes(),
            throttled: self.throttled,
        }
    }
}

impl Counts {
    fn share(&self) -> f64 {
        f64::from(self.throttled) / f64::from(self.outcomes.max(1))
    }

    /// Significantly more throttled than `other`?
    fn above(&self, other: Counts) -> bool {
        above(self.outcomes, self.throttled, other.share())
    }
}

impl Share {
    fn of(counts: &[Counts]) -> Self {
        let mut share = Share::default();
        for c in counts {
            share.add(*c);
        }
        share
    }

    fn add(&mut self, c: Counts) {
        self.outcomes += f64::from(c.outcomes);
        self.throttled += f64::from(c.throttled);
        if self.outcomes > BACKGROUND_OUTCOMES {
            let keep = BACKGROUND_OUTCOMES / self.outcomes;
            self.outcomes *= keep;
            self.throttled *= keep;
        }
    }

    fn get(&self) -> f64 {
        if self.outcomes > 0.0 {
            (self.throttled / self.outcomes).min(MAX_SHARE)
        } else {
            0.0
        }
    }
}

/// Whether `throttled` of `outcomes` is significantly more than a share `p` explains.
fn above(outcomes: u32, throttled: u32, p: f64) -> bool {
    let n = f64::from(outcomes);
    let p = p.clamp(MIN_SHARE, MAX_SHARE);
    f64::from(throttled) >= n * p + SPREADS * (n * p * (1.0 - p)).sqrt() + MARGIN
}

impl State {
    fn new(quota: f64, now: Instant) -> Self {
        State {
            rate: (quota * UNDER_HIT).max(FLOOR),
            next: None,
            last_sent: None,
            epoch: 0,
            spell: Spell::new(now),
            answers: VecDeque::new(),
            trial: None,
            background: Share::default(),
            hit: quota,
            hit_at: now,
            safe: None,
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }

    /// The start of the next attempt's turn.
    fn reserve(&mut self, now: Instant) -> Instant {
        let slot = self.next.map_or(now, |n| n.max(now));
        self.next = Some(slot + self.interval());
        slot
    }

    /// An attempt starts now. A busy runtime wakes a sleeper late; the next attempt keeps its
    /// distance from this one as sent, not as planned, or the two reach a one-token bucket too
    /// close together.
    fn sent(&mut self, now: Instant) -> Ticket {
        let after = now + self.interval();
        self.next = Some(self.next.map_or(after, |n| n.max(after)));
        self.last_sent = Some(now);
        self.spell.sent += 1;
        Ticket(self.epoch)
    }

    fn current(&self, ticket: Option<Ticket>) -> bool {
        ticket.is_none_or(|t| t.0 == self.epoch)
    }

    fn answered(&mut self, ticket: Option<Ticket>, now: Instant) -> Option<Change> {
        self.answers.push_back(now);
        if self.answers.len() > ANSWERS {
            self.answers.pop_front();
        }
        if !self.current(ticket) {
            return None;
        }
        self.spell.answered += 1;
        self.step(now)
    }

    fn throttled(&mut self, ticket: Option<Ticket>, now: Instant) -> Option<Change> {
        if !self.current(ticket) {
            return None;
        }
        self.spell.throttled += 1;
        if self.trial.is_none()
            && above(
                self.spell.outcomes(),
                self.spell.throttled,
                self.background.get(),
            )
            && let Some(change) = self.cut(now, true)
        {
            return Some(change);
        }
        self.step(now)
    }

    /// After an outcome at the current pace: judge a cut, or raise, or close the spell.
    fn step(&mut self, now: Instant) -> Option<Change> {
        if self.trial.is_some() {
            return (self.spell.outcomes() >= JUDGE).then(|| self.judge(now))?;
        }
        let elapsed = now - self.spell.since;
        if elapsed < SPELL {
            return None;
        }
        let cap = if now - self.hit_at >= PROBE_AFTER {
            f64::INFINITY
        } else {
            UNDER_HIT * self.hit
        };
        let binding = f64::from(self.spell.sent) >= BINDING * self.rate * elapsed.as_secs_f64();
        let quiet = now - self.hit_at >= QUIET;
        if binding && quiet && self.rate < cap {
            self.close_spell(now);
            let rate = (self.rate * RAISE).min(cap);
            self.set(rate, now);
            return Some(Change::Raised { rate: self.rate });
        }
        if self.spell.outcomes() >= SPELL_OUTCOMES {
            self.close_spell(now);
        }
        None
    }

    /// The spell showed no excess: at a pace not above the quota as last found, its share is
    /// the background's.
    fn close_spell(&mut self, now: Instant) {
        if self.rate <= UNDER_HIT * self.hit * (1.0 + 1e-9) {
            self.background.add(self.spell.counts());
        }
        if now - self.spell.since >= SPELL {
            self.safe = Some(self.rate);
        }
        self.spell = Spell::new(now);
    }

    /// A cut, to be judged or not. None: too few answers yet to measure the pace they come at.
    fn cut(&mut self, now: Instant, judged: bool) -> Option<Change> {
        let background = self.background.get();
        let measured = match (self.answers.front(), self.answers.back()) {
            (Some(first), Some(last)) if self.answers.len() >= 3 => {
                let span = (*last - *first).as_secs_f64().max(0.05);
                Some((self.answers.len() - 1) as f64 / span)
            }
            _ => None,
        };
        let below = self.rate * BELOW;
        let cut = self.spell.counts();
        // What the quota admits: the answers' pace with the background's share added back.
        let target = match measured {
            Some(m) => m / (1.0 - background) * BELOW,
            None if cut.throttled >= UNMEASURED_AFTER => self.rate * HALVE,
            None => return None,
        };
        // A pace that showed no excess for a whole spell is a floor for the cut: answers
        // measured across a throttled attempt's gap run low.
        let target = self.safe.map_or(target, |safe| target.max(safe.min(below)));
        self.trial = judged.then_some(Trial::Lower {
            before: self.rate,
            back: Hit {
                rate: self.hit,
                at: self.hit_at,
            },
        });
        self.hit = self.rate;
        self.hit_at = now;
        self.answers.clear();
        self.set(target.min(below), now);
        Some(Change::Cut {
            rate: self.rate,
            share: cut.share(),
            background,
        })
    }

    /// Whether the throttles came with the higher pace: a spell there was throttled
    /// significantly more than one at the lower pace.
    fn judge(&mut self, now: Instant) -> Option<Change> {
        let spell = self.spell.counts();
        match self.trial.take()? {
            // Fewer throttles at the lower pace than a background could show: the cut stands,
            // and those few are the background's.
            Trial::Lower { .. } if spell.throttled < NOT_OURS_MIN => {
                self.background = Share::of(&[spell]);
                self.spell = Spell::new(now);
                None
            }
            Trial::Lower { before, back } => {
                self.set(before, now);
                self.trial = Some(Trial::Again { lower: spell, back });
                None
            }
            // Ours; what the lower pace was still throttled is the background's share.
            Trial::Again { lower, .. } if spell.above(lower) => {
                self.background = Share::of(&[lower]);
                self.cut(now, false)
            }
            Trial::Again { lower, back } => Some(self.not_ours(back, &[lower, spell], now)),
        }
    }

    /// Throttled as much at the lower pace: the throttles are others'. Their share is the
    /// background from now on (older spells counted a background that has changed), and the pace
    /// stays where it was before the cut.
    fn not_ours(&mut self, back: Hit, spells: &[Counts], now: Instant) -> Change {
        self.background = Share::of(spells);
        self.hit = back.rate;
        self.hit_at = back.at;
        self.spell = Spell::new(now);
        Change::NotOurs {
            rate: self.rate,
            background: self.background.get(),
        }
    }

    /// A new pace: the turns taken at the old one are taken again, one interval after the last
    /// attempt sent.
    fn set(&mut self, rate: f64, now: Instant) {
        self.rate = rate.max(FLOOR);
        self.epoch += 1;
        self.next = self.last_sent.map(|t| t + self.interval());
        self.spell = Spell::new(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> (State, Instant) {
        let now = Instant::now();
        (State::new(20.0, now), now)
    }

    #[test]
    fn it_starts_under_the_known_quota_and_waits_its_turn() {
        let (mut s, now) = state();
        assert_eq!(s.rate, 19.0);
        let first = s.reserve(now);
        let second = s.reserve(now);
        assert_eq!(first, now);
        assert_eq!(second - first, s.interval());
    }

    #[test]
    fn throttles_of_attempts_sent_at_an_older_pace_are_not_counted() {
        let (mut s, now) = state();
        let old = s.sent(now);
        s.set(10.0, now);
        assert_eq!(s.throttled(Some(old), now), None);
        assert_eq!(s.spell.throttled, 0);
    }

    #[test]
    fn two_throttles_with_no_background_cut_to_below_the_answers_pace() {
        let (mut s, mut now) = state();
        for _ in 0..10 {
            let t = s.sent(now);
            s.answered(Some(t), now);
            now += Duration::from_millis(100);
        }
        let t = s.sent(now);
        assert_eq!(s.throttled(Some(t), now), None);
        let t = s.sent(now);
        let cut = s.throttled(Some(t), now);
        assert!(matches!(cut, Some(Change::Cut { .. })), "{cut:?}");
        // Answers every 100 ms: 10 a second, and 95 % of that.
        assert!((s.rate - 9.5).abs() < 1e-9, "{}", s.rate);
        assert_eq!(s.hit, 19.0);
    }

    #[test]
    fn a_background_share_is_no_excess_until_well_above_it() {
        assert!(!above(20, 2, 0.0));
        assert!(above(2, 2, 0.0));
        // A third of 30 is 10: 12 is within the spread, 19 is not.
        assert!(!above(30, 12, 1.0 / 3.0));
        assert!(above(30, 19, 1.0 / 3.0));
    }

    #[test]
    fn the_background_share_fades_to_the_latest_outcomes() {
        let mut b = Share::default();
        b.add(Counts {
            outcomes: 400,
            throttled: 200,
        });
        assert!((b.get() - 0.5).abs() < 1e-9);
        b.add(Counts {
            outcomes: 400,
            throttled: 0,
        });
        assert!((b.get() - 0.25).abs() < 1e-9);
    }

    #[test]
    fn no_pace_goes_below_the_floor() {
        let (mut s, now) = state();
        s.set(0.01, now);
        assert_eq!(s.rate, FLOOR);
    }
}
