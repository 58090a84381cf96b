//! Waiting for reporting to apply everything the demo wrote.

use academy_proto::reporting::GetFeedStatusRequest;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academyctl::client::{Bearer, connect};
use std::time::Duration;

use super::progress::Progress;

/// Waits until reporting has applied both feeds.
pub(super) async fn wait_until_applied(reporting: &str, bearer: &Bearer) -> anyhow::Result<()> {
    let mut client = ReportingServiceClient::new(connect(reporting, bearer).await?);
    let progress = Progress::waiting("reporting catches up");
    loop {
        let status = client
            .get_feed_status(GetFeedStatusRequest {})
            .await?
            .into_inner();
        let (applied, head): (i64, i64) = status.sources.iter().fold((0, 0), |(a, h), s| {
            (a + s.applied_sequence, h + s.head_sequence)
        });
        progress.say(format!("reporting catches up: {applied}/{head} events"));
        if head > 0 && applied == head && status.sources.len() == 2 {
            // The head is refreshed every two seconds: confirm nothing moved.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let again = client
                .get_feed_status(GetFeedStatusRequest {})
                .await?
                .into_inner();
            let (a2, h2): (i64, i64) = again.sources.iter().fold((0, 0), |(a, h), s| {
                (a + s.applied_sequence, h + s.head_sequence)
            });
            if (a2, h2) == (applied, head) {
                progress.finish();
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
