//! The real `academyctl` binary against real services: a CSV import counts
//! every row as created, duplicate or rejected, names each rejected row by
//! its line in the file, and registers exactly the good rows; a failing
//! export leaves no file behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{Stack, StackEnv, academyctl, register};
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{Gender, ListLearnersRequest};
use std::path::Path;

/// `academyctl report export` of the half-year 2025-H2 with `options`
/// into `out`: (exit code, stdout, stderr).
async fn export_2025_h2(
    options: &[&str],
    out: &Path,
    envs: &[(&str, &str)],
) -> (i32, String, String) {
    let head = ["report", "export"];
    let tail = ["--half", "2025-H2", "-o", out.to_str().unwrap()];
    academyctl(&[&head[..], options, &tail].concat(), envs).await
}

const CSV: &str = "\
email,full_name,region,gender,birth_year,employment_status,registered_at
aysel@example.az,Aysel Mammadova,Baku,female,1990,employed,2024-03-01
no-at-sign,Bad Email,Baku,male,1991,student,
elvin@example.az,Elvin Aliyev,Atlantis,male,1985,employed,
nigar@example.az,Nigar Hasanova,Ganja-Dashkasan,robot,1992,employed,
\"kamran@example.az\",\"Kamran
Two-Line\",Karabakh,male,1988,unemployed,2023-05-06
leyla@example.az,Leyla Guliyeva,Baku,female,1995,student,2024-01-02,extra
aysel@example.az,Aysel Mammadova,Baku,female,1990,employed,2024-03-01
";

#[tokio::test]
async fn csv_import_reports_bad_rows_by_line_and_registers_the_good_ones() {
    let (_course, learner) = StackEnv::default().start_course_and_learner().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("learners.csv");
    std::fs::write(&file, CSV).unwrap();
    let learner_url = learner.endpoint();
    let envs = [("ACADEMY_LEARNER_ENDPOINT", learner_url.as_str())];

    let (code, stdout, stderr) =
        academyctl(&["import", "learners", file.to_str().unwrap()], &envs).await;

    assert_eq!(
        code, 3,
        "rejected rows give exit status 3: {stdout}{stderr}"
    );
    assert!(
        stdout.contains("7 rows: 2 created, 1 duplicates, 4 rejected"),
        "{stdout}"
    );
    for (line, reason) in [(3, "email"), (4, "region"), (5, "gender"), (8, "fields")] {
        let wanted = format!("line {line}: ");
        let found = stdout
            .lines()
            .find(|l| l.contains(&wanted))
            .unwrap_or_default();
        assert!(
            found.contains(reason),
            "line {line} names {reason}: {stdout}"
        );
    }
    assert!(
        !stdout.contains("line 2:") && !stdout.contains("line 6:"),
        "{stdout}"
    );

    let mut client = LearnerServiceClient::new(learner.channel().await);
    let listed = client
        .list_learners(ListLearnersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .learners;
    let mut emails: Vec<String> = listed.into_iter().map(|l| l.email).collect();
    emails.sort();
    assert_eq!(emails, ["aysel@example.az", "kamran@example.az"]);

    // Importing the same file again creates nothing new.
    let (code, stdout, _) =
        academyctl(&["import", "learners", file.to_str().unwrap()], &envs).await;
    assert_eq!(code, 3);
    assert!(
        stdout.contains("0 created, 3 duplicates, 4 rejected"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_file_with_an_unknown_column_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("learners.csv");
    std::fs::write(
        &file,
        "email,full_name,region,shoe_size\na@b.az,A,Baku,42\n",
    )
    .unwrap();
    // Nothing listens here: the header is refused before any connection.
    let envs = [("ACADEMY_LEARNER_ENDPOINT", "http://127.0.0.1:1")];
    let (code, _, stderr) =
        academyctl(&["import", "learners", file.to_str().unwrap()], &envs).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("shoe_size") || stderr.contains("cannot reach"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_refused_export_leaves_no_file_and_exits_non_zero() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("breakdown.csv");
    let reporting_url = stack.reporting.endpoint();
    let envs = [("ACADEMY_REPORTING_ENDPOINT", reporting_url.as_str())];

    // A breakdown without a dimension is INVALID_ARGUMENT on the server.
    let (code, _, stderr) = export_2025_h2(&["--kind", "breakdown"], &out, &envs).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("InvalidArgument") && stderr.contains("dimension"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, no partial file"
    );

    let (code, _, stderr) = export_2025_h2(&["--kind", "summary"], &out, &envs).await;
    assert_eq!(code, 0, "{stderr}");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        csv.starts_with("period_start,period_end,registered_learners"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "header, previous, current: {csv}");
}

/// Issue #15, item 4: an organisation (or course title, skill name) that a
/// spreadsheet would run as a formula comes out of `report export` as
/// text: a leading `'`, whatever the server sent.
#[tokio::test]
async fn an_exported_formula_cell_is_neutralised() {
    let Stack {
        course: _course,
        learner,
        reporting,
    } = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("learners.csv");
    std::fs::write(
        &file,
        "email,full_name,region,gender,birth_year,employment_status,organization,registered_at\n\
         calc@example.az,Calc Person,Baku,female,1990,employed,\"=cmd|' /C calc'!A0\",2025-09-01\n\
         sum@example.az,Sum Person,Baku,male,1991,employed,@SUM(A1:A9),2025-09-02\n",
    )
    .unwrap();
    let (code, _, stderr) = academyctl(
        &["import", "learners", file.to_str().unwrap()],
        &[("ACADEMY_LEARNER_ENDPOINT", &learner.endpoint())],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");

    let out = dir.path().join("organizations.csv");
    let reporting_url = reporting.endpoint();
    let envs = [("ACADEMY_REPORTING_ENDPOINT", reporting_url.as_str())];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let csv = loop {
        let (code, _, stderr) = export_2025_h2(
            &["--kind", "breakdown", "--dimension", "organization"],
            &out,
            &envs,
        )
        .await;
        assert_eq!(code, 0, "{stderr}");
        let csv = std::fs::read_to_string(&out).unwrap();
        if csv.contains("cmd") && csv.contains("SUM") {
            break csv;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the projection never showed the organisations: {csv}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert!(csv.contains("'=cmd|' /C calc'!A0"), "{csv}");
    assert!(csv.contains("'@SUM(A1:A9)"), "{csv}");
    for line in csv.lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '@']),
                "a formula cell: {cell:?} in {csv}"
            );
        }
    }
}

/// `learners duplicates` names the pair and why; `learners merge --dry-run`
/// says what would move and writes nothing; `learners merge` merges, and
/// running it again (same default request id) answers the same.
#[tokio::test]
async fn learners_duplicates_and_merge_from_the_command_line() {
    use academy_proto::learner::{GetLearnerRequest, Learner, LearnerState};
    let (_course, learner) = StackEnv::default().start_course_and_learner().await;
    let mut client = LearnerServiceClient::new(learner.channel().await);
    let mut ids = Vec::new();
    for email in ["samir.quliyev@gmail.com", "SamirQuliyev+old@gmail.com"] {
        let samir = Learner {
            gender: Gender::Male as i32,
            ..academy_e2e::learner(email, &format!("Samir {email}"))
        };
        let registered = register(learner.channel().await, None, samir).await;
        ids.push(registered.id);
    }
    let learner_url = learner.endpoint();
    let envs = [("ACADEMY_LEARNER_ENDPOINT", learner_url.as_str())];

    let (code, stdout, stderr) = academyctl(&["learners", "duplicates"], &envs).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("score  60  same mailbox"), "{stdout}");
    assert!(
        stdout.contains(&ids[0]) && stdout.contains(&ids[1]),
        "{stdout}"
    );

    let merge = ["learners", "merge", ids[0].as_str(), ids[1].as_str()];
    let (code, stdout, _) = academyctl(&[&merge[..], &["--dry-run"]].concat(), &envs).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with(&format!("would merge {} into {}", ids[1], ids[0])),
        "{stdout}"
    );
    let state = |l: Learner| (l.id, l.state);
    let read = client
        .get_learner(GetLearnerRequest { id: ids[1].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(state(read), (ids[1].clone(), LearnerState::Active as i32));

    let (code, first, _) = academyctl(&merge, &envs).await;
    assert_eq!(code, 0, "{first}");
    assert!(
        first.starts_with(&format!("merged {} into {}", ids[1], ids[0])),
        "{first}"
    );
    let (code, again, _) = academyctl(&merge, &envs).await;
    assert_eq!(
        (code, again),
        (0, first),
        "the same merge again answers the same"
    );
    let read = client
        .get_learner(GetLearnerRequest { id: ids[1].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.merged_from_id, ids[1]);
    assert_eq!(state(read), (ids[0].clone(), LearnerState::Active as i32));

    // A refused merge is an error, exit status 1, in words.
    let (code, _, stderr) = academyctl(&["learners", "merge", &ids[0], &ids[0]], &envs).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("MergeLearners failed") && stderr.contains("duplicate_id"),
        "{stderr}"
    );
}
