//! Building the model from the durable projection tables, in one read
//! snapshot together with the feed cursors, so the model starts exactly at
//! the positions the tables reflect. Tables are read in keyset pages: a
//! national-size table never sits in memory as rows.

use academy_runtime::db::sql::statement;
use chrono::NaiveDate;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, IsolationLevel, QueryResult,
    Statement, TransactionTrait, Value,
};

use super::enrollments::Milestone;
use super::learners::Attributes;
use super::model::{Model, stored_day};
use super::{NEVER, day_of};

const PAGE: usize = 50_000;

#[derive(Debug, Clone, Copy)]
enum KeyType {
    Text,
    Date,
}

/// Reads `table` in pages ordered by its primary key `key`.
async fn for_each_row<C: ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &str,
    key: &[(&str, KeyType)],
    mut f: impl FnMut(&QueryResult) -> Result<(), DbErr>,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        return for_each_row_by_cursor(db, table, columns, f).await;
    }
    let order = key.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let marks = vec!["?"; key.len()].join(", ");
    let mut after: Option<Vec<Value>> = None;
    loop {
        let filter = match after {
            Some(_) => format!(" WHERE ({order}) > ({marks})"),
            None => String::new(),
        };
        let sql = format!("SELECT {columns} FROM {table}{filter} ORDER BY {order} LIMIT {PAGE}");
        let rows = db
            .query_all_raw(statement(db, &sql, after.take().unwrap_or_default()))
            .await?;
        for row in &rows {
            f(row)?;
        }
        let Some(last) = rows.last() else {
            return Ok(());
        };
        if rows.len() < PAGE {
            return Ok(());
        }
        let mut values = Vec::with_capacity(key.len());
        for (column, kind) in key {
            values.push(match kind {
                KeyType::Text => Value::from(last.try_get::<String>("", column)?),
                KeyType::Date => Value::from(last.try_get::<NaiveDate>("", column)?),
            });
        }
        after = Some(values);
    }
}

/// PostgreSQL: a server-side cursor over a sequential scan, fetched in
/// pages inside the snapshot's transaction (no sort, no index walk).
async fn for_each_row_by_cursor<C: ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &str,
    mut f: impl FnMut(&QueryResult) -> Result<(), DbErr>,
) -> Result<(), DbErr> {
    // One cursor name per table: the driver caches a statement's columns
    // by its text, so each table's FETCH must read differently.
    let cursor = format!("load_{table}");
    db.execute_unprepared(&format!(
        "DECLARE {cursor} NO SCROLL CURSOR FOR SELECT {columns} FROM {table}"
    ))
    .await?;
    loop {
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                format!("FETCH FORWARD {PAGE} FROM {cursor}"),
            ))
            .await?;
        for row in &rows {
            f(row)?;
        }
        if rows.len() < PAGE {
            break;
        }
    }
    db.execute_unprepared(&format!("CLOSE {cursor}")).await?;
    Ok(())
}

/// The model as the projection tables hold it.
pub async fn load(db: &DatabaseConnection) -> Result<Model, DbErr> {
    let txn = match db.get_database_backend() {
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await?
        }
        // A SQLite read transaction is a snapshot already.
        _ => db.begin().await?,
    };
    let mut model = Model::default();
    for row in txn
        .query_all_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT source, applied_sequence FROM feed_cursors",
        ))
        .await?
    {
        let source: String = row.try_get("", "source")?;
        let sequence: i64 = row.try_get("", "applied_sequence")?;
        model.positions.insert(source, sequence);
    }
    if let Some(row) = txn
        .query_one_raw(Statement::from_string(
            txn.get_database_backend(),
            "SELECT current_generation FROM r_generation WHERE id = 1",
        ))
        .await?
    {
        model.generation = row.try_get("", "current_generation")?;
    }
    load_catalog(&txn, &mut model).await?;
    for_each_row(
        &txn,
        "r_learners",
        "learner_id, register_day, region, gender, birth_year, employment_status, organization, \
         education_level",
        &[("learner_id", KeyType::Text)],
        |row| {
            let id: String = row.try_get("", "learner_id")?;
            let day: NaiveDate = row.try_get("", "register_day")?;
            let (region, gender, employment, organization): (String, String, String, String) = (
                row.try_get("", "region")?,
                row.try_get("", "gender")?,
                row.try_get("", "employment_status")?,
                row.try_get("", "organization")?,
            );
            let education: String = row.try_get("", "education_level")?;
            let attributes = Attributes {
                education_level: &education,
                region: &region,
                gender: &gender,
                birth_year: row.try_get("", "birth_year")?,
                employment_status: &employment,
                organization: &organization,
            };
            model.register(&id, day_of(day), &attributes);
            Ok(())
        },
    )
    .await?;
    // Program membership is the earliest enrollment in the program, which
    // `enroll` derives as it goes: `r_program_members` holds the same days.
    for_each_row(
        &txn,
        "r_enrollments",
        "enrollment_id, learner_id, course_id, program_id, enroll_day, complete_day, certificate_day",
        &[("enrollment_id", KeyType::Text)],
        |row| {
            let id: String = row.try_get("", "enrollment_id")?;
            let learner: String = row.try_get("", "learner_id")?;
            let course: String = row.try_get("", "course_id")?;
            let program: String = row.try_get("", "program_id")?;
            let day: NaiveDate = row.try_get("", "enroll_day")?;
            let Some(e) = model.enroll(&id, &learner, &course, &program, day_of(day)) else {
                return Ok(());
            };
            for (column, milestone) in [
                ("complete_day", Milestone::Completed),
                ("certificate_day", Milestone::Certified),
            ] {
                let at = stored_day(row.try_get::<Option<NaiveDate>>("", column)?);
                if at != NEVER {
                    model.set_milestone(e, milestone, at);
                }
            }
            Ok(())
        },
    )
    .await?;
    for_each_row(
        &txn,
        "r_activity",
        "learner_id, program_id, course_id, day, minutes",
        &[
            ("learner_id", KeyType::Text),
            ("program_id", KeyType::Text),
            ("course_id", KeyType::Text),
            ("day", KeyType::Date),
        ],
        |row| {
            let learner: String = row.try_get("", "learner_id")?;
            let program: String = row.try_get("", "program_id")?;
            let course: String = row.try_get("", "course_id")?;
            let day: NaiveDate = row.try_get("", "day")?;
            let minutes: i64 = row.try_get("", "minutes")?;
            model.progress(&learner, &program, &course, day_of(day), minutes);
            Ok(())
        },
    )
    .await?;
    // After the learners: an invitation counts under its learner's
    // attributes (issue #17, item 4).
    for_each_row(
        &txn,
        "r_invitations",
        "invitation_id, program_id, learner_id, invite_day, join_day",
        &[("invitation_id", KeyType::Text)],
        |row| {
            let id: String = row.try_get("", "invitation_id")?;
            let program: String = row.try_get("", "program_id")?;
            let learner: String = row.try_get("", "learner_id")?;
            let invited: NaiveDate = row.try_get("", "invite_day")?;
            model.invite(&id, &program, &learner, day_of(invited));
            let joined = stored_day(row.try_get::<Option<NaiveDate>>("", "join_day")?);
            if joined != NEVER {
                model.join_invitation(&id, &learner, joined);
            }
            Ok(())
        },
    )
    .await?;
    txn.commit().await?;
    model.learners.shrink_to_fit();
    model.enrollments.shrink_to_fit();
    model.activity.shrink_to_fit();
    Ok(model)
}

async fn load_catalog<C: ConnectionTrait>(db: &C, model: &mut Model) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let all = |sql: &str| db.query_all_raw(Statement::from_string(backend, sql));
    for row in all("SELECT program_id, name FROM r_programs").await? {
        let (id, name): (String, String) =
            (row.try_get("", "program_id")?, row.try_get("", "name")?);
        model.catalog.program(&id, &name);
    }
    for row in all("SELECT skill_id, name FROM r_skills").await? {
        let (id, name): (String, String) = (row.try_get("", "skill_id")?, row.try_get("", "name")?);
        model.catalog.skill(&id, &name);
    }
    let mut skills: std::collections::HashMap<String, Vec<String>> = Default::default();
    for row in
        all("SELECT course_id, skill_id FROM r_course_skills ORDER BY course_id, skill_id").await?
    {
        let (course, skill): (String, String) =
            (row.try_get("", "course_id")?, row.try_get("", "skill_id")?);
        skills.entry(course).or_default().push(skill);
    }
    for row in all("SELECT course_id, code, title FROM r_courses").await? {
        let (id, code, title): (String, String, String) = (
            row.try_get("", "course_id")?,
            row.try_get("", "code")?,
            row.try_get("", "title")?,
        );
        let skill_ids = skills.remove(&id).unwrap_or_default();
        model.catalog.course(&id, &code, &title, &skill_ids);
    }
    Ok(())
}
