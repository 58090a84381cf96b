//! Data scopes: token claims that limit a caller to a slice of the data
//! (issue #15, item 6), on top of the per-method `scope` claim.
//!
//! - `programs`: program ids; reports answer only these programs (a
//!   platform-wide report is refused).
//! - `regions`: economic region names (as the API spells them); learner
//!   reads and reports count only learners in these regions.
//! - `organizations`: organisation names, matched exactly; learner reads and
//!   reports count only learners of these organisations.
//!
//! A claim that is absent does not limit; one that is present limits to
//! its values (an empty list: to nothing). Several claims limit together
//! (a learner must be in one of the regions and one of the organisations).
//! A claim of the wrong shape, an unknown region or an oversized list makes
//! the whole token invalid: a scope that cannot be read is not ignored.

use academy_domain::Region;
use serde::{Deserialize, Serialize};

/// Most values a data-scope claim may list.
pub(super) const MAX_VALUES: usize = 100;
/// Longest value in a data-scope claim, in characters.
pub(super) const MAX_VALUE_LEN: usize = 200;

/// The slice of data a caller may see; the default sees everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataScope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizations: Option<Vec<String>>,
}

impl DataScope {
    /// Whether any claim limits the caller.
    pub fn is_limited(&self) -> bool {
        self.programs.is_some() || self.limits_learners()
    }

    /// Whether the caller sees only some learners (regions, organisations).
    pub fn limits_learners(&self) -> bool {
        self.regions.is_some() || self.organizations.is_some()
    }

    /// Whether `program_id` is a program the caller may see.
    pub fn admits_program(&self, program_id: &str) -> bool {
        self.programs
            .as_ref()
            .is_none_or(|p| p.iter().any(|x| x == program_id))
    }

    /// Whether a learner with this region and organisation is in the slice.
    pub fn admits_learner(&self, region: &str, organization: &str) -> bool {
        self.regions
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x == region))
            && self
                .organizations
                .as_ref()
                .is_none_or(|o| o.iter().any(|x| x == organization))
    }

    /// Checks the claims' values and spells regions the way the API does.
    pub(super) fn validated(mut self) -> Result<Self, String> {
        for (claim, values) in [
            ("programs", &self.programs),
            ("regions", &self.regions),
            ("organizations", &self.organizations),
        ] {
            let Some(values) = values else { continue };
            if values.len() > MAX_VALUES {
                return Err(format!("`{claim}` lists more than {MAX_VALUES} values"));
            }
            if values.iter().any(|v| {
                v.trim().is_empty()
                    || v.chars().count() > MAX_VALUE_LEN
                    || v.chars().any(char::is_control)
            }) {
                return Err(format!(
                    "`{claim}` holds an empty, control-character or over-long value"
                ));
            }
        }
        if let Some(regions) = &mut self.regions {
            for r in regions.iter_mut() {
                let region =
                    Region::parse("regions", r).map_err(|_| "`regions` names an unknown region")?;
                *r = region.as_str().to_owned();
            }
        }
        Ok(self)
    }
}

/// The data scope of the caller of `request`: what the auth layer found in
/// its token. Every non-public call carries a caller (with auth disabled, an
/// unlimited one); a request without one is not limited.
pub fn data_scope<T>(request: &tonic::Request<T>) -> DataScope {
    request
        .extensions()
        .get::<super::Caller>()
        .map(|c| c.data.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_claims_do_not_limit_and_present_ones_do() {
        let open = DataScope::default();
        assert!(!open.is_limited());
        assert!(open.admits_program("p") && open.admits_learner("Baku", "ACME"));
        let baku = DataScope {
            regions: Some(vec!["Baku".into()]),
            ..Default::default()
        };
        assert!(baku.limits_learners());
        assert!(baku.admits_learner("Baku", "") && !baku.admits_learner("Ganja-Dashkasan", ""));
        let nothing = DataScope {
            programs: Some(vec![]),
            ..Default::default()
        };
        assert!(!nothing.admits_program("p"));
    }

    #[test]
    fn unknown_regions_and_oversized_claims_are_refused() {
        let bad_region = DataScope {
            regions: Some(vec!["Atlantis".into()]),
            ..Default::default()
        };
        assert!(bad_region.validated().is_err());
        let blank = DataScope {
            organizations: Some(vec![" ".into()]),
            ..Default::default()
        };
        assert!(blank.validated().is_err());
        let many = DataScope {
            programs: Some(vec!["p".into(); MAX_VALUES + 1]),
            ..Default::default()
        };
        assert!(many.validated().is_err());
    }
}
