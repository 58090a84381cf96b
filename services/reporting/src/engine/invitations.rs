//! Program invitations (issue #17, item 4) as columns indexed by a dense
//! invitation number: program, invitee (a learner number, or NONE while the
//! invitee is not known to be a learner), invitation day and join day.
//! Counted in each scope's `invited`/`joined` counters and in the breakdown
//! cells of the invitee's current attributes (the `unknown` values for an
//! invitee without a learner record): `Model::invitation_cells`.

use std::collections::HashMap;

use super::names::{NONE, key};
use super::{Day, NEVER};

#[derive(Debug, Default)]
pub struct Invitations {
    index: HashMap<u128, u32>,
    pub id_key: Vec<u128>,
    pub program: Vec<u32>,
    pub learner: Vec<u32>,
    pub invited: Vec<Day>,
    pub joined: Vec<Day>,
    /// Each learner's invitations.
    pub of_learner: HashMap<u32, Vec<u32>>,
}

impl Invitations {
    pub fn find(&self, id: &str) -> Option<u32> {
        self.index.get(&key(id)).copied()
    }

    /// A new invitation's number; `None` when it is known already (a
    /// replayed event).
    pub fn push(&mut self, id_key: u128, program: u32, learner: u32, day: Day) -> Option<u32> {
        if self.index.contains_key(&id_key) {
            return None;
        }
        let i = self.program.len() as u32;
        self.index.insert(id_key, i);
        self.id_key.push(id_key);
        self.program.push(program);
        self.learner.push(NONE);
        self.invited.push(day);
        self.joined.push(NEVER);
        self.set_learner(i, learner);
        Some(i)
    }

    /// Hands the invitation to `learner` (NONE: nobody).
    pub fn set_learner(&mut self, i: u32, learner: u32) {
        let old = self.learner[i as usize];
        if old == learner {
            return;
        }
        if old != NONE
            && let Some(list) = self.of_learner.get_mut(&old)
        {
            list.retain(|&x| x != i);
        }
        if learner != NONE {
            self.of_learner.entry(learner).or_default().push(i);
        }
        self.learner[i as usize] = learner;
    }

    pub fn of(&self, learner: u32) -> Vec<u32> {
        self.of_learner.get(&learner).cloned().unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.program.len()
    }

    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}
