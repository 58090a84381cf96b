//! `feed status`: how far reporting has applied each change feed.

use academy_proto::reporting::{FeedSource, GetFeedStatusRequest};

use crate::client::CallContext;
use crate::report::Reporting;

/// Prints one line per followed feed; returns whether all are healthy.
pub async fn print_status(client: &mut Reporting) -> anyhow::Result<bool> {
    let sources = client
        .get_feed_status(GetFeedStatusRequest {})
        .await
        .during("GetFeedStatus")?
        .sources;
    print!("{}", status_table(&sources));
    Ok(sources.iter().all(|s| s.healthy))
}

pub fn status_table(sources: &[FeedSource]) -> String {
    let mut out = format!(
        "  {:<10}{:>10}{:>10}{:>10}{:>10}  {}\n",
        "feed", "applied", "head", "behind", "lag (s)", "state"
    );
    for s in sources {
        let state = if s.healthy {
            "healthy".to_owned()
        } else if s.last_error.is_empty() {
            "not connected".to_owned()
        } else {
            format!("failing: {}", s.last_error)
        };
        out += &format!(
            "  {:<10}{:>10}{:>10}{:>10}{:>10.1}  {state}\n",
            s.service,
            s.applied_sequence,
            s.head_sequence,
            (s.head_sequence - s.applied_sequence).max(0),
            s.lag_seconds
        );
    }
    out
}
