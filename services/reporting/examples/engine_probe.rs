//! Loads the report model from a reporting database and times each report
//! in-process (no gRPC, no network): where a report's milliseconds go.
//!
//! `cargo run --release -p academy-reporting --example engine_probe -- <database url> [program id] [half]`

use academy_proto::reporting as pb;
use academy_reporting::engine::load;
use academy_reporting::rpc::reports;
use std::time::Instant;

fn period(half: &str) -> Option<pb::Period> {
    Some(pb::Period {
        half: half.to_owned(),
        ..Default::default()
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: engine_probe <database url> [program id] [half]"))?;
    let program = args.next().unwrap_or_default();
    let half = args.next().unwrap_or_else(|| "2025-H1".to_owned());
    let db = academy_runtime::db::connect(&url).await?;
    let started = Instant::now();
    let model = load::load(&db).await?;
    println!(
        "loaded {} learners, {} enrollments, {} progress rows in {:.1?}",
        model.learners.len(),
        model.enrollments.len(),
        model.activity.len(),
        started.elapsed()
    );
    let time = |name: &str, f: &dyn Fn() -> bool| {
        let runs = 50;
        let mut best = f64::MAX;
        let mut total = 0.0;
        for _ in 0..runs {
            let t = Instant::now();
            assert!(f(), "{name} failed");
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            best = best.min(ms);
            total += ms;
        }
        println!(
            "{name:<40} mean {:>8.3} ms  best {:>8.3} ms",
            total / runs as f64,
            best
        );
    };
    for scope in [program.clone(), String::new()] {
        println!("-- program {scope:?}");
        time("summary", &|| {
            reports::summary(
                &model,
                &pb::GetProgramSummaryRequest {
                    program_id: scope.clone(),
                    period: period(&half),
                },
                &academy_reporting::access::Access::unlimited(),
            )
            .is_ok()
        });
        for d in 1..=7 {
            let name = format!(
                "breakdown {:?}",
                pb::Dimension::try_from(d).unwrap_or_default()
            );
            time(&name, &|| {
                reports::breakdown(
                    &model,
                    &pb::GetBreakdownRequest {
                        program_id: scope.clone(),
                        period: period(&half),
                        dimension: d,
                        limit: 0,
                    },
                    &academy_reporting::access::Access::unlimited(),
                )
                .is_ok()
            });
        }
        for (rows, columns) in [
            (pb::Dimension::Gender, pb::Dimension::Region),
            (pb::Dimension::Course, pb::Dimension::Organization),
        ] {
            time(&format!("cross-tab {rows:?} x {columns:?}"), &|| {
                reports::crosstab(
                    &model,
                    &pb::GetCrossTabRequest {
                        program_id: scope.clone(),
                        period: period(&half),
                        row_dimension: rows as i32,
                        column_dimension: columns as i32,
                        limit: 0,
                    },
                    &academy_reporting::access::Access::unlimited(),
                )
                .is_ok()
            });
        }
        time("funnel", &|| {
            reports::funnel(
                &model,
                &pb::GetFunnelRequest {
                    program_id: scope.clone(),
                    period: period(&half),
                },
                &academy_reporting::access::Access::unlimited(),
            )
            .is_ok()
        });
        for metric in [pb::Metric::ActiveLearners, pb::Metric::Enrollments] {
            time(&format!("series {metric:?} month 2y"), &|| {
                reports::time_series(
                    &model,
                    &pb::GetTimeSeriesRequest {
                        program_id: scope.clone(),
                        metric: metric as i32,
                        granularity: pb::Granularity::Month as i32,
                        start_date: Some(academy_proto::google::r#type::Date {
                            year: 2023,
                            month: 7,
                            day: 1,
                        }),
                        end_date: Some(academy_proto::google::r#type::Date {
                            year: 2025,
                            month: 6,
                            day: 30,
                        }),
                    },
                    &academy_reporting::access::Access::unlimited(),
                )
                .is_ok()
            });
        }
    }
    Ok(())
}
