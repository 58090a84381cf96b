//! Waiting for reporting to apply everything the demo wrote.

use academy_proto::reporting::GetFeedStatusRequest;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academyctl::client::{Authed, Bearer, connect};
use std::time::Duration;

use super::progress::Progress;

/// Waits until reporting has applied both feeds.
pub(super) async fn wait_until_applied(reporting: &str, bearer: &Bearer) -> anyhow::Result<()> {
    let mut client = ReportingServiceClient::new(connect(reporting, bearer).await?);
    let progress = Progress::waiting("reporting catches up");
    loop {
        let (applied, head, feeds) = positions(&mut client).await?;
        progress.say(format!("reporting catches up: {applied}/{head} events"));
        if head > 0 && applied == head && feeds == 2 {
            // The head is refreshed every two seconds: confirm nothing moved.
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let (again_applied, again_head, _) = positions(&mut client).await?;
            if (again_applied, again_head) == (applied, head) {
                progress.finish();
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Events applied and events at the heads, summed over the feeds, and how
/// many feeds reporting follows.
async fn positions(
    client: &mut ReportingServiceClient<Authed>,
) -> anyhow::Result<(i64, i64, usize)> {
    let status = client
        .get_feed_status(GetFeedStatusRequest {})
        .await?
        .into_inner();
    let (applied, head) = status.sources.iter().fold((0, 0), |(a, h), s| {
        (a + s.applied_sequence, h + s.head_sequence)
    });
    Ok((applied, head, status.sources.len()))
}
