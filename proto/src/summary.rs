//! `ProgramSummary` repeats `PeriodFigures`' fields for its own period; this
//! gives them back as one, to treat all three periods of a summary alike.

use crate::reporting::{Metric, PeriodFigures, ProgramSummary};

impl ProgramSummary {
    /// This period's figures, as `previous_period` and `year_before` carry
    /// theirs.
    pub fn figures(&self) -> PeriodFigures {
        PeriodFigures {
            registered_learners: self.registered_learners,
            new_learners: self.new_learners,
            active_learners: self.active_learners,
            enrollments: self.enrollments,
            completions: self.completions,
            completion_rate: self.completion_rate,
            certificates_issued: self.certificates_issued,
            learning_hours: self.learning_hours,
            start_date: self.start_date,
            end_date: self.end_date,
            invited: self.invited,
            joined: self.joined,
            invitation_conversion: self.invitation_conversion,
        }
    }
}

impl PeriodFigures {
    /// The figure a headline `metric` names (none for `METRIC_UNSPECIFIED`).
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        Some(match metric {
            Metric::Unspecified => return None,
            Metric::RegisteredLearners => self.registered_learners as f64,
            Metric::NewLearners => self.new_learners as f64,
            Metric::ActiveLearners => self.active_learners as f64,
            Metric::Enrollments => self.enrollments as f64,
            Metric::Completions => self.completions as f64,
            Metric::CertificatesIssued => self.certificates_issued as f64,
            Metric::LearningHours => self.learning_hours,
            Metric::Invited => self.invited as f64,
            Metric::Joined => self.joined as f64,
        })
    }
}
