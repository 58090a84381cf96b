//! `academyctl import members` against the real binaries (issue #17, items
//! 4 and 5): the synthetic membership report in `tests/data/provider`
//! registers its members and invites everyone to the program; importing it
//! again changes nothing; the reporting service counts reach (invited,
//! joined); bad rows land in the error file with their line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{
    ServiceProcess, StackEnv, academyctl, academyctl_ok, create_program, provider_sample, source,
    wait_for_feeds,
};
use academy_proto::events::GetHeadRequest;
use academy_proto::events::event_feed_client::EventFeedClient;
use academy_proto::learner::invitation_service_client::InvitationServiceClient;
use academy_proto::learner::{InvitationState, ListInvitationsRequest};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    Dimension, GetBreakdownRequest, GetFunnelRequest, GetProgramSummaryRequest, Period,
};
use std::time::Duration;

async fn program(course: &ServiceProcess, name: &str) -> String {
    create_program(
        course.channel().await,
        None,
        academy_e2e::program(name, 2025),
    )
    .await
}

async fn learner_head(learner: &ServiceProcess) -> i64 {
    EventFeedClient::new(learner.channel().await)
        .get_head(GetHeadRequest {})
        .await
        .unwrap()
        .into_inner()
        .head_sequence
}

#[tokio::test]
async fn the_membership_report_imports_once_and_reports_reach() {
    let stack = StackEnv::default();
    let (course, learner) = stack.start_course_and_learner().await;
    let learner_url = learner.endpoint();
    let envs = [("ACADEMY_LEARNER_ENDPOINT", learner_url.as_str())];
    let program_id = program(&course, "Provider cohort").await;
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.csv");
    let sample = provider_sample("members.csv");
    let args = [
        "import",
        "members",
        sample.to_str().unwrap(),
        "--program",
        &program_id,
        "--errors",
        errors.to_str().unwrap(),
    ];
    // Runs the import, which must succeed with `expected` in its report.
    let import = |expected| academyctl_ok(&args, &envs, expected);

    import(
        "25 rows: 20 learners registered, 25 invitations created, 0 already there, \
             20 joined, 2 declined, 3 unchanged, 0 errors",
    )
    .await;
    assert_eq!(
        std::fs::read_to_string(&errors).unwrap(),
        "line,row,reason\n"
    );
    let head = learner_head(&learner).await;

    // The same file again: every row is there already, nothing is written.
    import(
        "25 rows: 0 learners registered, 0 invitations created, 25 already there, \
             0 joined, 0 declined, 25 unchanged, 0 errors",
    )
    .await;
    assert_eq!(learner_head(&learner).await, head, "no event on re-import");

    let mut invitations = InvitationServiceClient::new(learner.channel().await);
    for (state, count) in [
        (InvitationState::Joined, 20),
        (InvitationState::Invited, 2),
        (InvitationState::Declined, 2),
        (InvitationState::Expired, 1),
    ] {
        let listed = invitations
            .list_invitations(ListInvitationsRequest {
                program_id: program_id.clone(),
                state: state as i32,
                page_size: 100,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .invitations;
        assert_eq!(listed.len(), count, "{state:?}");
    }

    // Reach in the reports, once the reporting service has caught up.
    let reporting = stack.start_reporting(&course, &learner).await;
    let mut reports = ReportingServiceClient::new(reporting.channel().await);
    wait_for_feeds(
        reporting.channel().await,
        None,
        Duration::from_secs(30),
        "reporting caught up with the learner feed",
        |sources| source(sources, "learner").is_some_and(|s| s.applied_sequence == head),
    )
    .await;
    let half = || {
        Some(Period {
            half: "2025-H1".into(),
            ..Default::default()
        })
    };
    for program in [program_id.clone(), String::new()] {
        let summary = reports
            .get_program_summary(GetProgramSummaryRequest {
                program_id: program.clone(),
                period: half(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (
                summary.invited,
                summary.joined,
                summary.invitation_conversion
            ),
            (25, 20, 0.8),
            "program {program:?}"
        );
        assert_eq!(
            summary.new_learners,
            if program.is_empty() { 20 } else { 0 }
        );
    }
    let funnel = reports
        .get_funnel(GetFunnelRequest {
            program_id: program_id.clone(),
            period: half(),
        })
        .await
        .unwrap()
        .into_inner();
    let stages: Vec<(&str, i64)> = funnel
        .stages
        .iter()
        .take(2)
        .map(|s| (s.name.as_str(), s.count))
        .collect();
    assert_eq!(stages, [("invited", 25), ("joined", 20)]);
    assert_eq!(funnel.stages[1].conversion_from_previous, 0.8);
    // Nothing is known of the members' regions: all reach is `unknown`.
    let regions = reports
        .get_breakdown(GetBreakdownRequest {
            program_id: program_id.clone(),
            period: half(),
            dimension: Dimension::Region as i32,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let unknown = regions.rows.iter().find(|r| r.key == "unknown").unwrap();
    assert_eq!((unknown.invited, unknown.joined), (25, 20));
    assert_eq!(
        regions.rows.iter().map(|r| r.invited).sum::<i64>(),
        25,
        "every invitation in exactly one row"
    );
}

#[tokio::test]
async fn bad_rows_go_to_the_error_file_with_their_line() {
    let (course, learner) = StackEnv::default().start_course_and_learner().await;
    let program_id = program(&course, "Errors").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.csv");
    std::fs::write(
        &file,
        "Name,Email,External Id,Member State,Invitation Date,Join Date\n\
         Good Person,good@example.org,ext-g,MEMBER,2025-01-02,2025-01-03\n\
         Bad State,bad@example.org,ext-b,LURKING,2025-01-02,\n\
         Bad Mail,not-an-email,ext-m,INVITED,2025-01-02,\n\
         Clash,good@example.org,ext-other,MEMBER,2025-01-02,2025-01-03\n",
    )
    .unwrap();

    let (code, stdout, stderr) = academyctl(
        &[
            "import",
            "members",
            file.to_str().unwrap(),
            "--program",
            &program_id,
        ],
        &[("ACADEMY_LEARNER_ENDPOINT", &learner.endpoint())],
    )
    .await;
    assert_eq!(code, 3, "errors give exit status 3: {stdout}{stderr}");
    assert!(stdout.contains("3 errors"), "{stdout}");
    // The default error file sits beside the input.
    let written = std::fs::read_to_string(dir.path().join("report.csv.errors.csv")).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "line,row,reason");
    assert!(
        lines[1].starts_with("3,") && lines[1].contains("Member State"),
        "{written}"
    );
    assert!(
        lines[2].starts_with("4,") && lines[2].contains("email"),
        "{written}"
    );
    assert!(
        lines[3].starts_with("5,") && lines[3].contains("registering"),
        "{written}"
    );
    assert_eq!(lines.len(), 4, "{written}");
}
