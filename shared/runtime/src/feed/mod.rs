//! The change feed. Producer: an outbox written in the same transaction as the
//! state change it describes, served as `academy.events.v1.EventFeed`.
//! Consumer: [`Follower`], which applies events and moves its cursor in one
//! transaction.
//!
//! Sequences are gap-free and strictly increasing because every append bumps
//! one counter row (`feed_head`) inside the writing transaction: the row lock
//! serialises writers until commit, so sequence order is commit order and a
//! follower never sees event N+1 before event N.
//!
//! Each producer database has a feed epoch ([`epoch`]): a consumer stops a
//! feed whose epoch changed or whose head fell below its cursor.

pub mod cursor;
pub mod epoch;
pub mod follower;
pub mod lease;
pub mod migration;
pub mod outbox;
pub mod service;

pub use follower::{ApplyError, FeedState, Follower, Projection};
pub use outbox::Outbox;
pub use service::FeedService;
