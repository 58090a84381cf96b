//! The database-alone limits: the SQL statements an RPC performs, driven by
//! pgbench at the same concurrency against the same database.
//!
//! The scripts (`sql/limit_*.sql`) pick their row through a key table
//! (`bench_keys`, n → id, made here from the ids the scenarios used) inside
//! each statement, so a transaction makes exactly the round trips the
//! service makes; the extra probe of a small primary key costs microseconds
//! against a round trip's tens.

use std::time::Duration;

use crate::bulk::sql_dir;
use crate::pg::{Pg, PgbenchResult, PgbenchRun};

/// Writes `ids` as `bench_keys(n, id)`, n from 1.
pub(crate) async fn key_table(pg: &Pg, database: &str, ids: &[String]) -> anyhow::Result<()> {
    let values: Vec<String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| format!("({}, '{}')", i + 1, id.replace('\'', "''")))
        .collect();
    pg.sql(
        database,
        "DROP TABLE IF EXISTS bench_keys; \
         CREATE TABLE bench_keys (n INTEGER PRIMARY KEY, id VARCHAR(36) NOT NULL)",
    )
    .await?;
    // One argument to psql must stay under the kernel's 128 KiB limit.
    for chunk in values.chunks(1000) {
        pg.sql(
            database,
            &format!("INSERT INTO bench_keys (n, id) VALUES {}", chunk.join(", ")),
        )
        .await?;
    }
    pg.sql(database, "ANALYZE bench_keys").await?;
    Ok(())
}

/// A database-alone measurement and the connections it really used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceiling {
    pub(crate) result: PgbenchResult,
    pub(crate) clients: usize,
}

impl Ceiling {
    /// What the table calls this limit: the connection count is named when
    /// the server had fewer free than the RPC's concurrency.
    pub(crate) fn name(&self, what: &str, concurrency: usize) -> String {
        if self.clients < concurrency {
            format!("pgbench {what} SQL ({} conns: server full)", self.clients)
        } else {
            format!("pgbench {what} SQL")
        }
    }
}

/// Runs `sql/<script>` for `length` at `clients` connections (fewer if the
/// server cannot take that many more); `keys` is the size of bench_keys.
pub(crate) async fn run(
    pg: &Pg,
    database: &str,
    script: &str,
    clients: usize,
    length: Duration,
    keys: usize,
) -> anyhow::Result<Ceiling> {
    let clients = clients.min(pg.free_connections().await?);
    let result = pg
        .pgbench(
            database,
            &sql_dir().join(script),
            clients,
            PgbenchRun::For(length),
            &[("keys", keys.to_string())],
        )
        .await?;
    Ok(Ceiling { result, clients })
}
