//! The naive report: the same summary and regional breakdown computed by
//! SQL over the learner service's source tables (`sql/naive_*.sql`), what a
//! report would cost without projections.

use academy_proto::reporting::ProgramSummary;
use chrono::{Datelike, NaiveDate};

use crate::bulk::sql_dir;
use crate::pg::{Pg, PgbenchResult, PgbenchRun};

/// A half-year and the one before it, as inclusive dates.
#[derive(Debug, Clone)]
pub(crate) struct HalfYear {
    pub(crate) start: NaiveDate,
    pub(crate) end: NaiveDate,
    pub(crate) prev_start: NaiveDate,
    pub(crate) prev_end: NaiveDate,
}

impl HalfYear {
    /// `2025-H1` and friends.
    pub(crate) fn parse(name: &str) -> anyhow::Result<Self> {
        let (year, half) = name
            .split_once("-H")
            .ok_or_else(|| anyhow::anyhow!("{name:?} is not like 2025-H1"))?;
        let year: i32 = year.parse()?;
        let first = |y: i32, m: u32| {
            NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| anyhow::anyhow!("bad date"))
        };
        let (start, next) = match half {
            "1" => (first(year, 1)?, first(year, 7)?),
            "2" => (first(year, 7)?, first(year + 1, 1)?),
            _ => anyhow::bail!("{name:?}: the half is 1 or 2"),
        };
        let prev_start = if start.month() == 1 {
            first(year - 1, 7)?
        } else {
            first(year, 1)?
        };
        let day = chrono::Days::new(1);
        Ok(Self {
            start,
            end: next - day,
            prev_start,
            prev_end: start - day,
        })
    }

    fn vars(&self, program_id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("program", program_id.to_owned()),
            ("start", self.start.to_string()),
            ("end", self.end.to_string()),
            ("prev_start", self.prev_start.to_string()),
            ("prev_end", self.prev_end.to_string()),
        ]
    }
}

/// Times `sql/<script>` run `runs` times by one client.
pub(crate) async fn time(
    pg: &Pg,
    learner_db: &str,
    script: &str,
    program_id: &str,
    half: &HalfYear,
    runs: u64,
) -> anyhow::Result<PgbenchResult> {
    pg.pgbench(
        learner_db,
        &sql_dir().join(script),
        1,
        PgbenchRun::Transactions(runs),
        &half.vars(program_id),
    )
    .await
}

/// Whether GetProgramSummary equals the naive SQL's figures for the half;
/// the differences, named, when it does not.
pub(crate) async fn check_summary(
    pg: &Pg,
    learner_db: &str,
    program_id: &str,
    half: &HalfYear,
    got: &ProgramSummary,
) -> anyhow::Result<Vec<String>> {
    let mut sql = std::fs::read_to_string(sql_dir().join("naive_summary.sql"))?;
    // pgbench parameters become literals for psql; longest names first so
    // `:prev_start` is not read as `:prev` + `_start`.
    let mut vars = half.vars(program_id);
    vars.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    for (name, value) in vars {
        sql = sql.replace(&format!(":{name}"), &format!("'{value}'"));
    }
    let out = pg.sql(learner_db, &sql).await?;
    let current = out
        .lines()
        .find(|l| l.starts_with("current|"))
        .ok_or_else(|| anyhow::anyhow!("the naive summary returned no current row"))?;
    let f: Vec<i64> = current
        .split('|')
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [
        registered,
        new,
        active,
        minutes,
        enrollments,
        completions,
        _,
        certificates,
    ] = f[..]
    else {
        anyhow::bail!("the naive summary returned {} figures", f.len());
    };
    let pairs = [
        ("registeredLearners", registered, got.registered_learners),
        ("newLearners", new, got.new_learners),
        ("activeLearners", active, got.active_learners),
        ("enrollments", enrollments, got.enrollments),
        ("completions", completions, got.completions),
        ("certificatesIssued", certificates, got.certificates_issued),
        (
            "learningHours×60",
            minutes,
            (got.learning_hours * 60.0).round() as i64,
        ),
    ];
    Ok(pairs
        .iter()
        .filter(|(_, naive, rpc)| naive != rpc)
        .map(|(name, naive, rpc)| format!("{name}: naive SQL {naive}, GetProgramSummary {rpc}"))
        .collect())
}
