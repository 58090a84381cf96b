//! The reports on the bulk program: GetProgramSummary and
//! GetBreakdown(REGION) for a half-year, against the same figures computed
//! naively over the learner service's tables.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academyctl::client::{Bearer, connect};

use super::{Suite, settle};
use crate::bulk;
use crate::limits::naive::{self, HalfYear};
use crate::report::Row;
use crate::runner::{LoadSpec, Outcome, Stop};
use crate::scenarios::reports;

/// The bulk program's id (any UUID; it only has to match in both databases).
const PROGRAM_ID: &str = "0190f000-0000-7000-8000-00000000b0b0";

const REPORT_CONCURRENCY: [usize; 2] = [1, 4];

pub(crate) async fn run(suite: &mut Suite) -> anyhow::Result<()> {
    let course_db = suite.database("course_bulk");
    let learner_db = suite.database("learner_bulk");
    let reporting_db = suite.database("reporting_bulk");
    for db in [&course_db, &learner_db, &reporting_db] {
        suite.pg.fresh_database(db).await?;
    }
    suite
        .launcher
        .migrate("learner", &suite.pg.url(&learner_db))
        .await?;
    suite
        .launcher
        .migrate("reporting", &suite.pg.url(&reporting_db))
        .await?;
    let p = suite.params.clone();
    println!(
        "bench: bulk-loading {} learners × {} enrollments",
        p.bulk_learners, p.enrollments_per_learner
    );
    let loaded = bulk::load(
        &suite.pg,
        &learner_db,
        &reporting_db,
        p.bulk_learners,
        p.enrollments_per_learner,
        PROGRAM_ID,
    )
    .await?;
    suite.say(format!(
        "bulk loader: {} learners, {} enrollments written with generate_series in {:.1} s; projections copied from them in {:.1} s",
        p.bulk_learners,
        p.bulk_learners * p.enrollments_per_learner,
        loaded.source.as_secs_f64(),
        loaded.projections.as_secs_f64()
    ));

    // A learner service over the bulk tables (its feed is empty) and the
    // catalog, so the reporting service's followers are healthy and idle.
    let course = suite
        .start("course", "course-bulk", 0, &course_db, 1)
        .await?;
    let learner = suite
        .start("learner", "learner-bulk", 1, &learner_db, 1)
        .await?;
    let reporting = suite
        .start("reporting", "reporting-bulk", 2, &reporting_db, 1)
        .await?;
    let channel = connect(&reporting.endpoint, &Bearer::new(None)?).await?;
    let client = ReportingServiceClient::new(channel);
    let half = HalfYear::parse(p.half)?;

    let got = reports::summary_once(&mut client.clone(), PROGRAM_ID, p.half).await?;
    let differences = naive::check_summary(&suite.pg, &learner_db, PROGRAM_ID, &half, &got).await?;
    if differences.is_empty() {
        suite.say(format!(
            "check: GetProgramSummary for {} equals the naive SQL over the source tables ({} enrollments, {} new learners in the half)",
            p.half, got.enrollments, got.new_learners
        ));
    } else {
        // Figures over data that the projections do not match mean
        // nothing: the bulk loader and the report definitions have drifted.
        anyhow::bail!(
            "GetProgramSummary differs from the naive SQL over the source tables: {}",
            differences.join("; ")
        );
    }

    let naive_summary = naive::time(
        &suite.pg,
        &learner_db,
        "naive_summary.sql",
        PROGRAM_ID,
        &half,
        p.naive_runs,
    )
    .await?;
    let naive_breakdown = naive::time(
        &suite.pg,
        &learner_db,
        "naive_breakdown.sql",
        PROGRAM_ID,
        &half,
        p.naive_runs,
    )
    .await?;
    // Counted calls, not a window; the check call above warmed the caches.
    let spec = |concurrency: usize| LoadSpec {
        concurrency,
        warmup: std::time::Duration::ZERO,
        stop: Stop::Requests(p.report_calls.max(concurrency as u64)),
    };
    for c in REPORT_CONCURRENCY {
        settle().await;
        let outcome = reports::summary(client.clone(), PROGRAM_ID, p.half, spec(c)).await?;
        push_report(suite, "GetProgramSummary", &outcome, naive_summary.tps);
    }
    for c in REPORT_CONCURRENCY {
        settle().await;
        let outcome =
            reports::regional_breakdown(client.clone(), PROGRAM_ID, p.half, spec(c)).await?;
        push_report(suite, "GetBreakdown(REGION)", &outcome, naive_breakdown.tps);
    }
    suite.say(format!(
        "naive SQL (1 client, {} runs each): summary {:.0} ms, regional breakdown {:.0} ms per report",
        p.naive_runs, naive_summary.latency_ms, naive_breakdown.latency_ms
    ));
    suite.remember_memory(&reporting);
    reporting.stop().await?;
    learner.stop().await?;
    course.stop().await?;
    Ok(())
}

/// At one client the throughput ratio is the speed-up per report.
fn push_report(suite: &mut Suite, name: &str, outcome: &Outcome, naive_tps: f64) {
    let row = Row::from_outcome(name, outcome);
    if outcome.concurrency != 1 {
        suite.push(row);
        return;
    }
    let row = row.against("naive SQL, 1 client", naive_tps);
    let p99 = row.latency_ms.as_ref().map_or(f64::INFINITY, |l| l.p99);
    let met = p99 < 20.0 && row.ratio.is_some_and(|r| r >= 50.0);
    suite.push(row.target("p99 < 20 ms and ≥ 50× naive", met));
}
