//! Year on year: the summary carries the same period one year earlier and
//! the growth against it, against the independent model, for halves and
//! date ranges (29 February included), platform-wide and for the program.

use academy_domain::Period;
use academy_testkit::{TestDb, on_both_backends};
use chrono::{Datelike, NaiveDate};

use crate::common::*;

on_both_backends!(the_summary_carries_the_year_before,);

/// The model's own reading of "one year earlier": the same calendar days
/// of the previous year, 29 February as the 28th.
pub(crate) fn year_before(p: &Period) -> Period {
    let back = |d: NaiveDate| {
        NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day())
            .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day() - 1))
            .unwrap()
    };
    Period {
        start: back(p.start),
        end: back(p.end),
        half: None,
    }
}

async fn the_summary_carries_the_year_before(db: TestDb) {
    let (_stack, model, program, mut reports) = seeded(db).await;
    for period in [
        half("2024-H2"),
        half("2023-H1"),
        dates(day(2024, 2, 29), day(2024, 8, 31)),
        dates(day(2022, 3, 1), day(2025, 2, 28)),
    ] {
        let parsed = academy_reporting::convert::period("period", Some(&period)).unwrap();
        let ago = year_before(&parsed);
        for program_id in [None, Some(program.as_str())] {
            let got = reports.summary(program_id, &period).await;
            let then = got.year_before.as_ref().unwrap();
            let want = model.figures(program_id, &ago);
            let what = format!("{parsed} {program_id:?}");
            assert_eq!(
                (then.start_date.as_ref(), then.end_date.as_ref()),
                (
                    Some(&academy_runtime::time::date(ago.start)),
                    Some(&academy_runtime::time::date(ago.end))
                ),
                "{what}"
            );
            assert_eq!(
                (
                    then.registered_learners,
                    then.new_learners,
                    then.active_learners,
                    then.enrollments,
                    then.completions,
                ),
                (
                    want.registered,
                    want.new,
                    want.active,
                    want.enrollments,
                    want.completions
                ),
                "{what}"
            );
            assert_eq!(then.learning_hours, want.minutes as f64 / 60.0, "{what}");
            let now = model.figures(program_id, &parsed);
            let growth = growth(now.registered, want.registered);
            assert_eq!(got.year_on_year_growth, growth, "{what}");
        }
    }
}
