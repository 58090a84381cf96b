//! Database connection, migration and error classification, for SQLite and
//! PostgreSQL alike (chosen by the URL's scheme).

pub mod idempotency;
pub mod schema;
pub mod sql;

use academy_domain::DomainError;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, RuntimeErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::path::Path;
use std::time::Duration;

/// Opens a connection pool. For SQLite the file's directory is created, WAL
/// is switched on (readers do not block the writer), a busy timeout makes
/// concurrent writers wait instead of failing, and freed pages are zeroed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    Ok(Database::connect(options(url, None)?).await?)
}

/// Like [`connect`], but opens no connection yet (a serving binary starts
/// while the database is down and waits for it, issue #20 item 5), with at
/// most `pool_size` PostgreSQL connections when given.
pub async fn connect_lazy(url: &str, pool_size: Option<u32>) -> anyhow::Result<DatabaseConnection> {
    let mut options = options(url, pool_size)?;
    options.connect_lazy(true);
    Ok(Database::connect(options).await?)
}

/// Pool options for `url`; `pool_size` overrides PostgreSQL's default of 16.
fn options(url: &str, pool_size: Option<u32>) -> anyhow::Result<ConnectOptions> {
    if let Some(dir) = sqlite_path(url)
        .and_then(|path| Path::new(path).parent())
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(5))
        // Also how long a call waits for a connection before UNAVAILABLE
        // when the database cannot be reached. Shorter is not safe: 2 s
        // turned a busy pool (64 clients, commits slowed by disk load) into
        // UNAVAILABLE in the reliability suite's load case; failing fast
        // while the database is down is the database gate's job.
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if sqlite_path(url).is_some() {
        // One writer at a time is what SQLite allows; a small pool avoids
        // piling up connections that would only wait on the write lock.
        options.max_connections(4).min_connections(1);
        // Pragmas belong to each pooled connection, not to whichever one
        // runs a statement. secure_delete overwrites freed pages, so an
        // erased learner's data is not left readable in the file.
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                .pragma("secure_delete", "ON")
        });
    } else {
        options.max_connections(pool_size.unwrap_or(16).max(1));
    }
    Ok(options)
}

/// Begins a transaction that will write. On SQLite it takes the write lock
/// at BEGIN (IMMEDIATE): a deferred transaction that reads first and writes
/// later cannot wait for the lock and fails with "database is locked" when
/// another writer got there first. PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// After an erasure on SQLite: writes the WAL back into the file (where
/// secure_delete zeroes the freed space) and empties it, so no page image
/// from before the erasure lingers. Best effort: a reader holding an older
/// snapshot can keep it from finishing; the next one catches up.
pub async fn flush_erased(db: &DatabaseConnection) {
    if db.get_database_backend() != DbBackend::Sqlite {
        return;
    }
    if let Err(err) = db
        .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
    {
        tracing::warn!(%err, "WAL checkpoint after an erasure failed");
    }
}

/// Key of the PostgreSQL advisory lock migrations hold (any fixed number;
/// advisory locks are per database, so services sharing a server do not
/// wait for each other).
const MIGRATION_LOCK: i64 = 0x0000_acad_e3ed;

/// Applies every pending migration of `M`. On PostgreSQL two replicas
/// starting at once would both find the migrations pending and both create
/// the same tables (one fails on a duplicate type); so the migrations run
/// in one transaction that first takes an advisory lock: the second replica
/// waits, then finds nothing pending. SQLite's file is one process's.
pub async fn migrate<M: MigratorTrait>(db: &DatabaseConnection) -> anyhow::Result<()> {
    if db.get_database_backend() != DbBackend::Postgres {
        M::up(db, None).await?;
        return Ok(());
    }
    let txn = db.begin().await?;
    txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        .await?;
    M::up(&txn, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Applies pending migrations at start, unless `mode` leaves them to a
/// separate `<binary> migrate` run (a Kubernetes Job).
pub async fn migrate_at_start<M: MigratorTrait>(
    mode: crate::MigrateMode,
    db: &DatabaseConnection,
) -> anyhow::Result<()> {
    if mode == crate::MigrateMode::Auto {
        migrate::<M>(db).await?;
    }
    Ok(())
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (path != ":memory:" && !path.is_empty()).then_some(path)
}

/// True when the error is a violated unique constraint.
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Classifies a storage error that the caller did not anticipate: lost
/// connections become UNAVAILABLE (retryable), anything else INTERNAL.
pub fn db_error(err: DbErr) -> DomainError {
    match &err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            DomainError::Unavailable { what: "database" }
        }
        _ if lost_connection(&err) || looks_like_connection_loss(&err) => {
            DomainError::Unavailable { what: "database" }
        }
        _ => DomainError::internal(err),
    }
}

/// True when the driver says the database could not be reached or the
/// connection broke mid-statement (the server went away, a proxy cut it):
/// worth a retry, unlike a statement the database refused.
fn lost_connection(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let (DbErr::Conn(RuntimeErr::SqlxError(sqlx))
    | DbErr::Exec(RuntimeErr::SqlxError(sqlx))
    | DbErr::Query(RuntimeErr::SqlxError(sqlx))) = err
    else {
        return false;
    };
    match sqlx.as_ref() {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception) and 57P01-57P03 (the
        // server is shutting down or starting up).
        Sqlx::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
        _ => false,
    }
}

fn looks_like_connection_loss(err: &DbErr) -> bool {
    let text = err.to_string().to_ascii_lowercase();
    [
        "connection refused",
        "connection reset",
        "broken pipe",
        "pool timed out",
        "database is locked",
        "terminating connection",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://./data/course.db?mode=rwc"),
            Some("./data/course.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/test"), None);
    }

    #[test]
    fn a_connection_cut_mid_statement_is_unavailable_not_internal() {
        // What sqlx reports when a proxy or a restart drops the socket
        // between a query and its answer (seen in the reliability suite).
        let eof = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "expected to read 5 bytes, got 0 bytes at EOF",
        );
        let sqlx = std::sync::Arc::new(sea_orm::sqlx::Error::Io(eof));
        for err in [
            DbErr::Query(RuntimeErr::SqlxError(sqlx.clone())),
            DbErr::Exec(RuntimeErr::SqlxError(sqlx)),
        ] {
            assert!(
                matches!(db_error(err), DomainError::Unavailable { .. }),
                "a lost connection is retryable"
            );
        }
        let refused = DbErr::Query(RuntimeErr::Internal("syntax error".into()));
        assert!(matches!(db_error(refused), DomainError::Internal { .. }));
    }

    #[tokio::test]
    async fn connects_to_a_new_sqlite_file_in_a_new_directory() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nested/x.db?mode=rwc", dir.path().display());
        let db = connect(&url).await.unwrap();
        db.ping().await.unwrap();
        assert!(dir.path().join("nested/x.db").exists());
    }
}
