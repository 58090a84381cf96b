//! What the caller's token lets a report show (issue #15, item 6): the
//! data-scope claims (`academy_runtime::auth::DataScope`). A
//! program-limited token gets only its programs' reports; a region- or
//! organisation-limited one gets summaries, breakdowns and cross-tabs
//! computed over its slice of learners, and PERMISSION_DENIED for the
//! reports that cannot be computed exactly for a slice here (time series,
//! funnel, breakdown by SKILL). Without `reports.exact`, breakdowns and
//! cross-tabs withhold small counts (`crate::suppress`).

use academy_domain::DomainError;
use academy_runtime::auth::DataScope;

use crate::engine::Model;
use crate::figures::slice::Slice;

#[derive(Debug, Clone)]
pub struct Access {
    pub data: DataScope,
    /// Whether small counts are shown as they are (`reports.exact`).
    pub exact: bool,
    /// The minimum cell size applied when not `exact`.
    pub min_cell_size: i64,
}

impl Access {
    /// Everything, exactly: tools in-process.
    pub fn unlimited() -> Self {
        Self {
            data: DataScope::default(),
            exact: true,
            min_cell_size: 1,
        }
    }

    pub fn of<T>(request: &tonic::Request<T>, min_cell_size: i64) -> Self {
        Self {
            data: academy_runtime::auth::data_scope(request),
            exact: academy_runtime::auth::caller_may(
                request,
                academy_runtime::auth::scope::REPORTS_EXACT,
            ),
            min_cell_size,
        }
    }

    /// Refuses a report on a program the token is not limited to, or on
    /// the whole platform (None) when it is limited to programs.
    pub fn program(&self, program_id: Option<&str>) -> Result<(), DomainError> {
        let Some(programs) = &self.data.programs else {
            return Ok(());
        };
        match program_id {
            Some(id) if programs.iter().any(|p| p == id) => Ok(()),
            Some(_) => Err(denied(
                "this token is limited to other programs (its `programs` claim)",
            )),
            None => Err(denied(
                "this token is limited to programs (its `programs` claim): set program_id",
            )),
        }
    }

    /// The slice of learners the token limits reports to, if any.
    pub fn slice(&self, model: &Model) -> Option<Slice> {
        Slice::of(model, &self.data)
    }

    /// Refuses `report` to a token limited to some learners.
    pub fn whole_learners_only(&self, report: &str) -> Result<(), DomainError> {
        if self.data.limits_learners() {
            Err(denied(&format!(
                "{report} is not computed for a slice of learners; this token is limited \
                 to regions or organisations"
            )))
        } else {
            Ok(())
        }
    }
}

impl Access {
    /// Published snapshots and targets are frozen for a whole program or
    /// the platform, not for a slice: refused to any data-scoped token.
    pub fn whole_data_only(&self, what: &str) -> Result<(), DomainError> {
        if self.data.is_limited() {
            Err(denied(&format!(
                "{what} is not answered for a slice of the data; this token is limited \
                 to programs, regions or organisations"
            )))
        } else {
            Ok(())
        }
    }
}

fn denied(message: &str) -> DomainError {
    DomainError::PermissionDenied {
        message: message.to_owned(),
    }
}
