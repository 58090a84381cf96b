//! The domain every Academy service shares.
//!
//! Value types validate themselves when built (`Email::parse`,
//! `Period::half("2025-H2")`), so code past the gRPC edge works with data
//! that is known to be good. Nothing here knows about tonic, prost or sea-orm.

pub mod csv;
pub mod email;
pub mod error;
pub mod id;
pub mod learner;
pub mod mask;
pub mod page;
pub mod period;
pub mod region;
pub mod stored;
pub mod text;

pub use email::Email;
pub use error::{AllValid, DomainError, FieldViolation, IntoViolations, Result, Violations};
pub use learner::{EducationLevel, EmploymentStatus, Gender};
pub use page::{PageRequest, PageToken};
pub use period::{AgeBand, Half, Period};
pub use region::Region;
