//! The tonic face of the reporting service: each RPC hands its request to
//! `rpc/reports.rs` (or `rpc/export.rs`, `rebuild.rs`, `publish/` for snapshots and
//! targets) and maps the result once.

use academy_proto::reporting::reporting_service_server::{
    ReportingService, ReportingServiceServer,
};
use academy_proto::reporting::*;
use academy_runtime::feed::FeedState;
use academy_runtime::{respond, to_status};
use std::pin::Pin;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::access::Access;
use crate::engine::Engine;
use crate::publish::Publisher;
use crate::rebuild::Rebuilder;
use crate::rpc::{export, reports};

/// `academy.reporting.v1.ReportingService`.
#[derive(Debug, Clone)]
pub struct ReportingApi {
    engine: Engine,
    feeds: Vec<watch::Receiver<FeedState>>,
    rebuilder: Rebuilder,
    publisher: Publisher,
    /// Smaller breakdown counts are withheld from callers without
    /// `reports.exact`.
    min_cell_size: i64,
}

impl ReportingApi {
    pub fn new(
        engine: Engine,
        feeds: Vec<watch::Receiver<FeedState>>,
        rebuilder: Rebuilder,
        publisher: Publisher,
    ) -> Self {
        Self {
            engine,
            feeds,
            rebuilder,
            publisher,
            min_cell_size: 5,
        }
    }

    /// Sets the minimum cell size (`ACADEMY_MIN_CELL_SIZE`).
    pub fn with_min_cell_size(mut self, min_cell_size: i64) -> Self {
        self.min_cell_size = min_cell_size;
        self
    }

    pub fn into_server(self, max_message_bytes: usize) -> ReportingServiceServer<Self> {
        ReportingServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    fn feed_status(&self) -> GetFeedStatusResponse {
        let leadership = self.rebuilder.leadership().borrow().clone();
        let generations = self.rebuilder.state().borrow().clone();
        GetFeedStatusResponse {
            sources: self
                .feeds
                .iter()
                .map(|feed| {
                    let s = feed.borrow();
                    FeedSource {
                        service: s.source.clone(),
                        applied_sequence: s.applied_sequence,
                        head_sequence: s.head_sequence,
                        lag_seconds: s.lag_seconds(),
                        healthy: s.connected && !s.stopped,
                        last_error: s.last_error.clone(),
                    }
                })
                .collect(),
            leader: leadership.holder.clone(),
            is_leader: leadership.leader,
            generation: generations.served,
            rebuilding: generations.requested > generations.served,
            replica: self.rebuilder.replica().to_owned(),
        }
    }
}

type CsvStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<ExportReportResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_program_summary(
        &self,
        r: Request<GetProgramSummaryRequest>,
    ) -> Result<Response<ProgramSummary>, Status> {
        let mut summary = {
            let model = self.engine.read().map_err(to_status)?;
            reports::summary(&model, r.get_ref(), &Access::of(&r, self.min_cell_size))
                .map_err(to_status)?
        };
        let targets = self
            .publisher
            .targets_for(
                &r.get_ref().program_id,
                summary.start_date.as_ref(),
                summary.end_date.as_ref(),
            )
            .await
            .map_err(to_status)?;
        // Share targets need their dimension's breakdown, as this caller
        // sees it (the model may have moved on since the figures above by
        // the events applied meanwhile).
        let dimensions = crate::publish::targets::share_dimensions(&targets);
        let bases = if dimensions.is_empty() {
            Vec::new()
        } else {
            let model = self.engine.read().map_err(to_status)?;
            let access = Access::of(&r, self.min_cell_size);
            let mut bases = Vec::new();
            for dimension in dimensions {
                let basis = reports::share_basis(
                    &model,
                    &GetBreakdownRequest {
                        program_id: r.get_ref().program_id.clone(),
                        period: r.get_ref().period.clone(),
                        dimension,
                        limit: 0,
                    },
                    &access,
                );
                match basis {
                    Ok(basis) => bases.push(basis),
                    // A breakdown this caller may not see (SKILL for a
                    // token limited to a slice): its share targets are left
                    // out rather than failing the summary.
                    Err(academy_domain::DomainError::PermissionDenied { .. }) => {}
                    Err(other) => return Err(to_status(other)),
                }
            }
            bases
        };
        crate::publish::targets::on_summary(&mut summary, &targets, &bases);
        Ok(Response::new(summary))
    }

    async fn get_breakdown(
        &self,
        r: Request<GetBreakdownRequest>,
    ) -> Result<Response<GetBreakdownResponse>, Status> {
        let (mut answer, total) = {
            let model = self.engine.read().map_err(to_status)?;
            reports::breakdown_with_total(&model, r.get_ref(), &Access::of(&r, self.min_cell_size))
                .map_err(to_status)?
        };
        let targets = self
            .publisher
            .targets_for(
                &r.get_ref().program_id,
                answer.start_date.as_ref(),
                answer.end_date.as_ref(),
            )
            .await
            .map_err(to_status)?;
        crate::publish::targets::on_breakdown(&mut answer, &targets, &total);
        Ok(Response::new(answer))
    }

    async fn get_time_series(
        &self,
        r: Request<GetTimeSeriesRequest>,
    ) -> Result<Response<GetTimeSeriesResponse>, Status> {
        let model = self.engine.read().map_err(to_status)?;
        respond(reports::time_series(
            &model,
            r.get_ref(),
            &Access::of(&r, self.min_cell_size),
        ))
    }

    async fn get_funnel(
        &self,
        r: Request<GetFunnelRequest>,
    ) -> Result<Response<GetFunnelResponse>, Status> {
        let model = self.engine.read().map_err(to_status)?;
        respond(reports::funnel(
            &model,
            r.get_ref(),
            &Access::of(&r, self.min_cell_size),
        ))
    }

    async fn get_cross_tab(
        &self,
        r: Request<GetCrossTabRequest>,
    ) -> Result<Response<GetCrossTabResponse>, Status> {
        let model = self.engine.read().map_err(to_status)?;
        respond(reports::crosstab(
            &model,
            r.get_ref(),
            &Access::of(&r, self.min_cell_size),
        ))
    }

    type ExportReportStream = CsvStream;

    async fn export_report(
        &self,
        r: Request<ExportReportRequest>,
    ) -> Result<Response<CsvStream>, Status> {
        // Answer the report first: a bad request is an error status, not a
        // half-written file.
        let rows = {
            let model = self.engine.read().map_err(to_status)?;
            export::rows(&model, r.get_ref(), &Access::of(&r, self.min_cell_size))
                .map_err(to_status)?
        };
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(export::send(rows, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_feed_status(
        &self,
        _r: Request<GetFeedStatusRequest>,
    ) -> Result<Response<GetFeedStatusResponse>, Status> {
        Ok(Response::new(self.feed_status()))
    }

    async fn rebuild_projections(
        &self,
        _r: Request<RebuildProjectionsRequest>,
    ) -> Result<Response<RebuildProjectionsResponse>, Status> {
        respond(
            self.rebuilder
                .request()
                .await
                .map(|generation| RebuildProjectionsResponse { generation }),
        )
    }

    async fn publish_report(
        &self,
        r: Request<PublishReportRequest>,
    ) -> Result<Response<PublishedReport>, Status> {
        Access::of(&r, self.min_cell_size)
            .whole_data_only("PublishReport")
            .map_err(to_status)?;
        respond(self.publisher.publish(r.get_ref()).await)
    }

    async fn get_published_report(
        &self,
        r: Request<GetPublishedReportRequest>,
    ) -> Result<Response<PublishedReport>, Status> {
        Access::of(&r, self.min_cell_size)
            .whole_data_only("GetPublishedReport")
            .map_err(to_status)?;
        respond(self.publisher.get(r.get_ref()).await)
    }

    async fn list_published_reports(
        &self,
        r: Request<ListPublishedReportsRequest>,
    ) -> Result<Response<ListPublishedReportsResponse>, Status> {
        Access::of(&r, self.min_cell_size)
            .whole_data_only("ListPublishedReports")
            .map_err(to_status)?;
        respond(self.publisher.list(r.get_ref()).await)
    }

    async fn compare_with_published(
        &self,
        r: Request<CompareWithPublishedRequest>,
    ) -> Result<Response<CompareWithPublishedResponse>, Status> {
        Access::of(&r, self.min_cell_size)
            .whole_data_only("CompareWithPublished")
            .map_err(to_status)?;
        respond(self.publisher.compare(r.get_ref()).await)
    }

    async fn set_target(&self, r: Request<SetTargetRequest>) -> Result<Response<Target>, Status> {
        Access::of(&r, self.min_cell_size)
            .whole_data_only("SetTarget")
            .map_err(to_status)?;
        respond(self.publisher.set_target(r.get_ref()).await)
    }

    async fn list_targets(
        &self,
        r: Request<ListTargetsRequest>,
    ) -> Result<Response<ListTargetsResponse>, Status> {
        Access::of(&r, self.min_cell_size)
            .whole_data_only("ListTargets")
            .map_err(to_status)?;
        respond(self.publisher.list_targets(r.get_ref()).await)
    }
}
