//! Bulk rows go to the server in bounded client streams. A server closes
//! every connection after `ACADEMY_MAX_CONNECTION_AGE_SECS` (300 s) plus a
//! 30 s grace, cutting whatever stream is still open on it; one stream
//! carrying all 630,000 progress rows outlived that on a slow machine. Each
//! call here carries at most [`ROWS_PER_STREAM`] rows, seconds of work even
//! on a slow machine, and the channel opens a fresh connection when the old
//! one is recycled. A stream cut anyway (a transport error, a restarting or
//! shedding server) is sent again: every demo write is idempotent (learners
//! by external id, enrollments by learner and course, progress by request
//! id), so the rows it had committed come back as duplicates and the rest
//! are written.

use super::progress::Progress;
use indicatif::ProgressBar;
use std::time::Duration;
use tonic::{Code, Status};

/// Rows per client stream.
pub(crate) const ROWS_PER_STREAM: usize = 5_000;

/// How often a cut stream is sent again, and how long to wait first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    pub(crate) first_backoff: Duration,
}

impl Retry {
    pub(crate) const DEMO: Self = Self {
        attempts: 6,
        first_backoff: Duration::from_millis(500),
    };
}

/// What the server said about the rows of one stream, or of all of them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) written: i64,
    pub(crate) duplicates: i64,
    pub(crate) rejected: i64,
}

/// The totals of a bulk load, and how it went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) counts: Counts,
    pub(crate) streams: usize,
    pub(crate) resent: usize,
}

/// One chunk's rows as a request stream, counted on `progress` as the
/// transport takes them.
#[derive(Debug)]
pub(crate) struct Counted<Row> {
    rows: std::vec::IntoIter<Row>,
    progress: ProgressBar,
}

impl<Row> Iterator for Counted<Row> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let row = self.rows.next()?;
        self.progress.inc(1);
        Some(row)
    }
}

/// A request stream for one call.
pub(crate) type RowStream<Row> = tokio_stream::Iter<Counted<Row>>;

/// Whether sending the stream again can help: the connection or the server
/// went away, or the server shed the call. Refusals of the request itself
/// (auth, validation) end the load.
fn worth_resending(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Unknown
            | Code::Cancelled
            | Code::Internal
            | Code::DeadlineExceeded
            | Code::Aborted
            | Code::ResourceExhausted
    )
}

/// Sends the demo's `rows` of one `kind` ("learners", "enrollments") in
/// bounded streams retried as [`Retry::DEMO`], with a progress bar, and
/// prints what they did; `written` says what a written row was
/// ("created", "recorded").
pub(crate) async fn send_and_report<Row, Call, Fut>(
    kind: &str,
    written: &str,
    rows: Vec<Row>,
    call: Call,
) -> anyhow::Result<()>
where
    Row: Clone,
    Call: FnMut(RowStream<Row>) -> Fut,
    Fut: Future<Output = Result<Counts, Status>>,
{
    let progress = Progress::rows(rows.len() as u64, kind);
    let sent = send(rows, ROWS_PER_STREAM, Retry::DEMO, &progress, call).await?;
    progress.finish();
    println!(
        "  {kind}: {} {written}, {} already there, {} rejected ({}{})",
        sent.counts.written,
        sent.counts.duplicates,
        sent.counts.rejected,
        streams(sent.streams),
        resent(sent.resent)
    );
    Ok(())
}

/// `1 stream`, `3 streams`.
fn streams(count: usize) -> String {
    if count == 1 {
        "1 stream".into()
    } else {
        format!("{count} streams")
    }
}

/// How many streams were sent again, when any were.
fn resent(count: usize) -> String {
    if count == 0 {
        String::new()
    } else {
        format!(", {count} sent again after a cut")
    }
}

/// Sends `rows` in streams of at most `per_stream` rows through `call` (one
/// client-streaming RPC per stream), in order, each stream after the one
/// before it was acknowledged; a cut stream is sent again per `retry`.
pub(crate) async fn send<Row, Call, Fut>(
    rows: Vec<Row>,
    per_stream: usize,
    retry: Retry,
    progress: &Progress,
    mut call: Call,
) -> anyhow::Result<Sent>
where
    Row: Clone,
    Call: FnMut(RowStream<Row>) -> Fut,
    Fut: Future<Output = Result<Counts, Status>>,
{
    let per_stream = per_stream.max(1);
    let streams = rows.len().div_ceil(per_stream);
    let mut sent = Sent {
        streams,
        ..Sent::default()
    };
    let mut rows = rows.into_iter();
    for number in 1..=streams {
        let chunk: Vec<Row> = rows.by_ref().take(per_stream).collect();
        let acknowledged = progress.position();
        let mut backoff = retry.first_backoff;
        let mut attempt = 1;
        let counts = loop {
            let stream = tokio_stream::iter(Counted {
                rows: chunk.clone().into_iter(),
                progress: progress.counter(),
            });
            match call(stream).await {
                Ok(counts) => break counts,
                Err(status) if worth_resending(status.code()) && attempt < retry.attempts => {
                    eprintln!(
                        "  stream {number} of {streams} was cut ({:?}: {}); sending its {} rows again in {:.1} s",
                        status.code(),
                        status.message(),
                        chunk.len(),
                        backoff.as_secs_f64()
                    );
                    progress.set_position(acknowledged);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    attempt += 1;
                    sent.resent += 1;
                }
                Err(status) => anyhow::bail!(
                    "stream {number} of {streams} failed after {attempt} attempt(s): {:?}: {}",
                    status.code(),
                    status.message()
                ),
            }
        };
        progress.set_position(acknowledged + chunk.len() as u64);
        sent.counts.written += counts.written;
        sent.counts.duplicates += counts.duplicates;
        sent.counts.rejected += counts.rejected;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};
    use tokio_stream::StreamExt;

    const FAST: Retry = Retry {
        attempts: 3,
        first_backoff: Duration::ZERO,
    };

    fn quiet(len: usize) -> Progress {
        Progress::plain(
            Some(len as u64),
            "rows",
            Duration::from_secs(3600),
            Arc::new(|_| {}),
        )
    }

    #[tokio::test]
    async fn no_stream_carries_more_than_its_share_and_every_row_goes_once() {
        let rows: Vec<u32> = (0..12_345).collect();
        let progress = quiet(rows.len());
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let sent = send(rows, 5_000, FAST, &progress, |stream| {
            let (sizes, received) = (sizes.clone(), received.clone());
            async move {
                let got: Vec<u32> = stream.collect().await;
                sizes.lock().unwrap().push(got.len());
                let n = got.len() as i64;
                received.lock().unwrap().extend(got);
                Ok(Counts {
                    written: n - 1,
                    duplicates: 1,
                    rejected: 0,
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(*sizes.lock().unwrap(), [5_000, 5_000, 2_345]);
        assert_eq!(*received.lock().unwrap(), (0..12_345).collect::<Vec<_>>());
        assert_eq!(
            sent,
            Sent {
                counts: Counts {
                    written: 12_342,
                    duplicates: 3,
                    rejected: 0
                },
                streams: 3,
                resent: 0,
            }
        );
        assert_eq!(progress.position(), 12_345);
    }

    /// A stream cut half-way (the server had committed its first rows) is
    /// sent again whole; the server's idempotency turns the committed part
    /// into duplicates, and the load goes on with the next stream.
    #[tokio::test]
    async fn a_cut_stream_is_sent_again_and_the_load_resumes() {
        let rows: Vec<u32> = (0..10).collect();
        let progress = quiet(rows.len());
        let stored = Arc::new(Mutex::new(HashSet::new()));
        let calls = Arc::new(Mutex::new(0));
        let sent = send(rows, 4, FAST, &progress, |mut stream| {
            let (stored, calls) = (stored.clone(), calls.clone());
            async move {
                *calls.lock().unwrap() += 1;
                let cut = *calls.lock().unwrap() == 2;
                let mut counts = Counts::default();
                let mut taken = 0;
                while let Some(row) = stream.next().await {
                    if stored.lock().unwrap().insert(row) {
                        counts.written += 1;
                    } else {
                        counts.duplicates += 1;
                    }
                    taken += 1;
                    if cut && taken == 2 {
                        return Err(Status::unknown(
                            "h2 protocol error: stream closed because of a broken pipe",
                        ));
                    }
                }
                Ok(counts)
            }
        })
        .await
        .unwrap();
        assert_eq!(*calls.lock().unwrap(), 4, "3 streams, one sent twice");
        assert_eq!(stored.lock().unwrap().len(), 10);
        assert_eq!(sent.streams, 3);
        assert_eq!(sent.resent, 1);
        // The two rows the cut stream had committed come back as duplicates.
        assert_eq!(sent.counts.written, 8);
        assert_eq!(sent.counts.duplicates, 2);
        assert_eq!(progress.position(), 10);
    }

    /// Sends three rows, `per_stream` a stream, each stream refused with
    /// `status`; returns the error and how many streams were sent.
    async fn send_refused(per_stream: usize, status: Status) -> (String, u32) {
        let progress = quiet(3);
        let mut calls = 0;
        let result = send(vec![1, 2, 3], per_stream, FAST, &progress, |_stream| {
            calls += 1;
            let status = status.clone();
            async { Err::<Counts, _>(status) }
        })
        .await;
        (result.unwrap_err().to_string(), calls)
    }

    #[tokio::test]
    async fn a_refused_request_is_not_sent_again() {
        let (error, calls) = send_refused(2, Status::permission_denied("missing scope")).await;
        assert!(error.contains("stream 1 of 2"), "{error}");
        assert!(error.contains("missing scope"), "{error}");
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn a_stream_that_keeps_failing_ends_the_load_after_the_attempts() {
        let (error, calls) = send_refused(5, Status::unavailable("connection refused")).await;
        assert!(error.contains("after 3 attempt(s)"), "{error}");
        assert_eq!(calls, FAST.attempts);
    }
}
