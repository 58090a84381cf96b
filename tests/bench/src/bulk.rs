//! The bulk loader for the reporting scenario: a national-scale program
//! (1,000,000 learners, 5,000,000 enrollments at full scale) written
//! straight into the learner service's tables with `generate_series`
//! (`sql/bulk_source.sql`), then turned into reporting's projections by
//! streaming SELECTs over those tables into `COPY … FROM STDIN`.
//!
//! Why this is equivalent to loading through the API: each projection row
//! is what the feed would have produced from the same source rows (one
//! r_learners row per learner with its UTC registration day, one
//! r_enrollments row per enrollment with its enroll, completion and
//! certificate days, the first enrollment day per learner × program, and
//! progress minutes summed per learner × program × course × day), so the
//! reports read the same rows the follower would have written; the suite
//! checks the summary against the naive SQL over the source tables to prove
//! it. Through the bulk RPCs the same load would take hours on two cores.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;

use crate::pg::Pg;

/// The SQL files, beside this crate's sources.
pub(crate) fn sql_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sql")
}

/// One projection table and the SELECT over source tables that fills it.
struct Projection {
    table: &'static str,
    select: &'static str,
}

const PROJECTIONS: [Projection; 4] = [
    Projection {
        table: "r_learners (learner_id, register_day, region, gender, birth_year, employment_status, organization)",
        select: "SELECT id, register_time::date, region, gender, birth_year, employment_status, organization FROM learners",
    },
    Projection {
        table: "r_enrollments (enrollment_id, learner_id, course_id, program_id, enroll_day, complete_day, certificate_day)",
        select: "SELECT e.id, e.learner_id, e.course_id, COALESCE(e.program_id, ''), e.enroll_time::date, \
                 e.complete_time::date, c.issue_time::date \
                 FROM enrollments e LEFT JOIN certificates c ON c.enrollment_id = e.id",
    },
    Projection {
        table: "r_program_members (program_id, learner_id, first_day)",
        select: "SELECT program_id, learner_id, MIN(enroll_time)::date FROM enrollments \
                 WHERE COALESCE(program_id, '') <> '' GROUP BY program_id, learner_id",
    },
    Projection {
        table: "r_activity (learner_id, program_id, course_id, day, minutes)",
        select: "SELECT e.learner_id, COALESCE(e.program_id, ''), e.course_id, r.occurred_at::date, \
                 SUM(r.minutes_spent) FROM progress_records r JOIN enrollments e ON e.id = r.enrollment_id \
                 GROUP BY 1, 2, 3, 4",
    },
];

/// How long each half of the load took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Loaded {
    pub(crate) source: Duration,
    pub(crate) projections: Duration,
}

/// Fills `learner_db` (migrated, empty) with the program and copies its
/// projections into `reporting_db` (migrated, empty).
pub(crate) async fn load(
    pg: &Pg,
    learner_db: &str,
    reporting_db: &str,
    learners: u64,
    per_learner: u64,
    program_id: &str,
) -> anyhow::Result<Loaded> {
    let dir = sql_dir();
    let started = Instant::now();
    pg.sql_file(learner_db, &dir.join("bulk_indexes_drop.sql"), &[])
        .await?;
    pg.sql_file(
        learner_db,
        &dir.join("bulk_source.sql"),
        &[
            ("learners", learners.to_string()),
            ("per_learner", per_learner.to_string()),
            ("program", program_id.to_owned()),
        ],
    )
    .await?;
    pg.sql_file(learner_db, &dir.join("bulk_indexes_restore.sql"), &[])
        .await?;
    let source = started.elapsed();

    let started = Instant::now();
    pg.sql_file(reporting_db, &dir.join("bulk_indexes_drop.sql"), &[])
        .await?;
    pg.sql(
        reporting_db,
        &format!(
            "INSERT INTO r_programs (program_id, name) VALUES ('{program_id}', 'Bulk national program')"
        ),
    )
    .await?;
    for projection in &PROJECTIONS {
        copy(pg, learner_db, reporting_db, projection).await?;
    }
    pg.sql_file(reporting_db, &dir.join("bulk_indexes_restore.sql"), &[])
        .await?;
    Ok(Loaded {
        source,
        projections: started.elapsed(),
    })
}

/// `psql -c "COPY (select) TO STDOUT" | psql -c "COPY table FROM STDIN"`.
async fn copy(pg: &Pg, from_db: &str, to_db: &str, projection: &Projection) -> anyhow::Result<()> {
    let mut out = psql(pg, from_db)
        .arg("-c")
        .arg(format!("COPY ({}) TO STDOUT", projection.select))
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run psql")?;
    let rows: Stdio = out
        .stdout
        .take()
        .context("psql gave no output pipe")?
        .try_into()?;
    let into = psql(pg, to_db)
        .arg("-c")
        .arg(format!("COPY {} FROM STDIN", projection.table))
        .stdin(rows)
        .output();
    let (written, read) = tokio::join!(into, out.wait());
    let written = written?;
    if !read?.success() || !written.status.success() {
        anyhow::bail!(
            "copying into {} failed: {}",
            projection.table,
            String::from_utf8_lossy(&written.stderr).trim()
        );
    }
    Ok(())
}

fn psql(pg: &Pg, database: &str) -> Command {
    let mut command = pg.command("psql", database);
    command.args(["-v", "ON_ERROR_STOP=1", "-q"]);
    command
}
