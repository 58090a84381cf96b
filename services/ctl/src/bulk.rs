//! What the bulk commands (`import`, `provider enrollments`, `provider
//! members`) share when they send a file's rows in batches: the progress
//! bar, the error of a batch that failed, and a rejected row's reason.

use indicatif::{ProgressBar, ProgressStyle};

use crate::client::describe;

/// A progress bar over `total` rows, counted as `unit` ("rows", "members").
pub fn progress_bar(total: u64, unit: &str) -> ProgressBar {
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
    ProgressBar::new(total).with_style(
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// The error of a bulk call (`rpc`) that failed on the batch starting on
/// `line`: the batches before it went in, so running the import again is
/// safe; `why_safe`, when given, says why.
pub fn batch_failed(
    rpc: &str,
    line: u64,
    status: &tonic::Status,
    why_safe: Option<&str>,
) -> anyhow::Error {
    let why_safe = why_safe.map(|why| format!(" ({why})")).unwrap_or_default();
    anyhow::anyhow!(
        "{rpc} failed at the batch starting on line {line}: {}\n\
         rows before it were imported; running the import again is safe{why_safe}",
        describe(status)
    )
}

/// A rejected row's reason, led by its field unless the reason names it.
pub fn rejected_reason(field: &str, reason: String) -> String {
    if field.is_empty() || reason.starts_with(field) {
        reason
    } else {
        format!("{field}: {reason}")
    }
}

/// The note standing for the `count` rejected rows of a batch the service
/// did not itemise: never hidden.
pub fn not_itemised(count: i64) -> String {
    format!(
        "{count} more rejected rows in the batch starting here were not \
         itemised; rerun with a smaller --batch-rows to see each"
    )
}
