//! One unit of work per write: the transaction, its idempotency keys, its
//! feed events with their audit entries, and the wake-up after commit.
//!
//! Every write handler follows the same recipe; this type is that recipe,
//! so a handler states its effect and nothing else:
//!
//! ```ignore
//! let uow = UnitOfWork::begin(&db, &outbox).await?;
//! if let Some(id) = uow.replayed(key).await? {
//!     return Ok(id);
//! }
//! store::insert(uow.txn(), ...).await?;
//! uow.remember(CREATE, key, &id).await?;
//! uow.emit(now, event).await?;
//! uow.commit().await?;
//! ```
//!
//! Dropping it without [`UnitOfWork::commit`] rolls everything back.
//!
//! A service with no change feed of its own (reporting) begins with
//! [`UnitOfWork::begin_without_feed`] and states its audit entry with
//! [`UnitOfWork::audit`] instead of emitting events.

use academy_domain::DomainError;
use academy_proto::events::event::Payload;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr};

use crate::audit::{self, Change};
use crate::db::begin_write;
use crate::db::idempotency::{self, Key, Used};
use crate::feed::Outbox;
use crate::feed::outbox::{event_type, subject_of};

/// A write transaction and the outbox whose subscribers its commit wakes.
#[derive(Debug)]
pub struct UnitOfWork<'a> {
    txn: DatabaseTransaction,
    /// None for a service without a change feed: nothing to emit to or wake.
    outbox: Option<&'a Outbox>,
}

impl UnitOfWork<'static> {
    /// Begins a write of a service that has no change feed of its own (with
    /// the write lock of [`begin_write`]): it records audit entries with
    /// [`UnitOfWork::audit`], and emitting an event is an error.
    pub async fn begin_without_feed(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Ok(Self {
            txn: begin_write(db).await?,
            outbox: None,
        })
    }
}

impl<'a> UnitOfWork<'a> {
    /// Begins a write (with the write lock of [`begin_write`]).
    pub async fn begin(db: &DatabaseConnection, outbox: &'a Outbox) -> Result<Self, DbErr> {
        Ok(Self {
            txn: begin_write(db).await?,
            outbox: Some(outbox),
        })
    }

    /// The transaction, for the handler's own reads and writes.
    pub fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// The resource an earlier call with `key` created, checked under the
    /// write lock; a key used for a different request is
    /// [`idempotency::reused`].
    pub async fn replayed(&self, key: Option<&Key>) -> Result<Option<String>, DomainError> {
        idempotency::replayed(&self.txn, key).await
    }

    /// Which of `keys` were used before (bulk imports).
    pub async fn used(&self, keys: &[&Key]) -> Result<Used, DbErr> {
        idempotency::used(&self.txn, keys).await
    }

    /// Records that the request of `key` (if it has one) made `resource_id`.
    pub async fn remember(
        &self,
        operation: &str,
        key: Option<&Key>,
        resource_id: &str,
    ) -> Result<(), DbErr> {
        match key {
            Some(key) => idempotency::remember(&self.txn, operation, key, resource_id).await,
            None => Ok(()),
        }
    }

    /// Records many `(key, resource_id)` pairs at once.
    pub async fn remember_many(
        &self,
        operation: &str,
        pairs: &[(Key, String)],
    ) -> Result<(), DbErr> {
        idempotency::remember_many(&self.txn, operation, pairs).await
    }

    /// Writes one feed event and its audit entry; returns its sequence.
    pub async fn emit(&self, occurred_at: DateTime<Utc>, payload: Payload) -> Result<i64, DbErr> {
        self.emit_many(vec![(occurred_at, payload)]).await
    }

    /// Writes several feed events with consecutive sequences and one audit
    /// entry for the batch (named after the first event); returns the last
    /// sequence, or the current head (and no audit entry) when `events` is
    /// empty.
    pub async fn emit_many(&self, events: Vec<(DateTime<Utc>, Payload)>) -> Result<i64, DbErr> {
        let outbox = self.outbox.ok_or_else(|| {
            DbErr::Custom("a unit of work begun without a feed cannot emit events".to_owned())
        })?;
        let first = events
            .first()
            .map(|(_, p)| (event_type(p), resource_of(p).to_owned()));
        let (written, changes) = (events.len() as i64, count_changes(&events));
        let last = outbox.append_many(&self.txn, events).await?;
        if let Some((action, resource_id)) = first {
            let change = Change {
                action: action.to_owned(),
                resource_id,
                count: changes,
                first_sequence: last - written + 1,
                last_sequence: last,
            };
            audit::record(&self.txn, change).await?;
        }
        Ok(last)
    }

    /// Records the audit entry of a change that writes no feed event: one
    /// change of `action` to `resource_id` (no sequences).
    pub async fn audit(&self, action: &str, resource_id: &str) -> Result<(), DbErr> {
        let change = Change {
            action: action.to_owned(),
            resource_id: resource_id.to_owned(),
            count: 1,
            first_sequence: 0,
            last_sequence: 0,
        };
        audit::record(&self.txn, change).await
    }

    /// Commits, then wakes the feed's live subscribers.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await?;
        if let Some(outbox) = self.outbox {
            outbox.committed();
        }
        Ok(())
    }

    /// Rolls back now and waits for it, for a caller that reads what
    /// committed next (dropping the unit also rolls back, without waiting).
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

/// The resource an event is about, for the audit log: the learner for
/// everything about a learner (so one learner's history is one filter),
/// else the course, program or skill.
fn resource_of(payload: &Payload) -> &str {
    if let Some(learner) = subject_of(payload) {
        return learner;
    }
    fn course(snapshot: &Option<academy_proto::events::CourseSnapshot>) -> &str {
        snapshot.as_ref().map_or("", |c| c.course_id.as_str())
    }
    match payload {
        Payload::SkillCreated(e) => &e.skill_id,
        Payload::CourseCreated(e) => course(&e.course),
        Payload::CourseUpdated(e) => course(&e.course),
        Payload::CoursePublished(e) => course(&e.course),
        Payload::CourseArchived(e) => course(&e.course),
        Payload::ProgramCreated(e) => &e.program_id,
        Payload::CourseAddedToProgram(e) => &e.program_id,
        Payload::InvitationCreated(e) => &e.invitation_id,
        Payload::InvitationDeclined(e) => &e.invitation_id,
        _ => "",
    }
}

/// Changes a batch of events stands for: the events of the first event's
/// type (one progress row can also complete an enrollment and issue a
/// certificate; that is still one change).
fn count_changes(events: &[(DateTime<Utc>, Payload)]) -> i64 {
    let Some((_, first)) = events.first() else {
        return 0;
    };
    let kind = event_type(first);
    events.iter().filter(|(_, p)| event_type(p) == kind).count() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use academy_proto::events::{LearnerRegistered, SkillCreated};
    use sea_orm::{ConnectionTrait, Statement};
    use sea_orm_migration::{MigrationTrait, MigratorTrait};

    struct Migrator;

    impl MigratorTrait for Migrator {
        fn migrations() -> Vec<Box<dyn MigrationTrait>> {
            vec![
                Box::new(crate::feed::migration::CreateOutbox),
                Box::new(crate::audit::migration::CreateAuditLog),
                Box::new(crate::db::idempotency::CreateIdempotencyKeys),
                Box::new(crate::db::idempotency::ScopeIdempotencyKeys),
            ]
        }
    }

    /// A migrated SQLite database that lives as long as the directory.
    async fn database() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("uow.db").display());
        let db = crate::db::connect(&url).await.expect("connect");
        crate::db::migrate::<Migrator>(&db).await.expect("migrate");
        (dir, db)
    }

    fn key(request_id: &str, learner_id: &str) -> Key {
        let request = academy_proto::learner::EnrollRequest {
            learner_id: learner_id.into(),
            request_id: request_id.into(),
            ..Default::default()
        };
        Key::for_caller("alice", "Enroll", request_id, &request)
    }

    fn skill(id: &str) -> Payload {
        Payload::SkillCreated(SkillCreated {
            skill_id: id.into(),
            ..Default::default()
        })
    }

    async fn audit_rows(db: &DatabaseConnection) -> Vec<(String, String, i64, i64, i64)> {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT action, resource_id, change_count, first_sequence, last_sequence \
                 FROM audit_log ORDER BY id",
            ))
            .await
            .expect("audit rows");
        rows.iter()
            .map(|row| {
                (
                    row.try_get("", "action").expect("action"),
                    row.try_get("", "resource_id").expect("resource_id"),
                    row.try_get("", "change_count").expect("change_count"),
                    row.try_get("", "first_sequence").expect("first_sequence"),
                    row.try_get("", "last_sequence").expect("last_sequence"),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn commit_writes_events_audit_and_key_then_wakes_subscribers() {
        let (_dir, db) = database().await;
        let outbox = Outbox::new();
        let woken = outbox.watch();
        let now = Utc::now();

        let uow = UnitOfWork::begin(&db, &outbox).await.expect("begin");
        assert_eq!(uow.emit(now, skill("s-1")).await.expect("emit"), 1);
        let registered = |id: &str| {
            Payload::LearnerRegistered(LearnerRegistered {
                learner_id: id.into(),
                ..Default::default()
            })
        };
        let last = uow
            .emit_many(vec![
                (now, registered("l-1")),
                (now, registered("l-2")),
                (now, skill("s-2")),
            ])
            .await
            .expect("emit_many");
        assert_eq!(last, 4);
        uow.remember("Enroll", Some(&key("r-1", "l-1")), "l-1")
            .await
            .expect("remember");
        assert!(!woken.has_changed().expect("outbox alive"));
        uow.commit().await.expect("commit");

        assert!(woken.has_changed().expect("outbox alive"));
        let events = crate::feed::outbox::read_after(&db, 0, 10)
            .await
            .expect("events");
        let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, [1, 2, 3, 4]);
        assert_eq!(
            audit_rows(&db).await,
            [
                ("skill.created".into(), "s-1".into(), 1, 1, 1),
                ("learner.registered".into(), "l-1".into(), 2, 2, 4),
            ]
        );
        let replayed = idempotency::replayed(&db, Some(&key("r-1", "l-1")))
            .await
            .expect("replayed");
        assert_eq!(replayed.as_deref(), Some("l-1"));
    }

    #[tokio::test]
    async fn dropping_without_commit_writes_nothing() {
        let (_dir, db) = database().await;
        let outbox = Outbox::new();
        let woken = outbox.watch();

        let uow = UnitOfWork::begin(&db, &outbox).await.expect("begin");
        uow.emit(Utc::now(), skill("s-1")).await.expect("emit");
        uow.remember("Enroll", Some(&key("r-1", "l-1")), "l-1")
            .await
            .expect("remember");
        drop(uow);

        assert!(!woken.has_changed().expect("outbox alive"));
        assert_eq!(
            crate::feed::outbox::head(&db).await.expect("head"),
            (0, None)
        );
        assert!(audit_rows(&db).await.is_empty());
        let replayed = idempotency::replayed(&db, Some(&key("r-1", "l-1")))
            .await
            .expect("replayed");
        assert_eq!(replayed, None);
    }

    #[tokio::test]
    async fn a_unit_without_a_feed_records_its_audit_entry_and_emits_nothing() {
        let (_dir, db) = database().await;

        let uow = UnitOfWork::begin_without_feed(&db).await.expect("begin");
        uow.audit("SetTarget", "p-1").await.expect("audit");
        assert!(
            uow.emit(Utc::now(), skill("s-1")).await.is_err(),
            "no feed to emit to"
        );
        uow.commit().await.expect("commit");
        let uow = UnitOfWork::begin_without_feed(&db).await.expect("begin");
        uow.audit("SetTarget", "p-2").await.expect("audit");
        uow.rollback().await.expect("rollback");

        assert_eq!(
            audit_rows(&db).await,
            [("SetTarget".into(), "p-1".into(), 1, 0, 0)]
        );
        assert_eq!(
            crate::feed::outbox::head(&db).await.expect("head"),
            (0, None)
        );
    }

    #[tokio::test]
    async fn a_replay_returns_the_earlier_id_and_a_reused_id_is_refused() {
        let (_dir, db) = database().await;
        let outbox = Outbox::new();
        let first = key("r-1", "l-1");

        let uow = UnitOfWork::begin(&db, &outbox).await.expect("begin");
        assert_eq!(uow.replayed(Some(&first)).await.expect("new key"), None);
        assert_eq!(uow.replayed(None).await.expect("no key"), None);
        uow.remember("Enroll", Some(&first), "e-1")
            .await
            .expect("remember");
        uow.remember("Enroll", None, "e-1")
            .await
            .expect("no key to remember");
        uow.commit().await.expect("commit");

        let uow = UnitOfWork::begin(&db, &outbox).await.expect("begin");
        assert_eq!(
            uow.replayed(Some(&first)).await.expect("replay").as_deref(),
            Some("e-1")
        );
        let used = uow.used(&[&first]).await.expect("used");
        assert_eq!(used.seen(&first), Some(true));
        // The same request id with a different request.
        let err = uow
            .replayed(Some(&key("r-1", "l-2")))
            .await
            .expect_err("reused");
        assert_eq!(err, idempotency::reused());
    }
}
