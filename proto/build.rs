//! Compiles the contract with `protoc` into Rust and a descriptor set.

use std::path::PathBuf;

/// Every file of the contract, listed explicitly so an accidental file under
/// `proto/` never becomes API.
const PROTOS: &[&str] = &[
    "academy/course/v1/course_service.proto",
    "academy/learner/v1/learner.proto",
    "academy/learner/v1/learner_service.proto",
    "academy/learner/v1/enrollment_service.proto",
    "academy/reporting/v1/reporting_service.proto",
    "academy/events/v1/events.proto",
    "academy/events/v1/event_feed.proto",
    "academy/audit/v1/audit_service.proto",
    "google/type/date.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // tonic-prost-build 0.14 no longer prints these itself.
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("academy_descriptor.bin"))
        .compile_protos(PROTOS, &["."])?;
    Ok(())
}
