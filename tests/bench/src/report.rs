//! What a suite run found, as a Markdown table (pasted as-is into
//! BENCHMARKS.md) and as JSON (for comparing runs by machine).

use serde::Serialize;
use std::collections::BTreeMap;

use crate::runner::Outcome;

/// Latency percentiles of a measured run, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Percentiles {
    pub(crate) mean: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) p999: f64,
    pub(crate) max: f64,
}

impl Percentiles {
    pub(crate) fn of(outcome: &Outcome) -> Self {
        Self {
            mean: outcome.mean_ms(),
            p50: outcome.percentile_ms(0.5),
            p90: outcome.percentile_ms(0.9),
            p99: outcome.percentile_ms(0.99),
            p999: outcome.percentile_ms(0.999),
            max: outcome.latency.max() as f64 / 1000.0,
        }
    }
}

/// The limit a figure is compared with, measured in the same run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Limit {
    pub(crate) name: String,
    pub(crate) value: f64,
}

/// A target from issue #9 and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Target {
    pub(crate) text: String,
    pub(crate) met: bool,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) scenario: String,
    pub(crate) concurrency: Option<usize>,
    pub(crate) throughput: f64,
    pub(crate) unit: String,
    pub(crate) calls: u64,
    pub(crate) latency_ms: Option<Percentiles>,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) limit: Option<Limit>,
    /// `throughput / limit` (or, for reports, how many times faster than the limit).
    pub(crate) ratio: Option<f64>,
    /// `throughput / ` the empty call's at the same concurrency.
    pub(crate) grpc_ratio: Option<f64>,
    pub(crate) target: Option<Target>,
}

impl Row {
    /// A row for a load-runner outcome.
    pub(crate) fn from_outcome(scenario: &str, outcome: &Outcome) -> Self {
        Self {
            scenario: scenario.to_owned(),
            concurrency: Some(outcome.concurrency),
            throughput: outcome.rps(),
            unit: "req/s".into(),
            calls: outcome.ok,
            latency_ms: (outcome.ok > 0).then(|| Percentiles::of(outcome)),
            errors: outcome.errors.clone(),
            limit: None,
            ratio: None,
            grpc_ratio: None,
            target: None,
        }
    }

    /// A row for a throughput of items (learners, events) with no latency.
    pub(crate) fn rate(scenario: &str, items: u64, per_second: f64, unit: &str) -> Self {
        Self {
            scenario: scenario.to_owned(),
            concurrency: None,
            throughput: per_second,
            unit: unit.to_owned(),
            calls: items,
            latency_ms: None,
            errors: BTreeMap::new(),
            limit: None,
            ratio: None,
            grpc_ratio: None,
            target: None,
        }
    }

    /// Compares the throughput with a limit of the same unit.
    pub(crate) fn against(mut self, name: &str, value: f64) -> Self {
        self.ratio = (value > 0.0).then(|| self.throughput / value);
        self.limit = Some(Limit {
            name: name.to_owned(),
            value,
        });
        self
    }

    /// Also compares the throughput with the empty unary call's.
    pub(crate) fn versus_grpc(mut self, empty_call_rps: Option<f64>) -> Self {
        self.grpc_ratio = empty_call_rps
            .filter(|v| *v > 0.0)
            .map(|v| self.throughput / v);
        self
    }

    pub(crate) fn target(mut self, text: &str, met: bool) -> Self {
        self.target = Some(Target {
            text: text.to_owned(),
            met,
        });
        self
    }
}

/// Peak resident memory of one service over the run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Memory {
    pub(crate) service: String,
    pub(crate) peak_rss_mib: f64,
    pub(crate) met: bool,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) scale: String,
    pub(crate) started_at: String,
    pub(crate) machine: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) memory: Vec<Memory>,
    pub(crate) notes: Vec<String>,
}

impl Report {
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Scale `{}`, started {} on {}.\n\n",
            self.scale, self.started_at, self.machine
        ));
        out.push_str(
            "| scenario | c | throughput | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | limit (same run) | ratio | ÷ gRPC alone | target |\n\
             | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | --- |\n",
        );
        for row in &self.rows {
            out.push_str(&markdown_row(row));
        }
        if !self.memory.is_empty() {
            out.push_str(
                "\n| service | peak RSS under load | target < 100 MiB |\n| --- | ---: | --- |\n",
            );
            for m in &self.memory {
                out.push_str(&format!(
                    "| {} | {:.1} MiB | {} |\n",
                    m.service,
                    m.peak_rss_mib,
                    verdict(m.met)
                ));
            }
        }
        for note in &self.notes {
            out.push_str(&format!("\n- {note}"));
        }
        out.push('\n');
        out
    }
}

fn markdown_row(row: &Row) -> String {
    let ms = |f: fn(&Percentiles) -> f64| {
        row.latency_ms
            .as_ref()
            .map_or_else(|| "".to_owned(), |p| format!("{:.2}", f(p)))
    };
    let errors = if row.errors.is_empty() {
        "0".to_owned()
    } else {
        row.errors
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let limit = row.limit.as_ref().map_or_else(String::new, |l| {
        format!("{}: {}", l.name, figure(l.value, &row.unit))
    });
    let limit_ratio = row.ratio.map_or_else(String::new, ratio);
    let grpc_ratio = row.grpc_ratio.map_or_else(String::new, ratio);
    let target = row
        .target
        .as_ref()
        .map_or_else(String::new, |t| format!("{} {}", t.text, verdict(t.met)));
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        row.scenario,
        row.concurrency.map_or_else(String::new, |c| c.to_string()),
        figure(row.throughput, &row.unit),
        ms(|p| p.p50),
        ms(|p| p.p90),
        ms(|p| p.p99),
        ms(|p| p.p999),
        errors,
        limit,
        limit_ratio,
        grpc_ratio,
        target
    )
}

fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}")
    }
}

fn figure(value: f64, unit: &str) -> String {
    // Slow reports run well under one per second; keep their digits.
    if value < 10.0 {
        format!("{value:.3} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}
