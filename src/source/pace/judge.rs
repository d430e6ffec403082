//! The pace's decisions, on the outcomes of the attempts sent at it: spells at one pace, the
//! tests that compare two paces a step apart by their answered rates, and the background share
//! (the module comment of `pace` says why). No clock of its own: every call is given `now`.

use std::time::Duration;

use tokio::time::Instant;

use super::Start;
use super::spell::{Background, MAX_SHARE, Spell, above, apart};

/// A test's two paces are this far apart: far enough that our share of a quota we exceed
/// changes measurably (5 % did not, at 20-25 % over a quota). A probe's step halves each time it
/// finds the quota, down to [`MIN_PROBE`], and doubles back each time it finds none: a probe
/// that is wrong can only leave the pace where it was, so it may be small.
const STEP: f64 = 1.2;
const MIN_PROBE: f64 = 1.025;
/// The least step that tells a pace under the quota from one above it, under a background.
const TELLS: f64 = 1.1;
/// A spell lasts at least this long and this many outcomes...
const SPELL: Duration = Duration::from_secs(2);
pub(super) const MIN_OUTCOMES: u32 = 10;
/// ...and, under a background share, enough outcomes that its answered share is known within
/// this relative spread (binomial), at most [`MAX_OUTCOMES`].
const PRECISION: f64 = 0.04;
const MAX_OUTCOMES: u32 = 300;
/// ...but no longer than this once it has the least outcomes: at a few calls a second, precision
/// would take minutes.
const SPELL_MOST: Duration = Duration::from_secs(20);
/// The share a spell's length allows for at most before a background is known: a glaring excess
/// is told in fewer outcomes than a background's noise.
const NOISE_MOST: f64 = 0.35;
/// A probe upward this long after the last test, twice as long after each probe that found the
/// quota where it was, up to [`PROBE_MOST`]; a check downward this long after the last test. What
/// they cost when there is nothing to find: above a quota whose bucket holds one token, every
/// other attempt is throttled, so a probe's spell costs half its attempts there.
const PROBE_EVERY: Duration = Duration::from_secs(30);
const PROBE_MOST: Duration = Duration::from_secs(240);
const CHECK_EVERY: Duration = Duration::from_secs(60);
/// The pace is set this far under what a test estimates the quota admits.
const UNDER: f64 = 0.97;
/// A spell is in excess when throttled more than the background share by this many binomial
/// spreads plus one, and by this share at least...
pub(super) const SPREADS: f64 = 2.0;
const MIN_EXCESS: f64 = 0.02;
/// ...and ends early, before its length, when throttled more by this many spreads plus two.
const GLARING: f64 = 4.0;
/// A lower pace throttled less than the spell in excess by this many spreads needs no fresh
/// spell back at the higher pace to tell the excess was ours.
const CLEARLY: f64 = 3.0;
/// The slowest pace, and the fastest as a multiple of the known quota.
pub(super) const FLOOR: f64 = 0.5;
pub(super) const CEILING: f64 = 10.0;

/// What an outcome changed, for `-v`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Change {
    /// Throttled more than the background explains at `from`: a lower pace is tried.
    Lower { from: f64, to: f64, share: f64 },
    /// A higher pace is tried, or a lower one to check the current one buys anything.
    Probe { from: f64, to: f64 },
    /// A test's verdict: the pace from now on, and whether the lower pace was under the quota
    /// (its throttles were others': the background share).
    Judged {
        rate: f64,
        under_quota: bool,
        background: f64,
    },
}

/// One operation's pace and what it has learned.
#[derive(Debug)]
pub(super) struct State {
    pub(super) rate: f64,
    /// Outcomes counted at all.
    pub(super) outcomes: u64,
    /// The last spell's share, while no background is known.
    last_share: f64,
    /// The pace outside tests: what a run remembers.
    pub(super) steady: f64,
    ceiling: f64,
    /// When the next attempt may start, and when the last one did.
    next: Option<Instant>,
    last_sent: Option<Instant>,
    /// Changes with the rate; tickets carry it.
    pub(super) epoch: u64,
    spell: Spell,
    test: Option<Test>,
    background: Background,
    /// When the next probe or check is due, which, and the probe's step.
    probe_at: Instant,
    probe_every: Duration,
    check_at: Instant,
    probe_step: f64,
    /// The steady pace after each verdict.
    #[cfg(test)]
    pub(super) verdicts: Vec<f64>,
}

/// A test of two paces being run.
#[derive(Debug, Clone, Copy)]
enum Test {
    /// A steady spell, `trigger`, was in excess: a spell at the lower pace comes first, then a
    /// fresh one back at the trigger's pace (the trigger was picked for its throttles, and reads
    /// as more throttled than its pace is), unless the lower pace was throttled clearly less.
    Lower { trigger: Spell },
    /// The first spell of a test is in; the current spell is the other, higher when the test
    /// is a probe.
    Against { first: Spell, probe: bool },
}

/// What a probe found up to its pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Nothing,
    Quota,
    /// The answered rates' spread covers both.
    Unsure,
}

impl State {
    /// A pace from where `start` says.
    pub(super) fn new(start: Start, now: Instant) -> Self {
        let ceiling = (start.quota * CEILING).max(FLOOR);
        let rate = start.rate.clamp(FLOOR, ceiling);
        // A learned pace found the quota: probe for more as after a probe that found it.
        let (probe_step, probe_every) = match start.learned {
            true => (1.0 + (STEP - 1.0) / 4.0, PROBE_EVERY * 4),
            false => (STEP, PROBE_EVERY),
        };
        State {
            rate,
            steady: rate,
            outcomes: 0,
            last_share: 0.0,
            ceiling,
            next: None,
            last_sent: None,
            epoch: 0,
            spell: Spell::new(rate, now),
            test: None,
            background: Background::default(),
            probe_at: now + probe_every,
            probe_every,
            check_at: now + CHECK_EVERY,
            probe_step,
            #[cfg(test)]
            verdicts: Vec::new(),
        }
    }

    fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }

    /// The start of the next attempt's turn.
    pub(super) fn reserve(&mut self, now: Instant) -> Instant {
        let slot = self.next.map_or(now, |n| n.max(now));
        self.next = Some(slot + self.interval());
        slot
    }

    /// An attempt starts now. A busy runtime wakes a sleeper late; the next attempt keeps its
    /// distance from this one as sent, not as planned, or the two reach a one-token bucket too
    /// close together.
    pub(super) fn sent(&mut self, now: Instant) -> u64 {
        let after = now + self.interval();
        self.next = Some(self.next.map_or(after, |n| n.max(after)));
        self.last_sent = Some(now);
        self.spell.sent += 1;
        self.epoch
    }

    /// An outcome of an attempt sent at the pace of `epoch` (`None`: not paced). Outcomes of
    /// attempts sent at an older pace say nothing of the current one.
    pub(super) fn outcome(
        &mut self,
        epoch: Option<u64>,
        throttled: bool,
        now: Instant,
    ) -> Option<Change> {
        self.outcomes += 1;
        if epoch.is_some_and(|e| e != self.epoch) {
            return None;
        }
        match throttled {
            true => self.spell.throttled += 1,
            false => self.spell.answered += 1,
        }
        if !self.spell_ends(now) {
            return None;
        }
        let mut spell = self.spell;
        spell.until = now;
        self.last_share = match self.background.under {
            Some(_) => 0.0,
            None => spell.share(),
        };
        match self.test.take() {
            Some(Test::Lower { trigger }) if apart(&trigger, &spell) >= CLEARLY => {
                Some(self.verdict(spell, trigger, false, now))
            }
            Some(Test::Lower { trigger }) => {
                self.test = Some(Test::Against {
                    first: spell,
                    probe: false,
                });
                self.set(trigger.rate, now);
                None
            }
            Some(Test::Against { first, probe }) => Some(self.verdict(first, spell, probe, now)),
            None => self.after_steady(spell, now),
        }
    }

    /// A spell ends at its length, or early when a steady one is throttled glaringly more than
    /// the background.
    /// Outcomes a spell needs for its answered share to be known within [`PRECISION`], were it
    /// throttled as the background or, before one is known, as the last spell was.
    fn spell_outcomes(&self) -> u32 {
        let p = self.background.get().max(self.last_share.min(NOISE_MOST));
        let n = (p / (1.0 - p) / (PRECISION * PRECISION)).ceil();
        (n as u32).clamp(MIN_OUTCOMES, MAX_OUTCOMES)
    }

    fn spell_ends(&self, now: Instant) -> bool {
        let s = &self.spell;
        let elapsed = now - s.since;
        let long = elapsed >= SPELL
            && (s.outcomes() >= self.spell_outcomes()
                || (elapsed >= SPELL_MOST && s.outcomes() >= MIN_OUTCOMES));
        let glaring = self.test.is_none()
            && elapsed >= SPELL / 2
            && s.outcomes() >= MIN_OUTCOMES
            && above(
                s.outcomes(),
                s.throttled,
                self.background.get(),
                GLARING,
                2.0,
            );
        long || glaring
    }

    /// A steady spell ended: a lower pace is tried when it was in excess; else, when due, a
    /// higher one (a probe for more quota) or a lower one (a check that this pace buys
    /// anything); else the next spell starts.
    fn after_steady(&mut self, spell: Spell, now: Instant) -> Option<Change> {
        let b = self.background.get();
        let excess = above(spell.outcomes(), spell.throttled, b, SPREADS, 1.0)
            && spell.share() >= b + MIN_EXCESS;
        if excess {
            // What the quota admits if the excess is ours: the answered rate with the
            // background's share added back; a step down at least, so the test can tell.
            let admits = spell.sent_rate() * (1.0 - spell.share()) / (1.0 - b) * UNDER;
            let to = admits.min(spell.rate / STEP).max(FLOOR);
            // At the floor there is no lower pace to try.
            if to < spell.rate {
                let test = Test::Lower { trigger: spell };
                return Some(self.start_test(test, to, now, |from, to| Change::Lower {
                    from,
                    to,
                    share: spell.share(),
                }));
            }
        }
        if !excess {
            self.background.steady(&spell);
        }
        let probe = now >= self.probe_at && spell.binding() && spell.rate < self.ceiling;
        let to = match (probe, now >= self.check_at) {
            (true, _) => (spell.rate * self.probe_step).min(self.ceiling),
            (false, true) => spell.rate / STEP,
            (false, false) => {
                self.spell = Spell::new(self.rate, now);
                return None;
            }
        };
        let test = Test::Against {
            first: spell,
            probe,
        };
        Some(self.start_test(test, to, now, |from, to| Change::Probe { from, to }))
    }

    fn start_test(
        &mut self,
        test: Test,
        to: f64,
        now: Instant,
        change: impl Fn(f64, f64) -> Change,
    ) -> Change {
        let from = self.rate;
        self.test = Some(test);
        self.set(to, now);
        change(from, self.rate)
    }

    /// Both spells of a test are in. What the quota admits is the higher pace's answered rate at
    /// the lower pace's answered share: if the lower pace is under the quota (its throttles are
    /// the background's), that is the quota, or more than the higher pace when the higher is
    /// under it too; if both are above the quota, it is the lower pace. A higher pace that does
    /// not raise the answered rate is thus our own excess, whoever else throttles.
    fn verdict(&mut self, first: Spell, second: Spell, probed: bool, now: Instant) -> Change {
        let (lower, higher) = match first.rate <= second.rate {
            true => (first, second),
            false => (second, first),
        };
        let b = self.background.pooled(&lower).min(MAX_SHARE);
        let answered_at_lower = 1.0 - b;
        let admits = match lower.answered {
            0 => lower.rate,
            _ => higher.sent_rate() * (1.0 - higher.share()) / answered_at_lower,
        };
        // The estimate's relative spread, were both spells throttled at `b`: the pace moves
        // from where it was only as far as the estimate shows beyond it (else noise alone
        // would lower a pace under the quota at each check, or raise one over it at each probe).
        let inverse = |s: &Spell| 1.0 / f64::from(s.outcomes().max(1));
        let spread = SPREADS * (b / (1.0 - b) * (inverse(&higher) + inverse(&lower))).sqrt();
        // A probe takes the higher pace when the estimate is within one spread of it; a check or
        // a cut leaves the higher pace only when two spreads above the estimate are under it.
        let (low, high) = (admits * (1.0 - spread / 2.0), admits * (1.0 + spread));
        let found = match (low >= higher.rate, high < higher.rate) {
            (true, _) => Found::Nothing,
            (false, true) => Found::Quota,
            (false, false) => Found::Unsure,
        };
        let rate = match (probed, found) {
            (true, Found::Nothing) | (false, Found::Nothing | Found::Unsure) => higher.rate,
            _ => (admits * UNDER).clamp(lower.rate, higher.rate),
        };
        let found = probed.then_some(found);
        // The quota well above the lower pace, a step apart: the lower one was under it, and its
        // share is the background's. (A probe's small step cannot tell.)
        let under_quota =
            low >= lower.rate * (1.0 + TELLS) / 2.0 && higher.rate >= lower.rate * TELLS;
        if under_quota {
            self.background.learn(&lower);
        } else {
            self.background.under = None;
        }
        self.schedule(found, now);
        self.steady = rate;
        #[cfg(test)]
        self.verdicts.push(rate);
        self.set(rate, now);
        Change::Judged {
            rate: self.rate,
            under_quota,
            background: self.background.get(),
        }
    }

    /// The next tests: a probe that found no quota up to its pace probes again after a spell
    /// there, with a step twice as large; one that found the quota under its pace waits twice as
    /// long for the next, with a step half as large; one that could not tell probes again after
    /// a spell. A check follows any test a while later.
    fn schedule(&mut self, probe: Option<Found>, now: Instant) {
        match probe {
            Some(Found::Nothing) => {
                self.probe_step = (1.0 + 2.0 * (self.probe_step - 1.0)).min(STEP);
                self.probe_every = PROBE_EVERY;
                self.probe_at = now;
            }
            Some(Found::Quota) => {
                self.probe_step = (1.0 + (self.probe_step - 1.0) / 2.0).max(MIN_PROBE);
                self.probe_every = (self.probe_every * 2).min(PROBE_MOST);
                self.probe_at = now + self.probe_every;
            }
            Some(Found::Unsure) => self.probe_at = now,
            None => {}
        }
        self.check_at = now + CHECK_EVERY;
    }

    /// A new pace: the turns taken at the old one are taken again, one interval after the last
    /// attempt sent.
    fn set(&mut self, rate: f64, now: Instant) {
        self.rate = rate.clamp(FLOOR, self.ceiling);
        self.epoch += 1;
        self.next = self.last_sent.map(|t| t + self.interval());
        self.spell = Spell::new(self.rate, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::op::Op;

    fn start(rate: f64, quota: f64) -> Start {
        Start {
            rate,
            ..Start::under(Op::DescribeTrainingJob, quota)
        }
    }

    /// Up to `n` attempts at `s`'s pace, `throttled` of them spread evenly, until the pace
    /// changes.
    fn run(s: &mut State, now: &mut Instant, n: u32, throttled: u32) {
        let every = s.interval();
        for i in 0..n {
            let epoch = s.sent(*now);
            let t = (i + 1) * throttled / n > i * throttled / n;
            *now += every;
            if s.outcome(Some(epoch), t, *now).is_some() {
                return;
            }
        }
    }

    #[test]
    fn it_starts_where_told_and_waits_its_turn() {
        let now = Instant::now();
        let mut s = State::new(start(19.0, 20.0), now);
        assert_eq!(s.rate, 19.0);
        let first = s.reserve(now);
        let second = s.reserve(now);
        assert_eq!(first, now);
        assert_eq!(second - first, s.interval());
    }

    #[test]
    fn outcomes_of_attempts_sent_at_an_older_pace_are_not_counted() {
        let now = Instant::now();
        let mut s = State::new(start(19.0, 20.0), now);
        let old = s.sent(now);
        s.set(10.0, now);
        assert_eq!(s.outcome(Some(old), true, now), None);
        assert_eq!(s.spell.throttled, 0);
    }

    #[test]
    fn a_background_share_is_no_excess_until_well_above_it() {
        assert!(!above(20, 2, 0.0, SPREADS, 1.0));
        assert!(above(2, 2, 0.0, SPREADS, 1.0));
        assert!(!above(30, 12, 1.0 / 3.0, SPREADS, 1.0));
        assert!(above(30, 19, 1.0 / 3.0, SPREADS, 1.0));
    }

    /// Spells of 60 attempts, each throttled at the share `throttled_at` its pace, until a test
    /// started by the first is judged.
    fn until_judged(s: &mut State, now: &mut Instant, throttled_at: impl Fn(f64) -> f64) {
        for _ in 0..20 {
            let share = throttled_at(s.rate);
            run(s, now, 60, (60.0 * share).round() as u32);
            if s.test.is_none() && s.verdicts.len() == 1 {
                return;
            }
        }
        panic!("no verdict: {s:?}");
    }

    /// At 25 % over a quota of 20 (the pace of issue 28), a test a step down answers as many
    /// calls a second: the excess was ours, and the pace goes under the quota.
    #[test]
    fn a_lower_pace_that_answers_as_many_calls_finds_the_quota() {
        let mut now = Instant::now();
        let mut s = State::new(start(25.0, 20.0), now);
        until_judged(&mut s, &mut now, |rate| (1.0 - 20.0 / rate).max(0.0));
        assert!((s.rate - 20.0 * UNDER).abs() < 0.5, "{}", s.rate);
        assert_eq!(s.background.get(), 0.0);
    }

    /// Throttled as much a step down, with the answered rate down as much: the throttles were
    /// others', the pace goes back, and the lower pace's share is the background.
    #[test]
    fn a_lower_pace_that_answers_fewer_calls_puts_the_pace_back() {
        let mut now = Instant::now();
        let mut s = State::new(start(19.0, 20.0), now);
        until_judged(&mut s, &mut now, |_| 0.2);
        assert_eq!(s.rate, 19.0);
        assert!(
            (s.background.get() - 0.2).abs() < 0.03,
            "{}",
            s.background.get()
        );
    }

    #[test]
    fn no_pace_goes_below_the_floor_or_above_the_ceiling() {
        let now = Instant::now();
        let mut s = State::new(start(19.0, 2.0), now);
        assert_eq!(s.rate, 19.0);
        s.set(0.01, now);
        assert_eq!(s.rate, FLOOR);
        s.set(1e6, now);
        assert_eq!(s.rate, 20.0);
    }
}
