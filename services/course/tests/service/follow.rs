//! The shared feed follower (academy-runtime) against the course service's
//! real feed: exactly-once effect across follower restarts, producer
//! restarts and duplicate delivery; an event it cannot understand stops it.

use academy_proto::events::Event;
use academy_runtime::feed::cursor::{self, CreateFeedCursors};
use academy_runtime::feed::{ApplyError, FeedState, Follower, Projection};
use academy_testkit::{TestDb, on_both_backends};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, Statement, Value};
use sea_orm_migration::{MigrationTrait, SchemaManager};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::common::*;

on_both_backends!(
    applies_every_event_once_across_restarts,
    reconnects_after_the_producer_restarts,
    stops_loudly_on_an_event_it_cannot_understand,
    two_replicas_apply_every_event_once,
);

/// Records every applied event; refuses `refuse` types.
struct Recorder {
    refuse: Option<&'static str>,
}

#[async_trait::async_trait]
impl Projection for Recorder {
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        _source: &str,
        event: &Event,
    ) -> Result<(), ApplyError> {
        if Some(event.r#type.as_str()) == self.refuse {
            return Err(ApplyError::NotUnderstood {
                sequence: event.sequence,
                kind: event.r#type.clone(),
            });
        }
        let backend = txn.get_database_backend();
        let sql = academy_runtime::db::sql::placeholders(
            backend,
            "INSERT INTO applied (sequence, kind) VALUES (?, ?)",
        );
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                Value::from(event.sequence),
                Value::from(event.r#type.clone()),
            ],
        ))
        .await?;
        Ok(())
    }
}

async fn follower_db(db: &TestDb) -> DatabaseConnection {
    let conn = academy_runtime::db::connect(&db.url).await.unwrap();
    CreateFeedCursors
        .up(&SchemaManager::new(&conn))
        .await
        .unwrap();
    // A consumer records the producer's feed epoch beside its cursor.
    academy_runtime::feed::epoch::AddCursorEpoch
        .up(&SchemaManager::new(&conn))
        .await
        .unwrap();
    conn.execute_unprepared(
        "CREATE TABLE applied (sequence BIGINT NOT NULL, kind VARCHAR(64) NOT NULL)",
    )
    .await
    .unwrap();
    conn
}

async fn applied(conn: &DatabaseConnection) -> (i64, i64) {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT COUNT(*) AS n, COUNT(DISTINCT sequence) AS d FROM applied",
        ))
        .await
        .unwrap()
        .unwrap();
    (row.try_get("", "n").unwrap(), row.try_get("", "d").unwrap())
}

fn start(
    endpoint: &str,
    conn: &DatabaseConnection,
    refuse: Option<&'static str>,
) -> (
    watch::Receiver<FeedState>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let follower = Follower::new(
        "course",
        tonic::transport::Endpoint::from_shared(endpoint.to_owned()).unwrap(),
        conn.clone(),
        Arc::new(Recorder { refuse }),
    );
    let state = follower.state();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(follower.run(shutdown.clone()));
    (state, shutdown, task)
}

async fn wait_for(
    state: &mut watch::Receiver<FeedState>,
    what: &str,
    ok: impl Fn(&FeedState) -> bool,
) -> FeedState {
    let waited = tokio::time::timeout(Duration::from_secs(20), state.wait_for(|s| ok(s)))
        .await
        .map(|seen| seen.map(|s| s.clone()));
    match waited {
        Ok(seen) => seen.unwrap(),
        Err(_) => panic!("timed out waiting for {what}: {:?}", *state.borrow()),
    }
}

/// Skills named "Skill {i}" for each i of `numbers`, in order: one course
/// event each.
async fn create_skills(client: &mut Client, numbers: std::ops::Range<i32>) {
    for i in numbers {
        create_skill(client, &format!("Skill {i}")).await;
    }
}

async fn applies_every_event_once_across_restarts(db: TestDb) {
    let course = TestServer::start(TestDb::sqlite()).await;
    let mut client = course.client().await;
    create_skills(&mut client, 0..30).await;
    let conn = follower_db(&db).await;
    let (mut state, shutdown, task) = start(&course.endpoint(), &conn, None);
    let caught_up = wait_for(&mut state, "30 applied", |s| s.applied_sequence == 30).await;
    assert!(caught_up.connected);
    assert_eq!(applied(&conn).await, (30, 30));
    shutdown.cancel();
    task.await.unwrap();

    // While the follower is down, more happens; it resumes from its cursor.
    create_skills(&mut client, 30..45).await;
    assert_eq!(cursor::load(&conn, "course").await.unwrap(), 30);
    let (mut state, shutdown, task) = start(&course.endpoint(), &conn, None);
    wait_for(&mut state, "45 applied", |s| s.applied_sequence == 45).await;
    // Live events keep flowing.
    create_skill(&mut client, "Live").await;
    let live = wait_for(&mut state, "46 applied and head known", |s| {
        s.applied_sequence == 46 && s.head_sequence == 46
    })
    .await;
    assert_eq!(live.lag_seconds(), 0.0);
    assert_eq!(
        applied(&conn).await,
        (46, 46),
        "nothing lost, nothing twice"
    );
    shutdown.cancel();
    task.await.unwrap();
}

/// Two consumer replicas on one database (reporting scaled out): each
/// batch locks the cursor, so no event is applied twice.
async fn two_replicas_apply_every_event_once(db: TestDb) {
    let course = TestServer::start(TestDb::sqlite()).await;
    let mut client = course.client().await;
    create_skills(&mut client, 0..60).await;
    let conn = follower_db(&db).await;
    let second = academy_runtime::db::connect(&db.url).await.unwrap();
    let (mut a, stop_a, task_a) = start(&course.endpoint(), &conn, None);
    let (mut b, stop_b, task_b) = start(&course.endpoint(), &second, None);
    wait_for(&mut a, "replica a at 60", |s| s.applied_sequence == 60).await;
    wait_for(&mut b, "replica b at 60", |s| s.applied_sequence == 60).await;
    for i in 60..80 {
        create_skill(&mut client, &format!("Live {i}")).await;
    }
    wait_for(&mut a, "replica a at 80", |s| s.applied_sequence == 80).await;
    wait_for(&mut b, "replica b at 80", |s| s.applied_sequence == 80).await;
    assert_eq!(
        applied(&conn).await,
        (80, 80),
        "nothing twice, nothing lost"
    );
    stop_a.cancel();
    stop_b.cancel();
    task_a.await.unwrap();
    task_b.await.unwrap();
}

async fn reconnects_after_the_producer_restarts(db: TestDb) {
    let course_db = TestDb::sqlite();
    let course_dir = course_db.dir.path().to_owned();
    let course = TestServer::start(course_db).await;
    let addr = course.addr;
    let mut client = course.client().await;
    for i in 0..5 {
        create_skill(&mut client, &format!("Before {i}")).await;
    }
    let conn = follower_db(&db).await;
    let (mut state, shutdown, task) = start(&course.endpoint(), &conn, None);
    wait_for(&mut state, "5 applied", |s| s.applied_sequence == 5).await;

    // The producer goes away: the follower notices and keeps retrying.
    let kept_db = course.stop_keeping_db().await;
    wait_for(&mut state, "disconnected", |s| {
        !s.connected && !s.last_error.is_empty()
    })
    .await;

    // Back on the same address with the same data, and more events.
    let course = TestServer::start_at(kept_db, addr).await;
    let mut client = course.client().await;
    for i in 0..5 {
        create_skill(&mut client, &format!("After {i}")).await;
    }
    let back = wait_for(&mut state, "10 applied", |s| s.applied_sequence == 10).await;
    assert!(back.connected && back.last_error.is_empty());
    assert_eq!(applied(&conn).await, (10, 10));
    assert!(course_dir.exists());
    shutdown.cancel();
    task.await.unwrap();
}

async fn stops_loudly_on_an_event_it_cannot_understand(db: TestDb) {
    let course = TestServer::start(TestDb::sqlite()).await;
    let mut client = course.client().await;
    create_skill(&mut client, "Understood").await;
    create_course(&mut client, "NOT-UNDERSTOOD", vec![]).await;
    create_skill(&mut client, "Never applied").await;
    let conn = follower_db(&db).await;
    let (mut state, _shutdown, task) = start(&course.endpoint(), &conn, Some("course.created"));
    let stopped = wait_for(&mut state, "stopped", |s| s.stopped).await;
    assert!(
        stopped.last_error.contains("course.created"),
        "{}",
        stopped.last_error
    );
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the follower ends")
        .unwrap();
    assert_eq!(
        cursor::load(&conn, "course").await.unwrap(),
        1,
        "stops before the event, never skips it"
    );
    assert_eq!(applied(&conn).await, (1, 1));
}
