//! Case 7: two replicas of each service start at the same moment against
//! one empty PostgreSQL database (both with ACADEMY_MIGRATE=auto): one
//! migrated schema, each migration recorded once, the same schema a single
//! `<binary> migrate` gives, and two healthy replicas.

use crate::support::{self, Sql, start_service};
use std::process::Stdio;
use tonic_health::pb::health_check_response::ServingStatus;

/// Tables and columns of the public schema, one `table.column:type` each.
const SCHEMA: &str = "SELECT table_name || '.' || column_name || ':' || data_type AS s \
     FROM information_schema.columns WHERE table_schema = 'public' \
     ORDER BY table_name, column_name";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_starting_at_once_migrate_one_schema() {
    let _serial = support::serial().await;
    for binary in ["academy-course", "academy-learner", "academy-reporting"] {
        let (Some(shared), Some(reference)) =
            (support::postgres().await, support::postgres().await)
        else {
            return;
        };
        let env = [
            ("ACADEMY_DATABASE_URL", shared.url.as_str()),
            ("ACADEMY_MIGRATE", "auto"),
        ];
        let (first, second) =
            tokio::join!(start_service(binary, &env), start_service(binary, &env));
        for replica in [&first, &second] {
            assert_eq!(
                replica.health().await,
                Some(ServingStatus::Serving as i32),
                "{binary} replica at {} is healthy",
                replica.addr
            );
        }

        let migrated = tokio::process::Command::new(academy_e2e::binary(binary))
            .arg("migrate")
            .env("ACADEMY_DATABASE_URL", &reference.url)
            .env("ACADEMY_LOG", "error")
            .env("ACADEMY_AUTH_DISABLED", "true")
            .stdin(Stdio::null())
            .status()
            .await
            .unwrap();
        assert!(migrated.success(), "{binary} migrate: {migrated:?}");

        let db = Sql::open(&shared.url).await;
        let reference_db = Sql::open(&reference.url).await;
        let recorded = db.count("seaql_migrations").await;
        let distinct = db
            .int("SELECT COUNT(DISTINCT version) AS n FROM seaql_migrations")
            .await;
        let expected = reference_db.count("seaql_migrations").await;
        let schema = db.strings(SCHEMA).await;
        let reference_schema = reference_db.strings(SCHEMA).await;
        eprintln!(
            "[migrations] {binary}: two replicas SERVING (pids {} and {}); {recorded} migrations \
             recorded ({distinct} distinct, a single migrate run records {expected}); {} columns \
             in the schema ({} from the single run)",
            first.pid(),
            second.pid(),
            schema.len(),
            reference_schema.len(),
        );
        assert!(expected > 0, "{binary} has migrations");
        assert_eq!(recorded, expected, "{binary}: each migration recorded once");
        assert_eq!(distinct, expected, "{binary}: no migration twice");
        assert_eq!(
            schema, reference_schema,
            "{binary}: the schema one migrate run gives"
        );
    }
}
