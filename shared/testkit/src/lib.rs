//! Test support shared by every service: a fresh database per test, on the
//! embedded SQLite default and on PostgreSQL, and a macro that runs one test
//! body on both. Beside it: request defaults both services' tests build
//! (`fixtures`), status assertions, a page walker and concurrent retries
//! (`grpc`), the hostile-input harness (`hostile`), an in-process server
//! (`server`) and the wait for reporting (`feeds`).
//!
//! PostgreSQL is found at `ACADEMY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached
//! the PostgreSQL cases print a loud notice and return; with
//! `ACADEMY_REQUIRE_POSTGRES=1` (set by `.ci/run`) they fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sea_orm::{ConnectionTrait, Database};

pub mod feeds;
pub mod fixtures;
pub mod grpc;
pub mod hostile;
pub mod server;
use tempfile::TempDir;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test and is removed after it.
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    /// Holds the SQLite file (and anything else the test wants on disk).
    pub dir: TempDir,
    pg: Option<PgCleanup>,
}

#[derive(Debug)]
struct PgCleanup {
    admin_url: String,
    database: String,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
        Self {
            backend: Backend::Sqlite,
            url,
            dir,
            pg: None,
        }
    }

    /// A new, empty PostgreSQL database, or `None` (after a loud notice)
    /// when PostgreSQL is unreachable and not required.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("ACADEMY_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
        let admin = match Database::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(err) => {
                if postgres_required() {
                    panic!(
                        "ACADEMY_REQUIRE_POSTGRES=1 but PostgreSQL at {admin_url} is unreachable: {err}"
                    );
                }
                eprintln!(
                    "\n!!! SKIPPING PostgreSQL case: {admin_url} is unreachable ({err}).\n!!! Set ACADEMY_REQUIRE_POSTGRES=1 to make this a failure.\n"
                );
                return None;
            }
        };
        let database = format!("academy_test_{}", uuid::Uuid::now_v7().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE {database}"))
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = replace_database(&admin_url, &database);
        Some(Self {
            backend: Backend::Postgres,
            url,
            dir: tempfile::tempdir().expect("temp dir"),
            pg: Some(PgCleanup {
                admin_url,
                database,
            }),
        })
    }
}

fn postgres_required() -> bool {
    std::env::var("ACADEMY_REQUIRE_POSTGRES")
        .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// Swaps the database name at the end of a PostgreSQL URL.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(pg) = self.pg.take() else { return };
        // Drop runs outside any async context we can rely on: use a thread
        // with its own small runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = Database::connect(&pg.admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                            pg.database
                        ))
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// Runs each named `async fn(TestDb)` once on SQLite and once on PostgreSQL,
/// as `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_database_name() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
