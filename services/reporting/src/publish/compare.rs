//! CompareWithPublished: a snapshot's figures against the same figures
//! computed live now, flattened to one value per (section, dimension,
//! metric, key, figure) so rows present on one side only compare with
//! zeros.

use academy_domain::{DomainError, Period, id};
use academy_proto::reporting as pb;
use academy_runtime::db::db_error;
use academy_runtime::time::parse_date;
use std::collections::BTreeMap;

use super::{Publisher, snapshot};

/// Where one figure sits in a snapshot.
type Place = (String, i32, i32, String, String);

fn put(out: &mut BTreeMap<Place, f64>, place: (&str, i32, i32, &str, &str), value: f64) {
    let (section, dimension, metric, key, figure) = place;
    out.insert(
        (
            section.to_owned(),
            dimension,
            metric,
            key.to_owned(),
            figure.to_owned(),
        ),
        value,
    );
}

fn summary_figures(out: &mut BTreeMap<Place, f64>, s: &pb::ProgramSummary) {
    let figures = [
        ("registered_learners", s.registered_learners as f64),
        ("new_learners", s.new_learners as f64),
        ("active_learners", s.active_learners as f64),
        ("enrollments", s.enrollments as f64),
        ("completions", s.completions as f64),
        ("completion_rate", s.completion_rate),
        ("certificates_issued", s.certificates_issued as f64),
        ("learning_hours", s.learning_hours),
        ("growth_rate", s.growth_rate),
    ];
    for (figure, value) in figures {
        put(out, ("summary", 0, 0, "", figure), value);
    }
    put(
        out,
        ("summary", 0, 0, "", "year_on_year_growth"),
        s.year_on_year_growth,
    );
    for (section, p) in [
        ("previous_period", &s.previous_period),
        ("year_before", &s.year_before),
    ] {
        let Some(p) = p else { continue };
        let figures = [
            ("registered_learners", p.registered_learners as f64),
            ("new_learners", p.new_learners as f64),
            ("active_learners", p.active_learners as f64),
            ("enrollments", p.enrollments as f64),
            ("completions", p.completions as f64),
            ("completion_rate", p.completion_rate),
            ("certificates_issued", p.certificates_issued as f64),
            ("learning_hours", p.learning_hours),
        ];
        for (figure, value) in figures {
            put(out, (section, 0, 0, "", figure), value);
        }
    }
}

/// Every figure of `content`, by place.
pub fn flatten(content: &pb::PublishedContent) -> BTreeMap<Place, f64> {
    let mut out = BTreeMap::new();
    if let Some(s) = &content.summary {
        summary_figures(&mut out, s);
    }
    for b in &content.breakdowns {
        for r in &b.rows {
            let figures = [
                ("new_learners", r.new_learners as f64),
                ("enrollments", r.enrollments as f64),
                ("completions", r.completions as f64),
                ("completion_rate", r.completion_rate),
                ("learning_hours", r.learning_hours),
            ];
            for (figure, value) in figures {
                put(
                    &mut out,
                    ("breakdown", b.dimension, 0, &r.key, figure),
                    value,
                );
            }
        }
    }
    for stage in content.funnel.iter().flat_map(|f| &f.stages) {
        put(
            &mut out,
            ("funnel", 0, 0, &stage.name, "count"),
            stage.count as f64,
        );
        put(
            &mut out,
            ("funnel", 0, 0, &stage.name, "conversion_from_previous"),
            stage.conversion_from_previous,
        );
    }
    for series in &content.series {
        for point in &series.points {
            let key = point
                .date
                .as_ref()
                .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                .unwrap_or_default();
            put(
                &mut out,
                ("series", 0, series.metric, &key, "value"),
                point.value,
            );
        }
    }
    out
}

/// The figures that differ between `published` and `live`.
pub fn differences(
    published: &pb::PublishedContent,
    live: &pb::PublishedContent,
) -> Vec<pb::FigureDifference> {
    let (before, now) = (flatten(published), flatten(live));
    let mut places: Vec<&Place> = before.keys().chain(now.keys()).collect();
    places.sort();
    places.dedup();
    places
        .into_iter()
        .filter_map(|place| {
            let p = before.get(place).copied().unwrap_or(0.0);
            let l = now.get(place).copied().unwrap_or(0.0);
            // Both sides come from the same integers through the same
            // arithmetic, so equal data gives bit-equal values.
            (p != l).then(|| pb::FigureDifference {
                section: place.0.clone(),
                dimension: place.1,
                metric: place.2,
                key: place.3.clone(),
                figure: place.4.clone(),
                published: p,
                live: l,
                difference: l - p,
            })
        })
        .collect()
}

/// The period a snapshot was published for, as it was asked for.
fn period_of(content: &pb::PublishedContent) -> Result<Period, DomainError> {
    let broken = |_| DomainError::internal("a stored snapshot has no valid period");
    if !content.half.is_empty() {
        return Period::half("half", &content.half).map_err(broken);
    }
    let start = parse_date("start_date", content.start_date.as_ref()).map_err(broken)?;
    let end = parse_date("end_date", content.end_date.as_ref()).map_err(broken)?;
    Period::range("period", start, end).map_err(broken)
}

impl Publisher {
    pub async fn compare(
        &self,
        req: &pb::CompareWithPublishedRequest,
    ) -> Result<pb::CompareWithPublishedResponse, DomainError> {
        let id = id::parse_id("snapshot_id", &req.snapshot_id)?;
        let stored = super::store::get(&self.db, &id)
            .await
            .map_err(db_error)?
            .ok_or_else(|| DomainError::not_found("published report", &id))?;
        let published = stored.report.content.unwrap_or_default();
        let period = period_of(&published)?;
        let live = {
            let model = self.engine.read()?;
            // Targets are not figures: the comparison leaves them out.
            snapshot::figures(&model, &period, &published.program_id, &[])?
        };
        let differences = differences(&published, &live);
        let drifted = !differences.is_empty();
        self.record_drift(&id, drifted);
        Ok(pb::CompareWithPublishedResponse {
            snapshot_id: id,
            digest: stored.report.digest,
            drifted,
            differences,
            published_positions: published.positions,
            live_positions: live.positions,
        })
    }

    /// Keeps the gauge `reporting_published_drifted_snapshots`: how many
    /// snapshots this replica last found drifted when compared.
    fn record_drift(&self, id: &str, drifted: bool) {
        let mut set = match self.drifted.lock() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        if drifted {
            set.insert(id.to_owned());
        } else {
            set.remove(id);
        }
        metrics::gauge!("reporting_published_drifted_snapshots").set(set.len() as f64);
    }
}
