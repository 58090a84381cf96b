//! Following a merge of duplicate learners (`learner.merged`).
//!
//! The rule (ARCHITECTURE.md, "Merged learners"): after the merge, every
//! figure is as if the duplicate's enrollments and progress had always been
//! the survivor's, the folded enrollments had never existed (their progress
//! already counts in the survivor's enrollment in the same course), and the
//! duplicate had never registered; the survivor keeps the earlier of the
//! two registration days and its own attributes.
//!
//! A merge touches the funnel days, program memberships, first-in-course
//! flags and active-learner bitmaps of two learners at once, so rather than
//! undo each index by hand the model is rebuilt from its own columns with
//! the duplicate's rows handed to the survivor: the same calls, in the same
//! order, a load from the (equally re-homed) projection tables makes. A
//! merge is a rare operator action; this costs one pass over the model.

use std::collections::HashSet;

use super::NEVER;
use super::enrollments::{Milestone, NewEnrollment};
use super::model::Model;
use super::names::{NONE, fingerprint, key};

impl Model {
    pub(super) fn merge(
        &mut self,
        survivor_id: &str,
        duplicate_id: &str,
        folded_ids: &[String],
        folded_invitation_ids: &[String],
    ) {
        let survivor = self.learners.find_or_add(survivor_id);
        let duplicate = self.learners.find(duplicate_id).filter(|&d| d != survivor);
        let folded = self.folded(survivor, duplicate, folded_ids);
        let mut old = std::mem::take(self);
        self.generation = old.generation;
        self.positions = std::mem::take(&mut old.positions);
        self.catalog = std::mem::take(&mut old.catalog);
        self.learners = std::mem::take(&mut old.learners);
        let owner = |l: u32| if Some(l) == duplicate { survivor } else { l };

        let mut register = self.learners.restart();
        if let Some(d) = duplicate {
            let gone = std::mem::replace(&mut register[d as usize], NEVER);
            let kept = &mut register[survivor as usize];
            // An unregistered survivor stays so (no row to keep a day in).
            if *kept != NEVER {
                *kept = (*kept).min(gone);
            }
        }
        for (l, &day) in register.iter().enumerate() {
            if day != NEVER {
                self.learners.register_at(l as u32, day);
                self.registered(l as u32, day);
            }
        }

        let e = &old.enrollments;
        for i in (0..e.len()).filter(|i| !folded.contains(&(*i as u32))) {
            let new = NewEnrollment {
                learner: owner(e.learner[i]),
                course: e.course[i],
                program: e.program[i],
                enrolled: e.enrolled[i],
                fingerprint: e.fingerprint[i],
            };
            let Some(n) = self.enroll_numbered(new) else {
                continue;
            };
            for (m, day) in [
                (Milestone::Completed, e.completed[i]),
                (Milestone::Certified, e.certified[i]),
            ] {
                if day != NEVER {
                    self.set_milestone(n, m, day);
                }
            }
        }

        for (l, rows) in old.activity.of_learner.iter().enumerate() {
            for &p in rows {
                self.progress_numbered(owner(l as u32), p);
            }
        }

        // Invitations: the folded ones go, the duplicate's others are the
        // survivor's (issue #17, item 4).
        let dropped: HashSet<u128> = folded_invitation_ids.iter().map(|id| key(id)).collect();
        let inv = &old.invitations;
        for i in (0..inv.len()).filter(|&i| !dropped.contains(&inv.id_key[i])) {
            let learner = match inv.learner[i] {
                NONE => NONE,
                l => owner(l),
            };
            let Some(n) =
                self.invite_numbered(inv.id_key[i], inv.program[i], learner, inv.invited[i])
            else {
                continue;
            };
            if inv.joined[i] != NEVER {
                self.join_numbered(n, learner, inv.joined[i]);
            }
        }
    }

    /// The numbers of the folded enrollments, among the two learners'.
    fn folded(&self, survivor: u32, duplicate: Option<u32>, ids: &[String]) -> HashSet<u32> {
        let heads = [Some(survivor), duplicate]
            .into_iter()
            .flatten()
            .map(|l| self.learners.enrollments_head[l as usize]);
        let heads: Vec<u32> = heads.collect();
        ids.iter()
            .filter_map(|id| {
                let print = fingerprint(id);
                heads.iter().find_map(|&h| self.enrollments.find(h, print))
            })
            .collect()
    }
}
