//! The `academyctl` binary on its own: tokens it mints verify against the
//! same key with exactly the scopes asked for; bad arguments are refused
//! with the choices named. (Also makes `cargo test` build the binary the
//! end-to-end suites drive.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_runtime::auth::{AuthConfig, Verifier};
use std::process::Command;

const CTL: &str = env!("CARGO_BIN_EXE_academyctl");
const SECRET: &str = "ctl-test-secret-ctl-test-secret-0123456";

fn run(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(CTL)
        .args(args)
        .env("ACADEMY_AUTH_HS256_SECRET", SECRET)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_minted_token_carries_the_subject_and_scopes_asked_for() {
    let (ok, token, stderr) = run(&[
        "token",
        "--subject",
        "ops@example.az",
        "--scopes",
        "reports.read,events.read",
    ]);
    assert!(ok, "{stderr}");
    let verifier = Verifier::from_config(&AuthConfig::hs256(SECRET)).unwrap();
    let caller = verifier.check(&token).unwrap();
    assert_eq!(caller.subject, "ops@example.az");
    assert_eq!(caller.scopes, ["reports.read", "events.read"]);
}

#[test]
fn unknown_scopes_and_dimensions_are_refused_naming_the_choices() {
    let (ok, _, stderr) = run(&["token", "--scopes", "reports.write"]);
    assert!(!ok);
    assert!(
        stderr.contains("unknown scope") && stderr.contains("reports.read"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&["report", "breakdown", "--dimension", "shoe-size"]);
    assert!(!ok);
    assert!(stderr.contains("age-band"), "{stderr}");
}
