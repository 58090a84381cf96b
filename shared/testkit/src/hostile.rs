//! Hostile input for property tests: strategies that produce the strings,
//! numbers, times and tokens an attacker or a broken client would send, and
//! the judgement every service applies to the answer (a refusal with a
//! client-side code is fine; INTERNAL, UNKNOWN or UNAVAILABLE is a defect).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
pub const CASES: u32 = 48;

/// Length of the "huge" strings: far past every documented limit.
pub const HUGE: usize = 100 * 1024;

/// SQL fragments, LIKE wildcards and escapes.
pub const SQL: [&str; 10] = [
    "'; DROP TABLE learners; --",
    "\"; DELETE FROM courses; --",
    "' OR '1'='1",
    "1; SELECT * FROM sqlite_master",
    "Robert'); DROP TABLE enrollments;--",
    "%",
    "_",
    "\\",
    "%_%\\%",
    "' UNION SELECT id, email FROM learners --",
];

/// Control characters in and around otherwise ordinary text.
pub const CONTROL: [&str; 9] = [
    "\0",
    "a\0b",
    "\u{1b}[31mred\u{1b}[0m",
    "line\r\nbreak",
    "\r",
    "\u{7f}",
    "tab\there",
    "\u{85}next line",
    "bell\u{7}",
];

/// Unicode that breaks naive code: direction marks, emoji sequences,
/// combining marks, zero-width and case-mapping surprises.
pub const UNICODE: [&str; 11] = [
    "\u{202e}gnp.exe",
    "\u{200f}\u{200e}mixed",
    "👩\u{200d}💻🎓🇦🇿",
    "e\u{301}\u{301}\u{301}\u{301}",
    "\u{feff}bom",
    "zero\u{200b}width",
    "İstanbul ǅ ß ﬃ",
    "Şəki Gəncə",
    "\u{fffd}\u{fffd}",
    "𝕳𝖊𝖑𝖑𝖔",
    "\u{2028}\u{2029}",
];

/// A property test runner for `cases` cases that leaves no regression files
/// in the source tree.
pub fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// Runs `test` on [`CASES`] values of `strategy` (`PROPTEST_CASES`
/// overrides); panics with the smallest failing input proptest finds.
pub fn check<S: Strategy>(
    name: &str,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(CASES);
    check_cases(name, cases, strategy, test);
}

/// [`check`] with an explicit number of cases, for slow properties.
pub fn check_cases<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    if let Err(err) = runner(cases).run(&strategy, test) {
        let mut report = err.to_string();
        if report.len() > 4000 {
            let cut = (0..=4000).rev().find(|i| report.is_char_boundary(*i));
            report.truncate(cut.unwrap_or(0));
            report.push_str(" …(cut)");
        }
        panic!("{name}: {report}");
    }
}

fn pick(values: &'static [&'static str]) -> BoxedStrategy<String> {
    proptest::sample::select(values)
        .prop_map(str::to_owned)
        .boxed()
}

/// Huge strings: ASCII, multi-byte, and huge with a poison character inside.
pub fn huge() -> BoxedStrategy<String> {
    prop_oneof![
        Just("A".repeat(HUGE)),
        Just("é".repeat(HUGE / 2)),
        Just(format!(
            "{}\0{}",
            "x".repeat(HUGE / 2),
            "y".repeat(HUGE / 2)
        )),
        Just(format!(" {} ", "ə".repeat(HUGE / 4))),
    ]
    .boxed()
}

/// Any hostile string: huge, control characters, SQL, odd unicode, blank,
/// random printable or random anything.
pub fn text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => huge(),
        2 => pick(&CONTROL),
        3 => pick(&SQL),
        2 => pick(&UNICODE),
        1 => Just(String::new()),
        1 => Just("   \t ".to_owned()),
        2 => any::<String>(),
        1 => "[ -~]{1,40}",
        // Two hostile pieces glued together.
        1 => (pick(&SQL), pick(&UNICODE)).prop_map(|(a, b)| format!("{a}{b}")),
    ]
    .boxed()
}

/// Ids that are not ids: hostile text, near-UUIDs, and well-formed UUIDs
/// that name nothing (in every spelling a UUID parser accepts).
pub fn id() -> BoxedStrategy<String> {
    prop_oneof![
        3 => text(),
        1 => Just("01900000-0000-7000-8000-00000000000".to_owned()),
        1 => Just("01900000-0000-7000-8000-0000000000000".to_owned()),
        1 => Just("g1900000-0000-7000-8000-000000000000".to_owned()),
        1 => Just("01900000-0000-7000-8000-000000000000'; --".to_owned()),
        1 => Just("00000000-0000-0000-0000-000000000000".to_owned()),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).simple().to_string().to_uppercase()),
        1 => any::<u128>().prop_map(|n| format!("{{{}}}", uuid::Uuid::from_u128(n))),
        1 => any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).urn().to_string()),
        1 => any::<u128>().prop_map(|n| format!(" {} ", uuid::Uuid::from_u128(n))),
    ]
    .boxed()
}

/// 32-bit numbers at and around every edge.
pub fn int32() -> BoxedStrategy<i32> {
    prop_oneof![
        3 => proptest::sample::select(vec![i32::MIN, i32::MIN + 1, -1_000_000, -1, 0, 1, 999, 10_001, 1_000_000, i32::MAX - 1, i32::MAX]),
        1 => any::<i32>(),
    ]
    .boxed()
}

/// 64-bit numbers at and around every edge.
pub fn int64() -> BoxedStrategy<i64> {
    prop_oneof![
        3 => proptest::sample::select(vec![i64::MIN, i64::MIN + 1, i64::from(i32::MIN) - 1, -1, 0, 1, i64::from(i32::MAX) + 1, i64::MAX - 1, i64::MAX]),
        1 => any::<i64>(),
    ]
    .boxed()
}

/// Enum numbers, mostly out of range (proto3 enums are open: any i32 arrives).
pub fn enum_value() -> BoxedStrategy<i32> {
    prop_oneof![
        3 => proptest::sample::select(vec![-1, 999, i32::MIN, i32::MAX, 8, 100, -999]),
        2 => 0..8i32,
    ]
    .boxed()
}

/// Doubles that are not numbers or not sensible amounts.
pub fn double() -> BoxedStrategy<f64> {
    prop_oneof![
        3 => proptest::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, -1.0, f64::MIN_POSITIVE, 1e-300, 10_000.000_1, 1e300, f64::MAX, f64::MIN]),
        1 => any::<f64>(),
    ]
    .boxed()
}

/// Timestamps far in the past or future, with nanos out of range, or unset.
pub fn timestamp() -> BoxedStrategy<Option<prost_types::Timestamp>> {
    let seconds = prop_oneof![
        3 => proptest::sample::select(vec![i64::MIN, -62_135_596_801, -1, 0, 1, 32_503_680_000, 253_402_300_800, i64::MAX]),
        1 => any::<i64>(),
        // Plausible, recent-ish seconds: valid unless the nanos are not.
        1 => 1_500_000_000i64..2_000_000_000,
    ];
    let nanos = prop_oneof![
        3 => proptest::sample::select(vec![i32::MIN, -1, 0, 999_999_999, 1_000_000_000, 1_999_999_999, i32::MAX]),
        1 => any::<i32>(),
    ];
    // A second ending in :59 with nanos past 1e9 reads as a leap second.
    let leap =
        (25_000_000i64..33_000_000, 1_000_000_000i32..2_000_000_000).prop_map(|(minute, nanos)| {
            Some(prost_types::Timestamp {
                seconds: minute * 60 + 59,
                nanos,
            })
        });
    prop_oneof![
        1 => Just(None),
        4 => (seconds, nanos).prop_map(|(seconds, nanos)| Some(prost_types::Timestamp { seconds, nanos })),
        1 => leap,
    ]
    .boxed()
}

/// (year, month, day) of a `google.type.Date`: impossible days, years far
/// outside any calendar a database keeps, zeros (the "unset" date).
pub fn date() -> BoxedStrategy<(i32, i32, i32)> {
    let year = prop_oneof![
        3 => proptest::sample::select(vec![i32::MIN, -262_145, -4714, -1, 0, 1, 1899, 2025, 3000, 9999, 10_000, 262_143, i32::MAX]),
        1 => any::<i32>(),
    ];
    let month = prop_oneof![
        3 => proptest::sample::select(vec![i32::MIN, -1, 0, 1, 2, 12, 13, i32::MAX]),
        1 => any::<i32>(),
    ];
    let day = prop_oneof![
        3 => proptest::sample::select(vec![i32::MIN, -1, 0, 1, 29, 30, 31, 32, i32::MAX]),
        1 => any::<i32>(),
    ];
    (year, month, day).boxed()
}

/// FNV-1a, as the services fingerprint a list's filters in its page tokens.
fn fingerprint(filters: &str) -> u64 {
    filters.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Page tokens: garbage, base64 of garbage, and well-formed tokens that
/// carry a hostile sort key for the filters described by `filters` (the
/// list's own filter description), so the key reaches the query.
pub fn page_token(filters: &'static str) -> BoxedStrategy<String> {
    let key = prop_oneof![2 => pick(&CONTROL), 3 => text()];
    let crafted = key.prop_map(move |after| {
        let json = format!(
            "{{\"a\":{},\"f\":{}}}",
            json_string(&after),
            fingerprint(filters)
        );
        base64url(json.as_bytes())
    });
    prop_oneof![
        2 => text(),
        2 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| base64url(&b)),
        1 => Just(base64url(b"{\"a\":1,\"f\":\"x\"}")),
        1 => Just(base64url(b"{\"a\":\"x\",\"f\":-1}")),
        1 => Just(base64url(b"{\"a\":\"x\",\"f\":18446744073709551616}")),
        1 => Just(base64url(b"null")),
        1 => Just("eyJhIjoi".to_owned()),
        6 => crafted,
    ]
    .boxed()
}

fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Update-mask paths: unknown, hostile, duplicated, nested, and known ones.
pub fn mask_paths(known: &'static [&'static str]) -> BoxedStrategy<Vec<String>> {
    let path = prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => Just("id".to_owned()),
        1 => Just("state".to_owned()),
        1 => Just("etag".to_owned()),
        1 => Just("*".to_owned()),
        1 => Just("course.title".to_owned()),
        2 => text(),
    ];
    prop_oneof![
        6 => proptest::collection::vec(path, 0..6),
        // Far more paths than fields: each may cost a violation.
        1 => Just(vec![known[0].to_owned(); 5000]),
        1 => Just((0..5000).map(|i| format!("field_{i}")).collect()),
    ]
    .boxed()
}

/// Codes a refusal of bad input may carry.
pub const REFUSALS: [Code; 7] = [
    Code::InvalidArgument,
    Code::NotFound,
    Code::AlreadyExists,
    Code::FailedPrecondition,
    Code::OutOfRange,
    Code::ResourceExhausted,
    Code::Aborted,
];

/// What became of one hostile call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Refused(Code),
}

impl Outcome {
    pub fn accepted(self) -> bool {
        self == Self::Accepted
    }
}

/// Judges a status: a refusal with one of [`REFUSALS`], or a test failure
/// naming the call.
pub fn judge_status(call: &str, status: &Status) -> Result<Outcome, TestCaseError> {
    if REFUSALS.contains(&status.code()) {
        // Every refusal a service makes carries its ErrorInfo; one without
        // it was made by the transport (e.g. an answer too big to send).
        let domain = status
            .get_error_details()
            .error_info()
            .map(|info| info.domain.clone());
        prop_assert_eq!(
            domain.as_deref(),
            Some("academy"),
            "{}: {:?} ({:?}) did not come from the service",
            call,
            status.code(),
            status.message()
        );
        // A refusal is for the caller to read: bounded, whatever came in.
        prop_assert!(
            status.message().len() <= 16 * 1024,
            "{call}: {:?} message of {} bytes",
            status.code(),
            status.message().len()
        );
        Ok(Outcome::Refused(status.code()))
    } else {
        Err(TestCaseError::fail(format!(
            "{call}: answered {:?} ({:?}); bad input must be refused with one of {REFUSALS:?}",
            status.code(),
            status.message()
        )))
    }
}

/// Judges a call's result: success, or a refusal with a client-side code.
pub fn judge<T>(call: &str, result: &Result<T, Status>) -> Result<Outcome, TestCaseError> {
    match result {
        Ok(_) => Ok(Outcome::Accepted),
        Err(status) => judge_status(call, status),
    }
}

/// The text a service keeps for a field it accepted: trimmed.
pub fn kept(value: &str) -> &str {
    value.trim()
}

/// True when no service may accept `value` in a bounded text field of at
/// most `max` characters: too long, or holding a control character other
/// than tab and newline.
pub fn never_valid_text(value: &str, max: usize) -> bool {
    let value = value.trim();
    value.chars().count() > max
        || value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
}

/// One hostile metadata entry: a key and raw bytes, sent as an ASCII
/// header or, for keys ending in `-bin`, base64-encoded binary.
#[derive(Debug, Clone)]
pub struct Header {
    pub key: &'static str,
    pub value: Vec<u8>,
}

/// Binary keys: any bytes at all, invalid UTF-8 included.
const BINARY_KEYS: [&str; 3] = ["x-hostile-bin", "grpc-trace-bin", "x-request-id-bin"];

/// ASCII keys the services or their libraries read.
const ASCII_KEYS: [&str; 6] = [
    "x-request-id",
    "traceparent",
    "tracestate",
    "authorization",
    "x-forwarded-for",
    "x-hostile",
];

/// Header bytes HTTP/2 can carry in a text value: visible ASCII, space,
/// tab and obs-text (0x80-0xFF, never valid UTF-8 on its own).
fn header_byte() -> BoxedStrategy<u8> {
    prop_oneof![
        4 => 0x20u8..0x7f,
        2 => 0x80u8..=0xff,
        1 => Just(b'\t'),
    ]
    .boxed()
}

/// Malformed `grpc-timeout` values (none of them a valid short deadline).
const BAD_TIMEOUTS: [&str; 9] = [
    "abc",
    "-1m",
    "999999999S",
    "1x",
    "",
    " 5S",
    "5",
    "1.5S",
    "S",
];

/// Malformed `traceparent` values.
const BAD_TRACEPARENTS: [&str; 6] = [
    "00-00000000000000000000000000000000-0000000000000000-00",
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    "zz-not-a-trace-at-all",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra-extra",
    "'; DROP TABLE learners; --",
];

/// Hostile metadata: binary garbage under `-bin` keys, non-ASCII bytes and
/// long values under the keys services read, malformed deadlines and trace
/// contexts. The set stays within [`METADATA_BUDGET`] so it fits HTTP/2's
/// default header-list limit and reaches the service.
pub fn metadata() -> BoxedStrategy<Vec<Header>> {
    let binary = (
        proptest::sample::select(&BINARY_KEYS[..]),
        proptest::collection::vec(any::<u8>(), 0..512),
    )
        .prop_map(|(key, value)| Header { key, value });
    let ascii = (
        proptest::sample::select(&ASCII_KEYS[..]),
        proptest::collection::vec(header_byte(), 0..256),
    )
        .prop_map(|(key, value)| Header { key, value });
    let long_id = (1024usize..6 * 1024).prop_map(|n| Header {
        key: "x-request-id",
        value: vec![b'r'; n],
    });
    let timeout = proptest::sample::select(&BAD_TIMEOUTS[..]).prop_map(|v| Header {
        key: "grpc-timeout",
        value: v.as_bytes().to_vec(),
    });
    let traceparent = proptest::sample::select(&BAD_TRACEPARENTS[..]).prop_map(|v| Header {
        key: "traceparent",
        value: v.as_bytes().to_vec(),
    });
    let header = prop_oneof![
        3 => binary,
        3 => ascii,
        1 => long_id,
        1 => timeout,
        1 => traceparent,
    ];
    proptest::collection::vec(header, 1..6)
        .prop_map(|mut headers| {
            // HTTP/2 counts each entry as name + value + 32 bytes.
            let mut budget = METADATA_BUDGET;
            headers.retain(|h| {
                let size = h.key.len() + h.value.len() * 4 / 3 + 36;
                let fits = size <= budget;
                if fits {
                    budget -= size;
                }
                fits
            });
            headers
        })
        .boxed()
}

/// Most bytes of hostile metadata one request carries: well under the
/// 16 KiB header list HTTP/2 servers accept by default.
pub const METADATA_BUDGET: usize = 10 * 1024;

/// `message` as a request carrying `headers`.
pub fn request<T>(message: T, headers: &[Header]) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    apply(&mut request, headers);
    request
}

/// Puts `headers` on `request`. A value the metadata API itself refuses
/// (it cannot be sent at all) is skipped.
pub fn apply<T>(request: &mut tonic::Request<T>, headers: &[Header]) {
    use tonic::metadata::{
        AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue,
    };
    let metadata = request.metadata_mut();
    for header in headers {
        if header.key.ends_with("-bin") {
            if let Ok(key) = BinaryMetadataKey::from_bytes(header.key.as_bytes()) {
                metadata.append_bin(key, BinaryMetadataValue::from_bytes(&header.value));
            }
        } else if let (Ok(key), Ok(value)) = (
            AsciiMetadataKey::from_bytes(header.key.as_bytes()),
            AsciiMetadataValue::try_from(header.value.as_slice()),
        ) {
            metadata.append(key, value);
        }
    }
}

/// The database a hostile-input property runs on: SQLite, or PostgreSQL
/// when `ACADEMY_HOSTILE_BACKEND=postgres` (and it is reachable; else the
/// run says so and stays on SQLite).
pub async fn database() -> crate::TestDb {
    let wanted = std::env::var("ACADEMY_HOSTILE_BACKEND").unwrap_or_default();
    if wanted.eq_ignore_ascii_case("postgres") {
        if let Some(db) = crate::TestDb::postgres().await {
            return db;
        }
        eprintln!("ACADEMY_HOSTILE_BACKEND=postgres but PostgreSQL is unreachable: using SQLite");
    }
    crate::TestDb::sqlite()
}

/// Watches a database from a connection of its own, to prove that a
/// refused call wrote nothing. On SQLite the version is `data_version`,
/// which changes exactly when another connection commits a change; on
/// PostgreSQL it is a digest of every table's row count (every state change
/// also appends a feed event, so a write shows there too).
#[derive(Debug)]
pub struct Commits {
    conn: sea_orm::DatabaseConnection,
    backend: sea_orm::DbBackend,
}

impl Commits {
    /// Opens one dedicated connection to the database at `url`.
    pub async fn open(url: &str) -> Self {
        let mut options = sea_orm::ConnectOptions::new(url.to_owned());
        options
            .max_connections(1)
            .min_connections(1)
            .sqlx_logging(false);
        let conn = sea_orm::Database::connect(options)
            .await
            .expect("watch connection");
        let backend = sea_orm::ConnectionTrait::get_database_backend(&conn);
        Self { conn, backend }
    }

    /// A number that changes whenever another connection commits (SQLite)
    /// or a row is added or removed anywhere (PostgreSQL).
    pub async fn version(&self) -> i64 {
        if self.backend == sea_orm::DbBackend::Sqlite {
            return self.scalar("PRAGMA data_version").await;
        }
        self.counts()
            .await
            .iter()
            .flat_map(|(table, n)| table.bytes().chain(n.to_le_bytes()))
            .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            }) as i64
    }

    /// Rows in every table of the database, by table name.
    pub async fn counts(&self) -> std::collections::BTreeMap<String, i64> {
        let sql = if self.backend == sea_orm::DbBackend::Sqlite {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        } else {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        };
        let rows = self.rows(sql).await;
        let mut counts = std::collections::BTreeMap::new();
        for row in rows {
            let name: String = row.try_get_by_index(0).expect("a table name");
            let n = self.count(&name).await;
            counts.insert(name, n);
        }
        counts
    }

    /// Rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM \"{table}\""))
            .await
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let rows = self.rows(sql).await;
        let row = rows.first().expect("one row");
        row.try_get_by_index::<i64>(0).expect("an integer")
    }

    async fn rows(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        use sea_orm::ConnectionTrait;
        let statement = sea_orm::Statement::from_string(self.backend, sql.to_owned());
        self.conn.query_all_raw(statement).await.expect(sql)
    }
}

/// A runtime of its own, to drive servers from proptest's synchronous
/// closures.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs one hostile call and judges it: a call that only reads, or one that
/// was refused, must have committed nothing (`commits`), and the service
/// must answer a valid call afterwards (`alive`). Hands back the reply of an
/// accepted call.
pub async fn judged<T>(
    commits: &Commits,
    name: &str,
    call: impl Call<T>,
    read_only: bool,
    alive: impl std::future::Future<Output = Result<(), TestCaseError>>,
) -> Judged<T> {
    let before = commits.version().await;
    let result = call.await;
    let outcome = judge(name, &result)?;
    if read_only || !outcome.accepted() {
        let after = commits.version().await;
        prop_assert_eq!(
            before,
            after,
            "{} ({:?}) committed a change to the database",
            name,
            outcome
        );
    }
    alive.await?;
    Ok(result.ok().map(tonic::Response::into_inner))
}

/// Text that is often hostile and sometimes plainly valid.
pub fn text_or(valid: &'static str) -> BoxedStrategy<String> {
    prop_oneof![3 => text(), 1 => valid.prop_map(|s| s)].boxed()
}

/// An id: hostile, or one of the seeded ones (`known`).
pub fn id_or(known: Vec<String>) -> BoxedStrategy<String> {
    prop_oneof![3 => id(), 1 => proptest::sample::select(known)].boxed()
}

/// A service under hostile test, driven from proptest's synchronous
/// closures: its runtime, the commit counter that judges its writes, and a
/// valid call that must answer after every hostile one.
pub trait Harness {
    /// What is under attack: a server, or a stack of them.
    type Served;

    /// The runtime, commit counter and served thing of this harness.
    fn rig(&self) -> &Rig<Self::Served>;

    /// A valid call answers after the hostile one (`after` names it).
    fn alive(&self, after: &str) -> impl std::future::Future<Output = Result<(), TestCaseError>>;

    /// A call that may write: refused means nothing committed.
    fn write<T>(&self, name: &str, call: impl Call<T>) -> Judged<T> {
        self.run_judged(name, call, false)
    }

    /// A call that only reads: nothing committed, whatever the answer.
    fn read<T>(&self, name: &str, call: impl Call<T>) -> Judged<T> {
        self.run_judged(name, call, true)
    }

    /// [`judged`] on this harness's runtime, with its commits and its
    /// valid call.
    fn run_judged<T>(&self, name: &str, call: impl Call<T>, read_only: bool) -> Judged<T> {
        let alive = self.alive(name);
        let rig = self.rig();
        rig.rt
            .block_on(judged(&rig.commits, name, call, read_only, alive))
    }
}

/// What every hostile harness holds besides its clients: its own runtime
/// (proptest's cases are synchronous closures), the commit counter, and
/// what is under attack, dropped inside the runtime whose tasks serve it.
#[derive(Debug)]
pub struct Rig<S> {
    pub rt: tokio::runtime::Runtime,
    pub commits: Commits,
    served: Option<S>,
}

impl<S> Rig<S> {
    pub fn new(rt: tokio::runtime::Runtime, commits: Commits, served: S) -> Self {
        Self {
            rt,
            commits,
            served: Some(served),
        }
    }

    /// The server or stack under attack.
    pub fn served(&self) -> &S {
        self.served
            .as_ref()
            .expect("served until the rig is dropped")
    }
}

impl<S> Drop for Rig<S> {
    fn drop(&mut self) {
        if let Some(served) = self.served.take() {
            self.rt.block_on(async move { drop(served) });
        }
    }
}

/// One gRPC call, not yet made.
pub trait Call<T>: std::future::Future<Output = Result<tonic::Response<T>, Status>> {}

impl<T, F> Call<T> for F where F: std::future::Future<Output = Result<tonic::Response<T>, Status>> {}

/// What a judged hostile call hands back: the reply of an accepted call
/// (`None` when refused), or the property's failure.
pub type Judged<T> = Result<Option<T>, TestCaseError>;

/// Ids answered by creates so far: an id seen again is an idempotent
/// replay (a request_id used before), which returns the first result.
#[derive(Debug, Default)]
pub struct Seen(std::sync::Mutex<std::collections::HashSet<String>>);

impl Seen {
    /// True the first time a create answers with `id`.
    pub fn first_time(&self, id: &str) -> bool {
        self.0.lock().unwrap().insert(id.to_owned())
    }
}

/// Fails the property unless the valid call made after `after` answered.
pub fn answered<T: std::fmt::Debug>(
    after: &str,
    reply: Result<T, Status>,
) -> Result<(), TestCaseError> {
    prop_assert!(
        reply.is_ok(),
        "the service stopped answering after {}: {:?}",
        after,
        reply.err()
    );
    Ok(())
}

/// Update masks that once made refusals too big to send: one 100 KiB path,
/// `known` 5000 times, and 5000 unknown paths.
pub fn oversized_masks(known: &str) -> [Vec<String>; 3] {
    [
        vec!["A".repeat(HUGE)],
        vec![known.to_owned(); 5000],
        (0..5000).map(|i| format!("field_{i}")).collect(),
    ]
}

/// Asserts an update with one of [`oversized_masks`] was refused with a
/// small INVALID_ARGUMENT naming `update_mask`.
pub fn assert_small_mask_refusal(status: &Status) {
    assert_eq!(
        crate::grpc::violated_fields(status),
        ["update_mask"],
        "{status:?}"
    );
    assert!(status.message().len() < 1024, "{}", status.message());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_the_standard_alphabet_without_padding() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn json_strings_escape_quotes_and_controls() {
        assert_eq!(json_string("a\"b\\c\0"), "\"a\\\"b\\\\c\\u0000\"");
    }

    #[test]
    fn never_valid_text_spots_controls_and_length() {
        assert!(never_valid_text("a\0b", 10));
        assert!(never_valid_text(&"x".repeat(11), 10));
        assert!(!never_valid_text(" tab\there ", 10));
        assert!(!never_valid_text("'; DROP", 10));
    }
}
