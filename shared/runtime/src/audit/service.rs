//! `academy.audit.v1.AuditService`: reads a service's audit log.

use academy_domain::page::PageRequest;
use academy_domain::{AllValid, DomainError, text};
use academy_proto::audit::audit_service_server::{AuditService as Api, AuditServiceServer};
use academy_proto::audit::{AuditEntry, ListAuditEntriesRequest, ListAuditEntriesResponse};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement, Value};
use tonic::{Request, Response, Status};

use crate::db::db_error;
use crate::db::sql::statement;
use crate::status::respond;
use crate::time::timestamp;

/// The scope each audit method needs.
pub const SCOPES: &[(&str, &str)] = &[("ListAuditEntries", crate::auth::scope::ADMIN)];

/// Longest actor or resource id a filter may name.
const MAX_FILTER_LEN: usize = 256;

/// Serves one service's audit log.
#[derive(Debug, Clone)]
pub struct AuditService {
    db: DatabaseConnection,
}

impl AuditService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub fn into_server(self) -> AuditServiceServer<Self> {
        AuditServiceServer::new(self)
    }

    async fn list(
        &self,
        req: ListAuditEntriesRequest,
    ) -> Result<ListAuditEntriesResponse, DomainError> {
        let query = Query::parse(&req)?;
        let rows = self
            .db
            .query_all_raw(query.statement(&self.db))
            .await
            .map_err(db_error)?;
        let entries = rows
            .iter()
            .map(entry)
            .collect::<Result<Vec<_>, _>>()
            .map_err(db_error)?;
        let (entries, next_page_token) = query.page.finish(entries, |e| e.id.to_string());
        Ok(ListAuditEntriesResponse {
            entries,
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl Api for AuditService {
    async fn list_audit_entries(
        &self,
        request: Request<ListAuditEntriesRequest>,
    ) -> Result<Response<ListAuditEntriesResponse>, Status> {
        respond(self.list(request.into_inner()).await)
    }
}

/// A validated ListAuditEntries request.
#[derive(Debug)]
struct Query {
    actor: String,
    resource_id: String,
    page: PageRequest,
    /// Entries older than this id (the previous page's last).
    before: Option<i64>,
}

impl Query {
    fn parse(req: &ListAuditEntriesRequest) -> Result<Self, DomainError> {
        let filters = format!("actor={:?};resource={:?}", req.actor, req.resource_id);
        let (actor, resource_id, page) = (
            text::optional("actor", &req.actor, MAX_FILTER_LEN),
            text::optional("resource_id", &req.resource_id, MAX_FILTER_LEN),
            PageRequest::parse(req.page_size, &req.page_token, &filters),
        )
            .all_valid()?;
        let before = page
            .after
            .as_deref()
            .map(|key| {
                key.parse::<i64>()
                    .map_err(|_| DomainError::invalid("page_token", "is not a valid page token"))
            })
            .transpose()?;
        Ok(Self {
            actor,
            resource_id,
            page,
            before,
        })
    }

    fn statement(&self, db: &impl sea_orm::ConnectionTrait) -> Statement {
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if !self.actor.is_empty() {
            conditions.push("actor = ?");
            values.push(self.actor.clone().into());
        }
        if !self.resource_id.is_empty() {
            conditions.push("resource_id = ?");
            values.push(self.resource_id.clone().into());
        }
        if let Some(before) = self.before {
            conditions.push("id < ?");
            values.push(before.into());
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        values.push((self.page.fetch_limit() as i64).into());
        let sql = format!(
            "SELECT id, record_time, actor, method, action, resource_id, change_count, \
             first_sequence, last_sequence FROM audit_log {filter} ORDER BY id DESC LIMIT ?"
        );
        statement(db, &sql, values)
    }
}

fn entry(row: &QueryResult) -> Result<AuditEntry, sea_orm::DbErr> {
    let record_time: DateTime<Utc> = row.try_get("", "record_time")?;
    Ok(AuditEntry {
        id: row.try_get("", "id")?,
        record_time: Some(timestamp(record_time)),
        actor: row.try_get("", "actor")?,
        method: row.try_get("", "method")?,
        action: row.try_get("", "action")?,
        resource_id: row.try_get("", "resource_id")?,
        change_count: row.try_get("", "change_count")?,
        first_sequence: row.try_get("", "first_sequence")?,
        last_sequence: row.try_get("", "last_sequence")?,
    })
}
