//! Waiting until the reporting service has applied what its producers hold.

use academy_proto::events::GetHeadRequest;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::reporting::GetFeedStatusRequest;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use std::time::Duration;
use tonic::transport::Channel;

/// Waits up to a minute until reporting has applied every event the
/// producers (`(source, channel)`: "course", "learner") hold now; panics if
/// not. The heads are asked of the producers directly: the heads reporting
/// reports are refreshed only every few seconds, and a late batch would be a
/// commit during a "read".
pub async fn caught_up_with_producers(
    reports: &mut ReportingServiceClient<Channel>,
    producers: [(&str, Channel); 2],
) {
    let mut heads = Vec::new();
    for (source, channel) in producers {
        let head = EventFeedClient::new(channel)
            .get_head(GetHeadRequest {})
            .await
            .unwrap()
            .into_inner()
            .head_sequence;
        heads.push((source, head));
    }
    for _ in 0..1200 {
        let status = reports
            .get_feed_status(GetFeedStatusRequest {})
            .await
            .unwrap()
            .into_inner();
        let applied = |source: &str| {
            status
                .sources
                .iter()
                .find(|s| s.service == source)
                .map_or(-1, |s| s.applied_sequence)
        };
        if heads.iter().all(|(source, head)| applied(source) >= *head) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("reporting did not apply the producers' events: {heads:?}");
}
