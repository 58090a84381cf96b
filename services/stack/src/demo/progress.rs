//! Progress of the demo load: a bar on a terminal; plain lines every few
//! seconds when the output is captured (CI, `| tee`, a log file), where a
//! bar would print nothing at all until the end.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Where plain lines go: standard output, or a test's buffer.
pub(crate) type Sink = Arc<dyn Fn(String) + Send + Sync>;

/// One phase of the load (rows sent, or a wait with a message).
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    what: String,
    started: Instant,
    plain: Option<Plain>,
}

struct Plain {
    sink: Sink,
    ticker: JoinHandle<()>,
}

impl std::fmt::Debug for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plain")
    }
}

fn attended() -> bool {
    std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

fn stdout_sink() -> Sink {
    Arc::new(|line| println!("{line}"))
}

impl Progress {
    /// `len` rows to send, counted as they go.
    pub(crate) fn rows(len: u64, what: &str) -> Self {
        if attended() {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg:>14} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(what.to_owned());
            Self::fancy(bar, what)
        } else {
            Self::plain(Some(len), what, PLAIN_EVERY, stdout_sink())
        }
    }

    /// A wait whose state is the message (set with [`Progress::say`]).
    pub(crate) fn waiting(what: &str) -> Self {
        if attended() {
            let bar = ProgressBar::new_spinner();
            bar.set_message(what.to_owned());
            Self::fancy(bar, what)
        } else {
            Self::plain(None, what, PLAIN_EVERY, stdout_sink())
        }
    }

    fn fancy(bar: ProgressBar, what: &str) -> Self {
        Self {
            bar,
            what: what.to_owned(),
            started: Instant::now(),
            plain: None,
        }
    }

    /// Plain lines to `sink` every `every`, and one when finished.
    pub(crate) fn plain(len: Option<u64>, what: &str, every: Duration, sink: Sink) -> Self {
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden());
        bar.set_message(what.to_owned());
        let started = Instant::now();
        let ticker = tokio::spawn({
            let (bar, what, sink) = (bar.clone(), what.to_owned(), sink.clone());
            async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    sink(line(&what, &bar, started.elapsed(), false));
                }
            }
        });
        Self {
            bar,
            what: what.to_owned(),
            started,
            plain: Some(Plain { sink, ticker }),
        }
    }

    /// A handle that counts rows from inside a request stream.
    pub(crate) fn counter(&self) -> ProgressBar {
        self.bar.clone()
    }

    /// Rows acknowledged so far (a stream sent again starts from here).
    pub(crate) fn position(&self) -> u64 {
        self.bar.position()
    }

    pub(crate) fn set_position(&self, rows: u64) {
        self.bar.set_position(rows);
    }

    /// The state of a wait.
    pub(crate) fn say(&self, message: String) {
        self.bar.set_message(message);
        self.bar.tick();
    }

    /// Ends the phase: the bar is completed, or the last plain line printed.
    pub(crate) fn finish(self) {
        match self.plain {
            Some(plain) => {
                plain.ticker.abort();
                (plain.sink)(line(&self.what, &self.bar, self.started.elapsed(), true));
            }
            None => self.bar.finish(),
        }
    }
}

impl Drop for Plain {
    fn drop(&mut self) {
        self.ticker.abort();
    }
}

/// One plain progress line, e.g. `learners: 45000/191000 (23%), 9120/s`.
fn line(what: &str, bar: &ProgressBar, elapsed: Duration, done: bool) -> String {
    let secs = elapsed.as_secs_f64();
    let Some(len) = bar.length() else {
        // A wait: its message says where it is.
        let state = bar.message();
        return if done {
            format!("  {state} (done after {secs:.1} s)")
        } else {
            format!("  {state} ({secs:.0} s)")
        };
    };
    let pos = bar.position();
    let percent = (pos * 100).checked_div(len).unwrap_or(100);
    let rate = if secs > 0.0 {
        (pos as f64 / secs).round() as u64
    } else {
        0
    };
    if done {
        format!("  {what}: {pos}/{len} sent in {secs:.1} s ({rate}/s)")
    } else {
        format!("  {what}: {pos}/{len} ({percent}%), {rate}/s, {secs:.0} s so far")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::sync::Mutex;

    fn buffer() -> (Sink, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink: Sink = Arc::new({
            let lines = lines.clone();
            move |line| lines.lock().unwrap().push(line)
        });
        (sink, lines)
    }

    #[tokio::test]
    async fn plain_lines_come_every_interval_and_once_at_the_end() {
        let (sink, lines) = buffer();
        let progress = Progress::plain(Some(1000), "progress", Duration::from_millis(40), sink);
        progress.counter().inc(250);
        tokio::time::sleep(Duration::from_millis(150)).await;
        let periodic = lines.lock().unwrap().clone();
        assert!(periodic.len() >= 2, "{periodic:?}");
        assert!(
            periodic[0].starts_with("  progress: 250/1000 (25%), "),
            "{periodic:?}"
        );
        progress.set_position(1000);
        progress.finish();
        let after = lines.lock().unwrap().clone();
        let last = after.last().unwrap();
        assert!(
            last.starts_with("  progress: 1000/1000 sent in "),
            "{after:?}"
        );
        // Plain text: no carriage returns or terminal escapes.
        assert!(
            after
                .iter()
                .all(|l| !l.contains('\r') && !l.contains('\x1b'))
        );
        // The ticker stops with the phase.
        let count = after.len();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(lines.lock().unwrap().len(), count);
    }

    #[tokio::test]
    async fn a_wait_prints_its_message() {
        let (sink, lines) = buffer();
        let progress = Progress::plain(None, "reporting", Duration::from_millis(30), sink);
        progress.say("reporting catches up: 10/40 events".into());
        tokio::time::sleep(Duration::from_millis(80)).await;
        progress.finish();
        let lines = lines.lock().unwrap().clone();
        assert!(
            lines[0].starts_with("  reporting catches up: 10/40 events ("),
            "{lines:?}"
        );
        assert!(lines.last().unwrap().contains("(done after "), "{lines:?}");
    }
}
