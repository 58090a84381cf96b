//! What the learner service asks the course service, over gRPC: whether a
//! course can be enrolled in (and its modules and skills), and which courses
//! a program includes. Every call has a deadline and carries the caller's
//! trace context.

use academy_domain::DomainError;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{CourseState, GetCourseRequest, GetProgramRequest};
use academy_runtime::auth::ClientToken;
use academy_runtime::trace::TraceContext;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// The facts of a course an enrollment keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseInfo {
    pub module_ids: Vec<String>,
    pub skill_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CourseClient {
    client: CourseServiceClient<Channel>,
    timeout: Duration,
    token: ClientToken,
}

impl CourseClient {
    /// Connects lazily: the learner service starts (and serves everything
    /// but Enroll) while the course service is down.
    pub fn new(endpoint: Endpoint, timeout: Duration, token: ClientToken) -> anyhow::Result<Self> {
        let channel = endpoint
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_lazy();
        Ok(Self {
            client: CourseServiceClient::new(channel),
            timeout,
            token,
        })
    }

    /// The course, if it exists and is PUBLISHED.
    pub async fn enrollable_course(
        &self,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<CourseInfo, DomainError> {
        let mut request = Request::new(GetCourseRequest {
            id: course_id.to_owned(),
        });
        self.prepare(&mut request, trace);
        let course = self
            .client
            .clone()
            .get_course(request)
            .await
            .map_err(|status| classify(status, "course", course_id))?
            .into_inner();
        if course.state != CourseState::Published as i32 {
            return Err(DomainError::precondition(
                "COURSE_NOT_PUBLISHED",
                "only a published course can be enrolled in",
            ));
        }
        Ok(CourseInfo {
            module_ids: course.modules.into_iter().map(|m| m.id).collect(),
            skill_ids: course.skill_ids,
        })
    }

    /// The course's title, whatever its state (a certificate outlives the
    /// course's publication).
    pub async fn course_title(
        &self,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<String, DomainError> {
        let mut request = Request::new(GetCourseRequest {
            id: course_id.to_owned(),
        });
        self.prepare(&mut request, trace);
        let course = self
            .client
            .clone()
            .get_course(request)
            .await
            .map_err(|status| classify(status, "course", course_id))?
            .into_inner();
        Ok(course.title)
    }

    /// Fails unless the program exists and includes the course.
    pub async fn ensure_program_includes(
        &self,
        program_id: &str,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        let mut request = Request::new(GetProgramRequest {
            id: program_id.to_owned(),
        });
        self.prepare(&mut request, trace);
        let program = self
            .client
            .clone()
            .get_program(request)
            .await
            .map_err(|status| classify(status, "program", program_id))?
            .into_inner();
        if program.course_ids.iter().any(|id| id == course_id) {
            Ok(())
        } else {
            Err(DomainError::precondition(
                "COURSE_NOT_IN_PROGRAM",
                "the program does not include this course",
            ))
        }
    }

    fn prepare<T>(&self, request: &mut Request<T>, trace: &TraceContext) {
        request.set_timeout(self.timeout);
        trace.inject(request);
        self.token.apply(request.metadata_mut());
    }
}

/// What a failed course-service call means to our caller.
fn classify(status: Status, resource: &'static str, id: &str) -> DomainError {
    match status.code() {
        Code::NotFound => DomainError::not_found(resource, id),
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::ResourceExhausted
        | Code::Unknown => {
            tracing::warn!(code = ?status.code(), message = status.message(), "course service call failed");
            DomainError::Unavailable {
                what: "course service",
            }
        }
        _ => DomainError::internal(format!(
            "course service answered {:?}: {}",
            status.code(),
            status.message()
        )),
    }
}
