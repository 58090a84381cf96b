//! `academyctl report render`: the sponsor's document. One self-contained,
//! print-friendly HTML file (inline CSS and SVG charts, nothing fetched when
//! it opens) for a period's live figures or a published snapshot: headline
//! figures with growth and targets, learners over time, regions and gender,
//! the funnel, top courses and skills, and the snapshot's digest and feed
//! positions.
//!
//! - `fetch.rs`: the figures, from GetPublishedReport or the Get RPCs.
//! - `charts.rs`: the SVG charts (plotters).

pub mod charts;
pub mod fetch;

use academy_proto::google::r#type::Date;
use academy_proto::reporting::{
    BreakdownRow, Dimension, Metric, ProgramSummary, PublishedContent, TargetAttainment,
};
use std::fmt::Write;

/// What one document shows.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The figures (for a live document, provenance fields are empty).
    pub content: PublishedContent,
    /// The snapshot's id and digest; empty for live figures.
    pub snapshot_id: String,
    pub digest: String,
}

/// `&`, `<`, `>`, `"` and `'` as entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn day(d: Option<&Date>) -> String {
    d.map_or_else(
        || "?".to_owned(),
        |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
    )
}

/// Thousands separated by a thin space: 191 000.
pub fn count(n: f64) -> String {
    let whole = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

fn percent(rate: f64) -> String {
    format!("{:+.1}%", rate * 100.0)
}

fn change(now: f64, then: f64) -> String {
    if then == 0.0 {
        "–".to_owned()
    } else {
        percent(now / then - 1.0)
    }
}

const CSS: &str = "\
@page { size: A4; margin: 14mm; }
body { font-family: 'DejaVu Sans', Arial, sans-serif; color: #1b1b1b; max-width: 180mm; margin: 0 auto; font-size: 10.5pt; }
h1 { font-size: 20pt; margin: 0 0 2mm; color: #1f5f9f; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #1f5f9f; }
.sub { color: #555; margin: 0 0 4mm; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 1.2mm 2mm; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.headline { display: flex; gap: 4mm; margin: 4mm 0; }
.headline div { flex: 1; border: 1px solid #1f5f9f; border-radius: 2mm; padding: 2mm 3mm; }
.headline b { display: block; font-size: 18pt; color: #1f5f9f; }
.chart svg { width: 100%; height: auto; }
section { break-inside: avoid; }
.mono { font-family: 'DejaVu Sans Mono', monospace; font-size: 8.5pt; word-break: break-all; }
";

/// The document as one HTML page.
pub fn html(doc: &Document) -> anyhow::Result<String> {
    let c = &doc.content;
    let summary = c.summary.clone().unwrap_or_default();
    let scope = if c.program_id.is_empty() {
        "the whole platform".to_owned()
    } else {
        format!("program {}", c.program_id)
    };
    let period = if c.half.is_empty() {
        format!(
            "{} to {}",
            day(c.start_date.as_ref()),
            day(c.end_date.as_ref())
        )
    } else {
        format!(
            "{} ({} to {})",
            c.half,
            day(c.start_date.as_ref()),
            day(c.end_date.as_ref())
        )
    };
    let mut out = String::new();
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Academy results {}</title><style>{CSS}</style></head><body>",
        escape(&period)
    )?;
    writeln!(out, "<h1>Academy results {}</h1>", escape(&period))?;
    let status = if doc.snapshot_id.is_empty() {
        "Live figures (not a published snapshot)".to_owned()
    } else {
        format!(
            "Published snapshot, version {}{}",
            c.version,
            if c.supersedes_id.is_empty() {
                String::new()
            } else {
                format!(" (restates {}: {})", c.supersedes_id, c.reason)
            }
        )
    };
    writeln!(
        out,
        "<p class=\"sub\">For {}. {}.</p>",
        escape(&scope),
        escape(&status)
    )?;
    headline(&mut out, &summary)?;
    figures_table(&mut out, &summary)?;
    share_targets(&mut out, &summary)?;
    over_time(&mut out, c)?;
    for (dimension, title) in [
        (Dimension::Region, "New learners by region"),
        (Dimension::Gender, "New learners by gender"),
    ] {
        let rows = rows_of(c, dimension);
        let items: Vec<(String, f64)> = rows
            .iter()
            .map(|r| (r.label.clone(), r.new_learners as f64))
            .collect();
        writeln!(
            out,
            "<section class=\"chart\"><h2>{title}</h2>{}</section>",
            charts::bars(title, &items)?
        )?;
        row_targets(&mut out, &rows)?;
    }
    funnel(&mut out, c)?;
    for (dimension, title) in [
        (Dimension::Course, "Top courses"),
        (Dimension::Skill, "Top skills"),
    ] {
        top(&mut out, title, &rows_of(c, dimension))?;
    }
    provenance(&mut out, doc)?;
    writeln!(out, "</body></html>")?;
    Ok(out)
}

fn rows_of(c: &PublishedContent, dimension: Dimension) -> Vec<BreakdownRow> {
    let mut rows: Vec<BreakdownRow> = c
        .breakdowns
        .iter()
        .find(|b| b.dimension == dimension as i32)
        .map(|b| b.rows.clone())
        .unwrap_or_default();
    rows.sort_by(|a, b| {
        b.new_learners
            .cmp(&a.new_learners)
            .then_with(|| a.key.cmp(&b.key))
    });
    rows
}

fn headline(out: &mut String, s: &ProgramSummary) -> anyhow::Result<()> {
    let then = s.year_before.unwrap_or_default();
    writeln!(out, "<div class=\"headline\">")?;
    for (name, now, before) in [
        (
            "registered learners",
            s.registered_learners,
            then.registered_learners,
        ),
        ("new learners", s.new_learners, then.new_learners),
        ("completions", s.completions, then.completions),
    ] {
        writeln!(
            out,
            "<div><b>{}</b>{name}<br>{} on a year before</div>",
            count(now as f64),
            change(now as f64, before as f64)
        )?;
    }
    writeln!(out, "</div>")?;
    Ok(())
}

fn target_cells(targets: &[TargetAttainment], metric: Metric) -> String {
    match targets
        .iter()
        .find(|t| t.metric == metric as i32 && !t.share)
    {
        Some(t) => format!(
            "<td>{}</td><td>{:.0}%</td>",
            count(t.target),
            t.attainment * 100.0
        ),
        None => "<td>–</td><td>–</td>".to_owned(),
    }
}

fn figures_table(out: &mut String, s: &ProgramSummary) -> anyhow::Result<()> {
    let previous = s.previous_period.unwrap_or_default();
    let then = s.year_before.unwrap_or_default();
    writeln!(
        out,
        "<section><h2>Headline figures</h2><table><tr><th>figure</th><th>this period</th>\
         <th>previous period</th><th>a year before</th><th>year on year</th>\
         <th>target</th><th>attained</th></tr>"
    )?;
    let periods = [s.figures(), previous, then];
    let counted = [
        ("Registered learners", Metric::RegisteredLearners),
        ("New learners", Metric::NewLearners),
        ("Active learners", Metric::ActiveLearners),
        ("Enrollments", Metric::Enrollments),
        ("Completions", Metric::Completions),
        ("Certificates issued", Metric::CertificatesIssued),
        ("Learning hours", Metric::LearningHours),
    ]
    .map(|(name, m)| {
        let figures = periods.each_ref().map(|f| f.metric(m).unwrap_or_default());
        (name, figures, Some(m))
    });
    // The completion rate has no target: a rate, shown as a percentage.
    let rate = periods.each_ref().map(|f| f.completion_rate * 100.0);
    let rows = counted
        .into_iter()
        .chain([("Completion rate (%)", rate, None)]);
    for (name, [now, before, year], metric) in rows {
        let targets = metric.map_or_else(
            || "<td>–</td><td>–</td>".to_owned(),
            |m| target_cells(&s.targets, m),
        );
        // Rates keep a decimal; counts are whole.
        let show = |v: f64| {
            if metric.is_none() {
                format!("{v:.1}")
            } else {
                count(v)
            }
        };
        writeln!(
            out,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{targets}</tr>",
            show(now),
            show(before),
            show(year),
            change(now, year)
        )?;
    }
    writeln!(
        out,
        "</table><p>Growth of registered learners on the previous period: {}; on the year before: {}.</p></section>",
        percent(s.growth_rate),
        percent(s.year_on_year_growth)
    )?;
    Ok(())
}

fn over_time(out: &mut String, c: &PublishedContent) -> anyhow::Result<()> {
    let points: Vec<(String, f64)> = c
        .series
        .iter()
        .find(|s| s.metric == Metric::RegisteredLearners as i32)
        .map(|s| {
            s.points
                .iter()
                .map(|p| {
                    let label = p
                        .date
                        .as_ref()
                        .map(|d| format!("{:04}-{:02}", d.year, d.month))
                        .unwrap_or_default();
                    (label, p.value)
                })
                .collect()
        })
        .unwrap_or_default();
    writeln!(
        out,
        "<section class=\"chart\"><h2>Learners over time</h2>{}</section>",
        charts::line("Registered learners, end of each month", &points)?
    )?;
    Ok(())
}

/// A metric's name for a reader: "new learners".
fn metric_name(metric: i32) -> String {
    Metric::try_from(metric)
        .map_or("?", |m| m.as_str_name())
        .trim_start_matches("METRIC_")
        .to_lowercase()
        .replace('_', " ")
}

/// A target's or actual value: a share as a percentage, else a count.
fn target_value(t: &TargetAttainment, v: f64) -> String {
    if t.share {
        format!("{v:.1}%")
    } else {
        count(v)
    }
}

/// The summary's share targets ("40% of new learners FEMALE").
fn share_targets(out: &mut String, s: &ProgramSummary) -> anyhow::Result<()> {
    let shares: Vec<&TargetAttainment> = s.targets.iter().filter(|t| t.share).collect();
    if shares.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section><h2>Share targets</h2><table><tr><th>share of</th><th>key</th>\
         <th>actual</th><th>target</th><th>attained</th></tr>"
    )?;
    for t in shares {
        let dimension = Dimension::try_from(t.dimension)
            .map_or("?", |d| d.as_str_name())
            .trim_start_matches("DIMENSION_")
            .to_lowercase()
            .replace('_', " ");
        writeln!(
            out,
            "<tr><td>{} (by {})</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
            escape(&metric_name(t.metric)),
            escape(&dimension),
            escape(&t.key),
            target_value(t, t.actual),
            target_value(t, t.target),
            t.attainment * 100.0
        )?;
    }
    writeln!(out, "</table></section>")?;
    Ok(())
}

fn row_targets(out: &mut String, rows: &[BreakdownRow]) -> anyhow::Result<()> {
    let with: Vec<&BreakdownRow> = rows.iter().filter(|r| !r.targets.is_empty()).collect();
    if with.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<table><tr><th>target</th><th>actual</th><th>target</th><th>attained</th></tr>"
    )?;
    for r in with {
        for t in &r.targets {
            writeln!(
                out,
                "<tr><td>{} {}{}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
                escape(&r.label),
                escape(&metric_name(t.metric)),
                if t.share { " (share)" } else { "" },
                target_value(t, t.actual),
                target_value(t, t.target),
                t.attainment * 100.0
            )?;
        }
    }
    writeln!(out, "</table>")?;
    Ok(())
}

fn funnel(out: &mut String, c: &PublishedContent) -> anyhow::Result<()> {
    let stages = c.funnel.clone().unwrap_or_default().stages;
    let items: Vec<(String, f64)> = stages
        .iter()
        .map(|s| (s.name.clone(), s.count as f64))
        .collect();
    writeln!(
        out,
        "<section class=\"chart\"><h2>Funnel of the period's new learners</h2>{}<table>\
         <tr><th>stage</th><th>learners</th><th>of the previous stage</th></tr>",
        charts::bars("Learners reaching each stage", &items)?
    )?;
    for s in &stages {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            escape(&s.name),
            count(s.count as f64),
            s.conversion_from_previous * 100.0
        )?;
    }
    writeln!(out, "</table></section>")?;
    Ok(())
}

fn top(out: &mut String, title: &str, rows: &[BreakdownRow]) -> anyhow::Result<()> {
    let mut rows = rows.to_vec();
    rows.sort_by(|a, b| {
        b.enrollments
            .cmp(&a.enrollments)
            .then_with(|| a.key.cmp(&b.key))
    });
    writeln!(
        out,
        "<section><h2>{title}</h2><table><tr><th>name</th><th>enrollments</th>\
         <th>completions</th><th>new learners</th><th>learning hours</th></tr>"
    )?;
    for r in rows.iter().take(10) {
        writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.label),
            count(r.enrollments as f64),
            count(r.completions as f64),
            count(r.new_learners as f64),
            count(r.learning_hours)
        )?;
    }
    writeln!(out, "</table></section>")?;
    Ok(())
}

fn provenance(out: &mut String, doc: &Document) -> anyhow::Result<()> {
    let c = &doc.content;
    writeln!(out, "<section><h2>Provenance</h2><table>")?;
    let positions = c
        .positions
        .iter()
        .map(|p| format!("{} feed at event {}", p.service, p.sequence))
        .collect::<Vec<_>>()
        .join(", ");
    let published = c
        .publish_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    for (name, value) in [
        ("Snapshot", doc.snapshot_id.as_str()),
        ("SHA-256 digest", doc.digest.as_str()),
        ("Published", published.as_str()),
        ("Published by", c.actor.as_str()),
        ("Note", c.note.as_str()),
        ("Figures reflect", positions.as_str()),
    ] {
        if !value.is_empty() {
            writeln!(
                out,
                "<tr><td>{name}</td><td class=\"mono\">{}</td></tr>",
                escape(value)
            )?;
        }
    }
    writeln!(out, "</table></section>")?;
    Ok(())
}
