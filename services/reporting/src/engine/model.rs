//! The whole read model of one generation, and how each event changes it.
//! Mirrors `projection/` (the durable tables) rule for rule: a replica
//! loaded from those tables and one that applied the same events hold the
//! same model.

use academy_domain::EducationLevel;
use academy_proto::events::Event;
use academy_proto::events::event::Payload;
use std::collections::BTreeMap;

use super::activity::{Activity, Progress};
use super::catalog::Catalog;
use super::cells::move_milestone;
use super::cube::Cube;
use super::enrollments::{Enrollments, FirstChange, Milestone, NewEnrollment};
use super::invitations::Invitations;
use super::learners::{Attributes, Firsts, Learners};
use super::names::{NONE, fingerprint, key};
use super::scopes::Scopes;
use super::{Day, NEVER, day_of};

#[derive(Debug, Default)]
pub struct Model {
    /// Which generation of the stored projections this model started from.
    pub generation: i64,
    /// The last sequence applied from each source.
    pub positions: BTreeMap<String, i64>,
    pub learners: Learners,
    pub enrollments: Enrollments,
    pub activity: Activity,
    pub catalog: Catalog,
    pub scopes: Scopes,
    pub cube: Cube,
    pub invitations: Invitations,
}

/// Why the model stopped applying a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// An event it cannot use (no business time, no payload): the durable
    /// projection refuses it first, so this is not reached in practice.
    NotUnderstood(i64),
    /// An event after a missing one: the model stays where it was, and the
    /// follower subscribes again from its position.
    Gap { expected: i64, got: i64 },
}

impl Model {
    pub fn position(&self, source: &str) -> i64 {
        self.positions.get(source).copied().unwrap_or(0)
    }

    /// Applies the events of `source` after this model's position, in order.
    pub fn apply_all<'a>(
        &mut self,
        source: &str,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<(), Stop> {
        for event in events {
            let position = self.position(source);
            if event.sequence <= position {
                continue;
            }
            if event.sequence != position + 1 {
                return Err(Stop::Gap {
                    expected: position + 1,
                    got: event.sequence,
                });
            }
            self.apply(event)
                .map_err(|NotUnderstood| Stop::NotUnderstood(event.sequence))?;
            self.positions.insert(source.to_owned(), event.sequence);
        }
        Ok(())
    }

    fn apply(&mut self, event: &Event) -> Result<(), NotUnderstood> {
        let day = super::event_day(event).ok_or(NotUnderstood)?;
        let payload = event.payload.as_ref().ok_or(NotUnderstood)?;
        match payload {
            Payload::SkillCreated(e) => self.catalog.skill(&e.skill_id, &e.name),
            Payload::CourseCreated(e) => self.course(e.course.as_ref()),
            Payload::CourseUpdated(e) => self.course(e.course.as_ref()),
            Payload::CoursePublished(e) => self.course(e.course.as_ref()),
            Payload::CourseArchived(e) => self.course(e.course.as_ref()),
            Payload::ProgramCreated(e) => self.catalog.program(&e.program_id, &e.name),
            Payload::CourseAddedToProgram(_) => {}
            Payload::LearnerRegistered(e) => {
                let attributes = Attributes {
                    region: &e.region,
                    gender: &e.gender,
                    birth_year: e.birth_year,
                    employment_status: &e.employment_status,
                    organization: &e.organization,
                    education_level: EducationLevel::reported(&e.education_level),
                };
                self.register(&e.learner_id, day, &attributes);
            }
            Payload::LearnerUpdated(e) => {
                if let Some(l) = self.learners.find(&e.learner_id)
                    && self.learners.is_registered(l)
                {
                    let attributes = Attributes {
                        region: &e.region,
                        gender: &e.gender,
                        birth_year: e.birth_year,
                        employment_status: &e.employment_status,
                        organization: &e.organization,
                        education_level: EducationLevel::reported(&e.education_level),
                    };
                    self.contribute(l, -1);
                    self.learners.set_attributes(l, &attributes);
                    self.contribute(l, 1);
                }
            }
            Payload::LearnerErased(e) => {
                if let Some(l) = self.learners.find(&e.learner_id) {
                    self.contribute(l, -1);
                    self.learners.erase(l);
                    self.contribute(l, 1);
                }
            }
            Payload::EnrollmentCreated(e) => {
                self.enroll(
                    &e.enrollment_id,
                    &e.learner_id,
                    &e.course_id,
                    &e.program_id,
                    day,
                );
            }
            Payload::ProgressRecorded(e) => {
                self.progress(
                    &e.learner_id,
                    &e.program_id,
                    &e.course_id,
                    day,
                    i64::from(e.minutes_spent),
                );
            }
            Payload::EnrollmentCompleted(e) => {
                self.milestone(&e.learner_id, &e.enrollment_id, Milestone::Completed, day)
            }
            Payload::CertificateIssued(e) => {
                self.milestone(&e.learner_id, &e.enrollment_id, Milestone::Certified, day)
            }
            // Withdrawn enrollments still count as enrollments.
            Payload::EnrollmentWithdrawn(_) => {}
            Payload::LearnerMerged(e) => self.merge(
                &e.survivor_learner_id,
                &e.duplicate_learner_id,
                &e.folded_enrollment_ids,
                &e.folded_invitation_ids,
            ),
            // Provider progress (issue #17): a day of activity, as module
            // progress is; a re-dated completion moves both milestones.
            Payload::ProgressReported(e) => {
                self.progress(
                    &e.learner_id,
                    &e.program_id,
                    &e.course_id,
                    day,
                    i64::from(e.minutes_spent),
                );
            }
            Payload::CompletionRedated(e) => {
                self.milestone(&e.learner_id, &e.enrollment_id, Milestone::Completed, day);
                self.milestone(&e.learner_id, &e.enrollment_id, Milestone::Certified, day);
            }
            Payload::InvitationCreated(e) => {
                self.invite(&e.invitation_id, &e.program_id, &e.learner_id, day);
            }
            Payload::InvitationJoined(e) => {
                self.join_invitation(&e.invitation_id, &e.learner_id, day)
            }
            // A declined invitation still counts as invited.
            Payload::InvitationDeclined(_) => {}
        }
        Ok(())
    }

    fn course(&mut self, snapshot: Option<&academy_proto::events::CourseSnapshot>) {
        if let Some(c) = snapshot {
            self.catalog
                .course(&c.course_id, &c.code, &c.title, &c.skill_ids);
        }
    }

    pub fn register(&mut self, learner_id: &str, day: Day, attributes: &Attributes<'_>) {
        // Invitations of a learner not yet registered sit in the `unknown`
        // cells; the registration's contribution counts them under the
        // learner's attributes.
        if let Some(l) = self.learners.find(learner_id)
            && !self.learners.is_registered(l)
        {
            for invitation in self.invitations.of(l) {
                self.cells_invitation(invitation, -1);
            }
        }
        if self.learners.register(learner_id, day, attributes)
            && let Some(l) = self.learners.find(learner_id)
        {
            self.registered(l, day);
        }
    }

    /// Counts a learner just registered on `day` (attributes set).
    pub(super) fn registered(&mut self, learner: u32, day: Day) {
        self.scopes.platform.count(day).new_members += 1;
        // Also whatever the learner did before its registration arrived.
        self.contribute(learner, 1);
    }

    /// A replayed enrollment (same id, same learner) is kept once.
    pub fn enroll(
        &mut self,
        enrollment_id: &str,
        learner_id: &str,
        course_id: &str,
        program_id: &str,
        day: Day,
    ) -> Option<u32> {
        let learner = self.learners.find_or_add(learner_id);
        let program = self.program_number(program_id);
        let course = self.catalog.courses.intern(course_id);
        self.enroll_numbered(NewEnrollment {
            learner,
            course,
            program,
            enrolled: day,
            fingerprint: fingerprint(enrollment_id),
        })
    }

    /// `enroll` once the learner, course and program have their numbers.
    pub(super) fn enroll_numbered(&mut self, new: NewEnrollment) -> Option<u32> {
        let NewEnrollment {
            learner,
            course,
            program,
            enrolled: day,
            fingerprint: print,
        } = new;
        let head = self.learners.enrollments_head[learner as usize];
        if self.enrollments.find(head, print).is_some() {
            return None;
        }
        let head = &mut self.learners.enrollments_head[learner as usize];
        let e = self.enrollments.push(new, head);
        self.scopes.each(program, |s| s.count(day).enrollments += 1);
        self.cells_enrolled(learner, course, program, day);
        let firsts = &mut self.learners.firsts[learner as usize];
        firsts.enrolled = firsts.enrolled.min(day);
        if program != NONE {
            // Backfilled history may arrive out of day order: a member
            // counts from the earliest enrollment.
            let member = self.scopes.member(program, learner);
            let before = member.enrolled;
            if day < before {
                member.enrolled = day;
                let days = self.scopes.programs.entry(program).or_default();
                if before != NEVER {
                    days.count(before).new_members -= 1;
                    days.tidy(before);
                }
                days.count(day).new_members += 1;
                self.scopes.move_member(program, learner, before, day);
                self.cells_member(learner, program, before, day);
            }
        }
        let changes = self.enrollments.mark_first_in_course(e);
        for (change, within_program) in changes.into_iter().zip([false, true]) {
            match change {
                FirstChange::Kept => {}
                FirstChange::First => self.cells_first_in_course(e, within_program, 1),
                FirstChange::TakenFrom(h) => {
                    self.cells_first_in_course(h, within_program, -1);
                    self.cells_first_in_course(e, within_program, 1);
                }
            }
        }
        Some(e)
    }

    pub fn progress(
        &mut self,
        learner_id: &str,
        program_id: &str,
        course_id: &str,
        day: Day,
        minutes: i64,
    ) {
        let learner = self.learners.find_or_add(learner_id);
        let program = self.program_number(program_id);
        let course = self.catalog.courses.intern(course_id);
        self.progress_numbered(
            learner,
            Progress {
                day,
                program,
                course,
                minutes,
            },
        );
    }

    /// `progress` once the learner, course and program have their numbers.
    pub(super) fn progress_numbered(&mut self, learner: u32, p: Progress) {
        self.activity.push(learner, p);
        self.mark_active(learner, p.program, p.day, p.minutes);
        self.cells_progress(learner, p.course, p.program, p.day, p.minutes);
    }

    /// Counts a day of activity in the scopes and the funnel days.
    fn mark_active(&mut self, learner: u32, program: u32, day: Day, minutes: i64) {
        self.scopes.each(program, |s| {
            s.count(day).minutes += minutes;
            s.mark_active(day, learner);
        });
        let firsts = &mut self.learners.firsts[learner as usize];
        firsts.active = firsts.active.min(day);
        if program != NONE {
            let member = self.scopes.member(program, learner);
            member.active = member.active.min(day);
        }
    }

    /// A program invitation made on `day`; `learner_id` empty while the
    /// invitee is not a learner. A replayed one is kept once.
    pub fn invite(&mut self, invitation_id: &str, program_id: &str, learner_id: &str, day: Day) {
        let program = self.program_number(program_id);
        let learner = if learner_id.is_empty() {
            NONE
        } else {
            self.learners.find_or_add(learner_id)
        };
        self.invite_numbered(key(invitation_id), program, learner, day);
    }

    /// `invite` once the program and learner have their numbers.
    pub(super) fn invite_numbered(
        &mut self,
        id_key: u128,
        program: u32,
        learner: u32,
        day: Day,
    ) -> Option<u32> {
        let invitation = self.invitations.push(id_key, program, learner, day)?;
        self.scopes.each(program, |s| s.count(day).invited += 1);
        self.cells_invitation(invitation, 1);
        Some(invitation)
    }

    /// An invitation joined by `learner_id` on `day`.
    pub fn join_invitation(&mut self, invitation_id: &str, learner_id: &str, day: Day) {
        let Some(invitation) = self.invitations.find(invitation_id) else {
            return;
        };
        let learner = if learner_id.is_empty() {
            self.invitations.learner[invitation as usize]
        } else {
            self.learners.find_or_add(learner_id)
        };
        self.join_numbered(invitation, learner, day);
    }

    /// `join_invitation` once the invitation and learner have numbers.
    pub(super) fn join_numbered(&mut self, invitation: u32, learner: u32, day: Day) {
        let i = invitation as usize;
        self.cells_invitation(invitation, -1);
        let (program, before) = (self.invitations.program[i], self.invitations.joined[i]);
        self.scopes.each(program, |s| {
            if before != NEVER {
                s.count(before).joined -= 1;
                s.tidy(before);
            }
            s.count(day).joined += 1;
        });
        self.invitations.joined[i] = day;
        self.invitations.set_learner(invitation, learner);
        self.cells_invitation(invitation, 1);
    }

    fn program_number(&mut self, program_id: &str) -> u32 {
        if program_id.is_empty() {
            NONE
        } else {
            self.catalog.programs.intern(program_id)
        }
    }

    fn milestone(&mut self, learner_id: &str, enrollment_id: &str, m: Milestone, day: Day) {
        let Some(learner) = self.learners.find(learner_id) else {
            return;
        };
        let head = self.learners.enrollments_head[learner as usize];
        if let Some(e) = self.enrollments.find(head, fingerprint(enrollment_id)) {
            self.set_milestone(e, m, day);
        }
    }

    /// Dates an enrollment's completion or certificate, moving the counters
    /// when a later event re-dates it.
    pub fn set_milestone(&mut self, e: u32, m: Milestone, day: Day) {
        let old = self.enrollments.day(e, m);
        if old == day {
            return;
        }
        self.enrollments.set_day(e, m, day);
        let program = self.enrollments.program[e as usize];
        let created = self.enrollments.enrolled[e as usize];
        self.scopes
            .each(program, |s| move_milestone(s, m, created, old, day));
        self.cells_milestone(e, m, old, day);
        let learner = self.enrollments.learner[e as usize];
        self.refresh_milestone_firsts(learner, program);
    }

    /// The first completion and certificate days of a learner, recomputed
    /// from their enrollments (a re-dated milestone may raise them).
    fn refresh_milestone_firsts(&mut self, learner: u32, program: u32) {
        let head = self.learners.enrollments_head[learner as usize];
        let mut platform = Firsts::default();
        let mut in_program = Firsts::default();
        for e in self.enrollments.of_learner(head) {
            let i = e as usize;
            let (c, z) = (self.enrollments.completed[i], self.enrollments.certified[i]);
            platform.completed = platform.completed.min(c);
            platform.certified = platform.certified.min(z);
            if program != NONE && self.enrollments.program[i] == program {
                in_program.completed = in_program.completed.min(c);
                in_program.certified = in_program.certified.min(z);
            }
        }
        let firsts = &mut self.learners.firsts[learner as usize];
        firsts.completed = platform.completed;
        firsts.certified = platform.certified;
        if program != NONE {
            let member = self.scopes.member(program, learner);
            member.completed = in_program.completed;
            member.certified = in_program.certified;
        }
    }
}

/// An event without a business time or payload.
#[derive(Debug, Clone, Copy)]
struct NotUnderstood;

/// The day of a stored date column.
pub fn stored_day(date: Option<chrono::NaiveDate>) -> Day {
    date.map_or(NEVER, day_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::tests::registration;

    #[test]
    fn a_batch_after_a_missing_event_is_not_applied() {
        let mut model = Model::default();
        let first = [registration(1, "a", true), registration(2, "b", true)];
        assert_eq!(model.apply_all("learner", &first), Ok(()));
        // Replayed events are skipped; one after a gap stops the batch.
        let later = [registration(2, "b", true), registration(4, "d", true)];
        assert_eq!(
            model.apply_all("learner", &later),
            Err(Stop::Gap {
                expected: 3,
                got: 4
            })
        );
        assert_eq!(model.position("learner"), 2);
        assert_eq!(
            model.learners.len(),
            2,
            "nothing of the later batch applied"
        );
    }
}
