//! What exists in the catalog, and the labels breakdowns show: course codes
//! and titles, skill names, a course's current skills, program names.

use std::collections::HashMap;

use super::names::Interner;

#[derive(Debug, Default)]
pub struct Catalog {
    pub courses: Interner,
    /// (code, title) of the courses the course feed described.
    pub course_labels: HashMap<u32, (String, String)>,
    pub course_skills: HashMap<u32, Vec<u32>>,
    pub skills: Interner,
    pub skill_names: HashMap<u32, String>,
    pub programs: Interner,
    /// Programs the course feed created: the ones a report may name.
    pub program_names: HashMap<u32, String>,
}

impl Catalog {
    pub fn course(&mut self, id: &str, code: &str, title: &str, skill_ids: &[String]) {
        let c = self.courses.intern(id);
        self.course_labels
            .insert(c, (code.to_owned(), title.to_owned()));
        let skills = skill_ids.iter().map(|s| self.skills.intern(s)).collect();
        self.course_skills.insert(c, skills);
    }

    pub fn skill(&mut self, id: &str, name: &str) {
        let s = self.skills.intern(id);
        self.skill_names.insert(s, name.to_owned());
    }

    pub fn program(&mut self, id: &str, name: &str) {
        let p = self.programs.intern(id);
        self.program_names.insert(p, name.to_owned());
    }

    /// A program a report may be scoped to.
    pub fn known_program(&self, id: &str) -> Option<u32> {
        self.programs
            .get(id)
            .filter(|p| self.program_names.contains_key(p))
    }

    pub fn skills_of(&self, course: u32) -> &[u32] {
        self.course_skills.get(&course).map_or(&[], Vec::as_slice)
    }

    /// "CODE Title", or the id of a course the feed never described.
    pub fn course_label(&self, course: u32) -> String {
        match self.course_labels.get(&course) {
            Some((code, title)) if title.is_empty() => code.clone(),
            Some((code, title)) => format!("{code} {title}"),
            None => self.courses.name(course).to_owned(),
        }
    }

    pub fn skill_label(&self, skill: u32) -> String {
        self.skill_names
            .get(&skill)
            .cloned()
            .unwrap_or_else(|| self.skills.name(skill).to_owned())
    }
}
