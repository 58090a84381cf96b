//! Conversions between protobuf time types and chrono, shared by every service.

use academy_domain::{FieldViolation, period};
use academy_proto::google::r#type::Date;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use prost_types::Timestamp;

pub fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// An optional business timestamp from a request; `None` when not given.
/// Instants before 1970 or after 2999 are refused as certainly wrong.
pub fn parse_timestamp(
    field: &str,
    value: Option<&Timestamp>,
) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    let Some(ts) = value else { return Ok(None) };
    let at = u32::try_from(ts.nanos)
        .ok()
        .and_then(|nanos| DateTime::<Utc>::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| FieldViolation::new(field, "is not a valid timestamp"))?;
    if at.year() < 1970 || at.year() > 2999 {
        return Err(FieldViolation::new(field, "must be between 1970 and 2999"));
    }
    Ok(Some(at))
}

pub fn date(value: NaiveDate) -> Date {
    Date {
        year: value.year(),
        month: value.month() as i32,
        day: value.day() as i32,
    }
}

/// A required calendar date.
pub fn parse_date(field: &str, value: Option<&Date>) -> Result<NaiveDate, FieldViolation> {
    let d = value.ok_or_else(|| FieldViolation::new(field, "is required"))?;
    let month = u32::try_from(d.month).unwrap_or(0);
    let day = u32::try_from(d.day).unwrap_or(0);
    period::date(field, d.year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_reject_nonsense() {
        let now = Utc::now();
        let back = parse_timestamp("t", Some(&timestamp(now)))
            .unwrap()
            .unwrap();
        assert_eq!(back, now);
        assert!(parse_timestamp("t", None).unwrap().is_none());
        let bad = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(parse_timestamp("t", Some(&bad)).is_err());
    }

    #[test]
    fn dates_must_exist() {
        let ok = Date {
            year: 2024,
            month: 2,
            day: 29,
        };
        assert_eq!(
            parse_date("d", Some(&ok)).unwrap().to_string(),
            "2024-02-29"
        );
        let bad = Date {
            year: 2025,
            month: 2,
            day: 29,
        };
        assert!(parse_date("d", Some(&bad)).is_err());
        assert_eq!(
            parse_date("d", None).unwrap_err().description,
            "is required"
        );
    }
}
