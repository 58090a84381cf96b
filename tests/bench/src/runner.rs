//! The closed-loop load runner: `concurrency` workers each send one call,
//! wait for its answer and send the next, like ghz. Calls made during the
//! warm-up are sent but not recorded, so connection set-up, pool filling and
//! cold caches do not count. Latencies go into an HdrHistogram per worker
//! (no shared lock on the hot path) and are merged at the end.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a measured run ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stop {
    /// After this long of measured time.
    After(Duration),
    /// After this many measured calls (over all workers).
    Requests(u64),
}

/// How hard and how long to drive one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadSpec {
    pub(crate) concurrency: usize,
    pub(crate) warmup: Duration,
    pub(crate) stop: Stop,
}

/// What one run saw. Latencies are in microseconds.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) concurrency: usize,
    pub(crate) ok: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) elapsed: Duration,
    pub(crate) latency: Histogram<u64>,
}

impl Outcome {
    /// Successful calls per second of measured time.
    pub(crate) fn rps(&self) -> f64 {
        per_second(self.ok, self.elapsed)
    }

    pub(crate) fn percentile_ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub(crate) fn mean_ms(&self) -> f64 {
        self.latency.mean() / 1000.0
    }
}

pub(crate) fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// Per-worker tallies, merged after the run.
struct Tally {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latency: Histogram<u64>,
    last_done: Option<Instant>,
}

/// Latencies from 1 µs to 10 minutes at 3 significant digits.
fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::new_with_bounds(1, 600_000_000, 3)?)
}

/// Drives `call(i)` for i = 0, 1, 2, … (each index once) until `spec.stop`.
/// The index lets a scenario give every call its own key (a new pair to
/// enroll, a different learner to read).
pub(crate) async fn run<F, Fut>(spec: LoadSpec, call: F) -> anyhow::Result<Outcome>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), tonic::Status>> + Send + 'static,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicU64::new(0));
    let measured = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let measure_from = started + spec.warmup;
    let mut workers = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency.max(1) {
        let call = Arc::clone(&call);
        let next = Arc::clone(&next);
        let measured = Arc::clone(&measured);
        workers.push(tokio::spawn(async move {
            let mut tally = Tally {
                ok: 0,
                errors: BTreeMap::new(),
                latency: histogram()?,
                last_done: None,
            };
            loop {
                let sent = Instant::now();
                let measuring = sent >= measure_from;
                if measuring && finished(spec.stop, measure_from, sent, &measured) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let result = call(i).await;
                let done = Instant::now();
                if !measuring {
                    continue;
                }
                match result {
                    Ok(()) => {
                        tally.ok += 1;
                        let micros = done.duration_since(sent).as_micros();
                        tally
                            .latency
                            .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
                    }
                    Err(status) => {
                        *tally
                            .errors
                            .entry(format!("{:?}", status.code()))
                            .or_default() += 1;
                    }
                }
                tally.last_done = Some(done);
            }
            anyhow::Ok(tally)
        }));
    }
    let mut outcome = Outcome {
        concurrency: spec.concurrency,
        ok: 0,
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
        latency: histogram()?,
    };
    let mut last_done = measure_from;
    for worker in workers {
        let tally = worker.await??;
        outcome.ok += tally.ok;
        for (code, n) in tally.errors {
            *outcome.errors.entry(code).or_default() += n;
        }
        outcome.latency.add(&tally.latency)?;
        if let Some(done) = tally.last_done {
            last_done = last_done.max(done);
        }
    }
    outcome.elapsed = last_done.saturating_duration_since(measure_from);
    Ok(outcome)
}

/// Whether the measured part is over; in request mode this also claims one
/// of the remaining calls for the caller.
fn finished(stop: Stop, measure_from: Instant, now: Instant, measured: &AtomicU64) -> bool {
    match stop {
        Stop::After(length) => now >= measure_from + length,
        Stop::Requests(total) => measured.fetch_add(1, Ordering::Relaxed) >= total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_mode_sends_exactly_the_measured_count_and_sorts_errors_by_code() {
        let spec = LoadSpec {
            concurrency: 4,
            warmup: Duration::ZERO,
            stop: Stop::Requests(100),
        };
        let outcome = run(spec, |i| async move {
            if i % 10 == 0 {
                Err(tonic::Status::unavailable("down"))
            } else {
                Ok(())
            }
        })
        .await
        .expect("run");
        assert_eq!(outcome.ok + outcome.errors.values().sum::<u64>(), 100);
        assert_eq!(outcome.errors.get("Unavailable"), Some(&10));
        assert_eq!(outcome.latency.len(), outcome.ok);
    }
}
