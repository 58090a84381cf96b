//! The scope each learner-service method needs: reads `learners.read`,
//! changes `learners.write`, erasure its own `learners.erase`, certificate
//! verification its own `certificates.verify`. The server
//! refuses to start if a method of the contract is missing here.

use academy_runtime::auth::scope::{
    CATALOG_READ, CERTIFICATES_VERIFY, INVITATIONS_READ, INVITATIONS_WRITE, LEARNERS_ERASE,
    LEARNERS_READ, LEARNERS_WRITE,
};

pub const LEARNER_SERVICE: &[(&str, &str)] = &[
    ("RegisterLearner", LEARNERS_WRITE),
    ("GetLearner", LEARNERS_READ),
    ("ListLearners", LEARNERS_READ),
    ("UpdateLearner", LEARNERS_WRITE),
    ("ImportLearners", LEARNERS_WRITE),
    ("EraseLearner", LEARNERS_ERASE),
    ("LookupLearner", LEARNERS_READ),
    ("SyncLearners", LEARNERS_WRITE),
    ("FindDuplicateLearners", LEARNERS_READ),
    ("MergeLearners", LEARNERS_WRITE),
];

pub const ENROLLMENT_SERVICE: &[(&str, &str)] = &[
    ("Enroll", LEARNERS_WRITE),
    ("GetEnrollment", LEARNERS_READ),
    ("ListEnrollments", LEARNERS_READ),
    ("BulkEnroll", LEARNERS_WRITE),
    ("RecordProgress", LEARNERS_WRITE),
    ("BulkRecordProgress", LEARNERS_WRITE),
    ("WithdrawEnrollment", LEARNERS_WRITE),
    ("ListCertificates", LEARNERS_READ),
    ("VerifyCertificate", CERTIFICATES_VERIFY),
];

/// Program invitations (issue #17, item 4): their own scopes, so a
/// program operator can invite without reading or changing learners.
pub const INVITATION_SERVICE: &[(&str, &str)] = &[
    ("InviteLearners", INVITATIONS_WRITE),
    ("GetInvitation", INVITATIONS_READ),
    ("ListInvitations", INVITATIONS_READ),
    ("AcceptInvitation", INVITATIONS_WRITE),
    ("DeclineInvitation", INVITATIONS_WRITE),
];

/// What this service's own calls to the course service need.
pub const CALLS_TO_COURSE: &[&str] = &[CATALOG_READ];
