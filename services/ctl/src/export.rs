//! `report export`: streams a report's CSV into a file. The file appears
//! only once the whole export arrived, so a failed export never leaves a
//! truncated CSV behind that looks complete.

use academy_proto::reporting::ExportReportRequest;
use anyhow::Context;
use std::io::Write;
use std::path::Path;

use crate::client::describe;
use crate::report::Reporting;

/// Writes the export to `output` (`-` for standard output); returns the
/// number of bytes written.
pub async fn export_csv(
    client: &mut Reporting,
    request: ExportReportRequest,
    output: &Path,
) -> anyhow::Result<u64> {
    let mut stream = client
        .export_report(request)
        .await
        .map_err(|s| anyhow::anyhow!("ExportReport failed: {}", describe(&s)))?
        .into_inner();
    let mut csv = Vec::new();
    while let Some(chunk) = stream
        .message()
        .await
        .map_err(|s| anyhow::anyhow!("ExportReport broke off: {}", describe(&s)))?
    {
        csv.extend_from_slice(&chunk.csv_chunk);
    }
    if output == Path::new("-") {
        std::io::stdout().write_all(&csv)?;
    } else {
        write_whole(output, &csv)?;
    }
    Ok(csv.len() as u64)
}

/// Writes beside the target, then renames over it.
fn write_whole(output: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = output.as_os_str().to_owned();
    partial.push(".partial");
    std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", Path::new(&partial).display()))?;
    std::fs::rename(&partial, output)
        .with_context(|| format!("cannot move the export to {}", output.display()))
}
