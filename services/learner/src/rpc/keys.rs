//! The keys a provider's export names things by (issue #17): a learner by
//! its external id, a course by its code or the provider's own id. A row
//! that names them is resolved to Academy ids before the usual checks, so
//! everything after (validation, idempotency, the write) is unchanged.

use academy_domain::{AllValid, DomainError, FieldViolation, id, text};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;
use academy_runtime::observability::trace::TraceContext;
use std::collections::HashMap;

use super::Context;
use crate::course_client::CourseKey;
use crate::store::{enrollments, learners};

/// Resolves rows' external keys; the course service's answers are cached
/// for one stream (an export names a few dozen courses).
#[derive(Debug, Default)]
pub struct Resolver {
    courses: HashMap<CourseKey, Result<String, DomainError>>,
}

impl Resolver {
    /// Fills `learner_id` and `course_id` of an EnrollRequest that names
    /// the learner or the course by an external key.
    pub async fn enroll_row(
        &mut self,
        ctx: &Context,
        req: &mut pb::EnrollRequest,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        let (learner, course) = self
            .both(
                ctx,
                RowKeys {
                    learner_id: &req.learner_id,
                    learner_external_id: &req.learner_external_id,
                    course: CourseKeys {
                        course_id: &req.course_id,
                        code: &req.course_code,
                        provider_course_id: &req.provider_course_id,
                    },
                },
                trace,
            )
            .await;
        if let Some(id) = learner? {
            req.learner_id = id;
        }
        if let Some(id) = course? {
            req.course_id = id;
        }
        Ok(())
    }

    /// Fills `enrollment_id` of a RecordProgressRequest that names the
    /// learner and the course instead: their enrollment not withdrawn.
    pub async fn progress_row(
        &mut self,
        ctx: &Context,
        req: &mut pb::RecordProgressRequest,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        let named = [
            &req.learner_id,
            &req.learner_external_id,
            &req.course_id,
            &req.course_code,
            &req.provider_course_id,
        ]
        .iter()
        .any(|k| !k.trim().is_empty());
        if !named {
            return Ok(());
        }
        if !req.enrollment_id.trim().is_empty() {
            return Err(DomainError::invalid(
                "enrollment_id",
                "set enrollment_id or the learner and the course, not both",
            ));
        }
        let (learner, course) = self
            .both(
                ctx,
                RowKeys {
                    learner_id: &req.learner_id,
                    learner_external_id: &req.learner_external_id,
                    course: CourseKeys {
                        course_id: &req.course_id,
                        code: &req.course_code,
                        provider_course_id: &req.provider_course_id,
                    },
                },
                trace,
            )
            .await;
        let (learner, course) = (learner?, course?);
        // A key the row named was resolved; otherwise the Academy id must do.
        let (learner, course) = (
            learner.map_or_else(|| id::parse_id("learner_id", &req.learner_id), Ok),
            course.map_or_else(|| id::parse_id("course_id", &req.course_id), Ok),
        )
            .all_valid()?;
        req.enrollment_id = enrollments::active_id(&ctx.db, &learner, &course)
            .await
            .map_err(db_error)?
            .ok_or_else(|| DomainError::not_found("enrollment", format!("{learner}:{course}")))?;
        Ok(())
    }

    /// The ids a row's learner and course keys name (each `None` when the
    /// row uses the Academy id or names nothing).
    async fn both(
        &mut self,
        ctx: &Context,
        keys: RowKeys<'_>,
        trace: &TraceContext,
    ) -> (
        Result<Option<String>, DomainError>,
        Result<Option<String>, DomainError>,
    ) {
        let learner = learner_id(
            ctx,
            keys.learner_id,
            keys.learner_external_id,
            "learner_external_id",
        )
        .await;
        let course = self.course_id(ctx, keys.course, trace).await;
        (learner, course)
    }

    /// The id of the course a row names by code or provider id (`None`
    /// when it names it by id, or not at all: the usual checks follow).
    async fn course_id(
        &mut self,
        ctx: &Context,
        keys: CourseKeys<'_>,
        trace: &TraceContext,
    ) -> Result<Option<String>, DomainError> {
        let Some(key) = keys.parse()? else {
            return Ok(None);
        };
        if !self.courses.contains_key(&key) {
            let answer = ctx.courses.course_id_by(&key, trace).await;
            if let Err(DomainError::Unavailable { what }) = answer {
                return Err(DomainError::Unavailable { what });
            }
            self.courses.insert(key.clone(), answer);
        }
        self.courses
            .get(&key)
            .cloned()
            .unwrap_or_else(|| Err(DomainError::internal("course answer missing")))
            .map(Some)
    }
}

/// How a row names its learner and its course.
struct RowKeys<'a> {
    learner_id: &'a str,
    learner_external_id: &'a str,
    course: CourseKeys<'a>,
}

/// The three ways a row may name a course.
struct CourseKeys<'a> {
    course_id: &'a str,
    code: &'a str,
    provider_course_id: &'a str,
}

impl CourseKeys<'_> {
    /// The external key the row names, if any; more than one is refused.
    fn parse(&self) -> Result<Option<CourseKey>, DomainError> {
        let set = [self.course_id, self.code, self.provider_course_id]
            .iter()
            .filter(|k| !k.trim().is_empty())
            .count();
        if set > 1 {
            return Err(DomainError::invalid(
                "course_id",
                "set exactly one of course_id, course_code and provider_course_id",
            ));
        }
        if !self.code.trim().is_empty() {
            return Ok(Some(CourseKey::Code(course_code(self.code)?)));
        }
        if !self.provider_course_id.trim().is_empty() {
            let id = text::required("provider_course_id", self.provider_course_id, 200)?;
            return Ok(Some(CourseKey::ProviderCourseId(id)));
        }
        Ok(None)
    }
}

/// A course code as the course service accepts it (1-32 characters of
/// letters, digits, `.`, `_`, `-`): checked here so a bad one is the
/// caller's INVALID_ARGUMENT, not a failed call to the course service.
fn course_code(raw: &str) -> Result<String, FieldViolation> {
    let code = text::required("course_code", raw, 32)?;
    if code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Ok(code)
    } else {
        Err(FieldViolation::new(
            "course_code",
            "may only contain letters, digits, '.', '_' and '-'",
        ))
    }
}

/// The id of the learner a row names by external id (`None` when it
/// names the learner by id, or not at all: the usual checks follow).
pub async fn learner_id(
    ctx: &Context,
    learner_id: &str,
    external_id: &str,
    field: &str,
) -> Result<Option<String>, DomainError> {
    if external_id.trim().is_empty() {
        return Ok(None);
    }
    if !learner_id.trim().is_empty() {
        return Err(DomainError::invalid(
            field,
            "set learner_id or learner_external_id, not both",
        ));
    }
    let external_id = text::required(field, external_id, 200)?;
    learners::id_by_external_id(&ctx.db, &external_id)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::not_found("learner", "with this external_id"))
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(course_id: &'a str, code: &'a str, provider: &'a str) -> CourseKeys<'a> {
        CourseKeys {
            course_id,
            code,
            provider_course_id: provider,
        }
    }

    #[test]
    fn a_row_names_a_course_one_way_only() {
        assert_eq!(keys("", "", "").parse(), Ok(None));
        assert_eq!(keys("some-id", "", "").parse(), Ok(None));
        assert_eq!(
            keys("", " PY-101 ", "").parse(),
            Ok(Some(CourseKey::Code("PY-101".into())))
        );
        assert_eq!(
            keys("", "", "machine-learning").parse(),
            Ok(Some(CourseKey::ProviderCourseId("machine-learning".into())))
        );
        assert!(keys("some-id", "PY-101", "").parse().is_err());
        assert!(keys("", "PY-101", "ml").parse().is_err());
        assert!(keys("", "PY 101", "").parse().is_err());
    }
}
