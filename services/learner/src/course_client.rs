//! What the learner service asks the course service, over gRPC: whether a
//! course can be enrolled in (and its modules and skills), and which courses
//! a program includes. Every call has a deadline and carries the caller's
//! trace context.

use academy_domain::DomainError;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{
    CourseState, GetCourseRequest, GetProgramRequest, LookupCourseRequest, lookup_course_request,
};
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

    /// The course, if it exists and is PUBLISHED.
    pub async fn enrollable_course(
        &self,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<CourseInfo, DomainError> {
        let course = self
            .with_fresh_token(|| {
                let mut request = Request::new(GetCourseRequest {
                    id: course_id.to_owned(),
                });
                self.prepare(&mut request, trace);
                let mut client = self.client.clone();
                async move { client.get_course(request).await }
            })
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

    /// Fails (NOT_FOUND) unless the program exists.
    pub async fn ensure_program(
        &self,
        program_id: &str,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        self.with_fresh_token(|| {
            let mut request = Request::new(GetProgramRequest {
                id: program_id.to_owned(),
            });
            self.prepare(&mut request, trace);
            let mut client = self.client.clone();
            async move { client.get_program(request).await }
        })
        .await
        .map_err(|status| classify(status, "program", program_id))?;
        Ok(())
    }

    /// Fails unless the program exists and includes the course.
    pub async fn ensure_program_includes(
        &self,
        program_id: &str,
        course_id: &str,
        trace: &TraceContext,
    ) -> Result<(), DomainError> {
        let program = self
            .with_fresh_token(|| {
                let mut request = Request::new(GetProgramRequest {
                    id: program_id.to_owned(),
                });
                self.prepare(&mut request, trace);
                let mut client = self.client.clone();
                async move { client.get_program(request).await }
            })
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
        let course = self
            .with_fresh_token(|| {
                let mut request = Request::new(LookupCourseRequest {
                    key: Some(key.clone()),
                });
                self.prepare(&mut request, trace);
                let mut client = self.client.clone();
                async move { client.lookup_course(request).await }
            })
            .await
            .map_err(|status| classify(status, "course", named))?
            .into_inner();
        Ok(course.id)
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
