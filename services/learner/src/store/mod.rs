//! SQL of the learner service, through sea-orm. Functions take any
//! connection or transaction and return `DbErr`.

pub mod certificates;
pub mod enrollments;
pub mod invitations;
pub mod learners;
pub mod merge;
