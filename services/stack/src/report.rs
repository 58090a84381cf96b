//! Prints the latest semi-annual report of the demo program (summary, top
//! regions, top skills) and the grpcurl commands to explore further.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{Dimension, Period};
use academyctl::client::{Bearer, connect};
use academyctl::report;

use crate::demo::reported_half;

pub(crate) async fn print(
    reporting: &str,
    bearer: &Bearer,
    token_file: &std::path::Path,
) -> anyhow::Result<()> {
    let mut client = ReportingServiceClient::new(connect(reporting, bearer).await?);
    let (half, _, _) = reported_half();
    let period = || Period {
        half: half.clone(),
        ..Default::default()
    };
    println!("\nAcademy national program, {half}");
    report::print_summary(&mut client, "", period()).await?;
    for (heading, dimension) in [
        ("Top regions", Dimension::Region),
        ("Top skills", Dimension::Skill),
    ] {
        println!("\n{heading}");
        report::print_breakdown(&mut client, "", period(), dimension, 5).await?;
    }
    let addr = reporting.trim_start_matches("http://");
    let auth = "-H \"authorization: Bearer $ACADEMY_TOKEN\"";
    println!("\nExplore further (with the development token):");
    println!("  export ACADEMY_TOKEN=$(cat {})", token_file.display());
    // Reflection takes any valid token.
    println!("  grpcurl -plaintext {auth} {addr} list");
    println!(
        "  grpcurl -plaintext {auth} -d '{{\"period\": {{\"half\": \"{half}\"}}}}' {addr} academy.reporting.v1.ReportingService/GetProgramSummary"
    );
    println!(
        "  grpcurl -plaintext {auth} -d '{{\"period\": {{\"half\": \"{half}\"}}, \"dimension\": \"DIMENSION_AGE_BAND\"}}' {addr} academy.reporting.v1.ReportingService/GetBreakdown"
    );
    println!(
        "  grpcurl -plaintext {auth} -d '{{}}' {addr} academy.reporting.v1.ReportingService/GetFeedStatus"
    );
    println!(
        "  cargo run --release -q -p academyctl -- --reporting-endpoint {reporting} report breakdown --half {half} --dimension age-band"
    );
    Ok(())
}
