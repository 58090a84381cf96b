//! Measures ImportLearners at the program's real size: streams N generated
//! learners (191,000 by default) through a real server into a fresh database,
//! then streams them again to show a re-run creates nothing. Prints rows per
//! second and the process's peak memory (client and server share it).
//!
//!     cargo run --release -p academy-learner --example import_bench -- [ROWS] [DATABASE_URL]

use academy_domain::Region;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{EmploymentStatus, Gender, Learner, RegisterLearnerRequest};
use academy_runtime::ServerConfig;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn row(i: u64) -> RegisterLearnerRequest {
    RegisterLearnerRequest {
        learner: Some(Learner {
            email: format!("learner{i}@example.az"),
            external_id: Some(format!("NR-{i:08}")),
            full_name: format!("Learner {i}"),
            region: Region::ALL[(i % 14) as usize].to_owned(),
            gender: if i.is_multiple_of(2) {
                Gender::Female
            } else {
                Gender::Male
            } as i32,
            birth_year: 1960 + (i % 45) as i32,
            employment_status: EmploymentStatus::Employed as i32,
            organization: format!("Org {}", i % 300),
            ..Default::default()
        }),
        request_id: String::new(),
        registered_at: None,
    }
}

fn peak_rss_mib() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| format!("{} MiB", kib / 1024))
        .unwrap_or_else(|| "unknown".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(191_000);
    let dir = tempfile::tempdir()?;
    let url = args
        .next()
        .unwrap_or_else(|| format!("sqlite://{}/learner.db?mode=rwc", dir.path().display()));
    let db = academy_runtime::db::connect(&url).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let config = ServerConfig::local(dir.path().to_owned());
    let settings = academy_learner::LearnerSettings::new("http://127.0.0.1:9");
    let token = shutdown.clone();
    let server = tokio::spawn(async move {
        academy_learner::serve(&config, &settings, listener, db, token).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut client = LearnerServiceClient::connect(format!("http://{addr}")).await?;

    for run in ["first import", "re-run"] {
        let started = Instant::now();
        let reply = client
            .import_learners(tokio_stream::iter((0..rows).map(row)))
            .await?
            .into_inner();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{run:>12}: {rows} rows in {secs:.1} s = {:.0} rows/s; created {}, duplicates {}, rejected {}",
            rows as f64 / secs,
            reply.created,
            reply.duplicates,
            reply.rejected.len()
        );
    }
    println!(
        "peak memory of the process (client + server): {}",
        peak_rss_mib()
    );
    println!(
        "database: {}",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite (embedded default)"
        }
    );
    shutdown.cancel();
    server.await??;
    Ok(())
}
