//! The pace against simulated services on tokio's paused clock: a token-bucket quota (holding a
//! tenth of a second's calls, as the stand-in's), a fixed share of throttles at any rate (other
//! clients of the account), and both, where a throttled call still spends its token. Workers
//! retry throttled calls at once, as the SDK's retries do behind the pace. The figures asserted
//! are the benchmarks' goals (BENCHMARKS.md), on simulated time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{Pace, Start};

struct Service {
    /// Calls a second the bucket refills with; none: no quota.
    quota: Option<f64>,
    tokens: f64,
    at: Instant,
    /// Throttled whatever our rate, and from when.
    share: f64,
    share_from: Instant,
    rng: u64,
    answered: u64,
}

impl Service {
    fn new(quota: Option<f64>, share: f64, seed: u64) -> Self {
        Service {
            quota,
            tokens: 0.0,
            at: Instant::now(),
            share,
            share_from: Instant::now(),
            rng: seed.max(1),
            answered: 0,
        }
    }

    /// xorshift64: a fixed sequence for each seed.
    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether a call arriving now is answered.
    fn call(&mut self, now: Instant) -> bool {
        if let Some(rate) = self.quota {
            let capacity = (rate / 10.0).max(1.0);
            self.tokens = (self.tokens + (now - self.at).as_secs_f64() * rate).min(capacity);
            self.at = now;
            if self.tokens < 1.0 {
                return false;
            }
            self.tokens -= 1.0;
        }
        if now >= self.share_from && self.uniform() < self.share {
            return false;
        }
        self.answered += 1;
        true
    }
}

/// Runs `workers` callers until `calls` were answered; the simulated seconds it took, and the
/// mean pace after the first `settle` seconds (a cut being judged lowers it for a moment).
async fn run(
    service: Service,
    quota: f64,
    workers: usize,
    calls: u64,
    settle: usize,
) -> (f64, f64) {
    let pace = Arc::new(Pace::new(Start {
        operation: "Simulated",
        quota,
    }));
    let service = Arc::new(Mutex::new(service));
    let started = Instant::now();
    let latency = Duration::from_millis(30);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (pace, service) = (pace.clone(), service.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                if service.lock().map(|s| s.answered >= calls).unwrap_or(true) {
                    return;
                }
                let ticket = pace.wait().await;
                tokio::time::sleep(latency / 2).await;
                let answered = service
                    .lock()
                    .map(|mut s| s.call(Instant::now()))
                    .unwrap_or(false);
                tokio::time::sleep(latency / 2).await;
                if answered {
                    pace.answered(Some(ticket));
                } else {
                    pace.throttled(Some(ticket));
                }
            }
        }));
    }
    let trace = {
        let (pace, service) = (pace.clone(), service.clone());
        tokio::spawn(async move {
            let mut rates = Vec::new();
            while service.lock().map(|s| s.answered < calls).unwrap_or(false) {
                rates.push(pace.rate());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            rates
        })
    };
    for t in tasks {
        t.await.ok();
    }
    let rates = trace.await.unwrap_or_default();
    if std::env::var_os("PACE_TRACE").is_some() {
        eprintln!(
            "{:.1}s; pace each second: {rates:.1?}",
            started.elapsed().as_secs_f64()
        );
    }
    let settled = rates.get(settle..).unwrap_or_default();
    let mean = settled.iter().sum::<f64>() / settled.len().max(1) as f64;
    (started.elapsed().as_secs_f64(), mean)
}

const SEEDS: [u64; 3] = [7, 1234, 987_654_321];

#[tokio::test(start_paused = true)]
async fn a_token_bucket_quota_is_followed_within_a_tenth_of_its_bound() {
    // Describes: 600 at 20 a second, 16 at a time.
    let (t, _) = run(Service::new(Some(20.0), 0.0, 1), 20.0, 16, 600, 0).await;
    assert!(t <= 1.1 * 30.0, "600 describes at 20/s took {t:.1}s");
    // A walk: 100 pages at 2 a second, one at a time.
    let (t, _) = run(Service::new(Some(2.0), 0.0, 1), 2.0, 1, 100, 0).await;
    assert!(t <= 1.1 * 50.0, "100 pages at 2/s took {t:.1}s");
}

#[tokio::test(start_paused = true)]
async fn a_quota_below_or_above_the_known_one_is_found() {
    // Below: the first throttles find it.
    let (t, _) = run(Service::new(Some(8.0), 0.0, 1), 20.0, 16, 600, 0).await;
    assert!(t <= 1.15 * 75.0, "600 describes at 8/s took {t:.1}s");
    // Above: found by probing after 30 s, at 5 % every 2 s.
    let (t, _) = run(Service::new(Some(40.0), 0.0, 1), 20.0, 16, 3000, 0).await;
    assert!(t <= 1.5 * 75.0, "3,000 describes at 40/s took {t:.1}s");
}

#[tokio::test(start_paused = true)]
async fn a_fixed_share_of_throttles_at_any_rate_does_not_bring_the_pace_down() {
    for seed in SEEDS {
        // A third of the calls throttled whatever the rate, no quota: the pace holds its start
        // (19/s) or climbs, answering two thirds of it.
        let (t, mean) = run(Service::new(None, 1.0 / 3.0, seed), 20.0, 16, 600, 5).await;
        let bound = 600.0 / (19.0 * 2.0 / 3.0);
        assert!(t <= 1.15 * bound, "seed {seed}: {t:.1}s, bound {bound:.1}s");
        assert!(
            mean >= 0.9 * 19.0,
            "seed {seed}: the pace fell to {mean:.2}"
        );
        // The same for a walk at 2 a second.
        let (t, mean) = run(Service::new(None, 1.0 / 3.0, seed), 2.0, 1, 100, 20).await;
        let bound = 100.0 / (1.9 * 2.0 / 3.0);
        assert!(
            t <= 1.25 * bound,
            "seed {seed}: walk {t:.1}s, bound {bound:.1}s"
        );
        assert!(
            mean >= 0.9 * 1.9,
            "seed {seed}: the walk's pace fell to {mean:.2}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_quota_and_a_share_of_throttles_together_keep_the_answered_bound() {
    for seed in SEEDS {
        // 20/s, a fifth throttled after spending its token: 16 answers a second at best.
        let (t, _) = run(Service::new(Some(20.0), 0.2, seed), 20.0, 16, 600, 0).await;
        assert!(t <= 1.25 * 37.5, "seed {seed}: {t:.1}s");
        // The quota lower than known as well: the hardest case, where our excess and the
        // background's come in the same spells, so the pace wanders about the quota a while.
        let (t, _) = run(Service::new(Some(8.0), 0.2, seed), 20.0, 16, 600, 0).await;
        let bound = 600.0 / (8.0 * 0.8);
        assert!(
            t <= 1.35 * bound,
            "seed {seed}: 8/s {t:.1}s, bound {bound:.1}s"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn other_clients_arriving_midway_do_not_bring_the_pace_down() {
    for seed in SEEDS {
        // 10 s of our own quota, then a third of calls throttled by others' polling.
        let mut service = Service::new(Some(20.0), 1.0 / 3.0, seed);
        service.share_from = Instant::now() + Duration::from_secs(10);
        let (t, mean) = run(service, 20.0, 16, 600, 15).await;
        let bound = 10.0 + (600.0 - 10.0 * 19.0) / (20.0 * 2.0 / 3.0);
        assert!(t <= 1.2 * bound, "seed {seed}: {t:.1}s, bound {bound:.1}s");
        assert!(
            mean >= 0.85 * 19.0,
            "seed {seed}: the pace fell to {mean:.2}"
        );
    }
}
