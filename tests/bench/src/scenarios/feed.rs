//! The reporting feed's catch-up rate: a reporting service on an empty
//! database follows the course and learner feeds from sequence 0; the rate
//! is events applied per second between the first status poll after it is
//! SERVING and the poll that finds every feed at its head.

use academy_proto::reporting::GetFeedStatusRequest;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academyctl::client::Authed;
use std::time::{Duration, Instant};

/// How the catch-up went.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CatchUp {
    pub(crate) events: i64,
    pub(crate) elapsed: Duration,
}

impl CatchUp {
    pub(crate) fn per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.events as f64 / secs
        } else {
            0.0
        }
    }
}

/// Polls until every source is applied up to its head; `heads` are the
/// sequences the producers had when the follower started.
pub(crate) async fn wait_caught_up(
    client: &mut ReportingServiceClient<Authed>,
    heads: i64,
    limit: Duration,
) -> anyhow::Result<CatchUp> {
    let started = Instant::now();
    let mut first_applied = None;
    loop {
        let status = client
            .get_feed_status(GetFeedStatusRequest {})
            .await?
            .into_inner();
        let applied: i64 = status.sources.iter().map(|s| s.applied_sequence).sum();
        let base = *first_applied.get_or_insert(applied);
        if applied >= heads {
            return Ok(CatchUp {
                events: applied - base,
                elapsed: started.elapsed(),
            });
        }
        if started.elapsed() > limit {
            anyhow::bail!(
                "reporting applied {applied} of {heads} events in {} s",
                limit.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
