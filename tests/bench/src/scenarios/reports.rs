//! The sponsor reports over the bulk-loaded program: GetProgramSummary and
//! GetBreakdown(REGION) for one half-year.

use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{
    Dimension, GetBreakdownRequest, GetProgramSummaryRequest, Period, ProgramSummary,
};
use academyctl::client::Authed;
use std::sync::Arc;

use crate::runner::{self, LoadSpec, Outcome};

fn period(half: &str) -> Option<Period> {
    Some(Period {
        half: half.to_owned(),
        ..Default::default()
    })
}

pub(crate) async fn summary_once(
    client: &mut ReportingServiceClient<Authed>,
    program_id: &str,
    half: &str,
) -> anyhow::Result<ProgramSummary> {
    Ok(client
        .get_program_summary(GetProgramSummaryRequest {
            program_id: program_id.to_owned(),
            period: period(half),
        })
        .await?
        .into_inner())
}

pub(crate) async fn summary(
    client: ReportingServiceClient<Authed>,
    program_id: &str,
    half: &str,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    let request = Arc::new(GetProgramSummaryRequest {
        program_id: program_id.to_owned(),
        period: period(half),
    });
    runner::run(spec, move |_| {
        let mut client = client.clone();
        let request = (*request).clone();
        async move { client.get_program_summary(request).await.map(drop) }
    })
    .await
}

pub(crate) async fn regional_breakdown(
    client: ReportingServiceClient<Authed>,
    program_id: &str,
    half: &str,
    spec: LoadSpec,
) -> anyhow::Result<Outcome> {
    let request = Arc::new(GetBreakdownRequest {
        program_id: program_id.to_owned(),
        period: period(half),
        dimension: Dimension::Region as i32,
        limit: 0,
    });
    runner::run(spec, move |_| {
        let mut client = client.clone();
        let request = (*request).clone();
        async move { client.get_breakdown(request).await.map(drop) }
    })
    .await
}
