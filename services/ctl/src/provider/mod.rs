pub mod enrollments;
