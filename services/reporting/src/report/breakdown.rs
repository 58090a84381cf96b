//! Figures of a period split by one dimension. Learner dimensions group by
//! each learner's current attributes; course and skill rows may overlap.

use academy_domain::{AgeBand, EmploymentStatus, Gender, Period, Region};
use sea_orm::{DatabaseConnection, DbErr, Value};
use std::collections::{BTreeSet, HashMap};

use super::{Scope, grouped, range};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Region,
    Gender,
    AgeBand,
    EmploymentStatus,
    Organization,
    Course,
    Skill,
}

/// One row of a breakdown, before rates are computed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub key: String,
    pub label: String,
    pub new_learners: i64,
    pub enrollments: i64,
    pub completions: i64,
    /// Of the enrollments created in the period, those completed by its end.
    pub completed_of_created: i64,
    pub learning_minutes: i64,
}

/// Where a dimension's key comes from in each projection.
struct Source {
    /// FROM clause over enrollments (alias `e`) giving the key `K`.
    enrollments: &'static str,
    /// FROM clause over activity (alias `a`) giving the key `K`.
    activity: &'static str,
    /// The key expression in both.
    key: &'static str,
}

fn learner_source(key: &'static str) -> Source {
    Source {
        enrollments: "r_enrollments e JOIN r_learners l ON l.learner_id = e.learner_id",
        activity: "r_activity a JOIN r_learners l ON l.learner_id = a.learner_id",
        key,
    }
}

fn source(dimension: Dimension) -> Source {
    match dimension {
        Dimension::Region => learner_source("l.region"),
        Dimension::Gender => learner_source("l.gender"),
        Dimension::AgeBand => learner_source("CAST(l.birth_year AS TEXT)"),
        Dimension::EmploymentStatus => learner_source("l.employment_status"),
        Dimension::Organization => learner_source("l.organization"),
        Dimension::Course => Source {
            enrollments: "r_enrollments e",
            activity: "r_activity a",
            key: "e.course_id",
        },
        Dimension::Skill => Source {
            enrollments: "r_enrollments e JOIN r_course_skills cs ON cs.course_id = e.course_id",
            activity: "r_activity a JOIN r_course_skills cs ON cs.course_id = a.course_id",
            key: "cs.skill_id",
        },
    }
}

pub async fn breakdown(
    db: &DatabaseConnection,
    scope: &Scope,
    period: &Period,
    dimension: Dimension,
) -> Result<Vec<Row>, DbErr> {
    let src = source(dimension);
    let activity_key = src.key.replace("e.course_id", "a.course_id");
    let by_enrollment_day = |column: &str, extra: &str, extra_values: Vec<Value>| {
        let mut v = range(period);
        v.extend(extra_values);
        let f = scope.filter("e.program_id", &mut v);
        let sql = format!(
            "SELECT {key} AS k, COUNT(*) AS n FROM {from} WHERE e.{column} BETWEEN ? AND ?{extra}{f} GROUP BY 1",
            key = src.key,
            from = src.enrollments
        );
        async move { grouped(db, &sql, v).await }
    };
    let enrollments = by_enrollment_day("enroll_day", "", vec![]).await?;
    let completions = by_enrollment_day("complete_day", "", vec![]).await?;
    let completed_of_created = by_enrollment_day(
        "enroll_day",
        " AND e.complete_day <= ?",
        vec![Value::from(period.end)],
    )
    .await?;
    let mut v = range(period);
    let f = scope.filter("a.program_id", &mut v);
    let minutes = grouped(
        db,
        &format!(
            "SELECT {activity_key} AS k, CAST(SUM(a.minutes) AS BIGINT) AS n FROM {from} \
             WHERE a.day BETWEEN ? AND ?{f} GROUP BY 1",
            from = src.activity
        ),
        v,
    )
    .await?;
    let new = new_learners(db, scope, period, dimension, &src).await?;

    let mut keys: BTreeSet<String> = [&enrollments, &completions, &minutes, &new]
        .iter()
        .flat_map(|m| m.keys().cloned())
        .collect();
    if dimension == Dimension::AgeBand {
        return Ok(age_bands(
            period,
            &keys,
            [
                &new,
                &enrollments,
                &completions,
                &completed_of_created,
                &minutes,
            ],
        ));
    }
    keys.extend(all_values(dimension));
    let labels = labels(db, dimension).await?;
    Ok(keys
        .into_iter()
        .map(|key| Row {
            label: labels.get(&key).cloned().unwrap_or_else(|| key.clone()),
            new_learners: new.get(&key).copied().unwrap_or(0),
            enrollments: enrollments.get(&key).copied().unwrap_or(0),
            completions: completions.get(&key).copied().unwrap_or(0),
            completed_of_created: completed_of_created.get(&key).copied().unwrap_or(0),
            learning_minutes: minutes.get(&key).copied().unwrap_or(0),
            key,
        })
        .collect())
}

/// Learners new in the period, per key: registered (or, for a program,
/// first enrolled in it) in the period; for COURSE and SKILL, whose first
/// enrollment in that course (or a course with that skill) is in it.
async fn new_learners(
    db: &DatabaseConnection,
    scope: &Scope,
    period: &Period,
    dimension: Dimension,
    src: &Source,
) -> Result<HashMap<String, i64>, DbErr> {
    match dimension {
        Dimension::Course | Dimension::Skill => {
            let mut v = Vec::new();
            let f = scope.filter("e.program_id", &mut v);
            v.extend(range(period));
            let sql = format!(
                "SELECT k, COUNT(*) AS n FROM (SELECT {key} AS k, e.learner_id, MIN(e.enroll_day) AS first_day \
                 FROM {from} WHERE 1 = 1{f} GROUP BY 1, 2) firsts WHERE first_day BETWEEN ? AND ? GROUP BY k",
                key = src.key,
                from = src.enrollments
            );
            grouped(db, &sql, v).await
        }
        _ => {
            let mut v = range(period);
            let f = scope.filter("m.program_id", &mut v);
            let sql = match scope.program_id {
                Some(_) => format!(
                    "SELECT {key} AS k, COUNT(*) AS n FROM r_program_members m \
                     JOIN r_learners l ON l.learner_id = m.learner_id \
                     WHERE m.first_day BETWEEN ? AND ?{f} GROUP BY 1",
                    key = src.key
                ),
                None => format!(
                    "SELECT {key} AS k, COUNT(*) AS n FROM r_learners l WHERE l.register_day BETWEEN ? AND ? GROUP BY 1",
                    key = src.key
                ),
            };
            grouped(db, &sql, v).await
        }
    }
}

/// Values listed even when zero: the closed sets.
fn all_values(dimension: Dimension) -> Vec<String> {
    match dimension {
        Dimension::Region => Region::ALL.iter().map(|r| r.to_string()).collect(),
        Dimension::Gender => Gender::ALL.iter().map(|g| g.as_str().to_owned()).collect(),
        Dimension::EmploymentStatus => EmploymentStatus::ALL
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Folds per-birth-year counts into age bands at the period's end.
fn age_bands(
    period: &Period,
    years: &BTreeSet<String>,
    maps: [&HashMap<String, i64>; 5],
) -> Vec<Row> {
    let bands = [
        AgeBand::From15To24,
        AgeBand::From25To34,
        AgeBand::From35To44,
        AgeBand::From45To54,
        AgeBand::From55To64,
        AgeBand::From65,
    ];
    let mut rows: Vec<Row> = bands
        .iter()
        .map(|b| Row {
            key: b.label().to_owned(),
            label: b.label().to_owned(),
            ..Default::default()
        })
        .collect();
    for year in years {
        let Ok(birth_year) = year.parse::<i32>() else {
            continue;
        };
        // Registration needs age 15, so younger bands can only come from a
        // period ending before the learner turned 15: count them as 15-24.
        let band = match AgeBand::at(birth_year, period.end) {
            AgeBand::Under15 => AgeBand::From15To24,
            band => band,
        };
        let Some(row) = rows.iter_mut().find(|r| r.key == band.label()) else {
            continue;
        };
        let get = |m: &HashMap<String, i64>| m.get(year).copied().unwrap_or(0);
        row.new_learners += get(maps[0]);
        row.enrollments += get(maps[1]);
        row.completions += get(maps[2]);
        row.completed_of_created += get(maps[3]);
        row.learning_minutes += get(maps[4]);
    }
    rows
}

/// Human-readable names: course code and title, skill names.
async fn labels(
    db: &DatabaseConnection,
    dimension: Dimension,
) -> Result<HashMap<String, String>, DbErr> {
    let sql = match dimension {
        Dimension::Course => "SELECT course_id AS k, code AS c, title AS t FROM r_courses",
        Dimension::Skill => "SELECT skill_id AS k, name AS c, '' AS t FROM r_skills",
        _ => return Ok(HashMap::new()),
    };
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let rows =
        sea_orm::ConnectionTrait::query_all_raw(db, sea_orm::Statement::from_string(backend, sql))
            .await?;
    rows.iter()
        .map(|row| {
            let key: String = row.try_get("", "k")?;
            let code: String = row.try_get("", "c")?;
            let title: String = row.try_get("", "t")?;
            let label = if title.is_empty() {
                code
            } else {
                format!("{code} {title}")
            };
            Ok((key, label))
        })
        .collect()
}
