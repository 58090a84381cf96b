//! PostgreSQL through its own tools: `psql` makes databases and runs the
//! bulk loader's SQL, `pgbench` drives the database-alone limits.

use anyhow::Context;
use clap::Args;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Where the server is. Trust auth is assumed (as in CI).
#[derive(Debug, Clone, Args)]
pub(crate) struct Pg {
    #[arg(long, default_value = "127.0.0.1")]
    pub(crate) pg_host: String,
    #[arg(long, default_value_t = 5432)]
    pub(crate) pg_port: u16,
    #[arg(long, default_value = "postgres")]
    pub(crate) pg_user: String,
}

/// What pgbench reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PgbenchResult {
    pub(crate) tps: f64,
    pub(crate) latency_ms: f64,
}

impl Pg {
    pub(crate) fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}@{}:{}/{database}",
            self.pg_user, self.pg_host, self.pg_port
        )
    }

    /// `program` (psql, pgbench) connecting to `database` on this server.
    pub(crate) fn command(&self, program: &str, database: &str) -> Command {
        let mut command = Command::new(program);
        command
            .arg("-h")
            .arg(&self.pg_host)
            .arg("-p")
            .arg(self.pg_port.to_string())
            .arg("-U")
            .arg(&self.pg_user)
            .arg("-d")
            .arg(database)
            // Days are UTC days, as the services and projections count them.
            .env("PGTZ", "UTC")
            .stdin(Stdio::null());
        command
    }

    /// Drops (closing its connections) and re-creates `database`.
    pub(crate) async fn fresh_database(&self, database: &str) -> anyhow::Result<()> {
        self.sql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        )
        .await?;
        self.sql("postgres", &format!("CREATE DATABASE {database}"))
            .await?;
        Ok(())
    }

    /// Connections the server can still accept, less a margin for other
    /// users of a shared server (a test suite may open a few meanwhile).
    pub(crate) async fn free_connections(&self) -> anyhow::Result<usize> {
        let free: i64 = self
            .sql(
                "postgres",
                "SELECT current_setting('max_connections')::int - COUNT(*) FROM pg_stat_activity",
            )
            .await?
            .parse()?;
        Ok(usize::try_from(free - 8).unwrap_or(1).max(1))
    }

    /// Runs `sql` and returns what psql printed (unaligned, tuples only).
    pub(crate) async fn sql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let mut command = self.command("psql", database);
        command.args(["-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]);
        let output = run_psql(command, &format!("psql on {database}")).await?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// Runs a file of SQL with psql variables set; returns how long it took.
    pub(crate) async fn sql_file(
        &self,
        database: &str,
        path: &Path,
        vars: &[(&str, String)],
    ) -> anyhow::Result<Duration> {
        let mut command = self.command("psql", database);
        command.args(["-v", "ON_ERROR_STOP=1", "-qAt"]);
        for (name, value) in vars {
            command.arg("-v").arg(format!("{name}={value}"));
        }
        command.arg("-f").arg(path);
        let started = Instant::now();
        run_psql(command, &format!("{} on {database}", path.display())).await?;
        Ok(started.elapsed())
    }

    /// `pgbench` with a custom script, prepared statements (as sqlx uses),
    /// no vacuum, `clients` connections, for `length` or `transactions`.
    pub(crate) async fn pgbench(
        &self,
        database: &str,
        script: &Path,
        clients: usize,
        run: PgbenchRun,
        vars: &[(&str, String)],
    ) -> anyhow::Result<PgbenchResult> {
        let mut command = self.command("pgbench", database);
        command
            .args(["-n", "-M", "prepared"])
            .arg("-c")
            .arg(clients.to_string())
            .arg("-j")
            .arg(clients.clamp(1, 4).to_string());
        match run {
            PgbenchRun::For(length) => command.arg("-T").arg(length.as_secs().max(1).to_string()),
            PgbenchRun::Transactions(n) => command.arg("-t").arg(n.max(1).to_string()),
        };
        for (name, value) in vars {
            command.arg("-D").arg(format!("{name}={value}"));
        }
        let output = command
            .arg("-f")
            .arg(script)
            .output()
            .await
            .context("cannot run pgbench")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            anyhow::bail!(
                "pgbench {} failed: {}{}",
                script.display(),
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        parse_pgbench(&stdout).with_context(|| format!("unexpected pgbench output:\n{stdout}"))
    }
}

/// Runs `command` (a psql); its output, or an error naming `what` with
/// what psql said when it fails.
async fn run_psql(mut command: Command, what: &str) -> anyhow::Result<std::process::Output> {
    let output = command.output().await.context("cannot run psql")?;
    if !output.status.success() {
        anyhow::bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// How long pgbench runs: a time, or a number of transactions per client.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PgbenchRun {
    For(Duration),
    Transactions(u64),
}

fn parse_pgbench(stdout: &str) -> Option<PgbenchResult> {
    let number_after = |prefix: &str| {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split(|c: char| c.is_whitespace() || c == '/').next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    Some(PgbenchResult {
        tps: number_after("tps = ")?,
        latency_ms: number_after("latency average = ")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tps_latency_and_count_from_pgbench_output() {
        let out = "transaction type: point.sql\nnumber of clients: 16\n\
                   number of transactions actually processed: 120345\n\
                   number of failed transactions: 0 (0.000%)\n\
                   latency average = 1.329 ms\n\
                   initial connection time = 12.1 ms\n\
                   tps = 12034.5 (without initial connection time)\n";
        let result = parse_pgbench(out).expect("parsed");
        assert!((result.tps - 12_034.5).abs() < 1e-9);
        assert!((result.latency_ms - 1.329).abs() < 1e-9);
    }
}
