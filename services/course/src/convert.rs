//! The edge: protobuf requests into validated domain values, stored rows
//! back into protobuf. Field paths in violations follow the request message.

use academy_domain::{AllValid, DomainError, FieldViolation, Violations, id, text};
use academy_proto::course as pb;
use academy_proto::events as ev;
use academy_runtime::time::{date, parse_date, timestamp};
use prost_types::FieldMask;

use crate::domain::{
    self, CourseDetails, CoursePatch, CourseState, Level, NewCourse, NewModule, NewProgram,
    NewSkill,
};
use crate::entity::{program, skill};
use crate::store::courses::CourseRecord;

pub fn new_skill(skill: Option<pb::Skill>) -> Result<NewSkill, DomainError> {
    let skill = skill.ok_or_else(|| DomainError::invalid("skill", "is required"))?;
    let (name, category) = (
        text::required("skill.name", &skill.name, 100),
        text::required("skill.category", &skill.category, 100),
    )
        .all_valid()?;
    Ok(NewSkill { name, category })
}

pub fn new_course(course: Option<pb::Course>) -> Result<NewCourse, DomainError> {
    let course = course.ok_or_else(|| DomainError::invalid("course", "is required"))?;
    let (code, details, skill_ids, modules, provider_course_id) = (
        domain::course_code("course.code", &course.code),
        course_details(&course),
        skill_ids("course.skill_ids", &course.skill_ids),
        modules("course.modules", &course.modules),
        provider_course_id(
            "course.provider_course_id",
            course.provider_course_id.as_deref(),
        ),
    )
        .all_valid()?;
    Ok(NewCourse {
        code,
        details,
        skill_ids,
        modules,
        provider_course_id,
    })
}

fn course_details(course: &pb::Course) -> Result<CourseDetails, Vec<FieldViolation>> {
    let (title, description, provider, language, level, estimated_hours) = (
        text::required("course.title", &course.title, 200),
        text::optional("course.description", &course.description, 5000),
        text::required("course.provider", &course.provider, 200),
        domain::language("course.language", &course.language),
        level("course.level", course.level),
        domain::estimated_hours("course.estimated_hours", course.estimated_hours),
    )
        .all_valid_or_violations()?;
    Ok(CourseDetails {
        title,
        description,
        provider,
        language,
        level,
        estimated_hours,
    })
}

/// The provider's own id of a course: unset, or 1-200 characters.
pub fn provider_course_id(
    field: &str,
    raw: Option<&str>,
) -> Result<Option<String>, FieldViolation> {
    raw.map(|raw| text::required(field, raw, 200)).transpose()
}

fn level(field: &str, raw: i32) -> Result<Level, FieldViolation> {
    match pb::CourseLevel::try_from(raw) {
        Ok(pb::CourseLevel::Beginner) => Ok(Level::Beginner),
        Ok(pb::CourseLevel::Intermediate) => Ok(Level::Intermediate),
        Ok(pb::CourseLevel::Advanced) => Ok(Level::Advanced),
        Ok(pb::CourseLevel::Unspecified) | Err(_) => Err(FieldViolation::new(
            field,
            "must be COURSE_LEVEL_BEGINNER, COURSE_LEVEL_INTERMEDIATE or COURSE_LEVEL_ADVANCED",
        )),
    }
}

fn skill_ids(field: &str, raw: &[String]) -> Result<Vec<String>, FieldViolation> {
    if raw.len() > domain::MAX_SKILLS_PER_COURSE {
        return Err(FieldViolation::new(
            field,
            format!(
                "at most {} skills per course",
                domain::MAX_SKILLS_PER_COURSE
            ),
        ));
    }
    let mut ids: Vec<String> = Vec::with_capacity(raw.len());
    for (i, value) in raw.iter().enumerate() {
        let parsed = id::parse_id(&format!("{field}[{i}]"), value)?;
        if ids.contains(&parsed) {
            return Err(FieldViolation::new(
                format!("{field}[{i}]"),
                "is listed twice",
            ));
        }
        ids.push(parsed);
    }
    Ok(ids)
}

fn modules(field: &str, raw: &[pb::CourseModule]) -> Result<Vec<NewModule>, FieldViolation> {
    if raw.is_empty() {
        return Err(FieldViolation::new(
            field,
            "a course needs at least one module",
        ));
    }
    if raw.len() > domain::MAX_MODULES {
        return Err(FieldViolation::new(
            field,
            format!("at most {} modules per course", domain::MAX_MODULES),
        ));
    }
    raw.iter()
        .enumerate()
        .map(|(i, module)| {
            Ok(NewModule {
                title: text::required(&format!("{field}[{i}].title"), &module.title, 200)?,
                estimated_minutes: text::in_range(
                    &format!("{field}[{i}].estimated_minutes"),
                    module.estimated_minutes,
                    1,
                    domain::MAX_MODULE_MINUTES,
                )?,
            })
        })
        .collect()
}

/// Paths an UpdateCourse mask may name.
pub const UPDATABLE_PATHS: [&str; 9] = [
    "title",
    "description",
    "provider",
    "language",
    "level",
    "estimated_hours",
    "skill_ids",
    "modules",
    "provider_course_id",
];

pub fn course_patch(
    course: Option<pb::Course>,
    mask: Option<FieldMask>,
) -> Result<CoursePatch, DomainError> {
    let course = course.ok_or_else(|| DomainError::invalid("course", "is required"))?;
    let paths = academy_domain::mask::update_paths(mask.map(|m| m.paths), &UPDATABLE_PATHS)?;
    let mut v = Violations::new();
    let mut patch = CoursePatch::default();
    for path in &paths {
        match path.as_str() {
            "title" => patch.title = v.check(text::required("course.title", &course.title, 200)),
            "description" => {
                patch.description = v.check(text::optional(
                    "course.description",
                    &course.description,
                    5000,
                ))
            }
            "provider" => {
                patch.provider = v.check(text::required("course.provider", &course.provider, 200))
            }
            "language" => {
                patch.language = v.check(domain::language("course.language", &course.language))
            }
            "level" => patch.level = v.check(level("course.level", course.level)),
            "estimated_hours" => {
                patch.estimated_hours = v.check(domain::estimated_hours(
                    "course.estimated_hours",
                    course.estimated_hours,
                ))
            }
            "skill_ids" => {
                patch.skill_ids = v.check(skill_ids("course.skill_ids", &course.skill_ids))
            }
            "modules" => patch.modules = v.check(modules("course.modules", &course.modules)),
            "provider_course_id" => {
                patch.provider_course_id = v.check(provider_course_id(
                    "course.provider_course_id",
                    course.provider_course_id.as_deref(),
                ))
            }
            other => v.push(academy_domain::mask::not_updatable(other, &UPDATABLE_PATHS)),
        }
    }
    v.finish()?;
    Ok(patch)
}

pub fn new_program(program: Option<pb::Program>) -> Result<NewProgram, DomainError> {
    let program = program.ok_or_else(|| DomainError::invalid("program", "is required"))?;
    let (name, description, start_date) = (
        text::required("program.name", &program.name, 200),
        text::optional("program.description", &program.description, 5000),
        parse_date("program.start_date", program.start_date.as_ref()),
    )
        .all_valid()?;
    Ok(NewProgram {
        name,
        description,
        start_date,
    })
}

/// Optional course-state filter of ListCourses.
pub fn state_filter(raw: i32) -> Result<Option<CourseState>, FieldViolation> {
    match pb::CourseState::try_from(raw) {
        Ok(pb::CourseState::Unspecified) => Ok(None),
        Ok(pb::CourseState::Draft) => Ok(Some(CourseState::Draft)),
        Ok(pb::CourseState::Published) => Ok(Some(CourseState::Published)),
        Ok(pb::CourseState::Archived) => Ok(Some(CourseState::Archived)),
        Err(_) => Err(FieldViolation::new("state", "is not a known course state")),
    }
}

pub fn etag(revision: i64) -> String {
    format!("\"{revision}\"")
}

pub fn skill_to_proto(skill: skill::Model) -> pb::Skill {
    pb::Skill {
        id: skill.id,
        name: skill.name,
        category: skill.category,
        create_time: Some(timestamp(skill.create_time)),
    }
}

pub fn course_to_proto(record: CourseRecord) -> Result<pb::Course, DomainError> {
    let CourseRecord {
        course,
        modules,
        skill_ids,
    } = record;
    let state = match CourseState::from_stored(&course.state)? {
        CourseState::Draft => pb::CourseState::Draft,
        CourseState::Published => pb::CourseState::Published,
        CourseState::Archived => pb::CourseState::Archived,
    };
    let level = match Level::from_stored(&course.level)? {
        Level::Beginner => pb::CourseLevel::Beginner,
        Level::Intermediate => pb::CourseLevel::Intermediate,
        Level::Advanced => pb::CourseLevel::Advanced,
    };
    Ok(pb::Course {
        id: course.id,
        code: course.code,
        title: course.title,
        description: course.description,
        provider: course.provider,
        language: course.language,
        level: level.into(),
        estimated_hours: course.estimated_hours,
        skill_ids,
        modules: modules
            .into_iter()
            .map(|m| pb::CourseModule {
                id: m.id,
                title: m.title,
                estimated_minutes: m.estimated_minutes,
                position: m.position,
            })
            .collect(),
        state: state.into(),
        create_time: Some(timestamp(course.create_time)),
        update_time: Some(timestamp(course.update_time)),
        etag: etag(course.revision),
        publish_time: course.publish_time.map(timestamp),
        provider_course_id: course.provider_course_id,
        archive_time: course.archive_time.map(timestamp),
    })
}

/// What the change feed says about a course: no descriptions, just what
/// followers need to label and count.
pub fn course_snapshot(record: &CourseRecord) -> ev::CourseSnapshot {
    ev::CourseSnapshot {
        course_id: record.course.id.clone(),
        code: record.course.code.clone(),
        title: record.course.title.clone(),
        provider: record.course.provider.clone(),
        language: record.course.language.clone(),
        level: record.course.level.clone(),
        skill_ids: record.skill_ids.clone(),
        module_ids: record.modules.iter().map(|m| m.id.clone()).collect(),
        state: record.course.state.clone(),
    }
}

pub fn program_to_proto(program: program::Model, course_ids: Vec<String>) -> pb::Program {
    pb::Program {
        id: program.id,
        name: program.name,
        description: program.description,
        start_date: Some(date(program.start_date)),
        course_ids,
        create_time: Some(timestamp(program.create_time)),
    }
}
