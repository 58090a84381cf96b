//! The edge: protobuf requests into validated domain values, stored rows
//! back into protobuf and feed events. Feed events never carry e-mail or name.

use academy_domain::{
    AllValid, DomainError, EducationLevel, Email, EmploymentStatus, FieldViolation, Gender, Region,
    Violations, learner, text,
};
use academy_proto::events as ev;
use academy_proto::learner as pb;
use academy_runtime::time::{parse_timestamp, timestamp};
use chrono::{DateTime, Utc};
use prost_types::FieldMask;

use crate::domain::{
    EnrollmentState, LearnerPatch, LearnerState, NewLearner, Profile, percent, split_ids,
};
use crate::entity::{certificate, enrollment, learner as row};

/// Clock skew tolerated on client-supplied business times.
const FUTURE_TOLERANCE_SECS: i64 = 300;

/// A business time from a request: `None` means "now"; the future is refused.
pub fn business_time(
    field: &str,
    value: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, FieldViolation> {
    // Protobuf allows nanos 0..=999_999_999 only; chrono would read more
    // as a leap second and hand the same invalid Timestamp back to callers.
    if value.is_some_and(|ts| !(0..1_000_000_000).contains(&ts.nanos)) {
        return Err(FieldViolation::new(field, "is not a valid timestamp"));
    }
    match parse_timestamp(field, value)? {
        None => Ok(now),
        Some(at) if (at - now).num_seconds() > FUTURE_TOLERANCE_SECS => {
            Err(FieldViolation::new(field, "must not be in the future"))
        }
        Some(at) => Ok(at),
    }
}

pub fn new_learner(
    req: &pb::RegisterLearnerRequest,
    now: DateTime<Utc>,
) -> Result<NewLearner, DomainError> {
    let learner = req
        .learner
        .as_ref()
        .ok_or_else(|| DomainError::invalid("learner", "is required"))?;
    let (profile, register_time) = (
        profile(learner, now),
        business_time("registered_at", req.registered_at.as_ref(), now),
    )
        .all_valid()?;
    Ok(NewLearner {
        profile,
        register_time,
    })
}

fn profile(l: &pb::Learner, now: DateTime<Utc>) -> Result<Profile, Vec<FieldViolation>> {
    let (
        email,
        external_id,
        full_name,
        region,
        gender,
        birth_year,
        employment_status,
        organization,
        education_level,
    ) = (
        Email::parse("learner.email", &l.email),
        external_id(l.external_id.as_deref()),
        text::required("learner.full_name", &l.full_name, 200),
        Region::parse("learner.region", &l.region),
        gender(l.gender),
        learner::birth_year("learner.birth_year", l.birth_year, now.date_naive()),
        employment_status(l.employment_status),
        text::optional("learner.organization", &l.organization, 200),
        education_level(l.education_level),
    )
        .all_valid_or_violations()?;
    Ok(Profile {
        email,
        external_id,
        full_name,
        region,
        gender,
        birth_year,
        employment_status,
        organization,
        education_level,
    })
}

fn education_level(raw: Option<i32>) -> Result<Option<EducationLevel>, FieldViolation> {
    EducationLevel::parse("learner.education_level", raw)
}

fn external_id(raw: Option<&str>) -> Result<Option<String>, FieldViolation> {
    let value = text::optional("learner.external_id", raw.unwrap_or_default(), 200)?;
    Ok((!value.is_empty()).then_some(value))
}

fn gender(raw: i32) -> Result<Gender, FieldViolation> {
    match pb::Gender::try_from(raw) {
        Ok(pb::Gender::Female) => Ok(Gender::Female),
        Ok(pb::Gender::Male) => Ok(Gender::Male),
        Ok(pb::Gender::Other) => Ok(Gender::Other),
        Ok(pb::Gender::Undisclosed) => Ok(Gender::Undisclosed),
        Ok(pb::Gender::Unknown) => Ok(Gender::Unknown),
        Ok(pb::Gender::Unspecified) | Err(_) => Err(FieldViolation::new(
            "learner.gender",
            "must be GENDER_FEMALE, GENDER_MALE, GENDER_OTHER, GENDER_UNDISCLOSED or GENDER_UNKNOWN",
        )),
    }
}

fn employment_status(raw: i32) -> Result<EmploymentStatus, FieldViolation> {
    use pb::EmploymentStatus as P;
    match P::try_from(raw) {
        Ok(P::Employed) => Ok(EmploymentStatus::Employed),
        Ok(P::SelfEmployed) => Ok(EmploymentStatus::SelfEmployed),
        Ok(P::Unemployed) => Ok(EmploymentStatus::Unemployed),
        Ok(P::Student) => Ok(EmploymentStatus::Student),
        Ok(P::Retired) => Ok(EmploymentStatus::Retired),
        Ok(P::Other) => Ok(EmploymentStatus::Other),
        Ok(P::Unknown) => Ok(EmploymentStatus::Unknown),
        Ok(P::Unspecified) | Err(_) => Err(FieldViolation::new(
            "learner.employment_status",
            "must be one of the EMPLOYMENT_STATUS_* values other than UNSPECIFIED",
        )),
    }
}

pub const UPDATABLE_PATHS: [&str; 9] = [
    "email",
    "external_id",
    "full_name",
    "region",
    "gender",
    "birth_year",
    "employment_status",
    "organization",
    "education_level",
];

pub fn learner_patch(
    l: Option<pb::Learner>,
    mask: Option<FieldMask>,
    now: DateTime<Utc>,
) -> Result<LearnerPatch, DomainError> {
    let l = l.ok_or_else(|| DomainError::invalid("learner", "is required"))?;
    let paths = academy_domain::mask::update_paths(mask.map(|m| m.paths), &UPDATABLE_PATHS)?;
    let mut v = Violations::new();
    let mut patch = LearnerPatch::default();
    for path in &paths {
        match path.as_str() {
            "email" => patch.email = v.check(Email::parse("learner.email", &l.email)),
            "external_id" => patch.external_id = v.check(external_id(l.external_id.as_deref())),
            "full_name" => {
                patch.full_name = v.check(text::required("learner.full_name", &l.full_name, 200))
            }
            "region" => patch.region = v.check(Region::parse("learner.region", &l.region)),
            "gender" => patch.gender = v.check(gender(l.gender)),
            "birth_year" => {
                patch.birth_year = v.check(learner::birth_year(
                    "learner.birth_year",
                    l.birth_year,
                    now.date_naive(),
                ))
            }
            "employment_status" => {
                patch.employment_status = v.check(employment_status(l.employment_status))
            }
            "organization" => {
                patch.organization =
                    v.check(text::optional("learner.organization", &l.organization, 200))
            }
            "education_level" => {
                patch.education_level = v.check(education_level(l.education_level))
            }
            other => v.push(academy_domain::mask::not_updatable(other, &UPDATABLE_PATHS)),
        }
    }
    v.finish()?;
    Ok(patch)
}

/// Reads a stored profile back (for applying a patch).
pub fn stored_profile(r: &row::Model) -> Result<Profile, DomainError> {
    let corrupt = |what: &str| DomainError::internal(format!("stored learner has invalid {what}"));
    Ok(Profile {
        email: Email::parse("email", r.email.as_deref().unwrap_or_default())
            .map_err(|_| corrupt("email"))?,
        external_id: r.external_id.clone(),
        full_name: r.full_name.clone(),
        region: Region::parse("region", &r.region).map_err(|_| corrupt("region"))?,
        gender: Gender::parse(&r.gender).ok_or_else(|| corrupt("gender"))?,
        birth_year: r.birth_year,
        employment_status: EmploymentStatus::parse(&r.employment_status)
            .ok_or_else(|| corrupt("employment status"))?,
        organization: r.organization.clone(),
        education_level: EducationLevel::parse("education_level", r.education_level)
            .map_err(|_| corrupt("education level"))?,
    })
}

pub fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

pub fn learner_to_proto(r: row::Model) -> Result<pb::Learner, DomainError> {
    let state = match LearnerState::from_stored(&r.state)? {
        LearnerState::Active => pb::LearnerState::Active,
        LearnerState::Erased => pb::LearnerState::Erased,
        LearnerState::Merged => pb::LearnerState::Merged,
    };
    let gender = match Gender::parse(&r.gender) {
        Some(Gender::Female) => pb::Gender::Female,
        Some(Gender::Male) => pb::Gender::Male,
        Some(Gender::Other) => pb::Gender::Other,
        Some(Gender::Undisclosed) => pb::Gender::Undisclosed,
        Some(Gender::Unknown) => pb::Gender::Unknown,
        None => pb::Gender::Unspecified,
    };
    let employment = match EmploymentStatus::parse(&r.employment_status) {
        Some(EmploymentStatus::Employed) => pb::EmploymentStatus::Employed,
        Some(EmploymentStatus::SelfEmployed) => pb::EmploymentStatus::SelfEmployed,
        Some(EmploymentStatus::Unemployed) => pb::EmploymentStatus::Unemployed,
        Some(EmploymentStatus::Student) => pb::EmploymentStatus::Student,
        Some(EmploymentStatus::Retired) => pb::EmploymentStatus::Retired,
        Some(EmploymentStatus::Other) => pb::EmploymentStatus::Other,
        Some(EmploymentStatus::Unknown) => pb::EmploymentStatus::Unknown,
        None => pb::EmploymentStatus::Unspecified,
    };
    Ok(pb::Learner {
        id: r.id,
        email: r.email.unwrap_or_default(),
        external_id: r.external_id,
        full_name: r.full_name,
        region: r.region,
        gender: gender.into(),
        birth_year: r.birth_year,
        employment_status: employment.into(),
        organization: r.organization,
        state: state.into(),
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
        etag: etag(r.revision),
        register_time: Some(timestamp(r.register_time)),
        merged_from_id: String::new(),
        education_level: r.education_level,
    })
}

pub fn enrollment_state_filter(raw: i32) -> Result<Option<EnrollmentState>, FieldViolation> {
    use pb::EnrollmentState as P;
    match P::try_from(raw) {
        Ok(P::Unspecified) => Ok(None),
        Ok(P::Enrolled) => Ok(Some(EnrollmentState::Enrolled)),
        Ok(P::InProgress) => Ok(Some(EnrollmentState::InProgress)),
        Ok(P::Completed) => Ok(Some(EnrollmentState::Completed)),
        Ok(P::Withdrawn) => Ok(Some(EnrollmentState::Withdrawn)),
        Err(_) => Err(FieldViolation::new(
            "state",
            "is not a known enrollment state",
        )),
    }
}

pub fn enrollment_to_proto(e: enrollment::Model) -> Result<pb::Enrollment, DomainError> {
    use pb::EnrollmentState as P;
    let state = match EnrollmentState::from_stored(&e.state)? {
        EnrollmentState::Enrolled => P::Enrolled,
        EnrollmentState::InProgress => P::InProgress,
        EnrollmentState::Completed => P::Completed,
        EnrollmentState::Withdrawn => P::Withdrawn,
    };
    let modules = split_ids(&e.module_ids);
    let completed = split_ids(&e.completed_module_ids);
    Ok(pb::Enrollment {
        id: e.id,
        learner_id: e.learner_id,
        course_id: e.course_id,
        program_id: e.program_id.unwrap_or_default(),
        state: state.into(),
        progress_percent: percent(completed.len(), modules.len()),
        enroll_time: Some(timestamp(e.enroll_time)),
        complete_time: e.complete_time.map(timestamp),
        minutes_spent: i32::try_from(e.minutes_spent).unwrap_or(i32::MAX),
        completed_module_ids: completed,
        withdraw_time: e.withdraw_time.map(timestamp),
        percent_complete: e.percent_complete,
        grade: e.grade_centi.map(|g| f64::from(g) / 100.0),
        last_activity_time: e.last_activity_time.map(timestamp),
    })
}

pub fn certificate_to_proto(c: certificate::Model) -> pb::Certificate {
    pb::Certificate {
        id: c.id,
        code: c.code,
        learner_id: c.learner_id,
        course_id: c.course_id,
        enrollment_id: c.enrollment_id,
        issue_time: Some(timestamp(c.issue_time)),
        learner_name: String::new(),
        course_title: String::new(),
    }
}

/// The anonymous facts of a learner that reports group by.
pub fn learner_registered(id: &str, p: &Profile) -> ev::event::Payload {
    ev::event::Payload::LearnerRegistered(ev::LearnerRegistered {
        learner_id: id.to_owned(),
        region: p.region.as_str().to_owned(),
        gender: p.gender.as_str().to_owned(),
        birth_year: p.birth_year,
        employment_status: p.employment_status.as_str().to_owned(),
        organization: p.organization.clone(),
        education_level: EducationLevel::name(p.education_level).to_owned(),
    })
}

pub fn learner_updated(id: &str, p: &Profile) -> ev::event::Payload {
    ev::event::Payload::LearnerUpdated(ev::LearnerUpdated {
        learner_id: id.to_owned(),
        region: p.region.as_str().to_owned(),
        gender: p.gender.as_str().to_owned(),
        birth_year: p.birth_year,
        employment_status: p.employment_status.as_str().to_owned(),
        organization: p.organization.clone(),
        education_level: EducationLevel::name(p.education_level).to_owned(),
    })
}

/// Which learner, course and program an enrollment event is about.
pub fn enrollment_keys(e: &enrollment::Model) -> (String, String, String, String) {
    (
        e.id.clone(),
        e.learner_id.clone(),
        e.course_id.clone(),
        e.program_id.clone().unwrap_or_default(),
    )
}
