//! PublishReport, GetPublishedReport, ListPublishedReports: a snapshot
//! holds the live figures of its period and its digest recomputes from its
//! content; a restatement names what it supersedes and needs a reason; bad
//! publications change nothing; the table refuses UPDATE and DELETE.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{self as pb};
use academy_testkit::grpc::error_reason;
use academy_testkit::{TestDb, on_both_backends};
use prost::Message;
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::transport::Channel;

use crate::common::*;

on_both_backends!(
    a_snapshot_freezes_the_live_figures_and_restates,
    bad_publications_change_nothing,
);

pub(crate) fn recomputed_digest(report: &pb::PublishedReport) -> String {
    let bytes = report.content.as_ref().unwrap().encode_to_vec();
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn publish(period: &str, program_id: &str) -> pb::PublishReportRequest {
    pb::PublishReportRequest {
        period: Some(half(period)),
        program_id: program_id.into(),
        note: "for the sponsor".into(),
        request_id: String::new(),
        reason: String::new(),
    }
}

async fn list(
    reports: &mut ReportingServiceClient<Channel>,
    req: pb::ListPublishedReportsRequest,
) -> pb::ListPublishedReportsResponse {
    reports
        .list_published_reports(req)
        .await
        .unwrap()
        .into_inner()
}

async fn a_snapshot_freezes_the_live_figures_and_restates(db: TestDb) {
    let url = db.url.clone();
    let (_stack, _, program, mut reports) = seeded(db).await;

    let first = reports
        .publish(pb::PublishReportRequest {
            request_id: "publish-1".into(),
            ..publish("2024-H2", "")
        })
        .await;
    assert_eq!(first.digest, recomputed_digest(&first));
    let content = first.content.clone().unwrap();
    assert_eq!((content.version, content.supersedes_id.as_str()), (1, ""));
    assert_eq!(content.note, "for the sponsor");
    assert!(!content.actor.is_empty() && content.publish_time.is_some());
    let live = reports.summary(None, &half("2024-H2")).await;
    assert_eq!(content.summary.as_ref(), Some(&live));
    assert_eq!(content.breakdowns.len(), 8, "every dimension");
    assert_eq!(content.series.len(), 7, "every metric");
    assert!(
        content.series.iter().all(|s| s.points.len() == 6),
        "monthly"
    );
    assert_eq!(content.funnel.as_ref().unwrap().stages.len(), 7);
    let status = reports.feed_status().await;
    for position in &content.positions {
        let source = status
            .sources
            .iter()
            .find(|s| s.service == position.service)
            .unwrap();
        assert_eq!(
            position.sequence, source.applied_sequence,
            "{position:?} {status:?}"
        );
    }

    // A retry answers the first snapshot; the same id for another request
    // is refused.
    let again = reports
        .publish(pb::PublishReportRequest {
            request_id: "publish-1".into(),
            ..publish("2024-H2", "")
        })
        .await;
    assert_eq!(again, first);
    let reused = reports
        .publish_report(pb::PublishReportRequest {
            request_id: "publish-1".into(),
            note: "other".into(),
            ..publish("2024-H2", "")
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition);
    let got = reports.published(&first.id).await;
    assert_eq!(got, first);

    // Publishing it again is a restatement: without a reason, refused.
    let unreasoned = reports
        .publish_report(publish("2024-H2", ""))
        .await
        .unwrap_err();
    assert_eq!(unreasoned.code(), Code::InvalidArgument);
    assert!(unreasoned.message().contains(&first.id));
    let restated = reports
        .publish(pb::PublishReportRequest {
            reason: "late provider upload".into(),
            ..publish("2024-H2", "")
        })
        .await;
    let restated_content = restated.content.clone().unwrap();
    assert_eq!(restated_content.version, 2);
    assert_eq!(restated_content.supersedes_id, first.id);
    assert_eq!(restated_content.reason, "late provider upload");
    assert_eq!(restated.digest, recomputed_digest(&restated));
    assert_ne!(restated.digest, first.digest, "time and provenance differ");

    let for_program = reports.publish(publish("2024-H2", &program)).await;
    assert_eq!(for_program.content.as_ref().unwrap().version, 1);

    // Listing: newest first, filtered, paged.
    let all = list(&mut reports, pb::ListPublishedReportsRequest::default()).await;
    let ids: Vec<_> = all.reports.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, [&for_program.id, &restated.id, &first.id]);
    let of_program = list(
        &mut reports,
        pb::ListPublishedReportsRequest {
            program_id: program.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(of_program.reports, std::slice::from_ref(&for_program));
    let other_period = list(
        &mut reports,
        pb::ListPublishedReportsRequest {
            period: Some(half("2024-H1")),
            ..Default::default()
        },
    )
    .await;
    assert!(other_period.reports.is_empty());
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            &mut reports,
            pb::ListPublishedReportsRequest {
                period: Some(half("2024-H2")),
                page_size: 1,
                page_token: token,
                ..Default::default()
            },
        )
        .await;
        assert!(page.reports.len() <= 1);
        paged.extend(page.reports.into_iter().map(|r| r.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        paged,
        [
            for_program.id.clone(),
            restated.id.clone(),
            first.id.clone()
        ]
    );

    // Append-only: the database itself refuses to change a snapshot.
    let conn = academy_runtime::db::connect(&url).await.unwrap();
    for sql in [
        "UPDATE r_published_report SET digest = 'x'",
        "DELETE FROM r_published_report",
    ] {
        assert!(conn.execute_unprepared(sql).await.is_err(), "{sql}");
    }
    let unchanged = reports.published(&first.id).await;
    assert_eq!(unchanged, first);
}

async fn bad_publications_change_nothing(db: TestDb) {
    let (_stack, _, _, mut reports) = seeded(db).await;
    let today = chrono::Utc::now().date_naive();
    let running = academy_domain::Half::containing(today).to_string();
    let next = format!("{}-H1", chrono::Datelike::year(&today) + 1);
    let cases: Vec<(pb::PublishReportRequest, Code, Option<&str>)> = vec![
        (
            publish(&running, ""),
            Code::FailedPrecondition,
            Some("PERIOD_NOT_OVER"),
        ),
        (
            publish(&next, ""),
            Code::FailedPrecondition,
            Some("PERIOD_NOT_OVER"),
        ),
        (
            publish("2001-H1", ""),
            Code::FailedPrecondition,
            Some("PERIOD_EMPTY"),
        ),
        (
            publish("2024-H2", "00000000-0000-4000-8000-000000000000"),
            Code::NotFound,
            None,
        ),
        (
            pb::PublishReportRequest {
                period: None,
                ..publish("2024-H2", "")
            },
            Code::InvalidArgument,
            None,
        ),
        (publish("2024-H3", ""), Code::InvalidArgument, None),
        (
            pb::PublishReportRequest {
                note: "x".repeat(2001),
                ..publish("2024-H2", "")
            },
            Code::InvalidArgument,
            None,
        ),
    ];
    for (req, code, reason) in cases {
        let err = reports.publish_report(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), code, "{req:?}: {err:?}");
        if let Some(reason) = reason {
            assert_eq!(error_reason(&err).as_deref(), Some(reason));
        }
    }
    let listed = list(&mut reports, pb::ListPublishedReportsRequest::default()).await;
    assert!(listed.reports.is_empty(), "nothing was written");
    for (id, code) in [
        ("00000000-0000-4000-8000-000000000000", Code::NotFound),
        ("not-an-id", Code::InvalidArgument),
        ("", Code::InvalidArgument),
    ] {
        let err = reports
            .get_published_report(pb::GetPublishedReportRequest { id: id.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{id}");
    }
    let err = reports
        .list_published_reports(pb::ListPublishedReportsRequest {
            page_token: "garbage".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}
