//! `import enrollments`: loads a course provider's enrollment/usage report
//! (Coursera-style columns, see [`COLUMNS`]) into a program. Each row
//! enrolls the learner (by External Id) in the course (by Course Slug, the
//! course's provider_course_id) at Enrollment Time unless already enrolled,
//! then records the provider's progress for the enrollment (percent, grade,
//! completion, learning hours, last activity) through `BulkEnroll` and
//! `BulkRecordProgress`.
//!
//! Importing the same file again changes nothing: every request carries a
//! request id derived from the row's content (a replay is a duplicate),
//! and the service's rules never lower progress (percent and total minutes
//! only rise, a completion only moves earlier). Rows refused here or by the
//! service go to an error file: line number, the row, the reason.

use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::{EnrollRequest, RecordProgressRequest, RejectedRow};
use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::path::Path;

use crate::bulk;
use crate::client::Authed;
use crate::csv_file::{self, Record};

/// The report's columns, as the provider names them. External Id, Course
/// Slug and Enrollment Time are required; Name, Email and Course Name are
/// read for the error file only (personal data is never sent with
/// progress).
pub const COLUMNS: [&str; 12] = [
    "Name",
    "Email",
    "External Id",
    "Course Name",
    "Course Slug",
    "Enrollment Time",
    "Last Course Activity Time",
    "Overall Progress",
    "Estimated Learning Hours",
    "Completed",
    "Completion Time",
    "Course Grade",
];
const REQUIRED: [&str; 3] = ["External Id", "Course Slug", "Enrollment Time"];

/// One row that failed: its line (1 is the header), the row as read, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub row: String,
    pub reason: String,
}

/// How the whole file went.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub rows: u64,
    /// Enrollments created.
    pub enrolled: i64,
    /// Rows whose learner was already enrolled (or already imported).
    pub already_enrolled: i64,
    /// Progress rows recorded.
    pub progress_recorded: i64,
    /// Progress rows already recorded by an earlier import.
    pub progress_unchanged: i64,
    pub rejected: Vec<Rejection>,
}

/// A row ready to send: its enrollment and, when it reports any, progress.
#[derive(Debug, Clone)]
struct Row {
    line: u64,
    raw: String,
    enroll: EnrollRequest,
    progress: Option<RecordProgressRequest>,
}

/// A file read and checked locally.
#[derive(Debug)]
pub struct ParsedFile {
    rows: Vec<Row>,
    rejected: Vec<Rejection>,
}

impl ParsedFile {
    pub fn rows(&self) -> usize {
        self.rows.len() + self.rejected.len()
    }
}

pub use crate::csv_file::default_errors_path;

/// Reads `path` for `program_id`; a bad header fails here, before anything
/// is sent.
pub fn read(path: &Path, program_id: &str) -> anyhow::Result<ParsedFile> {
    parse(csv_file::open(path)?, program_id)
}

fn parse(reader: impl std::io::Read, program_id: &str) -> anyhow::Result<ParsedFile> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let header = csv
        .headers()
        .context("cannot read the header line")?
        .clone();
    let columns = columns(&header)?;
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    csv_file::each_record(&mut csv, header.len(), |line, record| match record {
        Record::Read(record) => {
            let raw = join(record);
            match to_row(record, &columns, program_id) {
                Ok((enroll, progress)) => rows.push(Row {
                    line,
                    raw,
                    enroll,
                    progress,
                }),
                Err(reason) => rejected.push(Rejection {
                    line,
                    row: raw,
                    reason,
                }),
            }
        }
        Record::Refused { reason, record } => rejected.push(Rejection {
            line,
            row: record.map(join).unwrap_or_default(),
            reason,
        }),
    });
    Ok(ParsedFile { rows, rejected })
}

/// The record as one CSV line, for the error file.
fn join(record: &csv::StringRecord) -> String {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to memory cannot fail but for a bug; an empty row says so.
    if out.write_record(record).is_err() {
        return String::new();
    }
    out.into_inner()
        .map(|bytes| String::from_utf8_lossy(&bytes).trim_end().to_owned())
        .unwrap_or_default()
}

fn columns(header: &csv::StringRecord) -> anyhow::Result<HashMap<&'static str, usize>> {
    csv_file::positions(header, &COLUMNS, &REQUIRED)
}

fn to_row(
    record: &csv::StringRecord,
    columns: &HashMap<&'static str, usize>,
    program_id: &str,
) -> Result<(EnrollRequest, Option<RecordProgressRequest>), String> {
    let get = |name: &str| {
        columns
            .get(name)
            .and_then(|&i| record.get(i))
            .unwrap_or_default()
    };
    let external_id = get("External Id");
    let slug = get("Course Slug");
    if external_id.is_empty() {
        return Err("External Id: is required".to_owned());
    }
    if slug.is_empty() {
        return Err("Course Slug: is required".to_owned());
    }
    let enrolled_at =
        time("Enrollment Time", get("Enrollment Time"))?.ok_or("Enrollment Time: is required")?;
    let last_activity = time(
        "Last Course Activity Time",
        get("Last Course Activity Time"),
    )?;
    let percent = number("Overall Progress", get("Overall Progress"))?;
    let hours = number("Estimated Learning Hours", get("Estimated Learning Hours"))?;
    let completed = yes_no(get("Completed"))?;
    let completed_at = time("Completion Time", get("Completion Time"))?;
    let grade = number("Course Grade", get("Course Grade"))?;
    if completed_at.is_some() && !completed {
        return Err("Completion Time: is set but Completed is No".to_owned());
    }
    let mut enroll = EnrollRequest {
        learner_external_id: external_id.to_owned(),
        provider_course_id: slug.to_owned(),
        program_id: program_id.to_owned(),
        enrolled_at: Some(timestamp(enrolled_at)),
        ..Default::default()
    };
    enroll.request_id = request_id("enroll", &enroll);
    let reports_progress = last_activity.is_some()
        || percent.is_some_and(|p| p > 0.0)
        || hours.is_some_and(|h| h > 0.0)
        || completed
        || grade.is_some();
    if !reports_progress {
        return Ok((enroll, None));
    }
    // A row with progress but no activity time is dated by its completion,
    // else its enrollment: never by the day of the import.
    let activity = last_activity.or(completed_at).unwrap_or(enrolled_at);
    let mut progress = RecordProgressRequest {
        learner_external_id: external_id.to_owned(),
        provider_course_id: slug.to_owned(),
        // Fractions of a percent are the provider's rounding: whole percent
        // down, as Enrollment.progress_percent is. Out-of-range values go
        // to the service, which names the field when it refuses them.
        percent_complete: percent.map(|p| p.floor() as i32),
        grade,
        completed,
        completed_at: completed_at.map(timestamp),
        last_activity_at: Some(timestamp(activity)),
        total_minutes: hours.map(|h| (h * 60.0).round() as i32),
        ..Default::default()
    };
    progress.request_id = request_id("progress", &progress);
    Ok((enroll, Some(progress)))
}

/// A request id from the request's content: the same row imported again
/// is the same request, which the service answers as a duplicate.
fn request_id<M: prost::Message>(kind: &str, request: &M) -> String {
    let digest = Sha256::digest(request.encode_to_vec());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("provider-{kind}-{hex}")
}

/// ISO-8601 with a zone (`2025-03-04T10:11:12Z`) or without one, read as
/// UTC (`2025-03-04 10:11:12`, `2025-03-04T10:11:12`); empty is unset.
fn time(column: &str, text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            [
                "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S%.f",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(|t| t.and_utc())
            .ok_or(())
        })
        .map(Some)
        .map_err(|()| format!("{column}: {text:?} is not an ISO-8601 time"))
}

/// A number such as `42` or `87.5` (a trailing `%` is allowed); empty is unset.
fn number(column: &str, text: &str) -> Result<Option<f64>, String> {
    let t = text.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(Some)
        .ok_or_else(|| format!("{column}: {text:?} is not a number"))
}

fn yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" | "" => Ok(false),
        _ => Err(format!("Completed: {text:?} is neither Yes nor No")),
    }
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// Shows progress: a bar on a terminal, a plain line per batch otherwise
/// (logs and CI keep a readable trace).
struct Progress {
    bar: Option<ProgressBar>,
    done: u64,
    total: u64,
}

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr()
            .is_terminal()
            .then(|| bulk::progress_bar(total, "rows"));
        Self {
            bar,
            done: 0,
            total,
        }
    }

    fn add(&mut self, rows: u64) {
        self.done += rows;
        match &self.bar {
            Some(bar) => bar.set_position(self.done),
            None => eprintln!("imported {}/{} rows", self.done, self.total),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Sends the rows, `batch_rows` per stream: first the batch's enrollments,
/// then the progress of the rows whose enrollment was not refused.
pub async fn send(
    client: &mut EnrollmentServiceClient<Authed>,
    file: ParsedFile,
    batch_rows: usize,
) -> anyhow::Result<Outcome> {
    let ParsedFile { rows, rejected } = file;
    let mut outcome = Outcome {
        rows: (rows.len() + rejected.len()) as u64,
        rejected,
        ..Default::default()
    };
    let mut progress = Progress::new(rows.len() as u64);
    for batch in rows.chunks(batch_rows.max(1)) {
        let failed = |rpc: &str, status: tonic::Status| {
            let why_safe = "imported rows count as duplicates";
            bulk::batch_failed(rpc, batch[0].line, &status, Some(why_safe))
        };
        let enrolls: Vec<EnrollRequest> = batch.iter().map(|r| r.enroll.clone()).collect();
        let reply = client
            .bulk_enroll(tokio_stream::iter(enrolls))
            .await
            .map_err(|s| failed("BulkEnroll", s))?
            .into_inner();
        outcome.enrolled += reply.created;
        outcome.already_enrolled += reply.duplicates;
        let refused = reject(
            &mut outcome.rejected,
            batch.iter().collect::<Vec<_>>().as_slice(),
            &reply.rejected,
            reply.rejected_count,
        );
        let with_progress: Vec<&Row> = batch
            .iter()
            .enumerate()
            .filter(|(i, r)| r.progress.is_some() && !refused.contains(i))
            .map(|(_, r)| r)
            .collect();
        if !with_progress.is_empty() {
            let requests: Vec<RecordProgressRequest> = with_progress
                .iter()
                .filter_map(|r| r.progress.clone())
                .collect();
            let reply = client
                .bulk_record_progress(tokio_stream::iter(requests))
                .await
                .map_err(|s| failed("BulkRecordProgress", s))?
                .into_inner();
            outcome.progress_recorded += reply.recorded;
            outcome.progress_unchanged += reply.duplicates;
            reject(
                &mut outcome.rejected,
                &with_progress,
                &reply.rejected,
                reply.rejected_count,
            );
        }
        progress.add(batch.len() as u64);
    }
    progress.finish();
    outcome.rejected.sort_by_key(|r| r.line);
    Ok(outcome)
}

/// Records the rows a bulk call refused (by their index in `sent`); the
/// indexes refused. Rejections the service did not itemise are reported
/// against the batch's first line, never hidden.
fn reject(
    into: &mut Vec<Rejection>,
    sent: &[&Row],
    refused: &[RejectedRow],
    count: i64,
) -> HashSet<usize> {
    let mut indexes = HashSet::new();
    for r in refused {
        let Some((i, row)) = usize::try_from(r.index)
            .ok()
            .and_then(|i| sent.get(i).map(|row| (i, row)))
        else {
            continue;
        };
        indexes.insert(i);
        into.push(Rejection {
            line: row.line,
            row: row.raw.clone(),
            reason: bulk::rejected_reason(&r.field, r.reason.clone()),
        });
    }
    let unlisted = count - refused.len() as i64;
    if unlisted > 0
        && let Some(first) = sent.first()
    {
        into.push(Rejection {
            line: first.line,
            row: String::new(),
            reason: bulk::not_itemised(unlisted),
        });
    }
    indexes
}

/// Writes the error file (`line,row,reason`), or removes a stale one when
/// every row went in.
pub fn write_errors(path: &Path, rejected: &[Rejection]) -> anyhow::Result<()> {
    if rejected.is_empty() {
        match std::fs::remove_file(path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                return Err(err).with_context(|| format!("cannot remove {}", path.display()));
            }
            _ => return Ok(()),
        }
    }
    let mut out =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    out.write_record(["line", "row", "reason"])?;
    for r in rejected {
        out.write_record([r.line.to_string().as_str(), &r.row, &r.reason])?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const HEADER: &str = "Name,Email,External Id,Course Name,Course Slug,Enrollment Time,\
        Last Course Activity Time,Overall Progress,Estimated Learning Hours,Completed,\
        Completion Time,Course Grade\n";

    fn parse_text(body: &str) -> ParsedFile {
        parse(format!("{HEADER}{body}").as_bytes(), "prog").expect("header is valid")
    }

    #[test]
    fn a_row_enrolls_and_reports_progress() {
        let file = parse_text(
            "Ann Example,a@example.org,ext-1,Python,python-101,2025-03-04T10:11:12Z,\
             2025-03-20 08:00:00,87.5,2.5,Yes,2025-03-19 18:00:00,91.25\n",
        );
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        let row = &file.rows[0];
        assert_eq!(row.line, 2);
        assert_eq!(row.enroll.learner_external_id, "ext-1");
        assert_eq!(row.enroll.provider_course_id, "python-101");
        assert_eq!(row.enroll.program_id, "prog");
        assert_eq!(
            row.enroll.enrolled_at.map(|t| t.seconds),
            Some(1_741_083_072)
        );
        let p = row.progress.clone().expect("progress");
        assert_eq!(p.percent_complete, Some(87));
        assert_eq!(p.total_minutes, Some(150));
        assert_eq!(p.grade, Some(91.25));
        assert!(p.completed);
        assert!(p.completed_at.is_some());
        assert!(p.request_id.starts_with("provider-progress-"));
        // The same row reads to the same request ids; another row does not.
        let again = parse_text(
            "Ann Example,a@example.org,ext-1,Python,python-101,2025-03-04T10:11:12Z,\
             2025-03-20 08:00:00,87.5,2.5,Yes,2025-03-19 18:00:00,91.25\n",
        );
        assert_eq!(again.rows[0].enroll.request_id, row.enroll.request_id);
        assert_eq!(
            again.rows[0].progress.as_ref().map(|p| &p.request_id),
            Some(&p.request_id)
        );
        let later = parse_text(
            "Ann Example,a@example.org,ext-1,Python,python-101,2025-03-04T10:11:12Z,\
             2025-03-21 08:00:00,90,3,Yes,2025-03-19 18:00:00,91.25\n",
        );
        assert_ne!(
            later.rows[0].progress.as_ref().map(|p| &p.request_id),
            Some(&p.request_id)
        );
    }

    #[test]
    fn a_row_without_progress_only_enrolls() {
        let file =
            parse_text("B,b@example.org,ext-2,Python,python-101,2025-03-04 10:11:12,,0,0,No,,\n");
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
        assert!(file.rows[0].progress.is_none());
    }

    #[test]
    fn progress_without_activity_time_is_dated_by_completion_or_enrollment() {
        let file = parse_text(
            "C,c@example.org,ext-3,Python,python-101,2025-03-04 10:11:12,,40,1,No,,\n\
             D,d@example.org,ext-4,Python,python-101,2025-03-04 10:11:12,,100,1,Yes,2025-04-01 00:00:00,\n",
        );
        let at = |i: usize| {
            file.rows[i]
                .progress
                .as_ref()
                .and_then(|p| p.last_activity_at)
                .map(|t| t.seconds)
        };
        assert_eq!(at(0), file.rows[0].enroll.enrolled_at.map(|t| t.seconds));
        assert_eq!(at(1), Some(1_743_465_600));
    }

    #[test]
    fn bad_rows_are_rejected_with_their_line_and_reason() {
        let file = parse_text(
            ",e@example.org,,Python,python-101,2025-03-04 10:11:12,,0,0,No,,\n\
             F,f@example.org,ext-6,Python,python-101,yesterday,,0,0,No,,\n\
             G,g@example.org,ext-7,Python,python-101,2025-03-04 10:11:12,,lots,0,No,,\n\
             H,h@example.org,ext-8,Python,python-101,2025-03-04 10:11:12,,10,0,Maybe,,\n\
             I,i@example.org,ext-9,Python,python-101,2025-03-04 10:11:12,,10,0,No,2025-03-05 00:00:00,\n\
             J,j@example.org,ext-10,too,few\n",
        );
        assert!(file.rows.is_empty());
        let lines: Vec<u64> = file.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        let reasons: Vec<&str> = file.rejected.iter().map(|r| r.reason.as_str()).collect();
        assert!(reasons[0].starts_with("External Id"), "{reasons:?}");
        assert!(reasons[1].starts_with("Enrollment Time"), "{reasons:?}");
        assert!(reasons[2].starts_with("Overall Progress"), "{reasons:?}");
        assert!(reasons[3].starts_with("Completed"), "{reasons:?}");
        assert!(reasons[4].starts_with("Completion Time"), "{reasons:?}");
        assert!(reasons[5].contains("5 fields"), "{reasons:?}");
        assert_eq!(file.rejected[5].row, "J,j@example.org,ext-10,too,few");
    }

    #[test]
    fn a_bad_header_stops_the_import_before_anything_is_sent() {
        let unknown = parse(
            "External Id,Course Slug,Enrollment Time,Shoe Size\n".as_bytes(),
            "p",
        );
        assert!(unknown.is_err_and(|e| e.to_string().contains("Shoe Size")));
        let missing = parse("External Id,Enrollment Time\n".as_bytes(), "p");
        assert!(missing.is_err_and(|e| e.to_string().contains("Course Slug")));
        // Case and order do not matter.
        assert!(parse("course slug,EXTERNAL ID,Enrollment Time\n".as_bytes(), "p").is_ok());
    }

    #[test]
    fn the_error_file_names_line_row_and_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("in.csv.errors.csv");
        let rejected = vec![Rejection {
            line: 7,
            row: "a,\"b, c\"".into(),
            reason: "learner_external_id: not found".into(),
        }];
        write_errors(&path, &rejected).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "line,row,reason\n7,\"a,\"\"b, c\"\"\",learner_external_id: not found\n"
        );
        write_errors(&path, &[]).expect("removed");
        assert!(!path.exists());
        assert_eq!(
            default_errors_path(Path::new("/tmp/report.csv")),
            PathBuf::from("/tmp/report.csv.errors.csv")
        );
    }
}
