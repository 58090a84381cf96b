pub mod enrollments;
pub mod members;
