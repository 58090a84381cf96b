//! The learner service's own rules: learner and enrollment states, the
//! validated shape of a learner, and what recording progress does.

use academy_domain::{DomainError, EducationLevel, Email, EmploymentStatus, Gender, Region};
use chrono::{DateTime, Utc};

pub const MAX_MINUTES_PER_RECORD: i32 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnerState {
    Active,
    Erased,
    /// Merged into another learner (MergeLearners); a tombstone.
    Merged,
}

impl LearnerState {
    pub const ALL: [Self; 3] = [Self::Active, Self::Erased, Self::Merged];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Erased => "ERASED",
            Self::Merged => "MERGED",
        }
    }

    pub fn from_stored(value: &str) -> Result<Self, DomainError> {
        academy_domain::stored::parse(&Self::ALL, Self::as_str, "learner state", value)
    }

    pub fn ensure_active(self) -> Result<(), DomainError> {
        match self {
            Self::Active => Ok(()),
            Self::Erased => Err(DomainError::precondition(
                "LEARNER_ERASED",
                "learner has been erased",
            )),
            Self::Merged => Err(DomainError::precondition(
                "LEARNER_MERGED",
                "learner was merged into another learner; use the survivor's id",
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentState {
    Enrolled,
    InProgress,
    Completed,
    Withdrawn,
}

impl EnrollmentState {
    pub const ALL: [Self; 4] = [
        Self::Enrolled,
        Self::InProgress,
        Self::Completed,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enrolled => "ENROLLED",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    pub fn from_stored(value: &str) -> Result<Self, DomainError> {
        academy_domain::stored::parse(&Self::ALL, Self::as_str, "enrollment state", value)
    }

    /// Progress is taken until the enrollment is withdrawn: activity after
    /// completion still counts (learning hours, active learners).
    pub fn ensure_takes_progress(self) -> Result<(), DomainError> {
        match self {
            Self::Withdrawn => self.ensure_open("record progress"),
            _ => Ok(()),
        }
    }

    /// Withdrawal needs an enrollment that is still open.
    pub fn ensure_open(self, action: &str) -> Result<(), DomainError> {
        match self {
            Self::Enrolled | Self::InProgress => Ok(()),
            Self::Completed => Err(DomainError::precondition(
                "ENROLLMENT_COMPLETED",
                format!("enrollment is completed; cannot {action}"),
            )),
            Self::Withdrawn => Err(DomainError::precondition(
                "ENROLLMENT_WITHDRAWN",
                format!("enrollment is withdrawn; cannot {action}"),
            )),
        }
    }
}

/// Everything a learner record says about a person, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub email: Email,
    pub external_id: Option<String>,
    pub full_name: String,
    pub region: Region,
    pub gender: Gender,
    pub birth_year: i32,
    pub employment_status: EmploymentStatus,
    pub organization: String,
    /// `None` when unknown.
    pub education_level: Option<EducationLevel>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewLearner {
    pub profile: Profile,
    /// Business time of the registration; now when not backfilled.
    pub register_time: DateTime<Utc>,
}

/// What UpdateLearner changes: only the fields named in its mask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerPatch {
    pub email: Option<Email>,
    pub external_id: Option<Option<String>>,
    pub full_name: Option<String>,
    pub region: Option<Region>,
    pub gender: Option<Gender>,
    pub birth_year: Option<i32>,
    pub employment_status: Option<EmploymentStatus>,
    pub organization: Option<String>,
    /// `Some(None)` sets it to unknown.
    pub education_level: Option<Option<EducationLevel>>,
}

impl LearnerPatch {
    pub fn apply(&self, profile: &mut Profile) {
        if let Some(v) = &self.email {
            profile.email = v.clone();
        }
        if let Some(v) = &self.external_id {
            profile.external_id.clone_from(v);
        }
        if let Some(v) = &self.full_name {
            profile.full_name.clone_from(v);
        }
        if let Some(v) = self.region {
            profile.region = v;
        }
        if let Some(v) = self.gender {
            profile.gender = v;
        }
        if let Some(v) = self.birth_year {
            profile.birth_year = v;
        }
        if let Some(v) = self.employment_status {
            profile.employment_status = v;
        }
        if let Some(v) = &self.organization {
            profile.organization.clone_from(v);
        }
        if let Some(v) = self.education_level {
            profile.education_level = v;
        }
    }
}

/// The effect of one RecordProgress on an enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Completed module ids after this record, in completion order.
    pub completed: Vec<String>,
    /// True when this record completed the module for the first time.
    pub first_completion: bool,
    pub percent: i32,
    pub state: EnrollmentState,
}

/// Records `module_id` as completed among `modules`. Repeating a module
/// adds nothing to completion; completing the last one completes the course.
pub fn record_progress(modules: &[String], completed: &[String], module_id: &str) -> Progress {
    let first_completion = !completed.iter().any(|m| m == module_id);
    let mut completed = completed.to_vec();
    if first_completion {
        completed.push(module_id.to_owned());
    }
    let percent = percent(completed.len(), modules.len());
    let state = if completed.len() >= modules.len() {
        EnrollmentState::Completed
    } else {
        EnrollmentState::InProgress
    };
    Progress {
        completed,
        first_completion,
        percent,
        state,
    }
}

/// The business time at which every module was done: the latest of the
/// modules' earliest completions (`earliest`), so rows that arrive out of
/// order date it by the evidence, not by arrival. None while one is missing.
pub fn modules_complete_at(
    modules: &[String],
    earliest: &std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if modules.is_empty() {
        return None;
    }
    modules
        .iter()
        .map(|m| earliest.get(m).copied())
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .max()
}

/// Whole percent of modules completed, rounded down (100 only when all are).
pub fn percent(done: usize, total: usize) -> i32 {
    if total == 0 {
        return 0;
    }
    ((done.min(total) * 100) / total) as i32
}

/// A code to print on a certificate: unguessable, unambiguous to read out
/// (no 0/O or 1/I), e.g. `AZ-7KQ4-M2XD-9HTR`.
pub fn certificate_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let chars: String = bytes
        .iter()
        .take(12)
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("AZ-{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
}

/// Ids stored as one comma-separated column.
pub fn join_ids(ids: &[String]) -> String {
    ids.join(",")
}

pub fn split_ids(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn completion_is_dated_by_the_evidence_not_by_arrival() {
        use chrono::{TimeZone, Utc};
        let at = |d| Utc.with_ymd_and_hms(2025, 3, d, 12, 0, 0).unwrap();
        let modules = ids(&["a", "b"]);
        let mut earliest = std::collections::HashMap::new();
        earliest.insert("b".to_owned(), at(9));
        assert_eq!(super::modules_complete_at(&modules, &earliest), None);
        // "a" arrives last but happened first: the set was done on the 9th.
        earliest.insert("a".to_owned(), at(2));
        assert_eq!(super::modules_complete_at(&modules, &earliest), Some(at(9)));
        assert_eq!(super::modules_complete_at(&[], &earliest), None);
    }

    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn progress_counts_each_module_once() {
        let modules = ids(&["a", "b", "c"]);
        let first = record_progress(&modules, &[], "a");
        assert_eq!(
            (first.percent, first.first_completion, first.state),
            (33, true, EnrollmentState::InProgress)
        );
        let again = record_progress(&modules, &first.completed, "a");
        assert_eq!((again.percent, again.first_completion), (33, false));
        let b = record_progress(&modules, &again.completed, "b");
        let c = record_progress(&modules, &b.completed, "c");
        assert_eq!((c.percent, c.state), (100, EnrollmentState::Completed));
        assert_eq!(c.completed, modules);
    }

    #[test]
    fn certificate_codes_are_readable_and_distinct() {
        let a = certificate_code();
        assert_eq!(a.len(), 17);
        assert!(a.starts_with("AZ-"));
        assert!(!a.contains('0') && !a.contains('O'));
        assert_ne!(a, certificate_code());
    }

    #[test]
    fn closed_enrollments_refuse_changes() {
        assert!(
            EnrollmentState::Enrolled
                .ensure_open("record progress")
                .is_ok()
        );
        assert!(
            EnrollmentState::Completed
                .ensure_open("record progress")
                .is_err()
        );
        assert!(EnrollmentState::Withdrawn.ensure_open("withdraw").is_err());
    }

    #[test]
    fn ids_round_trip_through_storage() {
        assert_eq!(split_ids(&join_ids(&ids(&["x", "y"]))), ids(&["x", "y"]));
        assert!(split_ids("").is_empty());
    }
}

/// The state of a program invitation (issue #17, item 4). EXPIRED is never
/// stored: an INVITED invitation reads EXPIRED once its expiry has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Invited,
    Joined,
    Declined,
    Expired,
}

impl InvitationState {
    /// The states a row holds (EXPIRED is never stored).
    pub const STORED: [Self; 3] = [Self::Invited, Self::Joined, Self::Declined];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "INVITED",
            Self::Joined => "JOINED",
            Self::Declined => "DECLINED",
            Self::Expired => "EXPIRED",
        }
    }

    /// The state as read at `now`: the stored one, EXPIRED for an INVITED
    /// invitation whose expiry is not after `now`.
    pub fn read(
        stored: &str,
        expire_time: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let state =
            academy_domain::stored::parse(&Self::STORED, Self::as_str, "invitation state", stored)?;
        Ok(match (state, expire_time) {
            (Self::Invited, Some(expiry)) if expiry <= now => Self::Expired,
            _ => state,
        })
    }

    /// Why an invitation in this state cannot become `target`.
    pub fn refusal(self) -> DomainError {
        match self {
            Self::Joined => {
                DomainError::precondition("INVITATION_JOINED", "the invitation was already joined")
            }
            Self::Declined => {
                DomainError::precondition("INVITATION_DECLINED", "the invitation was declined")
            }
            Self::Expired => {
                DomainError::precondition("INVITATION_EXPIRED", "the invitation expired")
            }
            Self::Invited => DomainError::internal("an INVITED invitation can change"),
        }
    }
}
