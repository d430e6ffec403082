//! Spells of outcomes at one pace, and the background share: the counts the pace's decisions
//! (`judge`) are made from, and the binomial tests that say when two shares differ.

use tokio::time::Instant;

use super::judge::SPREADS;

/// The background share assumed at least in the spread, and at most (so `1 − b` divides).
const MIN_SHARE: f64 = 0.01;
pub(super) const MAX_SHARE: f64 = 0.9;
/// Outcomes the background share is counted over (older ones fade out).
const BACKGROUND_OUTCOMES: f64 = 400.0;
/// A spell whose attempts came at less than this share of its pace was not held back by it: a
/// higher pace would say nothing of the quota.
const BINDING: f64 = 0.8;

/// The attempts sent at one pace since `since`, and their outcomes.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spell {
    pub(super) since: Instant,
    /// Filled in when the spell ends.
    pub(super) until: Instant,
    pub(super) rate: f64,
    pub(super) sent: u32,
    pub(super) answered: u32,
    pub(super) throttled: u32,
}

/// The share of attempts throttled at a pace a test showed under the quota, with that pace:
/// steady spells no faster add to it. Never learned at a pace that may be above the quota, so
/// it cannot grow with our own excess.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Background {
    outcomes: f64,
    throttled: f64,
    pub(super) under: Option<f64>,
}

impl Spell {
    pub(super) fn new(rate: f64, now: Instant) -> Self {
        Spell {
            since: now,
            until: now,
            rate,
            sent: 0,
            answered: 0,
            throttled: 0,
        }
    }

    pub(super) fn outcomes(&self) -> u32 {
        self.answered + self.throttled
    }

    pub(super) fn share(&self) -> f64 {
        f64::from(self.throttled) / f64::from(self.outcomes().max(1))
    }

    /// Attempts a second: the pace, when it is what held them back (the count over the spell
    /// reads a little off it, by the turn of the first attempt and the last one in).
    pub(super) fn sent_rate(&self) -> f64 {
        match self.binding() {
            true => self.rate,
            false => self.counted_rate(),
        }
    }

    /// Whether the pace is what held the attempts back.
    pub(super) fn binding(&self) -> bool {
        self.counted_rate() >= BINDING * self.rate
    }

    fn counted_rate(&self) -> f64 {
        let secs = (self.until - self.since).as_secs_f64().max(1e-3);
        f64::from(self.sent) / secs
    }
}

impl Background {
    pub(super) fn get(&self) -> f64 {
        if self.outcomes > 0.0 {
            (self.throttled / self.outcomes).min(MAX_SHARE)
        } else {
            0.0
        }
    }

    /// A test's lower spell was under the quota: its share is the background from now on,
    /// counted with the background's when no different.
    pub(super) fn learn(&mut self, lower: &Spell) {
        if !self.same(lower) {
            *self = Background::default();
        }
        self.under = Some(lower.rate);
        self.add(lower);
    }

    /// A steady spell with no excess, at a pace no faster than one shown under the quota.
    pub(super) fn steady(&mut self, spell: &Spell) {
        if self.under.is_some_and(|u| spell.rate <= u * (1.0 + 1e-9)) {
            self.add(spell);
        }
    }

    /// The lower spell's share, pooled with the background's when it is no different from it
    /// (a spell's share alone varies by its binomial spread, and the verdict divides by it).
    pub(super) fn pooled(&self, lower: &Spell) -> f64 {
        if !self.same(lower) {
            return lower.share();
        }
        let outcomes = self.outcomes + f64::from(lower.outcomes());
        (self.throttled + f64::from(lower.throttled)) / outcomes.max(1.0)
    }

    /// A background that a spell's share does not differ from.
    fn same(&self, spell: &Spell) -> bool {
        let (n, t) = (spell.outcomes(), spell.throttled);
        let b = self.get();
        self.outcomes > 0.0
            && !above(n, t, b, SPREADS, 1.0)
            && !above(n, n - t, 1.0 - b, SPREADS, 1.0)
    }

    fn add(&mut self, spell: &Spell) {
        self.outcomes += f64::from(spell.outcomes());
        self.throttled += f64::from(spell.throttled);
        if self.outcomes > BACKGROUND_OUTCOMES {
            let keep = BACKGROUND_OUTCOMES / self.outcomes;
            self.outcomes *= keep;
            self.throttled *= keep;
        }
    }
}

/// How many spreads apart two spells' throttled shares are (the two-proportion z).
pub(super) fn apart(a: &Spell, b: &Spell) -> f64 {
    let (na, nb) = (
        f64::from(a.outcomes().max(1)),
        f64::from(b.outcomes().max(1)),
    );
    let p = f64::from(a.throttled + b.throttled) / (na + nb);
    let spread = (p * (1.0 - p) * (1.0 / na + 1.0 / nb)).sqrt().max(1e-9);
    (a.share() - b.share()) / spread
}

/// Whether `throttled` of `outcomes` is more than a share `p` explains by `spreads` binomial
/// spreads and `plus`.
pub(super) fn above(outcomes: u32, throttled: u32, p: f64, spreads: f64, plus: f64) -> bool {
    let n = f64::from(outcomes);
    let p = p.clamp(MIN_SHARE, MAX_SHARE);
    f64::from(throttled) >= n * p + spreads * (n * p * (1.0 - p)).sqrt() + plus
}
