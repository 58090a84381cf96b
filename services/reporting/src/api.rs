//! The tonic face of the reporting service.

use academy_domain::{DomainError, Violations};
use academy_proto::reporting::reporting_service_server::{
    ReportingService, ReportingServiceServer,
};
use academy_proto::reporting::*;
use academy_runtime::db::db_error;
use academy_runtime::feed::FeedState;
use academy_runtime::respond;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::report::{Scope, breakdown, summary};

/// Largest breakdown answered.
const MAX_ROWS: usize = 1000;

/// `academy.reporting.v1.ReportingService`.
#[derive(Debug, Clone)]
pub struct ReportingApi {
    db: DatabaseConnection,
    feeds: Vec<watch::Receiver<FeedState>>,
}

impl ReportingApi {
    pub fn new(db: DatabaseConnection, feeds: Vec<watch::Receiver<FeedState>>) -> Self {
        Self { db, feeds }
    }

    pub fn into_server(self, max_message_bytes: usize) -> ReportingServiceServer<Self> {
        ReportingServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }

    async fn summary(&self, req: GetProgramSummaryRequest) -> Result<ProgramSummary, DomainError> {
        let mut v = Violations::new();
        let program_id = v.check(convert::program_id(&req.program_id)).flatten();
        let period = convert::period("period", req.period.as_ref());
        let period = match period {
            Ok(p) => Some(p),
            Err(DomainError::InvalidArgument { violations }) => {
                violations.into_iter().for_each(|x| v.push(x));
                None
            }
            Err(other) => return Err(other),
        };
        v.finish()?;
        let period =
            period.ok_or_else(|| DomainError::internal("period missing after validation"))?;
        let scope = Scope::resolve(&self.db, program_id).await?;
        let before = period.previous();
        let current = summary::figures(&self.db, &scope, &period)
            .await
            .map_err(db_error)?;
        let previous = summary::figures(&self.db, &scope, &before)
            .await
            .map_err(db_error)?;
        Ok(convert::summary(&current, &period, &previous, &before))
    }

    async fn breakdown(
        &self,
        req: GetBreakdownRequest,
    ) -> Result<GetBreakdownResponse, DomainError> {
        let mut v = Violations::new();
        let program_id = v.check(convert::program_id(&req.program_id)).flatten();
        let dimension = v.check(convert::dimension(req.dimension));
        let limit = v.check(academy_domain::text::in_range(
            "limit",
            req.limit,
            0,
            MAX_ROWS as i32,
        ));
        let period = match convert::period("period", req.period.as_ref()) {
            Ok(p) => Some(p),
            Err(DomainError::InvalidArgument { violations }) => {
                violations.into_iter().for_each(|x| v.push(x));
                None
            }
            Err(other) => return Err(other),
        };
        v.finish()?;
        let (Some(dimension), Some(limit), Some(period)) = (dimension, limit, period) else {
            return Err(DomainError::internal(
                "validation passed with a missing field",
            ));
        };
        let scope = Scope::resolve(&self.db, program_id).await?;
        let mut rows = breakdown::breakdown(&self.db, &scope, &period, dimension)
            .await
            .map_err(db_error)?;
        rows.sort_by(|a, b| {
            b.enrollments
                .cmp(&a.enrollments)
                .then_with(|| a.key.cmp(&b.key))
        });
        let limit = if limit == 0 { MAX_ROWS } else { limit as usize };
        rows.truncate(limit);
        Ok(GetBreakdownResponse {
            rows: rows.into_iter().map(convert::breakdown_row).collect(),
            dimension: req.dimension,
            start_date: Some(academy_runtime::time::date(period.start)),
            end_date: Some(academy_runtime::time::date(period.end)),
        })
    }

    fn feed_status(&self) -> GetFeedStatusResponse {
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
        }
    }
}

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn get_program_summary(
        &self,
        r: Request<GetProgramSummaryRequest>,
    ) -> Result<Response<ProgramSummary>, Status> {
        respond(self.summary(r.into_inner()).await)
    }

    async fn get_breakdown(
        &self,
        r: Request<GetBreakdownRequest>,
    ) -> Result<Response<GetBreakdownResponse>, Status> {
        respond(self.breakdown(r.into_inner()).await)
    }

    async fn get_time_series(
        &self,
        _r: Request<GetTimeSeriesRequest>,
    ) -> Result<Response<GetTimeSeriesResponse>, Status> {
        Err(Status::unimplemented(
            "GetTimeSeries is not implemented yet",
        ))
    }

    async fn get_funnel(
        &self,
        _r: Request<GetFunnelRequest>,
    ) -> Result<Response<GetFunnelResponse>, Status> {
        Err(Status::unimplemented("GetFunnel is not implemented yet"))
    }

    type ExportReportStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<ExportReportResponse, Status>> + Send>,
    >;

    async fn export_report(
        &self,
        _r: Request<ExportReportRequest>,
    ) -> Result<Response<Self::ExportReportStream>, Status> {
        Err(Status::unimplemented("ExportReport is not implemented yet"))
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
        Err(Status::unimplemented(
            "RebuildProjections is not implemented yet",
        ))
    }
}
