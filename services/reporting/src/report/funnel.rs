//! The learner funnel: of the learners new in the period, how many enrolled,
//! were active, completed and got a certificate, by the period's end.

use academy_domain::Period;
use sea_orm::{DatabaseConnection, DbErr, Value};

use super::{Scope, count, range};

pub const STAGES: [&str; 5] = ["registered", "enrolled", "active", "completed", "certified"];

pub async fn funnel(
    db: &DatabaseConnection,
    scope: &Scope,
    period: &Period,
) -> Result<Vec<(&'static str, i64)>, DbErr> {
    // The cohort: learners registered in the period (or, for a program,
    // whose first enrollment in it falls in the period).
    let mut cohort_values = range(period);
    let cohort = match &scope.program_id {
        Some(id) => {
            cohort_values.push(Value::from(id.as_str()));
            "SELECT learner_id FROM r_program_members WHERE first_day BETWEEN ? AND ? AND program_id = ?"
        }
        None => "SELECT learner_id FROM r_learners WHERE register_day BETWEEN ? AND ?",
    };
    let registered = count(
        db,
        &format!("SELECT COUNT(*) AS n FROM ({cohort}) c"),
        cohort_values.clone(),
    )
    .await?;
    let stage = |table: &str, alias: &str, column: &str| {
        let mut v = cohort_values.clone();
        v.push(Value::from(period.end));
        let f = scope.filter(&format!("{alias}.program_id"), &mut v);
        let sql = format!(
            "SELECT COUNT(DISTINCT {alias}.learner_id) AS n FROM {table} {alias} \
             WHERE {alias}.learner_id IN ({cohort}) AND {alias}.{column} <= ?{f}"
        );
        async move { count(db, &sql, v).await }
    };
    let enrolled = stage("r_enrollments", "e", "enroll_day").await?;
    let active = stage("r_activity", "a", "day").await?;
    let completed = stage("r_enrollments", "e", "complete_day").await?;
    let certified = stage("r_enrollments", "e", "certificate_day").await?;
    Ok(STAGES
        .into_iter()
        .zip([registered, enrolled, active, completed, certified])
        .collect())
}
