//! Prints the latest semi-annual report of the demo program as tables.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{Dimension, GetBreakdownRequest, GetProgramSummaryRequest, Period};
use tonic::transport::Channel;

use crate::demo::{FIRST_YEAR, YEARS};

pub(crate) async fn print(reporting: &str) -> anyhow::Result<()> {
    let mut client = ReportingServiceClient::new(
        Channel::from_shared(reporting.to_owned())?
            .connect()
            .await?,
    );
    let half = format!("{}-H2", FIRST_YEAR + YEARS - 1);
    let period = || {
        Some(Period {
            half: half.clone(),
            ..Default::default()
        })
    };
    let s = client
        .get_program_summary(GetProgramSummaryRequest {
            program_id: String::new(),
            period: period(),
        })
        .await?
        .into_inner();
    let previous = s.previous_period.unwrap_or_default();
    println!("\nAcademy national program, {half} (previous half in brackets)");
    println!(
        "  {:<22}{:>12}  ({})",
        "registered learners", s.registered_learners, previous.registered_learners
    );
    println!(
        "  {:<22}{:>12}  ({})",
        "new learners", s.new_learners, previous.new_learners
    );
    println!(
        "  {:<22}{:>12}  ({})",
        "active learners", s.active_learners, previous.active_learners
    );
    println!(
        "  {:<22}{:>12}  ({})",
        "enrollments", s.enrollments, previous.enrollments
    );
    println!(
        "  {:<22}{:>12}  ({})",
        "completions", s.completions, previous.completions
    );
    println!(
        "  {:<22}{:>11.1}%  ({:.1}%)",
        "completion rate",
        s.completion_rate * 100.0,
        previous.completion_rate * 100.0
    );
    println!(
        "  {:<22}{:>12}  ({})",
        "certificates issued", s.certificates_issued, previous.certificates_issued
    );
    println!(
        "  {:<22}{:>12.0}  ({:.0})",
        "learning hours", s.learning_hours, previous.learning_hours
    );
    println!("  {:<22}{:>11.1}%", "growth", s.growth_rate * 100.0);
    for (title, dimension) in [
        ("Top regions", Dimension::Region),
        ("Top skills", Dimension::Skill),
    ] {
        let rows = client
            .get_breakdown(GetBreakdownRequest {
                program_id: String::new(),
                period: period(),
                dimension: dimension as i32,
                limit: 5,
            })
            .await?
            .into_inner()
            .rows;
        println!(
            "\n  {title:<24}{:>10}{:>13}{:>13}{:>10}",
            "new", "enrollments", "completions", "hours"
        );
        for r in rows {
            println!(
                "  {:<24}{:>10}{:>13}{:>13}{:>10.0}",
                r.label, r.new_learners, r.enrollments, r.completions, r.learning_hours
            );
        }
    }
    let addr = reporting.trim_start_matches("http://");
    println!("\nExplore further:");
    println!("  grpcurl -plaintext {addr} list");
    println!(
        "  grpcurl -plaintext -d '{{\"period\": {{\"half\": \"{half}\"}}}}' {addr} academy.reporting.v1.ReportingService/GetProgramSummary"
    );
    println!(
        "  grpcurl -plaintext -d '{{\"period\": {{\"half\": \"{half}\"}}, \"dimension\": \"DIMENSION_AGE_BAND\"}}' {addr} academy.reporting.v1.ReportingService/GetBreakdown"
    );
    println!(
        "  grpcurl -plaintext -d '{{}}' {addr} academy.reporting.v1.ReportingService/GetFeedStatus"
    );
    Ok(())
}
