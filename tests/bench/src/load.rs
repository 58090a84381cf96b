//! `bench load`: one RPC against a server that is already running.

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academyctl::client::{Bearer, connect};
use std::sync::Arc;

use crate::cli::{Call, LoadArgs};
use crate::report::Row;
use crate::runner::{LoadSpec, Stop};
use crate::scenarios::reports::Report;
use crate::scenarios::{catalog::Catalog, reports, unary};
use academy_proto::reporting::{Dimension, Metric};

pub(crate) async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let bearer = Bearer::new(args.token.as_deref())?;
    let channel = connect(&args.endpoint, &bearer).await?;
    let spec = LoadSpec {
        concurrency: args.concurrency,
        warmup: args.warmup,
        stop: args
            .requests
            .map_or(Stop::After(args.duration), Stop::Requests),
    };
    let name = format!("{:?}", args.call);
    let outcome = match args.call {
        Call::Health => unary::health(channel, spec).await?,
        Call::GetLearner => {
            let ids = Arc::new(vec![args.id.clone()]);
            unary::get_learner(LearnerServiceClient::new(channel), ids, spec).await?
        }
        Call::GetCourse => {
            let catalog = Catalog {
                courses: vec![(args.id.clone(), Vec::new())],
            };
            unary::get_course(CourseServiceClient::new(channel), &catalog, spec).await?
        }
        Call::GetProgramSummary
        | Call::GetBreakdown
        | Call::GetFunnel
        | Call::GetTimeSeriesActive
        | Call::GetTimeSeriesEnrollments
        | Call::ExportReport => {
            let report = match args.call {
                Call::GetBreakdown => {
                    let name = format!("DIMENSION_{}", args.dimension.to_uppercase());
                    let Some(d) = Dimension::from_str_name(&name) else {
                        anyhow::bail!("unknown dimension {:?}", args.dimension);
                    };
                    Report::Breakdown(d)
                }
                Call::GetFunnel => Report::Funnel,
                Call::GetTimeSeriesActive => Report::TimeSeries(Metric::ActiveLearners),
                Call::GetTimeSeriesEnrollments => Report::TimeSeries(Metric::Enrollments),
                Call::ExportReport => Report::Export,
                _ => Report::Summary,
            };
            let client = ReportingServiceClient::new(channel);
            reports::run(client, report, &args.id, &args.half, spec).await?
        }
    };
    let row = Row::from_outcome(&name, &outcome);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&row)?);
    } else {
        let p = row.latency_ms.clone();
        println!(
            "{name}: c={} {:.0} req/s over {:.1} s, {} ok, errors {:?}",
            args.concurrency,
            row.throughput,
            outcome.elapsed.as_secs_f64(),
            row.calls,
            row.errors
        );
        if let Some(p) = p {
            println!(
                "latency ms: mean {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                p.mean, p.p50, p.p90, p.p99, p.p999, p.max
            );
        }
    }
    Ok(())
}
