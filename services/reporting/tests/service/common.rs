//! What the service tests share: the stack seeded with the generated
//! history (`exactness::history`), waiting for reporting to catch up, the
//! periods they ask about, and the report calls they repeat. A call here
//! unwraps its answer: a refusal fails the test that made it.

use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{self as learner_pb};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{self as pb, Dimension};
use academy_testkit::TestDb;
use chrono::NaiveDate;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::time::Duration;
use tonic::transport::Channel;
use tonic::{Response, Status};

use crate::exactness::history;
use crate::model::Model;
use crate::stack::Stack;

pub(crate) type Client = ReportingServiceClient<Channel>;

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn half(h: &str) -> pb::Period {
    pb::Period {
        half: h.into(),
        ..Default::default()
    }
}

pub(crate) fn dates(start: NaiveDate, end: NaiveDate) -> pb::Period {
    pb::Period {
        half: String::new(),
        start_date: Some(academy_runtime::time::date(start)),
        end_date: Some(academy_runtime::time::date(end)),
    }
}

/// The funnel's stages, in order.
pub(crate) const FUNNEL_STAGES: [&str; 7] = [
    "invited",
    "joined",
    "registered",
    "enrolled",
    "active",
    "completed",
    "certified",
];

/// `part / whole`, 0 when there is nothing to divide: a rate as the
/// service computes it.
pub(crate) fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The growth from `before` to `now`, 0 from nothing.
pub(crate) fn growth(now: i64, before: i64) -> f64 {
    if before == 0 {
        0.0
    } else {
        now as f64 / before as f64 - 1.0
    }
}

/// The three services with the generated history applied, what the
/// independent model expects of it, the history's program, and a reporting
/// client that has caught up with it. Keep the stack as long as the test
/// runs: dropping it stops the services.
pub(crate) async fn seeded(db: TestDb) -> (Stack, Model, String, Reports) {
    let stack = Stack::start(db).await;
    let mut model = Model::default();
    let program = history(&stack, &mut model).await;
    let mut reports = Reports::connect(stack.reporting).await;
    caught_up(&stack, &mut reports).await;
    (stack, model, program, reports)
}

/// Waits until reporting has applied every event the stack's producers
/// hold now (asked of the producers themselves: the heads GetFeedStatus
/// shows are refreshed only every few seconds).
pub(crate) async fn caught_up_with_producers(stack: &Stack, reports: &mut Client) {
    let producers = [
        ("course", Stack::channel(stack.course).await),
        ("learner", Stack::channel(stack.learner).await),
    ];
    academy_testkit::feeds::caught_up_with_producers(reports, producers).await;
}

/// `caught_up_with_producers`, and both feeds healthy.
pub(crate) async fn caught_up(stack: &Stack, reports: &mut Client) {
    caught_up_with_producers(stack, reports).await;
    feeds_healthy(reports).await;
}

/// Waits until both feeds are healthy and have applied the heads reporting
/// knows of.
pub(crate) async fn feeds_healthy(reports: &mut Client) {
    feed_status_until(reports, "feeds did not catch up", |status| {
        status.sources.len() == 2
            && status
                .sources
                .iter()
                .all(|s| s.head_sequence > 0 && s.applied_sequence == s.head_sequence && s.healthy)
    })
    .await;
}

/// Waits until the replica answers from `generation`.
pub(crate) async fn serving_generation(reports: &mut Client, generation: i64) {
    let failure = format!("generation {generation} was not served");
    feed_status_until(reports, &failure, |status| {
        status.generation >= generation && !status.rebuilding
    })
    .await;
}

/// Asks GetFeedStatus until `done` holds (for 30 seconds at the most).
async fn feed_status_until(
    reports: &mut Client,
    failure: &str,
    done: impl Fn(&pb::GetFeedStatusResponse) -> bool,
) {
    for _ in 0..300 {
        if done(&answer(reports.get_feed_status(pb::GetFeedStatusRequest {})).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{failure}");
}

/// Noon (UTC) of `day`, the time the tests' events happen at.
pub(crate) fn noon(day: NaiveDate) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: day.and_hms_opt(12, 0, 0).unwrap().and_utc().timestamp(),
        nanos: 0,
    }
}

/// Enrolls a learner in a course (in `program_id`, "" for none) at noon on
/// `day`.
pub(crate) async fn enroll(
    enrollments: &mut EnrollmentServiceClient<Channel>,
    learner_id: &str,
    course_id: &str,
    program_id: &str,
    day: NaiveDate,
) -> learner_pb::Enrollment {
    let req = learner_pb::EnrollRequest {
        learner_id: learner_id.into(),
        course_id: course_id.into(),
        program_id: program_id.into(),
        enrolled_at: Some(noon(day)),
        ..Default::default()
    };
    enrollments.enroll(req).await.unwrap().into_inner()
}

/// Changes the one `field` of a learner that `learner` (with its id) carries.
pub(crate) async fn update_learner(
    learners: &mut LearnerServiceClient<Channel>,
    field: &str,
    learner: learner_pb::Learner,
) {
    let req = learner_pb::UpdateLearnerRequest {
        learner: Some(learner),
        update_mask: Some(prost_types::FieldMask {
            paths: vec![field.into()],
        }),
        etag: String::new(),
    };
    learners.update_learner(req).await.unwrap();
}

/// The answer of a call that must succeed.
async fn answer<T>(call: impl Future<Output = Result<Response<T>, Status>>) -> T {
    call.await.unwrap().into_inner()
}

/// A reporting client whose report calls below unwrap their answers (a
/// refusal fails the test); the client's own calls are there too (`Deref`).
/// `program_id` None asks for the whole platform.
pub(crate) struct Reports(Client);

impl Deref for Reports {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.0
    }
}

impl DerefMut for Reports {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0
    }
}

impl Reports {
    pub(crate) async fn connect(reporting: SocketAddr) -> Self {
        Self(Client::new(Stack::channel(reporting).await))
    }

    pub(crate) async fn summary(
        &mut self,
        program_id: Option<&str>,
        period: &pb::Period,
    ) -> pb::ProgramSummary {
        let req = pb::GetProgramSummaryRequest {
            program_id: program_id.unwrap_or_default().into(),
            period: Some(period.clone()),
        };
        answer(self.get_program_summary(req)).await
    }

    pub(crate) async fn publish(&mut self, req: pb::PublishReportRequest) -> pb::PublishedReport {
        answer(self.publish_report(req)).await
    }

    pub(crate) async fn breakdown(
        &mut self,
        program_id: Option<&str>,
        period: &pb::Period,
        dimension: Dimension,
        limit: i32,
    ) -> pb::GetBreakdownResponse {
        let req = pb::GetBreakdownRequest {
            program_id: program_id.unwrap_or_default().into(),
            period: Some(period.clone()),
            dimension: dimension as i32,
            limit,
        };
        answer(self.get_breakdown(req)).await
    }

    pub(crate) async fn published(&mut self, id: &str) -> pb::PublishedReport {
        answer(self.get_published_report(pb::GetPublishedReportRequest { id: id.into() })).await
    }

    /// The cross-tab of `rows` by `columns`.
    pub(crate) async fn cross_tab(
        &mut self,
        (rows, columns): (Dimension, Dimension),
        program_id: Option<&str>,
        period: &pb::Period,
        limit: i32,
    ) -> pb::GetCrossTabResponse {
        let req = pb::GetCrossTabRequest {
            row_dimension: rows as i32,
            column_dimension: columns as i32,
            program_id: program_id.unwrap_or_default().into(),
            period: Some(period.clone()),
            limit,
        };
        answer(self.get_cross_tab(req)).await
    }

    pub(crate) async fn compared(&mut self, snapshot_id: &str) -> pb::CompareWithPublishedResponse {
        let snapshot_id = snapshot_id.into();
        answer(self.compare_with_published(pb::CompareWithPublishedRequest { snapshot_id })).await
    }

    pub(crate) async fn feed_status(&mut self) -> pb::GetFeedStatusResponse {
        answer(self.get_feed_status(pb::GetFeedStatusRequest {})).await
    }

    pub(crate) async fn export_csv(&mut self, req: pb::ExportReportRequest) -> String {
        let mut stream = answer(self.export_report(req)).await;
        let mut csv = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            csv.extend(chunk.csv_chunk);
        }
        String::from_utf8(csv).unwrap()
    }

    /// An export's header line, and its other lines split at the commas
    /// (for exports whose cells need no quoting).
    pub(crate) async fn export_lines(
        &mut self,
        req: pb::ExportReportRequest,
    ) -> (String, Vec<Vec<String>>) {
        let text = self.export_csv(req).await;
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().to_owned();
        let rows = lines
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        (header, rows)
    }
}
