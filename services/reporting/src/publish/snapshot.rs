//! What a snapshot freezes, computed from one consistent model through the
//! same report functions the Get RPCs use (so a snapshot and a live answer
//! can only differ because the data did), and its digest.

use academy_domain::{DomainError, Period};
use academy_proto::reporting as pb;
use academy_runtime::time::date;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::access::Access;
use crate::engine::Model;
use crate::rpc::reports;

use super::targets;

/// Dimensions and metrics in enum order: a snapshot holds every one.
const DIMENSIONS: [pb::Dimension; 8] = [
    pb::Dimension::Region,
    pb::Dimension::Gender,
    pb::Dimension::AgeBand,
    pb::Dimension::EmploymentStatus,
    pb::Dimension::Organization,
    pb::Dimension::Course,
    pb::Dimension::Skill,
    pb::Dimension::EducationLevel,
];
const METRICS: [pb::Metric; 7] = [
    pb::Metric::RegisteredLearners,
    pb::Metric::NewLearners,
    pb::Metric::ActiveLearners,
    pb::Metric::Enrollments,
    pb::Metric::Completions,
    pb::Metric::CertificatesIssued,
    pb::Metric::LearningHours,
];

/// The figures of `period` for `program_id` (empty: the platform) as the
/// model has them now, with the feed positions they reflect, and `targets`
/// with their attainment on the summary and the breakdown rows (from the
/// same model, so a share's total is the one published). Provenance
/// (version, actor, time, note) is filled in by the caller.
pub fn figures(
    model: &Model,
    period: &Period,
    program_id: &str,
    targets: &[pb::Target],
) -> Result<pb::PublishedContent, DomainError> {
    // A half stays a half: its previous period is the previous half.
    let proto_period = match period.half {
        Some(half) => pb::Period {
            half: half.to_string(),
            ..Default::default()
        },
        None => pb::Period {
            half: String::new(),
            start_date: Some(date(period.start)),
            end_date: Some(date(period.end)),
        },
    };
    let summary = reports::summary(
        model,
        &pb::GetProgramSummaryRequest {
            program_id: program_id.to_owned(),
            period: Some(proto_period.clone()),
        },
        &Access::unlimited(),
    )?;
    let mut summary = summary;
    let request = |d: i32| pb::GetBreakdownRequest {
        program_id: program_id.to_owned(),
        period: Some(proto_period.clone()),
        dimension: d,
        limit: 0,
    };
    let breakdowns = DIMENSIONS
        .iter()
        .map(|d| {
            let (mut answer, total) =
                reports::breakdown_with_total(model, &request(*d as i32), &Access::unlimited())?;
            targets::on_breakdown(&mut answer, targets, &total);
            Ok(answer)
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    let bases = targets::share_dimensions(targets)
        .into_iter()
        .map(|d| reports::share_basis(model, &request(d), &Access::unlimited()))
        .collect::<Result<Vec<_>, _>>()?;
    targets::on_summary(&mut summary, targets, &bases);
    let funnel = reports::funnel(
        model,
        &pb::GetFunnelRequest {
            program_id: program_id.to_owned(),
            period: Some(proto_period),
        },
        &Access::unlimited(),
    )?;
    let series = METRICS
        .iter()
        .map(|m| {
            reports::time_series(
                model,
                &pb::GetTimeSeriesRequest {
                    program_id: program_id.to_owned(),
                    metric: *m as i32,
                    granularity: pb::Granularity::Month as i32,
                    start_date: Some(date(period.start)),
                    end_date: Some(date(period.end)),
                },
                &Access::unlimited(),
            )
            .map(|s| pb::MetricSeries {
                metric: *m as i32,
                points: s.points,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(pb::PublishedContent {
        start_date: Some(date(period.start)),
        end_date: Some(date(period.end)),
        program_id: program_id.to_owned(),
        positions: ["course", "learner"]
            .into_iter()
            .map(|service| pb::FeedPosition {
                service: service.to_owned(),
                sequence: model.position(service),
            })
            .collect(),
        summary: Some(summary),
        breakdowns,
        funnel: Some(funnel),
        series,
        half: period.half.map(|h| h.to_string()).unwrap_or_default(),
        targets: targets.to_vec(),
        ..Default::default()
    })
}

/// Whether nothing happened in the period: no one new, active, enrolled,
/// completing or certified (a snapshot of it would publish only zeros).
pub fn is_empty(content: &pb::PublishedContent) -> bool {
    content.summary.as_ref().is_none_or(|s| {
        s.new_learners == 0
            && s.active_learners == 0
            && s.enrollments == 0
            && s.completions == 0
            && s.certificates_issued == 0
    })
}

/// The canonical encoding of a snapshot: its protobuf encoding, fields in
/// field-number order (prost, like every standard encoder, writes them so;
/// the content has no maps, whose order would vary). Fields at their
/// default (false, 0, "") are not written, as proto3 says: a field added
/// later (e.g. `share` on targets) leaves the bytes, and so the digest, of
/// every snapshot that does not use it as they were.
pub fn encode(content: &pb::PublishedContent) -> Vec<u8> {
    content.encode_to_vec()
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field `n`, wire type 1 (64-bit), then the double.
    fn double(n: u8, v: f64) -> Vec<u8> {
        let mut out = vec![(n << 3) | 1];
        out.extend(v.to_le_bytes());
        out
    }

    /// Snapshots published before share targets existed keep their digest:
    /// an absolute target and its attainment encode as they did then (no
    /// `share`, `dimension` or `key` bytes), checked against the wire
    /// format written out by hand.
    #[test]
    fn an_absolute_target_encodes_as_before_share_targets() {
        let target = pb::Target {
            metric: pb::Metric::NewLearners as i32,
            value: 20_000.0,
            ..Default::default()
        };
        let mut want = vec![0x20, 0x02]; // field 4 (metric), varint 2
        want.extend(double(7, 20_000.0));
        assert_eq!(target.encode_to_vec(), want);

        let mut summary = pb::ProgramSummary {
            new_learners: 5_000,
            ..Default::default()
        };
        targets::on_summary(&mut summary, std::slice::from_ref(&target), &[]);
        let attained = &summary.targets[0];
        let mut want = vec![0x08, 0x02]; // field 1 (metric), varint 2
        want.extend(double(2, 20_000.0));
        want.extend(double(3, 5_000.0));
        want.extend(double(4, 0.25));
        assert_eq!(attained.encode_to_vec(), want);

        // A share target does add its fields.
        let share = pb::Target {
            share: true,
            dimension: pb::Dimension::Gender as i32,
            key: "FEMALE".into(),
            ..target.clone()
        };
        assert!(share.encoded_len() > target.encoded_len() + 8);
    }
}
