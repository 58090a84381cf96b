//! The real `academyctl import enrollments` against real services: the
//! provider's enrollment report (tests/data/provider/enrollments.csv)
//! enrolls its learners and records their progress, the reports show the
//! file's figures (completions dated by the file's completion times,
//! learning hours on the last activity days), importing it again changes
//! nothing, and refused rows go to the error file with line and reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{
    ServiceProcess, Stack, academyctl, academyctl_ok, create_program, import_learners, program,
    provider_sample, publish, registration, summary_of_half,
};
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{AddCourseToProgramRequest, Course, CourseModule};
use academy_proto::learner::{EmploymentStatus, Gender, Learner, RegisterLearnerRequest};
use academy_proto::reporting::ProgramSummary;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;

/// Three published courses named by the sample's slugs, in one program.
async fn catalog(course: &ServiceProcess) -> String {
    let channel = course.channel().await;
    let program_id = create_program(
        channel.clone(),
        None,
        program("Provider sample program", 2025),
    )
    .await;
    for (code, slug) in [
        ("PY4E", "python-for-everybody"),
        ("DA-INTRO", "data-analysis-intro"),
        ("DL-BASICS", "digital-literacy-basics"),
    ] {
        let course = Course {
            language: "en".into(),
            estimated_hours: 10.0,
            modules: vec![CourseModule {
                title: "Module".into(),
                estimated_minutes: 60,
                ..Default::default()
            }],
            provider_course_id: Some(slug.into()),
            ..academy_e2e::course(code, 1)
        };
        let created = publish(channel.clone(), None, course).await;
        CourseServiceClient::new(channel.clone())
            .add_course_to_program(AddCourseToProgramRequest {
                program_id: program_id.clone(),
                course_id: created.id,
            })
            .await
            .unwrap();
    }
    program_id
}

/// The members of the sample: ext-0001 … ext-0020.
async fn members(learner: &ServiceProcess) {
    let rows = (1..=20).map(|i| RegisterLearnerRequest {
        registered_at: Some(prost_types::Timestamp {
            seconds: 1_735_689_600, // 2025-01-01
            nanos: 0,
        }),
        ..registration(Learner {
            external_id: Some(format!("ext-{i:04}")),
            gender: Gender::Unknown as i32,
            birth_year: 0,
            employment_status: EmploymentStatus::Unknown as i32,
            ..academy_e2e::learner(
                &format!("learner{i:04}@example.org"),
                &format!("Sample Learner {i:04}"),
            )
        })
    });
    let reply = import_learners(learner.channel().await, rows).await;
    assert_eq!(reply.created, 20);
}

async fn caught_up(
    reports: &mut ReportingServiceClient<tonic::transport::Channel>,
    [course, learner]: [&ServiceProcess; 2],
) {
    let producers = [
        ("course", course.channel().await),
        ("learner", learner.channel().await),
    ];
    academy_testkit::feeds::caught_up_with_producers(reports, producers).await;
}

async fn summary(
    reports: &mut ReportingServiceClient<tonic::transport::Channel>,
    program: &str,
    half: &str,
) -> ProgramSummary {
    reports
        .get_program_summary(summary_of_half(program, half))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn the_enrollment_report_imports_once_and_reports_its_figures() {
    let Stack {
        course,
        learner,
        reporting,
    } = Stack::start().await;
    let program = catalog(&course).await;
    members(&learner).await;
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.csv");
    let learner_url = learner.endpoint();
    let envs = [("ACADEMY_LEARNER_ENDPOINT", learner_url.as_str())];
    let sample = provider_sample("enrollments.csv");
    let args = [
        "import",
        "enrollments",
        sample.to_str().unwrap(),
        "--program",
        program.as_str(),
        "--errors",
        errors.to_str().unwrap(),
    ];
    // Runs the import, which must succeed with `expected` in its report.
    let import = |expected| academyctl_ok(&args, &envs, expected);

    let (_, stderr) = import(
        "20 rows: 20 enrolled, 0 already enrolled, 17 progress recorded, \
             0 progress unchanged, 0 rejected",
    )
    .await;
    // Not a terminal: plain progress lines, no bar.
    assert!(stderr.contains("imported 20/20 rows"), "{stderr}");
    assert!(!errors.exists(), "no error file when every row went in");

    let mut reports = ReportingServiceClient::new(reporting.channel().await);
    caught_up(&mut reports, [&course, &learner]).await;
    // Figures of the file, counted by hand (see the sample's rows):
    // H1 2025 has rows 1-15 enrolled, 12 of them active, completions dated
    // in H1 for rows 1, 3, 5, 8, 10 and 14, and 94 hours on activity days
    // in H1; H2 the other 5 enrollments, 3 completions and 55 hours.
    let first = summary(&mut reports, &program, "2025-H1").await;
    let second = summary(&mut reports, &program, "2025-H2").await;
    let figures = |s: &ProgramSummary| {
        (
            s.enrollments,
            s.active_learners,
            s.completions,
            s.certificates_issued,
            s.learning_hours,
        )
    };
    assert_eq!(figures(&first), (15, 12, 6, 6, 94.0));
    assert_eq!(figures(&second), (5, 5, 3, 3, 55.0));

    // The same file again: nothing changes.
    import(
        "20 rows: 0 enrolled, 20 already enrolled, 0 progress recorded, \
             17 progress unchanged, 0 rejected",
    )
    .await;
    caught_up(&mut reports, [&course, &learner]).await;
    assert_eq!(summary(&mut reports, &program, "2025-H1").await, first);
    assert_eq!(summary(&mut reports, &program, "2025-H2").await, second);

    // Refused rows: by the file (a bad time) and by the service (unknown
    // learner, unknown slug, a percent above 100), each with line and reason.
    let bad = dir.path().join("bad.csv");
    let header = std::fs::read_to_string(&sample)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(
        &bad,
        format!(
            "{header}\n\
             X,x@example.org,ext-9999,Python,python-for-everybody,2025-01-15T09:00:00Z,,0,0,No,,\n\
             Y,y@example.org,ext-0001,Nope,no-such-course,2025-01-15T09:00:00Z,,0,0,No,,\n\
             Z,z@example.org,ext-0002,Python,python-for-everybody,2025-01-20 08:30:00,2025-02-11 10:00:00,120,6,No,,\n\
             W,w@example.org,ext-0003,Data,data-analysis-intro,someday,,0,0,No,,\n"
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = academyctl(
        &[
            "import",
            "enrollments",
            bad.to_str().unwrap(),
            "--program",
            program.as_str(),
        ],
        &envs,
    )
    .await;
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stdout.contains("4 rejected"), "{stdout}");
    let default_errors = dir.path().join("bad.csv.errors.csv");
    let text = std::fs::read_to_string(&default_errors).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("line,row,reason"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{text}");
    for (row, (line, reason)) in rows.iter().zip([
        (2, "learner"),
        (3, "course"),
        (4, "percent_complete"),
        (5, "Enrollment Time"),
    ]) {
        assert!(row.starts_with(&format!("{line},")), "{text}");
        assert!(row.contains(reason), "line {line} names {reason}: {text}");
    }
    // Row 4's learner was already enrolled; its refused progress changed
    // nothing.
    caught_up(&mut reports, [&course, &learner]).await;
    assert_eq!(summary(&mut reports, &program, "2025-H1").await, first);
}
