//! The pace of each SageMaker operation of a scope, learned from the service's throttles with no
//! flags. Every attempt, the SDK's retries included, waits for its operation's pace in the HTTP
//! client ([`Paced`]); each answer or throttle the capture sees teaches it.
//!
//! Why not the SDK's adaptive limiter: it measures its rate in half-second buckets and cuts to
//! 70 % of that measure at each throttle; at a quota of 2 calls/s the measure jumps between 0, 2
//! and 4, and a Search walk ran at 55-65 % of its quota; it ramps the describes up slowly too
//! (BENCHMARKS.md). Why not governor: its quota is fixed, and a limiter built anew at each change
//! lets a call through at once, a throttle when the quota is two calls a second.
//!
//! The rule: a throttle sets the pace to 95 % of the pace of the last answers. A quiet spell
//! raises it by 5 % every two seconds up to 95 % of the pace that was last throttled, and past
//! that only after 30 quiet seconds, to follow a quota that grows: each probe above the quota
//! costs a throttled attempt.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sagemaker::config::{HttpClient, RuntimeComponents, SharedHttpClient};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

/// Answers over which the service's pace is measured: the last few, as the pace was when the
/// service throttled, not as it was before the last raises.
const ANSWERS: usize = 4;
/// The pace after a throttle, of the pace measured.
const BELOW: f64 = 0.95;
/// The cut when too few answers came since the last one to measure: the SDK's own.
const CUT: f64 = 0.7;
/// No raise until this long after a cut, then one every `RAISE_EVERY`.
const QUIET: Duration = Duration::from_secs(5);
const RAISE_EVERY: Duration = Duration::from_secs(2);
const RAISE: f64 = 1.05;
/// The raise before any pace of ours was throttled.
const RAISE_UNKNOWN: f64 = 1.25;
/// Raises stop at this much of the pace last throttled...
const UNDER_HIT: f64 = 0.95;
/// ...until this long after the last cut.
const PROBE_AFTER: Duration = Duration::from_secs(30);
/// The slowest pace, the SDK's adaptive floor too.
const FLOOR: f64 = 0.5;

/// One operation's pace; unbounded until its first throttle.
#[derive(Debug, Default)]
pub struct Pace(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    /// None: no bound yet.
    rate: Option<f64>,
    /// When the next attempt may start.
    next: Option<Instant>,
    answered: VecDeque<Instant>,
    last_cut: Option<Instant>,
    last_raise: Option<Instant>,
    /// The pace the service last throttled; none before the pace had a bound.
    throttled_at: Option<f64>,
}

impl Pace {
    /// Waits until the pace allows one more attempt.
    pub async fn wait(&self) {
        let slot = {
            let Ok(mut s) = self.0.lock() else { return };
            let Some(interval) = s.interval() else { return };
            let now = Instant::now();
            let slot = s.next.map_or(now, |n| n.max(now));
            s.next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        // A busy runtime wakes a sleeper late; the next attempt keeps its distance from this one
        // as sent, not as planned, or the two reach a one-token bucket too close together.
        if let Ok(mut s) = self.0.lock()
            && let Some(interval) = s.interval()
        {
            let after = Instant::now() + interval;
            s.next = Some(s.next.map_or(after, |n| n.max(after)));
        }
    }

    /// The service answered an attempt.
    pub fn answered(&self) {
        let Ok(mut s) = self.0.lock() else { return };
        let now = Instant::now();
        s.answered.push_back(now);
        if s.answered.len() > ANSWERS {
            s.answered.pop_front();
        }
        let quiet = s.last_cut.is_some_and(|t| now - t >= QUIET)
            && s.last_raise.is_none_or(|t| now - t >= RAISE_EVERY);
        if let (Some(rate), true) = (s.rate, quiet) {
            let probing = s.last_cut.is_some_and(|t| now - t >= PROBE_AFTER);
            let raised = match s.throttled_at {
                Some(hit) if !probing => (rate * RAISE).min(hit * UNDER_HIT),
                Some(_) => rate * RAISE,
                // No pace throttled yet, only the first cut's measure of a walk the SDK's
                // backoffs slowed: climb faster.
                None => rate * RAISE_UNKNOWN,
            };
            if raised > rate {
                s.set(raised);
            }
            s.last_raise = Some(now);
        }
    }

    /// The service throttled an attempt.
    pub fn throttled(&self) {
        let Ok(mut s) = self.0.lock() else { return };
        let now = Instant::now();
        // A throttle within one interval of the last cut answers an attempt sent before it.
        if let (Some(cut), Some(interval)) = (s.last_cut, s.interval())
            && now - cut < interval
        {
            return;
        }
        // The pace of the last answers since the last cut: about the quota. (Answers from
        // before it would count a slower pace.)
        let measured = match (s.answered.front(), s.answered.back()) {
            (Some(first), Some(last)) if s.answered.len() >= 3 => {
                let span = (*last - *first).as_secs_f64().max(0.05);
                Some((s.answered.len() - 1) as f64 / span)
            }
            _ => None,
        };
        let rate = match (measured, s.rate) {
            (Some(m), Some(r)) => m.min(r) * BELOW,
            (Some(m), None) => m * BELOW,
            // Throttled again this soon after a cut: still well above the quota.
            (None, Some(r)) => r * CUT,
            // Too few answers to tell the quota yet: the next throttle will.
            (None, None) => return,
        };
        s.answered.clear();
        s.throttled_at = s.rate;
        s.set(rate);
        if let Some(interval) = s.interval() {
            s.next = Some(s.next.map_or(now, |n| n.max(now)) + interval);
        }
        tracing::debug!(rate = s.rate, measured, "throttled: the pace is lowered");
        s.last_cut = Some(now);
        s.last_raise = None;
    }
}

impl State {
    fn set(&mut self, rate: f64) {
        self.rate = Some(rate.max(FLOOR));
    }

    /// The time between two attempts; none while the pace has no bound.
    fn interval(&self) -> Option<Duration> {
        self.rate.map(|rate| Duration::from_secs_f64(1.0 / rate))
    }
}

/// The SDK's HTTP client, made to wait for the pace an attempt carries (put there by
/// [`super::capture::Capture`] before each transmit); attempts without one pass at once.
#[derive(Debug)]
pub struct Paced(pub SharedHttpClient);

impl HttpClient for Paced {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector(self.0.http_connector(settings, components)))
    }
}

#[derive(Debug)]
struct PacedConnector(SharedHttpConnector);

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(pace) = request.extension::<Arc<Pace>>().cloned() else {
            return self.0.call(request);
        };
        let inner = self.0.clone();
        HttpConnectorFuture::new(async move {
            pace.wait().await;
            inner.call(request).await
        })
    }
}

/// The SDK's default HTTP client (the one a client built with no `http_client` uses), paced.
pub fn default_client() -> Option<SharedHttpClient> {
    use aws_sdk_sagemaker::config::{BehaviorVersion, RuntimeComponentsBuilder, RuntimePlugin};
    let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
        BehaviorVersion::latest(),
    )?;
    let inner = plugin
        .runtime_components(&RuntimeComponentsBuilder::new("sagesync"))
        .http_client()?;
    Some(SharedHttpClient::new(Paced(inner)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(pace: &Pace) -> f64 {
        pace.0.lock().ok().and_then(|s| s.rate).unwrap_or_default()
    }

    #[test]
    fn a_throttle_sets_the_pace_below_that_of_the_last_answers() {
        let pace = Pace::default();
        for _ in 0..20 {
            pace.answered();
            std::thread::sleep(Duration::from_millis(10));
        }
        pace.throttled();
        // An answer every 10 ms and a little more: under 100 a second.
        assert!((40.0..=95.0).contains(&rate(&pace)), "{}", rate(&pace));
        // The same burst does not cut twice.
        let first = rate(&pace);
        pace.throttled();
        assert_eq!(rate(&pace), first);
    }

    #[test]
    fn too_few_answers_set_no_pace_and_none_goes_below_the_floor() {
        let pace = Pace::default();
        pace.answered();
        pace.throttled();
        assert!(pace.0.lock().is_ok_and(|s| s.rate.is_none()));
        let mut s = State::default();
        s.set(0.01);
        assert_eq!(s.rate, Some(FLOOR));
    }

    #[test]
    fn raises_stop_under_the_pace_last_throttled_until_a_long_quiet_spell() {
        let pace = Pace::default();
        let at = |secs: u64| Instant::now().checked_sub(Duration::from_secs(secs));
        let set = |cut_ago: u64| {
            if let Ok(mut s) = pace.0.lock() {
                s.rate = Some(1.9);
                s.throttled_at = Some(2.0);
                s.last_cut = at(cut_ago);
                s.last_raise = None;
            }
        };
        set(6);
        pace.answered();
        assert_eq!(rate(&pace), 1.9);
        set(31);
        pace.answered();
        assert!((rate(&pace) - 1.9 * RAISE).abs() < 1e-9, "{}", rate(&pace));
    }

    #[tokio::test]
    async fn attempts_wait_their_turn_once_there_is_a_pace() {
        let pace = Pace::default();
        let started = Instant::now();
        for _ in 0..5 {
            pace.wait().await;
        }
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "no pace, no wait"
        );
        if let Ok(mut s) = pace.0.lock() {
            s.rate = Some(20.0);
        }
        let started = Instant::now();
        for _ in 0..5 {
            pace.wait().await;
        }
        // Five attempts at 20 a second: four intervals of 50 ms.
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
