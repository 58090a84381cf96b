//! The headline figures of a period (definitions in ARCHITECTURE.md).

use academy_domain::Period;
use sea_orm::{DatabaseConnection, DbErr};

use super::{Scope, count, range, rate};

/// Every headline figure of one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub registered_learners: i64,
    pub new_learners: i64,
    pub active_learners: i64,
    pub enrollments: i64,
    pub completions: i64,
    pub completion_rate: f64,
    pub certificates_issued: i64,
    pub learning_minutes: i64,
}

impl Figures {
    pub fn learning_hours(&self) -> f64 {
        self.learning_minutes as f64 / 60.0
    }
}

pub async fn figures(
    db: &DatabaseConnection,
    scope: &Scope,
    period: &Period,
) -> Result<Figures, DbErr> {
    let end = || vec![sea_orm::Value::from(period.end)];
    let (members, day) = match scope.program_id {
        Some(_) => ("r_program_members", "first_day"),
        None => ("r_learners", "register_day"),
    };
    let mut v = end();
    let f = scope.filter("program_id", &mut v);
    let registered = count(
        db,
        &format!("SELECT COUNT(*) AS n FROM {members} WHERE {day} <= ?{f}"),
        v,
    )
    .await?;
    let mut v = range(period);
    let f = scope.filter("program_id", &mut v);
    let new = count(
        db,
        &format!("SELECT COUNT(*) AS n FROM {members} WHERE {day} BETWEEN ? AND ?{f}"),
        v,
    )
    .await?;

    let mut v = range(period);
    let f = scope.filter("program_id", &mut v);
    let active = count(
        db,
        &format!(
            "SELECT COUNT(DISTINCT learner_id) AS n FROM r_activity WHERE day BETWEEN ? AND ?{f}"
        ),
        v,
    )
    .await?;
    let mut v = range(period);
    let f = scope.filter("program_id", &mut v);
    let minutes = count(
        db,
        &format!("SELECT CAST(COALESCE(SUM(minutes), 0) AS BIGINT) AS n FROM r_activity WHERE day BETWEEN ? AND ?{f}"),
        v,
    )
    .await?;

    let enrollment_count = |column: &'static str| {
        let mut v = range(period);
        let f = scope.filter("program_id", &mut v);
        let sql =
            format!("SELECT COUNT(*) AS n FROM r_enrollments WHERE {column} BETWEEN ? AND ?{f}");
        async move { count(db, &sql, v).await }
    };
    let enrollments = enrollment_count("enroll_day").await?;
    let completions = enrollment_count("complete_day").await?;
    let certificates = enrollment_count("certificate_day").await?;
    let mut v = range(period);
    v.push(sea_orm::Value::from(period.end));
    let f = scope.filter("program_id", &mut v);
    let completed_of_created = count(
        db,
        &format!("SELECT COUNT(*) AS n FROM r_enrollments WHERE enroll_day BETWEEN ? AND ? AND complete_day <= ?{f}"),
        v,
    )
    .await?;

    Ok(Figures {
        registered_learners: registered,
        new_learners: new,
        active_learners: active,
        enrollments,
        completions,
        completion_rate: rate(completed_of_created, enrollments),
        certificates_issued: certificates,
        learning_minutes: minutes,
    })
}

/// `current / previous - 1`, 0 when there was nothing before.
pub fn growth_rate(current: i64, previous: i64) -> f64 {
    if previous == 0 {
        0.0
    } else {
        current as f64 / previous as f64 - 1.0
    }
}
