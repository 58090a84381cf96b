//! `academyctl`: reports, CSV exports, CSV learner imports, duplicate
//! learners and feed status for operators, over the public gRPC API.
//!
//! Exit status: 0 on success, 1 on an error, 3 when an import finished but
//! rejected rows (listed with their line numbers).

use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::invitation_service_client::InvitationServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{Dimension, ExportReportRequest, Granularity, Metric, ReportKind};
use academy_runtime::tls::TlsConfig;
use academyctl::client::{Bearer, connect_tls};
use academyctl::period::PeriodArgs;
use academyctl::{export, feed, import, learners, render, report};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(version, about = "Operate Academy over its gRPC API")]
struct Cli {
    /// The learner service.
    #[arg(
        long,
        global = true,
        env = "ACADEMY_LEARNER_ENDPOINT",
        default_value = "http://127.0.0.1:50052"
    )]
    learner_endpoint: String,

    /// The reporting service.
    #[arg(
        long,
        global = true,
        env = "ACADEMY_REPORTING_ENDPOINT",
        default_value = "http://127.0.0.1:50053"
    )]
    reporting_endpoint: String,

    /// Bearer token sent with every call.
    #[arg(long, global = true, env = "ACADEMY_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// CA that signs the services' certificates (for https:// endpoints).
    #[arg(long, global = true, env = "ACADEMY_TLS_CA_FILE")]
    tls_ca: Option<PathBuf>,

    /// Client certificate, for services that require one (mutual TLS).
    #[arg(
        long,
        global = true,
        env = "ACADEMY_TLS_CERT_FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,

    /// The client certificate's private key.
    #[arg(
        long,
        global = true,
        env = "ACADEMY_TLS_KEY_FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Program reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Bulk imports.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The reporting service's change feeds.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Prints a development token signed with ACADEMY_AUTH_HS256_SECRET.
    Token(TokenArgs),
    /// Learners registered twice: find and merge them.
    #[command(subcommand)]
    Learners(LearnersCommand),
}

#[derive(Debug, Subcommand)]
enum LearnersCommand {
    /// Groups of learners that are probably one person, with score and reasons.
    Duplicates {
        /// Groups per page.
        #[arg(long, default_value_t = 20)]
        limit: i32,
        /// The next page, as printed after the previous one.
        #[arg(long, default_value = "")]
        page_token: String,
    },
    /// Merges DUPLICATE into SURVIVOR: its enrollments, progress,
    /// certificates and earned skills move; it becomes MERGED.
    Merge {
        survivor: String,
        duplicate: String,
        /// Only show what would move; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Idempotency key (default: built from the two ids, so repeating
        /// the same merge is safe).
        #[arg(long)]
        request_id: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    /// The key the services verify tokens with.
    #[arg(long, env = "ACADEMY_AUTH_HS256_SECRET", hide_env_values = true)]
    secret: academy_runtime::auth::Secret,
    #[arg(long, env = "ACADEMY_AUTH_ISSUER", default_value = "academy")]
    issuer: String,
    #[arg(long, env = "ACADEMY_AUTH_AUDIENCE", default_value = "academy")]
    audience: String,
    /// Who the token speaks for (recorded in audit logs).
    #[arg(long, default_value = "developer")]
    subject: String,
    /// Space- or comma-separated scopes, or "all".
    #[arg(long, default_value = "all")]
    scopes: String,
    /// Hours until the token expires (at most 24: the services refuse longer).
    #[arg(long, default_value_t = 12)]
    ttl_hours: u64,
    /// Limit the token to this program (its `programs` claim); repeatable.
    #[arg(long = "program")]
    programs: Vec<String>,
    /// Limit the token to learners of this region (its `regions` claim);
    /// repeatable.
    #[arg(long = "region")]
    regions: Vec<String>,
    /// Limit the token to learners of this organisation (its
    /// `organizations` claim); repeatable.
    #[arg(long = "organization")]
    organizations: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    /// Headline figures of a period, with the previous period.
    Summary {
        #[command(flatten)]
        scope: Scope,
    },
    /// Figures split by a dimension.
    Breakdown {
        #[command(flatten)]
        scope: Scope,
        /// region, gender, age-band, employment-status, organization, course or skill.
        #[arg(long, value_parser = parse_dimension)]
        dimension: Dimension,
        /// At most this many rows (0: all).
        #[arg(long, default_value_t = 0)]
        limit: i32,
    },
    /// Writes a report as CSV to a file.
    Export {
        #[command(flatten)]
        scope: Scope,
        /// summary, breakdown, time-series, funnel or cross-tab.
        #[arg(long, value_parser = parse_kind)]
        kind: ReportKind,
        /// For breakdown and cross-tab: what to split by (a cross-tab's rows).
        #[arg(long, value_parser = parse_dimension)]
        dimension: Option<Dimension>,
        /// For cross-tab: the second dimension (its columns).
        #[arg(long, value_parser = parse_dimension)]
        second_dimension: Option<Dimension>,
        /// For time-series: day, week or month.
        #[arg(long, value_parser = parse_granularity)]
        granularity: Option<Granularity>,
        /// For time-series: e.g. enrollments, new-learners, learning-hours.
        #[arg(long, value_parser = parse_metric)]
        metric: Option<Metric>,
        /// The CSV file to write ("-" for standard output).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Writes the sponsor's document: one self-contained, printable HTML
    /// file with charts, for a period's live figures or a published
    /// snapshot.
    Render {
        #[command(flatten)]
        scope: Scope,
        /// A published snapshot's id: its frozen figures, period and
        /// program (the period and program options are then ignored).
        #[arg(long)]
        snapshot: Option<String>,
        /// The HTML file to write.
        #[arg(long, short)]
        output: PathBuf,
    },
}

/// Which program and period a report covers.
#[derive(Debug, clap::Args)]
struct Scope {
    /// Only this program (default: the whole platform).
    #[arg(long, default_value = "")]
    program: String,
    #[command(flatten)]
    period: PeriodArgs,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Registers learners from a CSV file with a header line naming the
    /// columns: email, full_name, region (required), gender, birth_year,
    /// employment_status, external_id, organization, registered_at.
    Learners {
        file: PathBuf,
        /// Rows per ImportLearners stream (the service itemises up to 1000
        /// rejected rows per stream, so every bad row gets its line).
        #[arg(long, default_value_t = 1000)]
        batch_rows: usize,
    },
    /// Loads a course provider's enrollment/usage report (Coursera-style
    /// columns: External Id, Course Slug, Enrollment Time, Last Course
    /// Activity Time, Overall Progress, Estimated Learning Hours, Completed,
    /// Completion Time, Course Grade) into a program: enrolls each learner
    /// and records the provider's progress. Importing the same file again
    /// changes nothing.
    Enrollments {
        file: PathBuf,
        /// Id of the program the enrollments count for.
        #[arg(long)]
        program: String,
        /// Where refused rows go (line, row, reason); default
        /// `<FILE>.errors.csv`.
        #[arg(long)]
        errors: Option<PathBuf>,
        /// Rows per BulkEnroll / BulkRecordProgress stream.
        #[arg(long, default_value_t = 1000)]
        batch_rows: usize,
    },
    /// Imports a provider's membership report (CSV with the columns Name,
    /// Email, External Id, Member State, Invitation Date, Join Date) into
    /// learners and invitations to one program; importing the same file
    /// again changes nothing.
    Members {
        file: PathBuf,
        /// The program the members were invited to.
        #[arg(long)]
        program: String,
        /// Where to write the rows that failed (line, row, reason);
        /// default `<FILE>.errors.csv`.
        #[arg(long)]
        errors: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum FeedCommand {
    /// Applied and head sequence, lag and health of each feed.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("academyctl: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("academyctl: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let bearer = Bearer::new(cli.token.as_deref())?;
    let tls = TlsConfig {
        tls_ca_file: cli.tls_ca.clone(),
        tls_cert_file: cli.tls_cert.clone(),
        tls_key_file: cli.tls_key.clone(),
        ..TlsConfig::default()
    };
    let reporting = || async {
        anyhow::Ok(ReportingServiceClient::new(
            connect_tls(&cli.reporting_endpoint, &bearer, &tls).await?,
        ))
    };
    match cli.command {
        Command::Report(ReportCommand::Summary { scope }) => {
            report::print_summary(
                &mut reporting().await?,
                &scope.program,
                scope.period.to_proto(),
            )
            .await?;
        }
        Command::Report(ReportCommand::Breakdown {
            scope,
            dimension,
            limit,
        }) => {
            report::print_breakdown(
                &mut reporting().await?,
                &scope.program,
                scope.period.to_proto(),
                dimension,
                limit,
            )
            .await?;
        }
        Command::Report(ReportCommand::Export {
            scope,
            kind,
            dimension,
            second_dimension,
            granularity,
            metric,
            output,
        }) => {
            let request = ExportReportRequest {
                program_id: scope.program,
                period: Some(scope.period.to_proto()),
                kind: kind as i32,
                dimension: dimension.unwrap_or_default() as i32,
                granularity: granularity.unwrap_or_default() as i32,
                metric: metric.unwrap_or_default() as i32,
                second_dimension: second_dimension.unwrap_or_default() as i32,
            };
            let bytes = export::export_csv(&mut reporting().await?, request, &output).await?;
            if output.as_os_str() != "-" {
                eprintln!("wrote {bytes} bytes to {}", output.display());
            }
        }
        Command::Report(ReportCommand::Render {
            scope,
            snapshot,
            output,
        }) => {
            let mut client = reporting().await?;
            let document = match snapshot {
                Some(id) => render::fetch::snapshot(&mut client, &id).await?,
                None => {
                    render::fetch::live(&mut client, &scope.program, scope.period.to_proto())
                        .await?
                }
            };
            let html = render::html(&document)?;
            std::fs::write(&output, &html)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
            eprintln!("wrote {} bytes to {}", html.len(), output.display());
        }
        Command::Import(ImportCommand::Learners { file, batch_rows }) => {
            let parsed = import::read(&file)?;
            let mut client =
                LearnerServiceClient::new(connect_tls(&cli.learner_endpoint, &bearer, &tls).await?);
            let outcome = import::send(&mut client, parsed, batch_rows).await?;
            println!(
                "{}: {} rows: {} created, {} duplicates, {} rejected",
                file.display(),
                outcome.rows,
                outcome.created,
                outcome.duplicates,
                outcome.rejected_count
            );
            for rejection in &outcome.rejected {
                println!("  line {}: {}", rejection.line, rejection.reason);
            }
            if outcome.rejected_count > 0 {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Import(ImportCommand::Enrollments {
            file,
            program,
            errors,
            batch_rows,
        }) => {
            use academyctl::provider::enrollments;
            let parsed = enrollments::read(&file, &program)?;
            let mut client = EnrollmentServiceClient::new(
                connect_tls(&cli.learner_endpoint, &bearer, &tls).await?,
            );
            let outcome = enrollments::send(&mut client, parsed, batch_rows).await?;
            let errors = errors.unwrap_or_else(|| enrollments::default_errors_path(&file));
            enrollments::write_errors(&errors, &outcome.rejected)?;
            println!(
                "{}: {} rows: {} enrolled, {} already enrolled, {} progress recorded, \
                 {} progress unchanged, {} rejected",
                file.display(),
                outcome.rows,
                outcome.enrolled,
                outcome.already_enrolled,
                outcome.progress_recorded,
                outcome.progress_unchanged,
                outcome.rejected.len()
            );
            if !outcome.rejected.is_empty() {
                println!("rejected rows are in {}", errors.display());
                return Ok(ExitCode::from(3));
            }
        }
        Command::Import(ImportCommand::Members {
            file,
            program,
            errors,
        }) => {
            use academyctl::provider::members;
            let (rows, refused) = members::read(&file)?;
            let channel = connect_tls(&cli.learner_endpoint, &bearer, &tls).await?;
            let mut learners = LearnerServiceClient::new(channel.clone());
            let mut invitations = InvitationServiceClient::new(channel);
            let clients = members::Clients {
                learners: &mut learners,
                invitations: &mut invitations,
            };
            let outcome = members::send(clients, &program, rows, refused).await?;
            let errors = errors.unwrap_or_else(|| members::default_errors_path(&file));
            members::write_errors(&errors, &outcome.errors)?;
            println!(
                "{}: {} rows: {} learners registered, {} invitations created, {} already there, \
                 {} joined, {} declined, {} unchanged, {} errors (in {})",
                file.display(),
                outcome.rows,
                outcome.learners_created,
                outcome.invitations_created,
                outcome.invitations_existing,
                outcome.joined,
                outcome.declined,
                outcome.unchanged,
                outcome.errors.len(),
                errors.display()
            );
            if !outcome.errors.is_empty() {
                return Ok(ExitCode::from(3));
            }
        }
        Command::Token(args) => println!("{}", token(&args)?),
        Command::Learners(command) => {
            let mut client =
                LearnerServiceClient::new(connect_tls(&cli.learner_endpoint, &bearer, &tls).await?);
            match command {
                LearnersCommand::Duplicates { limit, page_token } => {
                    learners::print_duplicates(&mut client, limit, &page_token).await?;
                }
                LearnersCommand::Merge {
                    survivor,
                    duplicate,
                    dry_run,
                    request_id,
                } => {
                    let text = learners::merge(
                        &mut client,
                        &survivor,
                        &duplicate,
                        request_id.as_deref(),
                        dry_run,
                    )
                    .await?;
                    print!("{text}");
                }
            }
        }
        Command::Feed(FeedCommand::Status) => {
            if !feed::print_status(&mut reporting().await?).await? {
                return Ok(ExitCode::from(4));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn token(args: &TokenArgs) -> anyhow::Result<String> {
    use academy_runtime::auth::scope;
    let scopes: Vec<&str> = if args.scopes.trim() == "all" {
        scope::ALL.to_vec()
    } else {
        let named: Vec<&str> = args
            .scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .collect();
        if let Some(unknown) = named.iter().find(|s| !scope::ALL.contains(s)) {
            anyhow::bail!(
                "unknown scope {unknown:?}; the scopes are {}",
                scope::ALL.join(", ")
            );
        }
        named
    };
    let max_hours = academy_runtime::auth::MAX_TOKEN_LIFETIME_SECS / 3600;
    if args.ttl_hours == 0 || i64::try_from(args.ttl_hours).map_or(true, |h| h > max_hours) {
        anyhow::bail!(
            "--ttl-hours must be 1 to {max_hours}: the services refuse longer-lived tokens"
        );
    }
    let claim = |values: &[String]| (!values.is_empty()).then(|| values.to_vec());
    let data = academy_runtime::auth::DataScope {
        programs: claim(&args.programs),
        regions: claim(&args.regions),
        organizations: claim(&args.organizations),
    };
    academy_runtime::auth::mint_limited(
        args.secret.expose(),
        &args.issuer,
        &args.audience,
        &args.subject,
        &scopes,
        &data,
        std::time::Duration::from_secs(args.ttl_hours.saturating_mul(3600)),
    )
}

/// `age-band`, `AGE_BAND` and `DIMENSION_AGE_BAND` name the same value.
fn proto_name(prefix: &str, text: &str) -> String {
    let upper = text.trim().to_ascii_uppercase().replace('-', "_");
    if upper.starts_with(prefix) {
        upper
    } else {
        format!("{prefix}{upper}")
    }
}

fn parse_dimension(text: &str) -> Result<Dimension, String> {
    Dimension::from_str_name(&proto_name("DIMENSION_", text))
        .filter(|d| *d != Dimension::Unspecified)
        .ok_or_else(|| {
            "expected region, gender, age-band, employment-status, organization, course or skill"
                .into()
        })
}

fn parse_kind(text: &str) -> Result<ReportKind, String> {
    ReportKind::from_str_name(&proto_name("REPORT_KIND_", text))
        .filter(|k| *k != ReportKind::Unspecified)
        .ok_or_else(|| "expected summary, breakdown, time-series, funnel or cross-tab".into())
}

fn parse_granularity(text: &str) -> Result<Granularity, String> {
    Granularity::from_str_name(&proto_name("GRANULARITY_", text))
        .filter(|g| *g != Granularity::Unspecified)
        .ok_or_else(|| "expected day, week or month".into())
}

fn parse_metric(text: &str) -> Result<Metric, String> {
    Metric::from_str_name(&proto_name("METRIC_", text))
        .filter(|m| *m != Metric::Unspecified)
        .ok_or_else(|| {
            "expected registered-learners, new-learners, active-learners, enrollments, \
             completions, certificates-issued or learning-hours"
                .into()
        })
}
