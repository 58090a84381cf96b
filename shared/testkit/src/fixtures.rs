//! Request defaults that the tests of more than one service build: a skill,
//! a program, a date. A test changes the one field it is about and leaves
//! the rest valid.

use academy_proto::course::{
    AddCourseToProgramRequest, CreateProgramRequest, CreateSkillRequest, Program, Skill,
};
use academy_proto::google::r#type::Date;

pub fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}

/// A skill named `name` in the "Digital" category.
pub fn skill_request(name: &str) -> CreateSkillRequest {
    CreateSkillRequest {
        skill: Some(Skill {
            name: name.into(),
            category: "Digital".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A program named `name` starting on `start_date`, with no courses yet.
pub fn program_request(name: &str, start_date: Date) -> CreateProgramRequest {
    CreateProgramRequest {
        program: Some(Program {
            name: name.into(),
            start_date: Some(start_date),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

pub fn add_course_request(program_id: &str, course_id: &str) -> AddCourseToProgramRequest {
    AddCourseToProgramRequest {
        program_id: program_id.into(),
        course_id: course_id.into(),
    }
}

/// An update mask naming `paths`.
pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}
