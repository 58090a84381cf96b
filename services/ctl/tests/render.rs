//! `report render`'s document, printed by a real browser: headless
//! Chromium prints the HTML of a demo-like 2025-H2 snapshot to PDF, and the
//! text `pdftotext` reads back carries the headline figures, the charts'
//! labels and the digest (so the page is neither blank nor missing a part).
//! Needs `chromium` and `pdftotext` (.ci/install-tools installs them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_proto::google::r#type::Date;
use academy_proto::reporting::*;
use academyctl::render::{Document, html};
use std::process::Command;

fn date(year: i32, month: i32, day: i32) -> Option<Date> {
    Some(Date { year, month, day })
}

fn row(key: &str, label: &str, new: i64, enrollments: i64) -> BreakdownRow {
    BreakdownRow {
        key: key.into(),
        label: label.into(),
        new_learners: new,
        enrollments,
        completions: enrollments / 3,
        completion_rate: 0.31,
        learning_hours: enrollments as f64 * 2.5,
        targets: Vec::new(),
        suppressed: Vec::new(),
        ..Default::default()
    }
}

/// A 2025-H2 snapshot shaped like the demo program's.
pub fn demo_like() -> Document {
    let figures = |registered, new| PeriodFigures {
        registered_learners: registered,
        new_learners: new,
        active_learners: new / 2,
        enrollments: new * 2,
        completions: new / 2,
        completion_rate: 0.27,
        certificates_issued: new / 2,
        learning_hours: new as f64 * 3.0,
        ..Default::default()
    };
    let summary = ProgramSummary {
        registered_learners: 191_000,
        new_learners: 48_250,
        active_learners: 61_377,
        enrollments: 93_418,
        completions: 27_654,
        completion_rate: 0.296,
        certificates_issued: 27_654,
        learning_hours: 402_117.5,
        start_date: date(2025, 7, 1),
        end_date: date(2025, 12, 31),
        previous_period: Some(figures(142_750, 40_100)),
        growth_rate: 0.338,
        targets: vec![
            TargetAttainment {
                metric: Metric::NewLearners as i32,
                target: 50_000.0,
                actual: 48_250.0,
                attainment: 0.965,
                ..Default::default()
            },
            // 40% of new learners women; 52.0% are.
            TargetAttainment {
                metric: Metric::NewLearners as i32,
                target: 40.0,
                actual: 52.0,
                attainment: 1.3,
                dimension: Dimension::Gender as i32,
                key: "FEMALE".into(),
                share: true,
            },
        ],
        year_before: Some(figures(102_650, 31_200)),
        year_on_year_growth: 0.861,
        ..Default::default()
    };
    let regions = [
        "Baku",
        "Absheron-Khizi",
        "Ganja-Dashkasan",
        "Shaki-Zagatala",
        "Lankaran-Astara",
    ];
    let breakdowns = vec![
        GetBreakdownResponse {
            dimension: Dimension::Region as i32,
            rows: regions
                .iter()
                .enumerate()
                .map(|(i, r)| row(r, r, 20_000 / (i as i64 + 1), 40_000 / (i as i64 + 1)))
                .collect(),
            ..Default::default()
        },
        GetBreakdownResponse {
            dimension: Dimension::Gender as i32,
            rows: vec![
                row("FEMALE", "Female", 25_100, 47_000),
                row("MALE", "Male", 22_300, 45_000),
                row("UNDISCLOSED", "Undisclosed", 850, 1_418),
            ],
            ..Default::default()
        },
        GetBreakdownResponse {
            dimension: Dimension::Course as i32,
            rows: vec![
                row("c1", "Python for Data Analysis", 9_000, 21_000),
                row("c2", "Cybersecurity Essentials", 7_000, 15_500),
            ],
            ..Default::default()
        },
        GetBreakdownResponse {
            dimension: Dimension::Skill as i32,
            rows: vec![row("s1", "Data analysis", 12_000, 30_000)],
            ..Default::default()
        },
    ];
    let stages = [
        ("registered", 48_250),
        ("enrolled", 40_000),
        ("active", 33_000),
        ("completed", 12_000),
        ("certified", 12_000),
    ];
    Document {
        content: PublishedContent {
            start_date: date(2025, 7, 1),
            end_date: date(2025, 12, 31),
            half: "2025-H2".into(),
            version: 1,
            note: "Semi-annual results for the sponsor".into(),
            actor: "developer (academy-stack)".into(),
            publish_time: Some(prost_types::Timestamp {
                seconds: 1_767_225_600,
                nanos: 0,
            }),
            positions: vec![
                FeedPosition {
                    service: "course".into(),
                    sequence: 412,
                },
                FeedPosition {
                    service: "learner".into(),
                    sequence: 1_204_377,
                },
            ],
            summary: Some(summary),
            breakdowns,
            funnel: Some(GetFunnelResponse {
                stages: stages
                    .iter()
                    .map(|(name, count)| FunnelStage {
                        name: (*name).into(),
                        count: *count,
                        conversion_from_previous: 0.8,
                    })
                    .collect(),
            }),
            series: vec![MetricSeries {
                metric: Metric::RegisteredLearners as i32,
                points: (7..=12)
                    .map(|m| TimeSeriesPoint {
                        date: date(2025, m, 1),
                        value: 142_750.0 + (m - 6) as f64 * 8_041.0,
                    })
                    .collect(),
            }],
            ..Default::default()
        },
        snapshot_id: "3f2b9c1e-5d4a-4f7e-9a21-7c0d2e8b6a10".into(),
        digest: "9b1c7e0f2a4d6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6e".into(),
    }
}

/// A share target is a percentage beside the headline figures, not a
/// count, and does not take the place of the headline target of its
/// metric.
#[test]
fn share_targets_show_as_percentages() {
    let page = html(&demo_like()).unwrap();
    assert!(page.contains("<h2>Share targets</h2>"), "{page}");
    assert!(
        page.contains(
            "<tr><td>new learners (by gender)</td><td>FEMALE</td><td>52.0%</td><td>40.0%</td><td>130%</td></tr>"
        ),
        "{page}"
    );
    // The new learners' headline target is still the absolute one.
    assert!(
        page.contains("<td>97%</td>") || page.contains("<td>96%</td>"),
        "{page}"
    );
}

#[test]
fn the_figures_table_shows_each_headline_figure_for_the_three_periods() {
    let page = html(&demo_like()).unwrap();
    let thin = '\u{2009}';
    for row in [
        format!(
            "<tr><td>Registered learners</td><td>191{thin}000</td><td>142{thin}750</td><td>102{thin}650</td>"
        ),
        format!(
            "<tr><td>New learners</td><td>48{thin}250</td><td>40{thin}100</td><td>31{thin}200</td>"
        ),
        format!(
            "<tr><td>Enrollments</td><td>93{thin}418</td><td>80{thin}200</td><td>62{thin}400</td>"
        ),
        "<tr><td>Completion rate (%)</td><td>29.6</td><td>27.0</td><td>27.0</td><td>".to_owned(),
    ] {
        assert!(page.contains(&row), "{row} in {page}");
    }
}

#[test]
fn the_document_prints_with_its_headline_figures() {
    let dir = tempfile::tempdir().unwrap();
    let page = html(&demo_like()).unwrap();
    assert!(
        !["src=", "href=", "url(", "<link", "<script", "@import"]
            .iter()
            .any(|fetches| page.contains(fetches)),
        "the document loads nothing from elsewhere"
    );
    assert!(page.matches("<svg").count() >= 4, "four charts");
    let html_path = dir.path().join("report.html");
    let pdf_path = dir.path().join("report.pdf");
    std::fs::write(&html_path, &page).unwrap();
    let printed = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf_path.display()),
        ])
        .arg(format!("file://{}", html_path.display()))
        .output()
        .expect("chromium is needed (.ci/install-tools installs it)");
    assert!(
        printed.status.success() && pdf_path.exists(),
        "chromium did not print: {}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf_path)
        .arg("-")
        .output()
        .expect("pdftotext is needed (.ci/install-tools installs poppler-utils)");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    // Digits are grouped with thin spaces; compare without any spacing.
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(squeezed.len() > 500, "the page is nearly blank: {text}");
    for expected in [
        "Academyresults2025-H2",
        "29.6",
        "191000",
        "48250",
        "27654",
        "+86.1%",
        "50000",
        "Sharetargets",
        "52.0%",
        "96%",
        "Learnersovertime",
        "Newlearnersbyregion",
        "Baku",
        "Female",
        "certified",
        "PythonforDataAnalysis",
        "Dataanalysis",
        "9b1c7e0f2a4d6c8e",
        "learnerfeedatevent1204377",
    ] {
        assert!(
            squeezed.contains(expected),
            "{expected} is not on the printed page:\n{text}"
        );
    }
}
