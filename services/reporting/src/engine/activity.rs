//! Progress rows grouped by learner (day, program, minutes): what moves
//! between breakdown cells when the learner's attributes change.

use super::Day;

/// One progress row of a learner.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub day: Day,
    pub program: u32,
    /// The course's number (cross-tabs by course split minutes by it).
    pub course: u32,
    pub minutes: i64,
}

#[derive(Debug, Default)]
pub struct Activity {
    /// Per learner number.
    pub of_learner: Vec<Vec<Progress>>,
    rows: usize,
}

impl Activity {
    pub fn push(&mut self, learner: u32, p: Progress) {
        let i = learner as usize;
        if i >= self.of_learner.len() {
            self.of_learner.resize_with(i + 1, Vec::new);
        }
        self.of_learner[i].push(p);
        self.rows += 1;
    }

    pub fn of(&self, learner: u32) -> &[Progress] {
        self.of_learner
            .get(learner as usize)
            .map_or(&[], Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    /// Gives back the growth slack of each learner's rows (after a load).
    pub fn shrink_to_fit(&mut self) {
        self.of_learner.iter_mut().for_each(Vec::shrink_to_fit);
        self.of_learner.shrink_to_fit();
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }
}
