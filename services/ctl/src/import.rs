//! `import learners`: registers learners from a CSV file through
//! `ImportLearners`, with a progress bar. Every row ends up counted as
//! created, duplicate or rejected; rejected rows are named by their line
//! in the file, whether the file itself was malformed there or the server
//! refused the row.

use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{EmploymentStatus, Gender, Learner, RegisterLearnerRequest};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::path::Path;

use crate::bulk;
use crate::client::Authed;
use crate::csv_file::{self, Record};

/// The columns a file may have; the first three are required.
pub const COLUMNS: [&str; 10] = [
    "email",
    "full_name",
    "region",
    "gender",
    "birth_year",
    "employment_status",
    "external_id",
    "organization",
    "registered_at",
    "education_level",
];
const REQUIRED: usize = 3;

/// One row of the file that failed, by its line number (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub line: u64,
    pub reason: String,
}

/// How the whole file went.
#[derive(Debug, Default)]
pub struct ImportOutcome {
    pub rows: u64,
    pub created: i64,
    pub duplicates: i64,
    /// Every rejected row, itemised or not.
    pub rejected_count: i64,
    pub rejected: Vec<Rejection>,
}

/// A parsed row on its way to the server.
#[derive(Debug)]
struct Row {
    line: u64,
    request: RegisterLearnerRequest,
}

/// A file read and checked locally, ready to send.
#[derive(Debug)]
pub struct ParsedFile {
    rows: Vec<Row>,
    rejected: Vec<Rejection>,
}

/// Reads `path`; a bad header fails here, before anything is sent.
pub fn read(path: &Path) -> anyhow::Result<ParsedFile> {
    let (rows, rejected) = parse(crate::csv_file::open(path)?)?;
    Ok(ParsedFile { rows, rejected })
}

/// Imports the rows, `batch_rows` per `ImportLearners` stream (a failed
/// stream then costs at most one batch of work to redo).
pub async fn send(
    client: &mut LearnerServiceClient<Authed>,
    file: ParsedFile,
    batch_rows: usize,
) -> anyhow::Result<ImportOutcome> {
    let ParsedFile { rows, mut rejected } = file;
    let mut outcome = ImportOutcome {
        rows: rows.len() as u64 + rejected.len() as u64,
        rejected_count: rejected.len() as i64,
        ..Default::default()
    };
    let bar = bulk::progress_bar(rows.len() as u64, "rows");
    for batch in rows.chunks(batch_rows.max(1)) {
        let requests: Vec<RegisterLearnerRequest> =
            batch.iter().map(|row| row.request.clone()).collect();
        let progress = bar.clone();
        // Counted as the transport takes each row, not when the batch is built.
        let stream = tokio_stream::iter(requests.into_iter().inspect(move |_| progress.inc(1)));
        let reply = client.import_learners(stream).await.map_err(|status| {
            let why_safe = "registered learners count as duplicates";
            bulk::batch_failed("ImportLearners", batch[0].line, &status, Some(why_safe))
        })?;
        let reply = reply.into_inner();
        outcome.created += reply.created;
        outcome.duplicates += reply.duplicates;
        outcome.rejected_count += reply.rejected_count;
        let unlisted = reply.rejected_count - reply.rejected.len() as i64;
        if unlisted > 0 {
            // The server itemises 1000 rejections per stream; never hide the rest.
            rejected.push(Rejection {
                line: batch[0].line,
                reason: bulk::not_itemised(unlisted),
            });
        }
        for row in reply.rejected {
            let line = usize::try_from(row.index)
                .ok()
                .and_then(|i| batch.get(i))
                .map_or(0, |r| r.line);
            let reason = bulk::rejected_reason(&row.field, row.reason);
            rejected.push(Rejection { line, reason });
        }
    }
    bar.finish_and_clear();
    rejected.sort_by_key(|r| r.line);
    outcome.rejected = rejected;
    Ok(outcome)
}

/// Splits the file into rows to send and rows already rejected here
/// (unreadable records, wrong column counts, values of the wrong type).
fn parse(reader: impl std::io::Read) -> anyhow::Result<(Vec<Row>, Vec<Rejection>)> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv.headers().context("cannot read the header line")?;
    let (columns, width) = (columns(header)?, header.len());
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    // Not flexible: a record of another width is refused by the reader.
    csv_file::each_record(&mut csv, width, |line, record| match record {
        Record::Read(record) => match to_request(record, &columns) {
            Ok(request) => rows.push(Row { line, request }),
            Err(reason) => rejected.push(Rejection { line, reason }),
        },
        Record::Refused { reason, .. } => rejected.push(Rejection { line, reason }),
    });
    Ok((rows, rejected))
}

fn columns(header: &csv::StringRecord) -> anyhow::Result<HashMap<&'static str, usize>> {
    csv_file::positions(header, &COLUMNS, &COLUMNS[..REQUIRED])
}

fn to_request(
    record: &csv::StringRecord,
    columns: &HashMap<&'static str, usize>,
) -> Result<RegisterLearnerRequest, String> {
    let get = |name: &str| {
        columns
            .get(name)
            .and_then(|&i| record.get(i))
            .unwrap_or_default()
    };
    let external_id = get("external_id");
    let learner = Learner {
        email: get("email").to_owned(),
        full_name: get("full_name").to_owned(),
        region: get("region").to_owned(),
        gender: enum_value(get("gender"), "gender", "GENDER_", |n| {
            Gender::from_str_name(n).map(|g| g as i32)
        })?,
        birth_year: birth_year(get("birth_year"))?,
        employment_status: enum_value(
            get("employment_status"),
            "employment_status",
            "EMPLOYMENT_STATUS_",
            |n| EmploymentStatus::from_str_name(n).map(|e| e as i32),
        )?,
        external_id: (!external_id.is_empty()).then(|| external_id.to_owned()),
        organization: get("organization").to_owned(),
        education_level: education_level(get("education_level"))?,
        ..Default::default()
    };
    Ok(RegisterLearnerRequest {
        learner: Some(learner),
        request_id: String::new(),
        registered_at: registered_at(get("registered_at"))?,
    })
}

/// A year, or `unknown` (sent as 0, the API's unknown birth year). Empty is
/// refused here: the API would read 0 as unknown, and unknown must be said.
fn birth_year(text: &str) -> Result<i32, String> {
    match text.trim() {
        "" => Err("birth_year: is required (write `unknown` when it is not known)".to_owned()),
        t if t.eq_ignore_ascii_case("unknown") => Ok(0),
        year => year
            .parse()
            .map_err(|_| format!("birth_year: {year:?} is not a year")),
    }
}

/// An ISCED 2011 level `0`-`8` (or `ISCED_3`, `isced 3`); empty or
/// `unknown` is unknown. Other numbers go to the service, which names the
/// field when it refuses them.
fn education_level(text: &str) -> Result<Option<i32>, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("unknown") {
        return Ok(None);
    }
    let upper = t.to_ascii_uppercase();
    let digits = upper.strip_prefix("ISCED").map_or(upper.as_str(), |rest| {
        rest.trim_start_matches([' ', '_', '-'])
    });
    digits
        .parse()
        .map(Some)
        .map_err(|_| format!("education_level: {text:?} is not an ISCED level 0-8"))
}

/// Accepts `female`, `FEMALE` or `GENDER_FEMALE` alike; empty is unset.
fn enum_value(
    text: &str,
    column: &str,
    prefix: &str,
    from_name: impl Fn(&str) -> Option<i32>,
) -> Result<i32, String> {
    if text.is_empty() {
        return Ok(0);
    }
    let upper = text.to_ascii_uppercase().replace([' ', '-'], "_");
    let full = if upper.starts_with(prefix) {
        upper
    } else {
        format!("{prefix}{upper}")
    };
    from_name(&full)
        .filter(|v| *v != 0)
        .ok_or_else(|| format!("{column}: {text:?} is not a known value"))
}

/// RFC 3339 (`2024-03-01T09:00:00Z`) or a plain date (midnight UTC).
fn registered_at(text: &str) -> Result<Option<prost_types::Timestamp>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let instant = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map_err(|_| format!("registered_at: {text:?} is neither a date nor an RFC 3339 time"))?;
    Ok(Some(prost_types::Timestamp {
        seconds: instant.timestamp(),
        nanos: instant.timestamp_subsec_nanos() as i32,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> (Vec<Row>, Vec<Rejection>) {
        parse(text.as_bytes()).expect("header is valid")
    }

    #[test]
    fn rows_keep_their_line_numbers_and_bad_ones_say_why() {
        let (rows, rejected) = parse_text(
            "email,full_name,region,gender,birth_year\n\
             a@example.az,Aysel Mammadova,Baku,female,1990\n\
             b@example.az,Bad Year,Baku,male,nineteen\n\
             c@example.az,Too,Many,Fields,1990,extra\n\
             d@example.az,Unknown Gender,Baku,robot,1980\n\
             e@example.az,Elvin Aliyev,Ganja-Dashkasan,GENDER_MALE,unknown\n\
             f@example.az,No Year,Baku,male,\n",
        );
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 6]);
        let lines: Vec<u64> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [3, 4, 5, 7]);
        assert!(rejected[3].reason.contains("birth_year"), "{rejected:?}");
        assert!(rejected[0].reason.contains("birth_year"), "{rejected:?}");
        assert!(rejected[1].reason.contains("6 fields"), "{rejected:?}");
        assert!(rejected[2].reason.contains("gender"), "{rejected:?}");
        let learner = rows[1].request.learner.clone().expect("learner");
        assert_eq!(learner.gender, Gender::Male as i32);
        assert_eq!(learner.birth_year, 0);
    }

    #[test]
    fn unknown_demographics_and_education_levels_are_read() {
        let (rows, rejected) = parse_text(
            "email,full_name,region,gender,birth_year,employment_status,education_level\n\
             a@example.az,A,unknown,unknown,unknown,unknown,\n\
             b@example.az,B,Baku,female,1990,employed,ISCED_6\n\
             c@example.az,C,Baku,female,1990,employed,3\n\
             d@example.az,D,Baku,female,1990,employed,Unknown\n\
             e@example.az,E,Baku,female,1990,employed,college\n\
             f@example.az,F,Baku,female,1990,employed,9\n",
        );
        let learner = |i: usize| rows[i].request.learner.clone().expect("learner");
        assert_eq!(rows.len(), 5, "{rejected:?}");
        let unknown = learner(0);
        assert_eq!(
            (
                unknown.region.as_str(),
                unknown.gender,
                unknown.birth_year,
                unknown.employment_status,
                unknown.education_level
            ),
            (
                "unknown",
                Gender::Unknown as i32,
                0,
                EmploymentStatus::Unknown as i32,
                None
            )
        );
        assert_eq!(learner(1).education_level, Some(6));
        assert_eq!(learner(2).education_level, Some(3));
        assert_eq!(learner(3).education_level, None);
        // Out of range is the service's to refuse, with the field.
        assert_eq!(learner(4).education_level, Some(9));
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 6);
        assert!(rejected[0].reason.contains("education_level"));
    }

    #[test]
    fn quoted_fields_may_span_lines_and_later_lines_stay_right() {
        let (rows, rejected) = parse_text(
            "email,full_name,region,birth_year,organization\n\
             a@example.az,A,Baku,1990,\"Line one\nline two\"\n\
             b@example.az,B,Baku,unknown,Plain\n",
        );
        assert!(rejected.is_empty());
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn a_bad_header_stops_the_import_before_anything_is_sent() {
        let unknown = parse("email,full_name,region,shoe_size\n".as_bytes());
        assert!(unknown.is_err_and(|e| e.to_string().contains("shoe_size")));
        let missing = parse("email,full_name\n".as_bytes());
        assert!(missing.is_err_and(|e| e.to_string().contains("region")));
    }

    #[test]
    fn registration_times_take_dates_and_rfc3339() {
        assert_eq!(
            registered_at("2020-01-02")
                .expect("date")
                .map(|t| t.seconds),
            Some(1_577_923_200)
        );
        assert!(registered_at("2020-01-02T03:04:05+04:00").is_ok());
        assert!(registered_at("yesterday").is_err());
    }
}
