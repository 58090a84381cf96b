//! sea-orm entities: one module per table of the course service.

pub mod course;
pub mod course_module;
pub mod course_skill;
pub mod program;
pub mod program_course;
pub mod skill;
