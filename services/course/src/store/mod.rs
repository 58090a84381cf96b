//! SQL of the course service, through sea-orm. Functions take any connection
//! or transaction and return `DbErr`; callers decide what an error means.

pub mod courses;
pub mod programs;
pub mod skills;
