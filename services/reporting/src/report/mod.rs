//! Reports: indexed range aggregates over the projections. Each query is
//! written once with `?` placeholders and an optional program filter.

pub mod breakdown;
pub mod funnel;
pub mod series;
pub mod summary;

use academy_domain::{DomainError, Period};
use academy_runtime::db::db_error;
use academy_runtime::feed::outbox::placeholders;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, Value};
use std::collections::HashMap;

/// Whose figures: the whole platform, or one program's.
#[derive(Debug, Clone)]
pub struct Scope {
    pub program_id: Option<String>,
}

impl Scope {
    /// `program_id` must name a program the course feed told us about.
    pub async fn resolve(
        db: &DatabaseConnection,
        program_id: Option<String>,
    ) -> Result<Self, DomainError> {
        if let Some(id) = &program_id {
            let known = count(
                db,
                "SELECT COUNT(*) AS n FROM r_programs WHERE program_id = ?",
                vec![Value::from(id.as_str())],
            )
            .await
            .map_err(db_error)?;
            if known == 0 {
                return Err(DomainError::not_found("program", id));
            }
        }
        Ok(Self { program_id })
    }

    /// ` AND <column> = ?` with its value when a program is set.
    fn filter(&self, column: &str, values: &mut Vec<Value>) -> String {
        match &self.program_id {
            Some(id) => {
                values.push(Value::from(id.as_str()));
                format!(" AND {column} = ?")
            }
            None => String::new(),
        }
    }
}

/// Values for `BETWEEN ? AND ?`.
fn range(period: &Period) -> Vec<Value> {
    vec![Value::from(period.start), Value::from(period.end)]
}

/// A query returning one integer column `n`.
async fn count<C: ConnectionTrait>(db: &C, sql: &str, values: Vec<Value>) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, sql),
            values,
        ))
        .await?;
    match row {
        Some(row) => row.try_get("", "n"),
        None => Ok(0),
    }
}

/// A query returning `k` (text) and `n` (integer) per group.
async fn grouped<C: ConnectionTrait>(
    db: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<HashMap<String, i64>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            placeholders(backend, sql),
            values,
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "k")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

/// `part / whole`, 0 when there is nothing to divide.
pub fn rate(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
