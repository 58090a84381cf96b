//! Starts the three services in order, each once the one before it is
//! SERVING, prefixes their logs, and stops them all on Ctrl-C.

use clap::Args;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

#[derive(Debug, Clone, Args)]
pub(crate) struct StackOptions {
    /// Where the three SQLite databases live (created when missing).
    #[arg(long, env = "ACADEMY_DATA_DIR", default_value = "./data")]
    pub(crate) data_dir: PathBuf,

    /// Port of the course service; learner and reporting take the next two.
    #[arg(long, default_value_t = 50051)]
    pub(crate) base_port: u16,

    /// Load the demo national program (through the gRPC API) once the stack is up.
    #[arg(long)]
    pub(crate) demo: bool,

    /// Learners in the demo program after twelve years.
    #[arg(long, default_value_t = 191_000)]
    pub(crate) demo_learners: u64,

    /// Exit after loading the demo and printing the report, instead of serving on.
    #[arg(long)]
    pub(crate) exit_after_demo: bool,
}

/// One running service.
struct Running {
    name: &'static str,
    addr: SocketAddr,
    child: Child,
}

pub(crate) async fn run(options: StackOptions) -> anyhow::Result<()> {
    let names = ["course", "learner", "reporting"];
    let addrs: Vec<SocketAddr> = (0..3u16)
        .map(|i| SocketAddr::from(([127, 0, 0, 1], options.base_port + i)))
        .collect();
    for (name, addr) in names.iter().zip(&addrs) {
        if TcpListener::bind(addr).is_err() {
            anyhow::bail!(
                "port {} for the {name} service is taken; stop what uses it or pass --base-port",
                addr.port()
            );
        }
    }
    std::fs::create_dir_all(&options.data_dir)?;
    let auth = crate::auth::LocalAuth::prepare(&options.data_dir)?;
    let endpoint = |i: usize| format!("http://{}", addrs[i]);
    let mut running: Vec<Running> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let started = start(name, addrs[i], &options, &auth, &endpoint(0), &endpoint(1)).await;
        match started {
            Ok(service) => running.push(service),
            Err(err) => {
                stop(&mut running).await;
                return Err(err);
            }
        }
    }
    println!(
        "academy-stack: course {}, learner {}, reporting {} (data in {})",
        addrs[0],
        addrs[1],
        addrs[2],
        options.data_dir.display()
    );
    println!(
        "academy-stack: development token (all scopes, 12 h) in {}; e.g.\n  \
         grpcurl -plaintext -H \"authorization: Bearer $(cat {})\" {} list academy.course.v1.CourseService",
        auth.token_file.display(),
        auth.token_file.display(),
        addrs[0]
    );

    let outcome = tokio::select! {
        result = async {
            if options.demo {
                let bearer = academyctl::client::Bearer::new(Some(&auth.token))?;
                let expected = crate::demo::load(
                    &endpoint(0),
                    &endpoint(1),
                    &endpoint(2),
                    options.demo_learners,
                    &bearer,
                )
                .await?;
                crate::report::print(&endpoint(2), &bearer, &auth.token_file).await?;
                check_demo(&endpoint(2), &bearer, &expected, &options).await?;
            }
            if options.exit_after_demo {
                return Ok(());
            }
            println!("academy-stack: serving; Ctrl-C stops all three services");
            wait_for_exit(&mut running).await
        } => result,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    stop(&mut running).await;
    outcome
}

/// Compares the report with the generated data and keeps the expected
/// figures beside the databases (`demo-expected.json`) for anyone to audit.
async fn check_demo(
    reporting: &str,
    bearer: &academyctl::client::Bearer,
    expected: &crate::demo::tally::Expected,
    options: &StackOptions,
) -> anyhow::Result<()> {
    std::fs::write(
        options.data_dir.join("demo-expected.json"),
        serde_json::to_vec_pretty(expected)?,
    )?;
    let differences = crate::demo::check::differences(reporting, bearer, expected).await?;
    if differences.is_empty() {
        println!(
            "\nreport check: the {} summary and all regional rows (the 14 regions and unknown) equal the generated data",
            expected.half
        );
        return Ok(());
    }
    for difference in &differences {
        eprintln!("report check: {difference}");
    }
    anyhow::bail!(
        "the report differs from the generated data in {} places",
        differences.len()
    )
}

async fn start(
    name: &'static str,
    addr: SocketAddr,
    options: &StackOptions,
    auth: &crate::auth::LocalAuth,
    course: &str,
    learner: &str,
) -> anyhow::Result<Running> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg(name)
        .env("ACADEMY_LISTEN", addr.to_string())
        .env("ACADEMY_DATA_DIR", &options.data_dir)
        .env("ACADEMY_COURSE_ENDPOINT", course)
        .env("ACADEMY_LEARNER_ENDPOINT", learner)
        .env("ACADEMY_AUTH_HS256_SECRET", auth.secret.expose())
        // The development token is minted for the default issuer and
        // audience with this key alone: settings from the shell must not
        // make the services expect anything else.
        .env_remove("ACADEMY_AUTH_DISABLED")
        .env_remove("ACADEMY_AUTH_TOKEN_FILE")
        .env_remove("ACADEMY_AUTH_JWKS_FILE")
        .env_remove("ACADEMY_AUTH_ISSUER")
        .env_remove("ACADEMY_AUTH_AUDIENCE")
        // The stack talks plaintext to its children, and three children
        // cannot share one health port.
        .env_remove("ACADEMY_TLS_CERT_FILE")
        .env_remove("ACADEMY_TLS_KEY_FILE")
        .env_remove("ACADEMY_TLS_CLIENT_CA_FILE")
        .env_remove("ACADEMY_HEALTH_LISTEN")
        .env("ACADEMY_LOG_FORMAT", "pretty")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    for stream in [
        child
            .stdout
            .take()
            .map(Box::new)
            .map(|s| s as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                println!("[{name:>9}] {line}");
            }
        });
    }
    let mut service = Running { name, addr, child };
    wait_until_serving(&mut service).await?;
    Ok(service)
}

async fn wait_until_serving(service: &mut Running) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Some(status) = service.child.try_wait()? {
            anyhow::bail!(
                "the {} service exited during start-up ({status})",
                service.name
            );
        }
        if let Ok(channel) = Channel::from_shared(format!("http://{}", service.addr))?
            .connect()
            .await
        {
            let reply = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await;
            if reply.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "the {} service did not become SERVING within 30 s",
        service.name
    )
}

/// Returns when any service exits on its own: the stack is broken then.
async fn wait_for_exit(running: &mut [Running]) -> anyhow::Result<()> {
    loop {
        for service in running.iter_mut() {
            if let Some(status) = service.child.try_wait()? {
                anyhow::bail!(
                    "the {} service exited unexpectedly ({status})",
                    service.name
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// SIGTERM to every service (newest first), then wait for each to drain.
async fn stop(running: &mut Vec<Running>) {
    for service in running.iter().rev() {
        if let Some(pid) = service.child.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
        }
    }
    while let Some(mut service) = running.pop() {
        let exited: Option<ExitStatus> =
            tokio::time::timeout(Duration::from_secs(25), service.child.wait())
                .await
                .ok()
                .and_then(Result::ok);
        match exited {
            Some(status) => println!("academy-stack: {} stopped ({status})", service.name),
            None => {
                let _ = service.child.kill().await;
                println!(
                    "academy-stack: {} did not stop in time and was killed",
                    service.name
                );
            }
        }
    }
}
