//! `report export`: streams a report's CSV into a file. The file appears
//! only once the whole export arrived, so a failed export never leaves a
//! truncated CSV behind that looks complete. Every cell is neutralised
//! against formula injection (`academy_domain::csv::neutralise`) before it
//! is written, whatever the server sent.

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
    let csv = neutralised(&csv)?;
    if output == Path::new("-") {
        std::io::stdout().write_all(&csv)?;
    } else {
        write_whole(output, &csv)?;
    }
    Ok(csv.len() as u64)
}

/// The CSV `raw` with every cell passed through
/// [`academy_domain::csv::neutralise`] (RFC 4180 quoting kept, lines end
/// in `\n` as the server writes them).
pub fn neutralised(raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(raw);
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::with_capacity(raw.len()));
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .context("the export is not valid CSV")?
    {
        writer.write_record(
            record
                .iter()
                .map(academy_domain::csv::neutralise)
                .map(|cell| cell.into_owned()),
        )?;
    }
    writer
        .into_inner()
        .map_err(|err| anyhow::anyhow!("cannot finish the CSV: {}", err.error()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_the_rest_kept() {
        let raw = "dimension,value,learners\n\
                   \"=cmd|' /C calc'!A0\",ACME,3\n\
                   @SUM(A1),\"a, \"\"quoted\"\" cell\",-0.25\r\n\
                   \"+1\n-1\",Baku,7\n";
        let out = String::from_utf8(neutralised(raw.as_bytes()).expect("csv")).expect("utf-8");
        assert_eq!(
            out,
            "dimension,value,learners\n\
             '=cmd|' /C calc'!A0,ACME,3\n\
             '@SUM(A1),\"a, \"\"quoted\"\" cell\",-0.25\n\
             \"'+1\n-1\",Baku,7\n"
        );
    }

    #[test]
    fn an_empty_export_stays_empty() {
        assert!(neutralised(b"").expect("csv").is_empty());
    }
}
