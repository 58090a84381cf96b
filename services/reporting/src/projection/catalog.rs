//! Catalog labels: course codes and titles, skill names, course skills.

use academy_proto::events::{CourseSnapshot, SkillCreated};
use academy_runtime::feed::ApplyError;
use sea_orm::{DatabaseTransaction, Value};

use super::exec;

pub(super) async fn skill(txn: &DatabaseTransaction, e: &SkillCreated) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_skills (skill_id, name) VALUES (?, ?) ON CONFLICT (skill_id) DO UPDATE SET name = excluded.name",
        vec![Value::from(e.skill_id.as_str()), Value::from(e.name.as_str())],
    )
    .await?;
    Ok(())
}

/// Any course event carries the course as it now is.
pub(super) async fn course(
    txn: &DatabaseTransaction,
    snapshot: Option<&CourseSnapshot>,
) -> Result<(), ApplyError> {
    let Some(c) = snapshot else { return Ok(()) };
    exec(
        txn,
        "INSERT INTO r_courses (course_id, code, title) VALUES (?, ?, ?) \
         ON CONFLICT (course_id) DO UPDATE SET code = excluded.code, title = excluded.title",
        vec![
            Value::from(c.course_id.as_str()),
            Value::from(c.code.as_str()),
            Value::from(c.title.as_str()),
        ],
    )
    .await?;
    exec(
        txn,
        "DELETE FROM r_course_skills WHERE course_id = ?",
        vec![Value::from(c.course_id.as_str())],
    )
    .await?;
    for skill_id in &c.skill_ids {
        exec(
            txn,
            "INSERT INTO r_course_skills (course_id, skill_id) VALUES (?, ?)",
            vec![
                Value::from(c.course_id.as_str()),
                Value::from(skill_id.as_str()),
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn program(
    txn: &DatabaseTransaction,
    program_id: &str,
    name: &str,
) -> Result<(), ApplyError> {
    exec(
        txn,
        "INSERT INTO r_programs (program_id, name) VALUES (?, ?) ON CONFLICT (program_id) DO UPDATE SET name = excluded.name",
        vec![Value::from(program_id), Value::from(name)],
    )
    .await?;
    Ok(())
}
