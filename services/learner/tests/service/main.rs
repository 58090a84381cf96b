//! The learner service through real generated clients, against a real
//! server on an ephemeral port (on SQLite and on PostgreSQL), with a real
//! course service beside it.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;
mod demographics;
mod enrollments;
mod erasure;
mod external_keys;
mod feed_limits;
mod hostile;
mod idempotency;
mod import;
mod invitation_history;
mod invitations;
mod learners;
mod merge;
mod progress;
mod provider_progress;
mod stream_limits;
mod wire;
mod write_scope;
