//! The unary scenarios: point reads, the two writes, and the empty call
//! (health Check) that is the gRPC-alone limit. Each call's key comes from
//! a counter shared across runs, so no two calls of a write scenario touch
//! the same learner × course pair or repeat a module.

use academy_proto::course::GetCourseRequest;
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{EnrollRequest, GetLearnerRequest, RecordProgressRequest};
use academyctl::client::Authed;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::runner::{self, LoadSpec, Outcome};
use crate::scenarios::catalog::Catalog;

pub(crate) async fn get_learner(
    client: LearnerServiceClient<Authed>,
    ids: Arc<Vec<String>>,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    runner::run(spec, move |i| {
        let mut client = client.clone();
        let id = ids[(i as usize * 7919) % ids.len()].clone();
        async move { client.get_learner(GetLearnerRequest { id }).await.map(drop) }
    })
    .await
}

pub(crate) async fn get_course(
    client: CourseServiceClient<Authed>,
    catalog: &Catalog,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    let ids: Arc<Vec<String>> = Arc::new(catalog.courses.iter().map(|c| c.0.clone()).collect());
    runner::run(spec, move |i| {
        let mut client = client.clone();
        let id = ids[i as usize % ids.len()].clone();
        async move { client.get_course(GetCourseRequest { id }).await.map(drop) }
    })
    .await
}

/// The empty unary call: grpc.health.v1 Check on a real service, served by
/// the same server stack (same limits, layers and connection settings) but
/// with no handler work and no database.
pub(crate) async fn health(channel: Authed, spec: LoadSpec) -> anyhow::Result<Outcome> {
    let client = HealthClient::new(channel);
    runner::run(spec, move |_| {
        let mut client = client.clone();
        async move {
            client
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(drop)
        }
    })
    .await
}

/// Enrollments made, with the modules left to record progress on.
#[derive(Debug, Default)]
pub(crate) struct Enrolled {
    pub(crate) enrollments: Vec<(String, Arc<Vec<String>>)>,
}

/// Enrolls distinct learner × course pairs (`pairs` counts across runs).
pub(crate) async fn enroll(
    client: EnrollmentServiceClient<Authed>,
    learners: Arc<Vec<String>>,
    catalog: &Catalog,
    pairs: Arc<AtomicU64>,
    made: Arc<Mutex<Enrolled>>,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    let courses: Arc<Vec<(String, Arc<Vec<String>>)>> = Arc::new(
        catalog
            .courses
            .iter()
            .map(|(id, modules)| (id.clone(), Arc::new(modules.clone())))
            .collect(),
    );
    let modules: Arc<HashMap<String, Arc<Vec<String>>>> =
        Arc::new(courses.iter().cloned().collect());
    runner::run(spec, move |_| {
        let mut client = client.clone();
        let pair = pairs.fetch_add(1, Ordering::Relaxed) as usize;
        let learner_id = learners[pair % learners.len()].clone();
        let course_id = courses[(pair / learners.len()) % courses.len()].0.clone();
        let made = Arc::clone(&made);
        let modules = Arc::clone(&modules);
        async move {
            let enrollment = client
                .enroll(EnrollRequest {
                    learner_id,
                    course_id,
                    request_id: format!("bench-enroll-{pair}"),
                    ..Default::default()
                })
                .await?
                .into_inner();
            if let (Some(modules), Ok(mut made)) = (modules.get(&enrollment.course_id), made.lock())
            {
                made.enrollments.push((enrollment.id, Arc::clone(modules)));
            }
            Ok(())
        }
    })
    .await
}

/// Records one module of one enrollment per call, spreading calls over the
/// enrollments before moving to each one's next module.
pub(crate) async fn record_progress(
    client: EnrollmentServiceClient<Authed>,
    enrolled: Arc<Vec<(String, Arc<Vec<String>>)>>,
    steps: Arc<AtomicU64>,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    if enrolled.is_empty() {
        anyhow::bail!("RecordProgress needs enrollments; the Enroll runs made none");
    }
    runner::run(spec, move |_| {
        let mut client = client.clone();
        let step = steps.fetch_add(1, Ordering::Relaxed) as usize;
        let (enrollment_id, modules) = &enrolled[step % enrolled.len()];
        let module_id = modules
            .get((step / enrolled.len()) % modules.len().max(1))
            .cloned()
            .unwrap_or_default();
        let request = RecordProgressRequest {
            enrollment_id: enrollment_id.clone(),
            module_id,
            minutes_spent: 20,
            request_id: format!("bench-progress-{step}"),
            ..Default::default()
        };
        async move { client.record_progress(request).await.map(drop) }
    })
    .await
}
