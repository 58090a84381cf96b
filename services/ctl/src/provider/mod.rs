//! `academyctl import members` and `import enrollments`: a course provider's
//! export files, sent to the learner service in batches.

pub mod enrollments;
pub mod members;
