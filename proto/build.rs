//! Compiles the contract into Rust and a descriptor set with `protox`, a
//! protobuf compiler written in Rust: building needs nothing but cargo (no
//! `protoc` on the machine).

use prost::Message;
use std::path::PathBuf;

/// Every file of the contract, listed explicitly so an accidental file under
/// `proto/` never becomes API.
const PROTOS: &[&str] = &[
    "academy/course/v1/course_service.proto",
    "academy/learner/v1/learner.proto",
    "academy/learner/v1/learner_service.proto",
    "academy/learner/v1/enrollment_service.proto",
    "academy/learner/v1/invitation_service.proto",
    "academy/reporting/v1/reporting_service.proto",
    "academy/events/v1/events.proto",
    "academy/events/v1/event_feed.proto",
    "academy/audit/v1/audit_service.proto",
    "google/type/date.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    // What `protoc --include_imports --include_source_info` gives: the
    // imported well-known types (protox has them built in) are in the set,
    // so reflection can describe every type a method mentions, and the
    // comments are kept for `grpcurl describe`.
    let descriptors = protox::Compiler::new(["."])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(PROTOS)?
        .file_descriptor_set();
    std::fs::write(
        out_dir.join("academy_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    // The well-known types come from prost-types (prost-build's default),
    // so only the contract's own packages are generated here. The attribute
    // is the one `compile_protos` adds and `compile_fds` does not: the same
    // code as a protoc build.
    tonic_prost_build::configure()
        .type_attribute(".", "#[allow(clippy::all)]")
        .compile_fds(descriptors)?;
    Ok(())
}
