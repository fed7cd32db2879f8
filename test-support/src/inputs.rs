//! Arbitrary request inputs for the "no input can crash a request" properties of both
//! services: any text or bytes (invalid UTF-8, numbers far beyond `u64`, stray `%`), as
//! query strings, urlencoded forms and path segments, and [`never_5xx`], which sends each
//! case over real HTTP and fails on a `5xx` or on a connection that ends without an answer.

use std::fmt::Debug;
use std::future::Future;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Cases per parser: enough to meet the bounds and the odd bytes, few enough to stay fast.
pub const CASES: u32 = 64;

/// Values that sit on or beyond the bounds of integer parsers.
const EDGES: &[&str] = &[
    "0",
    "-1",
    "+1",
    "1000001",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999999999999",
    "1e309",
    "NaN",
    "%",
    "%zz",
    "%00",
    "\u{0}",
];

/// Any value: Unicode text, raw bytes, long digit runs, or an edge of the integer parsers.
pub fn value() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..48),
        "[-+]?[0-9]{1,45}".prop_map(String::into_bytes),
        proptest::sample::select(EDGES).prop_map(|s| s.as_bytes().to_vec()),
    ]
    .boxed()
}

/// Every byte but the unreserved ones as `%XX` (so any byte, invalid UTF-8 included,
/// reaches the service as sent).
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `name=value&…` pairs over the parser's own `names` (and other names), encoded; or a raw
/// string of the characters that have a meaning in a query (`&`, `=`, `+`, stray `%`).
pub fn urlencoded(names: &'static [&'static str]) -> BoxedStrategy<String> {
    let name = prop_oneof![
        3 => proptest::sample::select(names).prop_map(str::to_owned),
        1 => "[a-z_\\[\\]]{0,12}",
    ];
    prop_oneof![
        4 => proptest::collection::vec((name, value()), 0..5).prop_map(|pairs| {
            pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        }),
        1 => "[a-z_=&%+;0-9A-F./:-]{0,40}",
    ]
    .boxed()
}

/// One path segment holding any value (percent-encoded, `/` included).
pub fn segment() -> BoxedStrategy<String> {
    value().prop_map(|v| encode(&v)).boxed()
}

/// Sends [`CASES`] inputs from `strategy` with `send` (on `rt`) and fails, naming `what`
/// and the input, on a `5xx` or on no answer at all.
///
/// # Panics
/// When the property fails (this is a test helper).
pub fn never_5xx<S, F, Fut>(rt: &tokio::runtime::Runtime, what: &str, strategy: S, send: F)
where
    S: Strategy,
    S::Value: Debug,
    F: Fn(S::Value) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |input| {
        let shown = format!("{input:?}");
        match rt.block_on(send(input)) {
            Ok(res) => prop_assert!(
                !res.status().is_server_error(),
                "{} {}: {}",
                what,
                shown,
                res.status()
            ),
            Err(e) => prop_assert!(false, "{} {}: no answer ({})", what, shown, e),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}
