//! The lease that picks the replica writing the projections: a replica
//! whose lease another one has taken is refused inside its transaction (the
//! fence), and SQLite, with one process, always leads.

use academy_reporting::Migrator;
use academy_runtime::db;
use academy_runtime::feed::lease::Lease;
use academy_testkit::{TestDb, on_both_backends};
use sea_orm::{ConnectionTrait, DbBackend, TransactionTrait};

on_both_backends!(a_replica_that_lost_the_lease_is_fenced_off,);

async fn a_replica_that_lost_the_lease_is_fenced_off(db: TestDb) {
    let conn = db::connect(&db.url).await.unwrap();
    db::migrate::<Migrator>(&conn).await.unwrap();
    let first = Lease::new(conn.clone(), "reporting", "replica-a");
    let second = Lease::new(conn.clone(), "reporting", "replica-b");
    let a = first.try_acquire().await.unwrap();
    assert!(a.leader, "the first replica takes a free lease");
    let b = second.try_acquire().await.unwrap();
    if conn.get_database_backend() != DbBackend::Postgres {
        assert!(b.leader, "on SQLite every replica leads (one process)");
        return;
    }
    assert!(!b.leader, "a live lease is not taken over");
    assert_eq!(b.holder, "replica-a");

    // The first replica stops renewing (paused, partitioned): its lease
    // lapses and the second takes it with a new epoch.
    conn.execute_unprepared("UPDATE feed_leases SET expires_at_ms = 0")
        .await
        .unwrap();
    let b = second.try_acquire().await.unwrap();
    assert!(b.leader, "an expired lease is taken over");
    assert!(b.epoch > a.epoch, "a take-over starts a new epoch");

    // The old leader wakes up mid-batch: its transaction is refused.
    let txn = conn.begin().await.unwrap();
    assert!(
        !first.confirm(&txn, a.epoch).await.unwrap(),
        "the old leader is fenced off"
    );
    txn.rollback().await.unwrap();
    let txn = conn.begin().await.unwrap();
    assert!(
        second.confirm(&txn, b.epoch).await.unwrap(),
        "the new leader writes"
    );
    txn.rollback().await.unwrap();
    let again = first.try_acquire().await.unwrap();
    assert!(
        !again.leader,
        "the old leader does not take the lease back while it is live"
    );
}
