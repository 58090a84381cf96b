//! The figures a document shows: a published snapshot as frozen, or the
//! same reports asked for live.

use academy_proto::reporting::{
    Dimension, FeedPosition, GetFeedStatusRequest, GetFunnelRequest, GetPublishedReportRequest,
    GetTimeSeriesRequest, Granularity, Metric, MetricSeries, Period, PublishedContent,
};

use super::Document;
use crate::client::CallContext;
use crate::report::{self, Reporting};

/// A published snapshot.
pub async fn snapshot(client: &mut Reporting, id: &str) -> anyhow::Result<Document> {
    let report = client
        .get_published_report(GetPublishedReportRequest { id: id.to_owned() })
        .await
        .during("GetPublishedReport")?;
    Ok(Document {
        content: report.content.unwrap_or_default(),
        snapshot_id: report.id,
        digest: report.digest,
    })
}

/// The live figures of `period`: what the document needs of a snapshot.
pub async fn live(
    client: &mut Reporting,
    program_id: &str,
    period: Period,
) -> anyhow::Result<Document> {
    let summary = report::summary(client, program_id, period.clone()).await?;
    let mut breakdowns = Vec::new();
    for dimension in [
        Dimension::Region,
        Dimension::Gender,
        Dimension::Course,
        Dimension::Skill,
    ] {
        breakdowns.push(report::breakdown(client, program_id, period.clone(), dimension, 0).await?);
    }
    let funnel = client
        .get_funnel(GetFunnelRequest {
            program_id: program_id.to_owned(),
            period: Some(period.clone()),
        })
        .await
        .during("GetFunnel")?;
    let points = client
        .get_time_series(GetTimeSeriesRequest {
            program_id: program_id.to_owned(),
            metric: Metric::RegisteredLearners as i32,
            granularity: Granularity::Month as i32,
            start_date: summary.start_date,
            end_date: summary.end_date,
        })
        .await
        .during("GetTimeSeries")?
        .points;
    let status = client
        .get_feed_status(GetFeedStatusRequest {})
        .await
        .during("GetFeedStatus")?;
    Ok(Document {
        content: PublishedContent {
            start_date: summary.start_date,
            end_date: summary.end_date,
            program_id: program_id.to_owned(),
            half: period.half.clone(),
            positions: status
                .sources
                .iter()
                .map(|s| FeedPosition {
                    service: s.service.clone(),
                    sequence: s.applied_sequence,
                })
                .collect(),
            summary: Some(summary),
            breakdowns,
            funnel: Some(funnel),
            series: vec![MetricSeries {
                metric: Metric::RegisteredLearners as i32,
                points,
            }],
            ..Default::default()
        },
        snapshot_id: String::new(),
        digest: String::new(),
    })
}
