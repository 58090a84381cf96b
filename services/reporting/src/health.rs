//! Readiness beyond "the process answers": a replica is caught up once each
//! feed, connected, has been applied up to the head it saw; until then its
//! answers would lag, so `academy.reporting.v1.caught_up` is NOT_SERVING
//! (the readiness probe asks for it). Once caught up it stays so until a
//! feed stops on an event it cannot understand: later lag is reported by
//! GetFeedStatus and the lag metrics, not by taking every replica out of
//! service when a producer is slow.

use academy_runtime::feed::FeedState;
use tokio::sync::watch;

pub const CAUGHT_UP: &str = "academy.reporting.v1.caught_up";

/// Whether every feed has caught up once (and none stopped).
pub fn caught_up(feeds: Vec<watch::Receiver<FeedState>>) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    for mut feed in feeds.iter().cloned() {
        let tx = tx.clone();
        let all = feeds.clone();
        tokio::spawn(async move {
            let mut reached = false;
            while feed.changed().await.is_ok() {
                let states: Vec<FeedState> = all.iter().map(|f| f.borrow().clone()).collect();
                reached |= states.iter().all(at_head);
                let serving = reached && !states.iter().any(|s| s.stopped);
                tx.send_if_modified(|v| {
                    let changed = *v != serving;
                    *v = serving;
                    changed
                });
            }
        });
    }
    rx
}

fn at_head(s: &FeedState) -> bool {
    s.connected && s.applied_sequence >= s.head_sequence
}
