//! `import members FILE --program ID`: a provider's membership report
//! (Coursera-style headers `Name,Email,External Id,Member State,Invitation
//! Date,Join Date`) into learners and program invitations (issue #17,
//! items 4 and 5).
//!
//! Per row: a MEMBER is registered through `ImportLearners` (demographics
//! unknown: the report has none; a learner already there is left as it
//! is), then every row is invited to the program through `InviteLearners`
//! (a person already invited is a duplicate, never a second invitation) and
//! brought to the row's state in the same call: MEMBER joined at the Join
//! Date, DECLINED declined, EXPIRED invited with its expiry at the
//! Invitation Date, INVITED stays. Each call changes only what is not so already, so
//! importing the same file again changes nothing. Rows that fail are
//! written to an error file (line, row, reason).

use academy_proto::learner::invitation_service_client::InvitationServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EmploymentStatus, Gender, ImportOutcome as LearnerOutcome, InvitationState,
    InviteLearnersRequest, InviteOutcome, Invitee, Learner, RegisterLearnerRequest,
};
use academy_runtime::time::timestamp;
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use indicatif::ProgressBar;
use std::collections::HashMap;
use std::path::Path;

use crate::bulk;
use crate::client::Authed;
use crate::csv_file::{self, Record};

/// The report's columns, as the provider names them (case and spaces
/// around them do not matter).
pub const COLUMNS: [&str; 6] = [
    "Name",
    "Email",
    "External Id",
    "Member State",
    "Invitation Date",
    "Join Date",
];

/// Rows per ImportLearners stream and per InviteLearners call (its limit).
const BATCH: usize = 1000;

/// A member's state in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Invited,
    Member,
    Declined,
    Expired,
}

impl MemberState {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_uppercase().as_str() {
            "INVITED" => Ok(Self::Invited),
            "MEMBER" => Ok(Self::Member),
            "DECLINED" => Ok(Self::Declined),
            "EXPIRED" => Ok(Self::Expired),
            _ => Err(format!(
                "Member State: {text:?} is not one of INVITED, MEMBER, DECLINED, EXPIRED"
            )),
        }
    }
}

/// One row of the report, checked locally.
#[derive(Debug, Clone)]
pub struct Member {
    pub line: u64,
    /// The record as read, for the error file.
    pub raw: Vec<String>,
    pub name: String,
    pub email: String,
    pub external_id: String,
    pub state: MemberState,
    pub invited_at: DateTime<Utc>,
    pub joined_at: Option<DateTime<Utc>>,
}

/// A row that failed, by its line in the file (1 is the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub raw: Vec<String>,
    pub reason: String,
}

/// How the whole file went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub rows: u64,
    pub learners_created: i64,
    pub invitations_created: i64,
    /// Rows whose invitation was there already.
    pub invitations_existing: i64,
    pub joined: i64,
    pub declined: i64,
    /// Rows already in the report's state: nothing to change.
    pub unchanged: i64,
    pub errors: Vec<RowError>,
}

pub use crate::csv_file::default_errors_path;

/// Reads the report; a bad header fails here, before anything is sent.
pub fn read(path: &Path) -> anyhow::Result<(Vec<Member>, Vec<RowError>)> {
    parse(csv_file::open(path)?)
}

/// Splits the report into rows to send and rows refused here.
pub fn parse(reader: impl std::io::Read) -> anyhow::Result<(Vec<Member>, Vec<RowError>)> {
    let mut csv = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(reader);
    let columns = columns(csv.headers().context("cannot read the header line")?)?;
    let width = csv.headers().map_or(COLUMNS.len(), csv::StringRecord::len);
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    let to_strings = |record: &csv::StringRecord| record.iter().map(str::to_owned).collect();
    csv_file::each_record(&mut csv, width, |line, record| match record {
        Record::Read(record) => {
            let raw: Vec<String> = to_strings(record);
            match member(line, raw.clone(), &columns) {
                Ok(m) => rows.push(m),
                Err(reason) => errors.push(RowError { line, raw, reason }),
            }
        }
        Record::Refused { reason, record } => errors.push(RowError {
            line,
            raw: record.map(to_strings).unwrap_or_default(),
            reason,
        }),
    });
    Ok((rows, errors))
}

/// Every column of the report is required.
fn columns(header: &csv::StringRecord) -> anyhow::Result<HashMap<&'static str, usize>> {
    csv_file::positions(header, &COLUMNS, &COLUMNS)
}

fn member(
    line: u64,
    raw: Vec<String>,
    columns: &HashMap<&'static str, usize>,
) -> Result<Member, String> {
    let get = |name: &str| {
        columns
            .get(name)
            .and_then(|&i| raw.get(i))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let state = MemberState::parse(&get("Member State"))?;
    let (email, external_id, name) = (get("Email"), get("External Id"), get("Name"));
    if email.is_empty() && external_id.is_empty() {
        return Err("Email and External Id are both empty: nobody to invite".to_owned());
    }
    if state == MemberState::Member && (email.is_empty() || name.is_empty()) {
        return Err("a MEMBER needs Name and Email to be registered".to_owned());
    }
    let invited = date_time("Invitation Date", &get("Invitation Date"))?;
    let joined = date_time("Join Date", &get("Join Date"))?;
    // A member who joined without a recorded invitation was invited when
    // they joined.
    let invited_at = invited.or(joined).ok_or_else(|| {
        "Invitation Date is empty (and there is no Join Date to use instead)".to_owned()
    })?;
    if let Some(j) = joined
        && j < invited_at
    {
        return Err("Join Date is before Invitation Date".to_owned());
    }
    Ok(Member {
        line,
        name,
        email,
        external_id,
        state,
        invited_at,
        joined_at: joined,
        raw,
    })
}

/// ISO-8601: `2025-03-04T10:11:12Z` (any RFC 3339 offset) or `2025-03-04`
/// (midnight UTC); empty is none.
fn date_time(column: &str, text: &str) -> Result<Option<DateTime<Utc>>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        })
        .map(Some)
        .map_err(|_| format!("{column}: {text:?} is not an ISO-8601 date or time"))
}

/// The clients an import talks to (both on the learner service).
#[derive(Debug)]
pub struct Clients<'a> {
    pub learners: &'a mut LearnerServiceClient<Authed>,
    pub invitations: &'a mut InvitationServiceClient<Authed>,
}

/// Imports the rows into `program_id`, with a progress bar.
pub async fn send(
    clients: Clients<'_>,
    program_id: &str,
    rows: Vec<Member>,
    mut errors: Vec<RowError>,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome {
        rows: (rows.len() + errors.len()) as u64,
        ..Default::default()
    };
    let bar = bulk::progress_bar(rows.len() as u64, "members");
    for batch in rows.chunks(BATCH) {
        let failed = register(clients.learners, batch, &mut outcome).await?;
        let mut kept = Vec::with_capacity(batch.len());
        for (m, failure) in batch.iter().zip(failed) {
            match failure {
                Some(reason) => errors.push(error(m, reason)),
                None => kept.push(m),
            }
        }
        bar.inc((batch.len() - kept.len()) as u64);
        invite(
            clients.invitations,
            program_id,
            &kept,
            &mut outcome,
            &mut errors,
            &bar,
        )
        .await?;
    }
    bar.finish_and_clear();
    errors.sort_by_key(|e| e.line);
    outcome.errors = errors;
    Ok(outcome)
}

fn error(m: &Member, reason: String) -> RowError {
    RowError {
        line: m.line,
        raw: m.raw.clone(),
        reason,
    }
}

/// Registers the batch's MEMBERs (ImportLearners: a learner already there
/// is a duplicate, left unchanged); per row, why it failed if it did.
async fn register(
    client: &mut LearnerServiceClient<Authed>,
    batch: &[Member],
    outcome: &mut Outcome,
) -> anyhow::Result<Vec<Option<String>>> {
    let members: Vec<usize> = (0..batch.len())
        .filter(|&i| batch[i].state == MemberState::Member)
        .collect();
    let mut failed = vec![None; batch.len()];
    if members.is_empty() {
        return Ok(failed);
    }
    let requests: Vec<RegisterLearnerRequest> = members
        .iter()
        .map(|&i| {
            let m = &batch[i];
            RegisterLearnerRequest {
                learner: Some(Learner {
                    email: m.email.clone(),
                    full_name: m.name.clone(),
                    external_id: (!m.external_id.is_empty()).then(|| m.external_id.clone()),
                    // The report knows nothing of these: explicitly unknown.
                    region: academy_domain::learner::UNKNOWN.to_owned(),
                    gender: Gender::Unknown as i32,
                    birth_year: academy_domain::learner::UNKNOWN_BIRTH_YEAR,
                    employment_status: EmploymentStatus::Unknown as i32,
                    education_level: None,
                    ..Default::default()
                }),
                request_id: String::new(),
                registered_at: Some(timestamp(m.joined_at.unwrap_or(m.invited_at))),
            }
        })
        .collect();
    let reply = client
        .import_learners(tokio_stream::iter(requests))
        .await
        .map_err(|status| bulk::batch_failed("ImportLearners", batch[0].line, &status, None))?
        .into_inner();
    outcome.learners_created += reply.created;
    for r in reply.rejected {
        if let Some(&i) = usize::try_from(r.index).ok().and_then(|k| members.get(k)) {
            let reason = bulk::rejected_reason(&r.field, r.reason);
            failed[i] = Some(format!("registering the member: {reason}"));
        }
    }
    // Rows past the itemised rejections are still known by their outcome.
    for r in reply.results {
        if r.outcome == LearnerOutcome::Rejected as i32
            && let Some(&i) = usize::try_from(r.index).ok().and_then(|k| members.get(k))
            && failed[i].is_none()
        {
            failed[i] = Some("registering the member: rejected".to_owned());
        }
    }
    Ok(failed)
}

/// Invites the rows and brings each invitation to the row's state.
async fn invite(
    client: &mut InvitationServiceClient<Authed>,
    program_id: &str,
    rows: &[&Member],
    outcome: &mut Outcome,
    errors: &mut Vec<RowError>,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let invitees = rows
        .iter()
        .map(|m| Invitee {
            learner_id: String::new(),
            external_id: m.external_id.clone(),
            email: m.email.clone(),
            invited_at: Some(timestamp(m.invited_at)),
            // The report gives no expiry date: an EXPIRED member expired at
            // an unknown time after the invitation, recorded as at once.
            expire_time: (m.state == MemberState::Expired).then(|| timestamp(m.invited_at)),
            // The answers are history, written in the same call (one
            // transaction per batch rather than one call per member).
            joined_at: (m.state == MemberState::Member)
                .then(|| timestamp(m.joined_at.unwrap_or(m.invited_at))),
            declined_at: (m.state == MemberState::Declined)
                .then(|| timestamp(m.joined_at.unwrap_or(m.invited_at))),
        })
        .collect();
    let reply = client
        .invite_learners(InviteLearnersRequest {
            program_id: program_id.to_owned(),
            invitees,
            request_id: String::new(),
        })
        .await
        .map_err(|status| bulk::batch_failed("InviteLearners", rows[0].line, &status, None))?
        .into_inner();
    for result in reply.results {
        let Some(m) = usize::try_from(result.index).ok().and_then(|i| rows.get(i)) else {
            continue;
        };
        bar.inc(1);
        let invitation = match (InviteOutcome::try_from(result.outcome), result.invitation) {
            (Ok(InviteOutcome::Created), Some(i)) => {
                outcome.invitations_created += 1;
                i
            }
            (Ok(InviteOutcome::Duplicate), Some(i)) => {
                outcome.invitations_existing += 1;
                i
            }
            _ => {
                let reason = if result.field.is_empty() {
                    result.reason
                } else {
                    format!("{}: {}", result.field, result.reason)
                };
                errors.push(error(m, format!("inviting: {reason}")));
                continue;
            }
        };
        let now = InvitationState::try_from(invitation.state).unwrap_or_default();
        match settled(m.state, now, result.answered) {
            Ok(Settled::Joined) => outcome.joined += 1,
            Ok(Settled::Declined) => outcome.declined += 1,
            Ok(Settled::Unchanged) => outcome.unchanged += 1,
            Err(reason) => errors.push(error(m, reason)),
        }
    }
    Ok(())
}

enum Settled {
    Joined,
    Declined,
    Unchanged,
}

/// How the row's invitation ended up: answered by this call, already in
/// the row's state, or (an error) in another state Academy keeps.
fn settled(wanted: MemberState, now: InvitationState, answered: bool) -> Result<Settled, String> {
    use InvitationState as S;
    match (wanted, now) {
        (MemberState::Member, S::Joined) if answered => Ok(Settled::Joined),
        (MemberState::Declined, S::Declined) if answered => Ok(Settled::Declined),
        (MemberState::Member, S::Joined)
        | (MemberState::Declined, S::Declined)
        | (MemberState::Expired, S::Expired)
        | (MemberState::Invited, _) => Ok(Settled::Unchanged),
        (wanted, found) => Err(format!(
            "the report says {wanted:?} but Academy has the invitation {}; left as it is",
            found.as_str_name()
        )),
    }
}

/// Writes the error file: `line,row,reason`, the row as the file had it.
pub fn write_errors(path: &Path, errors: &[RowError]) -> anyhow::Result<()> {
    let mut out =
        csv::Writer::from_path(path).with_context(|| format!("cannot write {}", path.display()))?;
    out.write_record(["line", "row", "reason"])?;
    for e in errors {
        let mut row = csv::Writer::from_writer(Vec::new());
        row.write_record(&e.raw)?;
        let row = String::from_utf8(row.into_inner()?)?;
        out.write_record([
            e.line.to_string(),
            row.trim_end().to_owned(),
            e.reason.clone(),
        ])?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const HEADER: &str = "Name,Email,External Id,Member State,Invitation Date,Join Date\n";

    #[test]
    fn rows_are_read_with_their_states_and_dates() {
        let text = format!(
            "{HEADER}\
             Ann Example,ann@example.org,ext-1,MEMBER,2025-03-04T10:11:12Z,2025-03-05\n\
             Bo Example,bo@example.org,ext-2,invited,2025-03-04,\n\
             ,,,MEMBER,2025-03-04,\n\
             Cy,cy@example.org,ext-3,GONE,2025-03-04,\n\
             Di,di@example.org,ext-4,DECLINED,,\n\
             Ed,ed@example.org,ext-5,MEMBER,2025-03-06,2025-03-05\n\
             Fi,fi@example.org,ext-6,EXPIRED,03/04/2025,\n\
             Gu,gu@example.org,ext-7,MEMBER,,2025-03-05\n"
        );
        let (rows, errors) = parse(text.as_bytes()).expect("header");
        assert_eq!(
            rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            [2, 3, 9],
            "{errors:?}"
        );
        assert_eq!(rows[0].state, MemberState::Member);
        assert_eq!(rows[0].invited_at.to_rfc3339(), "2025-03-04T10:11:12+00:00");
        assert_eq!(
            rows[0].joined_at.map(|j| j.date_naive().to_string()),
            Some("2025-03-05".into())
        );
        assert_eq!(rows[1].state, MemberState::Invited);
        // A member without an invitation date was invited when they joined.
        assert_eq!(rows[2].invited_at, rows[2].joined_at.expect("joined"));
        let reasons: Vec<(u64, &str)> =
            errors.iter().map(|e| (e.line, e.reason.as_str())).collect();
        assert_eq!(reasons.len(), 5, "{reasons:?}");
        assert!(reasons[0].1.contains("both empty"), "{reasons:?}");
        assert!(reasons[1].1.contains("Member State"), "{reasons:?}");
        assert!(reasons[2].1.contains("Invitation Date"), "{reasons:?}");
        assert!(reasons[3].1.contains("before"), "{reasons:?}");
        assert!(reasons[4].1.contains("ISO-8601"), "{reasons:?}");
    }

    #[test]
    fn a_header_that_is_not_a_membership_report_is_refused() {
        let missing = parse("Name,Email\n".as_bytes());
        assert!(missing.is_err_and(|e| e.to_string().contains("External Id")));
        let unknown = parse(format!("{},Shoe Size\n", HEADER.trim_end()).as_bytes());
        assert!(unknown.is_err_and(|e| e.to_string().contains("Shoe Size")));
    }

    #[test]
    fn a_short_row_is_an_error_with_its_line() {
        let text = format!("{HEADER}Ann,ann@example.org,ext-1,MEMBER\n");
        let (rows, errors) = parse(text.as_bytes()).expect("header");
        assert!(rows.is_empty());
        assert_eq!(errors[0].line, 2);
        assert!(errors[0].reason.contains("4 fields"), "{errors:?}");
    }

    #[test]
    fn the_error_file_names_line_row_and_reason() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("members.csv.errors.csv");
        write_errors(
            &path,
            &[RowError {
                line: 7,
                raw: vec!["Ann, Jr.".into(), "ann@example.org".into()],
                reason: "why".into(),
            }],
        )
        .expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            "line,row,reason\n7,\"\"\"Ann, Jr.\"\",ann@example.org\",why\n"
        );
        assert_eq!(
            default_errors_path(Path::new("/tmp/m.csv")),
            PathBuf::from("/tmp/m.csv.errors.csv")
        );
    }
}
