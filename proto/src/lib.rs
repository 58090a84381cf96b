//! Academy's gRPC contract, generated from the `.proto` files beside this crate.
//!
//! Re-exports `tonic` and `prost` so every service compiles against the same
//! versions the code was generated for.

#![allow(unreachable_pub, missing_debug_implementations, clippy::all)]

pub use prost;
pub use prost_types;
pub use tonic;

/// Encoded `FileDescriptorSet` of the whole contract, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/academy_descriptor.bin"));

pub mod google {
    pub mod r#type {
        include!(concat!(env!("OUT_DIR"), "/google.r#type.rs"));
    }
}

pub mod academy {
    pub mod course {
        pub mod v1 {
            tonic::include_proto!("academy.course.v1");
        }
    }
    pub mod learner {
        pub mod v1 {
            tonic::include_proto!("academy.learner.v1");
        }
    }
    pub mod reporting {
        pub mod v1 {
            tonic::include_proto!("academy.reporting.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("academy.events.v1");
        }
    }
    pub mod audit {
        pub mod v1 {
            tonic::include_proto!("academy.audit.v1");
        }
    }
}

pub use academy::audit::v1 as audit;
pub use academy::course::v1 as course;
pub use academy::events::v1 as events;
pub use academy::learner::v1 as learner;
pub use academy::reporting::v1 as reporting;

mod summary;
