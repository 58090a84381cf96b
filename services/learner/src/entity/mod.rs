//! sea-orm entities: one module per table of the learner service.

pub mod certificate;
pub mod earned_skill;
pub mod enrollment;
pub mod invitation;
pub mod learner;
pub mod learner_merge;
pub mod progress_record;
