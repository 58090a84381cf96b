//! What the learner service asks the course service, over gRPC: whether a
//! course can be enrolled in (and its modules and skills), and which courses
//! a program includes. Every call has a deadline and carries the caller's
//! trace context.

use academy_domain::DomainError;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{
    Course, CourseState, GetCourseRequest, GetProgramRequest, LookupCourseRequest, Program,
    lookup_course_request,
};
use academy_runtime::auth::ClientToken;
use academy_runtime::observability::trace::TraceContext;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status};

/// The facts of a course an enrollment keeps, and when it takes activity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseInfo {
    pub module_ids: Vec<String>,
    pub skill_ids: Vec<String>,
    pub open: Openness,
}

/// When a course takes enrollments and progress (issue #17): a PUBLISHED
/// course always (backdated history included); an ARCHIVED one that was
/// published only for history dated before it was archived (a history
/// import), never for new activity. Backdated history before the
/// publication is taken as it is by a published course, so the same
/// provider file loads the same before and after the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Openness {
    Published,
    /// Archived at `archived`; `was_published` false if it never was.
    Archived {
        was_published: bool,
        archived: DateTime<Utc>,
    },
    Draft,
}

impl Openness {
    /// Whether something that happened at `at` may be recorded.
    pub fn admits(self, at: DateTime<Utc>) -> Result<(), DomainError> {
        match self {
            Self::Published => Ok(()),
            Self::Archived {
                was_published: true,
                archived,
            } if at < archived => Ok(()),
            Self::Archived { .. } => Err(DomainError::precondition(
                "COURSE_ARCHIVED",
                "the course is archived: only history dated before its archive_time can be recorded",
            )),
            Self::Draft => Err(DomainError::precondition(
                "COURSE_NOT_PUBLISHED",
                "only a published course can be enrolled in",
            )),
        }
    }
}

/// How a provider's export names a course (issue #17).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CourseKey {
    Code(String),
    ProviderCourseId(String),
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
        Ok(Self::on(channel, timeout, token))
    }

    /// Spreads calls over every course pod `urls` resolve to (re-resolved
    /// every few seconds; see `academy_runtime::balance`).
    pub fn balanced(
        tls: &academy_runtime::tls::TlsConfig,
        urls: &str,
        timeout: Duration,
        token: ClientToken,
    ) -> anyhow::Result<Self> {
        let channel = academy_runtime::balance::channel(tls, urls, move |endpoint| {
            endpoint.connect_timeout(timeout).timeout(timeout)
        })?;
        Ok(Self::on(channel, timeout, token))
    }

    fn on(channel: Channel, timeout: Duration, token: ClientToken) -> Self {
        Self {
            client: CourseServiceClient::new(channel),
            timeout,
            token,
        }
    }

    /// The course, if it exists and takes an enrollment at `at`: PUBLISHED,
    /// or ARCHIVED with `at` while it was published.
    pub async fn enrollable_course(
        &self,
        course_id: &str,
        at: DateTime<Utc>,
        trace: &TraceContext,
    ) -> Result<CourseInfo, DomainError> {
        let course = self.course_info(course_id, trace).await?;
        course.open.admits(at)?;
        Ok(course)
    }

    /// The course's facts whatever its state; NOT_FOUND if there is none.
    pub async fn course_info(
        &self,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<CourseInfo, DomainError> {
        let course = self.get_course(course_id, trace).await?;
        let time = |ts: Option<&prost_types::Timestamp>| {
            ts.and_then(|ts| DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32))
        };
        let open = if course.state == CourseState::Published as i32 {
            Openness::Published
        } else if course.state == CourseState::Archived as i32 {
            Openness::Archived {
                was_published: course.publish_time.is_some(),
                // A course archived without a time (an older course
                // service) takes no history: refused, never admitted wrongly.
                archived: time(course.archive_time.as_ref()).unwrap_or(DateTime::<Utc>::MIN_UTC),
            }
        } else {
            Openness::Draft
        };
        Ok(CourseInfo {
            module_ids: course.modules.into_iter().map(|m| m.id).collect(),
            skill_ids: course.skill_ids,
            open,
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

    /// Fails (NOT_FOUND) unless the program exists.
    pub async fn ensure_program(
        &self,
        program_id: &str,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        self.get_program(program_id, trace).await?;
        Ok(())
    }

    /// Fails unless the program exists and includes the course.
    pub async fn ensure_program_includes(
        &self,
        program_id: &str,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        let program = self.get_program(program_id, trace).await?;
        if program.course_ids.iter().any(|id| id == course_id) {
            Ok(())
        } else {
            Err(DomainError::precondition(
                "COURSE_NOT_IN_PROGRAM",
                "the program does not include this course",
            ))
        }
    }

    /// The id of the course with this code or provider id.
    pub async fn course_id_by(
        &self,
        key: &CourseKey,
        trace: &TraceContext,
    ) -> Result<String, DomainError> {
        let (key, named) = match key {
            CourseKey::Code(code) => (lookup_course_request::Key::Code(code.clone()), code),
            CourseKey::ProviderCourseId(id) => {
                (lookup_course_request::Key::ProviderCourseId(id.clone()), id)
            }
        };
        let message = LookupCourseRequest { key: Some(key) };
        let course = self
            .call(
                "course",
                named,
                message,
                trace,
                |mut client, request| async move { client.lookup_course(request).await },
            )
            .await?;
        Ok(course.id)
    }

    /// One call about one resource (`resource` `id`), made with
    /// [`Self::with_fresh_token`]; NOT_FOUND if there is none.
    async fn call<Req, Resp, Fut>(
        &self,
        resource: &'static str,
        id: &str,
        message: Req,
        trace: &TraceContext,
        send: impl Fn(CourseServiceClient<Channel>, Request<Req>) -> Fut,
    ) -> Result<Resp, DomainError>
    where
        Req: Clone,
        Fut: std::future::Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        self.with_fresh_token(|| {
            let mut request = Request::new(message.clone());
            self.prepare(&mut request, trace);
            send(self.client.clone(), request)
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| classify(status, resource, id))
    }

    async fn get_course(&self, id: &str, trace: &TraceContext) -> Result<Course, DomainError> {
        let message = GetCourseRequest { id: id.to_owned() };
        self.call("course", id, message, trace, |mut c, r| async move {
            c.get_course(r).await
        })
        .await
    }

    async fn get_program(&self, id: &str, trace: &TraceContext) -> Result<Program, DomainError> {
        let message = GetProgramRequest { id: id.to_owned() };
        self.call("program", id, message, trace, |mut c, r| async move {
            c.get_program(r).await
        })
        .await
    }

    /// Makes the call; if the course service refuses this service's token
    /// (expired, rotated key), drops it and tries once more with a fresh
    /// one. A second refusal is logged as an error and counted
    /// (`learner_peer_unauthenticated_total`): it needs an operator.
    async fn with_fresh_token<T, F, Fut>(&self, call: F) -> Result<T, Status>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        match call().await {
            Err(status) if status.code() == Code::Unauthenticated => {
                tracing::warn!(
                    message = status.message(),
                    "the course service refused this service's token; retrying with a fresh one"
                );
                self.token.invalidate();
                let again = call().await;
                if let Err(status) = &again
                    && status.code() == Code::Unauthenticated
                {
                    metrics::counter!("learner_peer_unauthenticated_total", "peer" => "course")
                        .increment(1);
                    tracing::error!(
                        message = status.message(),
                        "the course service refuses this service's credentials: check ACADEMY_AUTH_SIGNING_KEY_FILE / ACADEMY_AUTH_TOKEN_FILE and the course service's JWKS"
                    );
                }
                again
            }
            other => other,
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
        // Our own credentials refused: not the caller's fault and not a bug
        // here; retryable once an operator (or the renewal) fixes them.
        Code::Unavailable
        | Code::Unauthenticated
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

#[cfg(test)]
mod tests {
    use super::Openness;
    use chrono::{TimeZone, Utc};

    #[test]
    fn an_archived_course_takes_only_history_from_before_its_archive() {
        let day = |d| Utc.with_ymd_and_hms(2025, 5, d, 0, 0, 0).unwrap();
        let archived = Openness::Archived {
            was_published: true,
            archived: day(10),
        };
        assert!(archived.admits(day(1)).is_ok());
        assert!(archived.admits(day(10)).is_err());
        assert!(archived.admits(day(11)).is_err());
        let never = Openness::Archived {
            was_published: false,
            archived: day(10),
        };
        assert!(never.admits(day(1)).is_err());
        assert!(Openness::Published.admits(day(30)).is_ok());
        assert!(Openness::Draft.admits(day(1)).is_err());
    }
}
