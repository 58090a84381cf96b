//! The audit log on the real binaries, with auth on, on the embedded SQLite
//! default and on PostgreSQL: every write and the erasure are recorded with
//! the token's subject, the method and the resource; replays and refused
//! calls record nothing; only `admin` reads the log; and the table refuses
//! UPDATE and DELETE from anyone, the service's own database user included.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_e2e::{StackEnv, bearer, publish, token};
use academy_proto::audit::audit_service_client::AuditServiceClient;
use academy_proto::audit::{AuditEntry, ListAuditEntriesRequest};
use academy_proto::course::{Course, CourseModule};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    EmploymentStatus, EnrollRequest, EraseLearnerRequest, Gender, GetLearnerRequest, Learner,
    ListLearnersRequest, RegisterLearnerRequest,
};
use academy_runtime::auth::scope;
use academy_testkit::TestDb;
use sea_orm::{ConnectionTrait, Database};
use tonic::transport::Channel;
use tonic::{Code, Request};

const SECRET: &str = "e2e-audit-secret-e2e-audit-secret-01234";

fn authed<T>(message: T, subject: &str, scopes: &[&str]) -> Request<T> {
    bearer(message, &token(SECRET, subject, scopes))
}

/// Every entry of a service's log (newest first), read one per page so the
/// page tokens are exercised too.
async fn entries(channel: Channel, filter: ListAuditEntriesRequest) -> Vec<AuditEntry> {
    let mut client = AuditServiceClient::new(channel);
    let mut all = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListAuditEntriesRequest {
            page_size: 1,
            page_token: page_token.clone(),
            ..filter.clone()
        };
        let page = client
            .list_audit_entries(authed(request, "auditor", &[scope::ADMIN]))
            .await
            .unwrap()
            .into_inner();
        all.extend(page.entries);
        if page.next_page_token.is_empty() {
            return all;
        }
        page_token = page.next_page_token;
    }
}

fn summary(entries: &[AuditEntry]) -> Vec<(String, String, String, String)> {
    entries
        .iter()
        .map(|e| {
            let method = e.method.rsplit('/').next().unwrap_or_default().to_owned();
            (
                e.actor.clone(),
                method,
                e.action.clone(),
                e.resource_id.clone(),
            )
        })
        .collect()
}

fn row(s: &str, m: &str, a: &str, r: &str) -> (String, String, String, String) {
    (s.into(), m.into(), a.into(), r.into())
}

async fn walkthrough(database: Option<(&str, &str)>) {
    let auth = [
        ("ACADEMY_AUTH_DISABLED", "false"),
        ("ACADEMY_AUTH_HS256_SECRET", SECRET),
    ];
    let (course_db, learner_db) = database.unzip();
    let (course, learner) = StackEnv {
        common: &auth,
        course: &Vec::from_iter(course_db.map(|url| ("ACADEMY_DATABASE_URL", url))),
        learner: &Vec::from_iter(learner_db.map(|url| ("ACADEMY_DATABASE_URL", url))),
        ..Default::default()
    }
    .start_course_and_learner()
    .await;

    // Catalog writes by a catalog editor.
    let editor = token(SECRET, "editor:aysel", &[scope::CATALOG_WRITE]);
    let audited_course = Course {
        title: "Audit trails".into(),
        language: "en".into(),
        estimated_hours: 1.0,
        modules: vec![CourseModule {
            title: "Who did what".into(),
            estimated_minutes: 20,
            ..Default::default()
        }],
        ..academy_e2e::course("AUD-1", 1)
    };
    let created = publish(course.channel().await, Some(&editor), audited_course).await;

    // A registrar registers (twice with the same request id: one learner,
    // one entry) and enrolls; a refused registration records nothing.
    let mut learners = LearnerServiceClient::new(learner.channel().await);
    let register = RegisterLearnerRequest {
        learner: Some(Learner {
            gender: Gender::Male as i32,
            birth_year: 1988,
            employment_status: EmploymentStatus::Unemployed as i32,
            ..academy_e2e::learner("audit.probe@example.az", "Audit Probe")
        }),
        request_id: "audit-register-1".into(),
        ..Default::default()
    };
    let registered = learners
        .register_learner(authed(
            register.clone(),
            "registrar:elvin",
            &[scope::LEARNERS_WRITE],
        ))
        .await
        .unwrap()
        .into_inner();
    let replayed = learners
        .register_learner(authed(
            register,
            "registrar:elvin",
            &[scope::LEARNERS_WRITE],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replayed.id, registered.id);
    let refused = learners
        .register_learner(authed(
            RegisterLearnerRequest::default(),
            "registrar:elvin",
            &[scope::LEARNERS_WRITE],
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let enrollment = EnrollmentServiceClient::new(learner.channel().await)
        .enroll(authed(
            EnrollRequest {
                learner_id: registered.id.clone(),
                course_id: created.id.clone(),
                ..Default::default()
            },
            "registrar:elvin",
            &[scope::LEARNERS_WRITE],
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!enrollment.id.is_empty());

    // The data protection officer erases the learner.
    learners
        .erase_learner(authed(
            EraseLearnerRequest {
                id: registered.id.clone(),
            },
            "dpo:leyla",
            &[scope::LEARNERS_ERASE],
        ))
        .await
        .unwrap();

    let course_log = entries(course.channel().await, ListAuditEntriesRequest::default()).await;
    assert_eq!(
        summary(&course_log),
        vec![
            row(
                "editor:aysel",
                "PublishCourse",
                "course.published",
                &created.id
            ),
            row(
                "editor:aysel",
                "CreateCourse",
                "course.created",
                &created.id
            ),
        ]
    );
    let learner_log = entries(learner.channel().await, ListAuditEntriesRequest::default()).await;
    let id = registered.id.as_str();
    assert_eq!(
        summary(&learner_log),
        vec![
            row("dpo:leyla", "EraseLearner", "learner.erased", id),
            row("registrar:elvin", "Enroll", "enrollment.created", id),
            row(
                "registrar:elvin",
                "RegisterLearner",
                "learner.registered",
                id
            ),
        ]
    );
    assert!(
        learner_log.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );
    assert!(
        learner_log
            .iter()
            .all(|e| e.change_count == 1 && e.first_sequence > 0)
    );
    // Nothing personal is kept.
    let text = format!("{learner_log:?}");
    assert!(!text.contains("audit.probe") && !text.contains("Audit Probe"));

    // Filters.
    let by_dpo = entries(
        learner.channel().await,
        ListAuditEntriesRequest {
            actor: "dpo:leyla".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_dpo.len(), 1);
    let about_learner = entries(
        learner.channel().await,
        ListAuditEntriesRequest {
            resource_id: registered.id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(about_learner.len(), 3);

    // Only admin reads it, and a token from another filter is refused.
    let mut audit = AuditServiceClient::new(learner.channel().await);
    let denied = audit
        .list_audit_entries(authed(
            ListAuditEntriesRequest::default(),
            "registrar:elvin",
            &[scope::LEARNERS_WRITE, scope::LEARNERS_ERASE],
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let first = audit
        .list_audit_entries(authed(
            ListAuditEntriesRequest {
                page_size: 1,
                ..Default::default()
            },
            "auditor",
            &[scope::ADMIN],
        ))
        .await
        .unwrap()
        .into_inner();
    let foreign = audit
        .list_audit_entries(authed(
            ListAuditEntriesRequest {
                page_size: 1,
                page_token: first.next_page_token,
                actor: "dpo:leyla".into(),
                ..Default::default()
            },
            "auditor",
            &[scope::ADMIN],
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);

    // Append-only, enforced by the database itself.
    let url = match database {
        Some((_, learner_url)) => learner_url.to_owned(),
        None => format!(
            "sqlite://{}/learner.db?mode=rw",
            learner.data_dir.path().display()
        ),
    };
    let db = Database::connect(&url).await.unwrap();
    for tamper in [
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
    ] {
        let err = db.execute_unprepared(tamper).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{tamper}: {err}");
    }
    if database.is_some() {
        let err = db
            .execute_unprepared("TRUNCATE audit_log")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "TRUNCATE: {err}");
    }
    let after = entries(learner.channel().await, ListAuditEntriesRequest::default()).await;
    assert_eq!(summary(&after), summary(&learner_log));

    // Reads of personal data are audited too: who read whose record. A
    // read that finds nobody records nothing.
    let mut learners = LearnerServiceClient::new(learner.channel().await);
    let reader = |message| authed(message, "reader:nigar", &[scope::LEARNERS_READ]);
    learners
        .get_learner(reader(GetLearnerRequest {
            id: registered.id.clone(),
        }))
        .await
        .unwrap();
    let missing = learners
        .get_learner(reader(GetLearnerRequest {
            id: "01900000-0000-7000-8000-000000000000".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let listed = learners
        .list_learners(authed(
            ListLearnersRequest {
                page_size: 10,
                ..Default::default()
            },
            "reader:nigar",
            &[scope::LEARNERS_READ],
        ))
        .await
        .unwrap()
        .into_inner()
        .learners;
    assert_eq!(listed.len(), 1);
    let reads = entries(
        learner.channel().await,
        ListAuditEntriesRequest {
            actor: "reader:nigar".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        summary(&reads),
        vec![
            row("reader:nigar", "ListLearners", "learner.read", id),
            row("reader:nigar", "GetLearner", "learner.read", id),
        ]
    );
    assert!(reads.iter().all(|e| e.first_sequence == 0));
    println!(
        "audit: course {} entries, learner {} entries; tampering refused",
        course_log.len(),
        learner_log.len()
    );
}

#[tokio::test]
async fn writes_and_erasure_are_audited_on_sqlite() {
    walkthrough(None).await;
}

#[tokio::test]
async fn writes_and_erasure_are_audited_on_postgres() {
    let Some(course_db) = TestDb::postgres().await else {
        return;
    };
    let Some(learner_db) = TestDb::postgres().await else {
        return;
    };
    walkthrough(Some((&course_db.url, &learner_db.url))).await;
}
