//! Bearer-token authentication and per-method scopes.
//!
//! Every call but health carries `authorization: Bearer <JWT>` (reflection
//! takes any valid token, whatever its scopes). The token is verified
//! (signature, `exp`, `nbf`, `iss`, `aud`) against keys from
//! configuration, and the method's scope, looked up by
//! its `/package.Service/Method` path in the serving binary's scope table,
//! must be among the token's space-separated `scope` claim. tonic
//! interceptors cannot see the method, hence a tower layer.

pub mod call;
mod client;
mod config;
mod data_scope;
mod layer;
pub mod reload;
mod secret;
mod token;
mod verify;

pub use client::ClientToken;
pub use config::AuthConfig;
pub use data_scope::{DataScope, data_scope};
pub use layer::{AuthLayer, Caller, ScopeTable, caller_may};
pub(crate) use layer::{is_public, is_reflection};
pub use secret::Secret;
pub use token::{Claims, mint, mint_limited};
pub use verify::{AuthError, MAX_SUBJECT_LEN, MAX_TOKEN_LIFETIME_SECS, Verifier};

/// Every scope a method can require.
pub mod scope {
    pub const CATALOG_READ: &str = "catalog.read";
    pub const CATALOG_WRITE: &str = "catalog.write";
    pub const LEARNERS_READ: &str = "learners.read";
    pub const LEARNERS_WRITE: &str = "learners.write";
    pub const LEARNERS_ERASE: &str = "learners.erase";
    pub const REPORTS_READ: &str = "reports.read";
    pub const EVENTS_READ: &str = "events.read";
    pub const ADMIN: &str = "admin";
    /// Freezing a period's report figures into a published snapshot.
    pub const REPORTS_PUBLISH: &str = "reports.publish";
    /// Reports without the minimum cell size: small counts shown exactly.
    pub const REPORTS_EXACT: &str = "reports.exact";
    /// VerifyCertificate alone: a certificate's learner name and course title.
    pub const CERTIFICATES_VERIFY: &str = "certificates.verify";
    /// Reading program invitations (issue #17, item 4).
    pub const INVITATIONS_READ: &str = "invitations.read";
    /// Inviting to programs and recording the answers.
    pub const INVITATIONS_WRITE: &str = "invitations.write";

    /// All of them: what a development token for a person at a laptop gets.
    pub const ALL: [&str; 13] = [
        CATALOG_READ,
        CATALOG_WRITE,
        LEARNERS_READ,
        LEARNERS_WRITE,
        LEARNERS_ERASE,
        REPORTS_READ,
        EVENTS_READ,
        ADMIN,
        REPORTS_PUBLISH,
        REPORTS_EXACT,
        CERTIFICATES_VERIFY,
        INVITATIONS_READ,
        INVITATIONS_WRITE,
    ];
}
