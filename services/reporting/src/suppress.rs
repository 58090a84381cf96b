//! The minimum cell size (issue #15, item 6): breakdown and cross-tab counts
//! that describe fewer than `min` learners or enrollments (1 to min - 1) are
//! withheld from callers without `reports.exact`, so a one-day breakdown by
//! organisation cannot say "ACME Bank, 1".
//!
//! Primary suppression hides each count below the minimum. A hidden count
//! could still be recovered as a total minus the other rows (the summary
//! and the one-dimension breakdown publish those totals), so secondary
//! suppression then hides, in every group of cells that adds up to a
//! published total (a breakdown's column; a cross-tab's row and column),
//! the smallest other non-zero count wherever a group has exactly one
//! hidden count, until no group has. What this does not protect is in the
//! README's security section.

use academy_proto::reporting::{BreakdownRow, CrossTabRow};

/// The counts of a row, in this order.
const COUNTS: [&str; 3] = ["new_learners", "enrollments", "completions"];

/// Which counts of each row to hide: below `min` first, then enough others
/// that no group of rows (indexes into `values`) has a single hidden count.
fn hidden<const N: usize>(values: &[[i64; N]], groups: &[Vec<usize>], min: i64) -> Vec<[bool; N]> {
    let mut hide: Vec<[bool; N]> = values.iter().map(|v| v.map(|n| n > 0 && n < min)).collect();
    // Each pass hides at least one more count or stops: at most every count.
    let mut changed = true;
    while changed {
        changed = false;
        for m in 0..N {
            for group in groups {
                let alone = group
                    .iter()
                    .filter(|&&i| hide[i][m] && values[i][m] > 0)
                    .count()
                    == 1;
                if !alone {
                    continue;
                }
                let next = group
                    .iter()
                    .copied()
                    .filter(|&i| !hide[i][m] && values[i][m] > 0)
                    .min_by_key(|&i| values[i][m]);
                if let Some(i) = next {
                    hide[i][m] = true;
                    changed = true;
                }
            }
        }
    }
    hide
}

/// The names of the fields hidden by `hide`, with the rate and the hours
/// that would give a hidden count away (the rate is completions over
/// enrollments; hours go with any hidden count of the row).
fn withheld(hide: [bool; 3]) -> Vec<String> {
    let mut names: Vec<String> = COUNTS
        .iter()
        .zip(hide)
        .filter(|(_, h)| *h)
        .map(|(n, _)| (*n).to_owned())
        .collect();
    if hide[1] || hide[2] {
        names.push("completion_rate".to_owned());
    }
    if !names.is_empty() {
        names.push("learning_hours".to_owned());
    }
    names
}

/// Applies the minimum cell size to a whole breakdown (before any limit).
pub fn breakdown(rows: &mut [BreakdownRow], min: i64) {
    let values: Vec<[i64; 3]> = rows
        .iter()
        .map(|r| [r.new_learners, r.enrollments, r.completions])
        .collect();
    let groups = [(0..rows.len()).collect::<Vec<usize>>()];
    let hide = hidden(&values, &groups, min);
    // Reach (issue #17): invitations, counted per invitee, by the same rule.
    let reach: Vec<[i64; 2]> = rows.iter().map(|r| [r.invited, r.joined]).collect();
    let hide_reach = hidden(&reach, &groups, min);
    for ((row, hide), hide_reach) in rows.iter_mut().zip(hide).zip(hide_reach) {
        let mut names = withheld(hide);
        for (name, hidden) in ["invited", "joined"].into_iter().zip(hide_reach) {
            if hidden {
                names.push(name.to_owned());
            }
        }
        for name in &names {
            match name.as_str() {
                "new_learners" => row.new_learners = 0,
                "enrollments" => row.enrollments = 0,
                "completions" => row.completions = 0,
                "completion_rate" => row.completion_rate = 0.0,
                "invited" => row.invited = 0,
                "joined" => row.joined = 0,
                _ => row.learning_hours = 0.0,
            }
        }
        row.suppressed = names;
    }
}

/// Applies the minimum cell size to a whole cross-tab (before any limit):
/// the cells of one row key add up to its breakdown row, those of one
/// column key to theirs.
pub fn crosstab(rows: &mut [CrossTabRow], min: i64) {
    let values: Vec<[i64; 3]> = rows
        .iter()
        .map(|r| [r.new_learners, r.enrollments, r.completions])
        .collect();
    let mut by_key: std::collections::BTreeMap<(bool, &str), Vec<usize>> = Default::default();
    for (i, r) in rows.iter().enumerate() {
        by_key.entry((true, &r.row_key)).or_default().push(i);
        by_key.entry((false, &r.column_key)).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = by_key.into_values().collect();
    let hide = hidden(&values, &groups, min);
    for (row, hide) in rows.iter_mut().zip(hide) {
        let names = withheld(hide);
        for name in &names {
            match name.as_str() {
                "new_learners" => row.new_learners = 0,
                "enrollments" => row.enrollments = 0,
                "completions" => row.completions = 0,
                "completion_rate" => row.completion_rate = 0.0,
                _ => row.learning_hours = 0.0,
            }
        }
        row.suppressed = names;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_hidden_and_a_lone_one_takes_the_next_smallest_with_it() {
        let values = [[1, 10, 0], [7, 12, 0], [9, 3, 0], [20, 40, 0]];
        let hide = hidden(&values, &[vec![0, 1, 2, 3]], 5);
        // new_learners: 1 is below 5, then 7 (the next smallest) too.
        assert_eq!(
            hide.iter().map(|h| h[0]).collect::<Vec<_>>(),
            [true, true, false, false]
        );
        // enrollments: 3 below 5, then 10.
        assert_eq!(
            hide.iter().map(|h| h[1]).collect::<Vec<_>>(),
            [true, false, true, false]
        );
        // Zeros stay shown.
        assert!(hide.iter().all(|h| !h[2]));
    }

    #[test]
    fn a_crosstab_protects_rows_and_columns_together() {
        // Two row keys × two column keys; one small cell.
        let values = [[2, 0, 0], [10, 0, 0], [11, 0, 0], [12, 0, 0]];
        let groups = vec![vec![0, 1], vec![2, 3], vec![0, 2], vec![1, 3]];
        let hide = hidden(&values, &groups, 5);
        // Every row and column then has two hidden cells or none.
        for g in &groups {
            let n = g.iter().filter(|&&i| hide[i][0]).count();
            assert_ne!(n, 1, "{g:?}: {hide:?}");
        }
        assert!(hide[0][0]);
    }

    #[test]
    fn small_reach_counts_are_withheld_by_the_same_rule() {
        let row = |key: &str, invited: i64, joined: i64| BreakdownRow {
            key: key.into(),
            new_learners: 50,
            enrollments: 50,
            completions: 50,
            invited,
            joined,
            ..Default::default()
        };
        let mut rows = vec![row("a", 2, 0), row("b", 30, 6), row("c", 40, 25)];
        breakdown(&mut rows, 5);
        // invited: 2 is below 5, then 30 (the next smallest) goes with it;
        // joined: nothing below 5 (0 is shown).
        assert_eq!(
            rows.iter()
                .map(|r| (r.invited, r.joined))
                .collect::<Vec<_>>(),
            [(0, 0), (0, 6), (40, 25)]
        );
        assert_eq!(rows[0].suppressed, ["invited"]);
        assert_eq!(rows[1].suppressed, ["invited"]);
        assert!(rows[2].suppressed.is_empty());
    }

    #[test]
    fn the_rate_and_hours_go_with_a_hidden_count() {
        let mut rows = vec![
            BreakdownRow {
                key: "ACME Bank".into(),
                new_learners: 1,
                enrollments: 1,
                completions: 1,
                completion_rate: 1.0,
                learning_hours: 2.0,
                ..Default::default()
            },
            BreakdownRow {
                key: "Big".into(),
                new_learners: 50,
                enrollments: 60,
                completions: 30,
                completion_rate: 0.5,
                learning_hours: 90.0,
                ..Default::default()
            },
            BreakdownRow {
                key: "Mid".into(),
                new_learners: 6,
                enrollments: 8,
                completions: 7,
                completion_rate: 0.875,
                learning_hours: 9.0,
                ..Default::default()
            },
        ];
        breakdown(&mut rows, 5);
        assert_eq!(
            (
                rows[0].new_learners,
                rows[0].completion_rate,
                rows[0].learning_hours
            ),
            (0, 0.0, 0.0)
        );
        assert_eq!(
            rows[0].suppressed,
            [
                "new_learners",
                "enrollments",
                "completions",
                "completion_rate",
                "learning_hours"
            ]
        );
        assert_eq!(rows[1].suppressed, Vec::<String>::new());
        assert_eq!(rows[2].new_learners, 0, "the next smallest goes too");
    }
}
