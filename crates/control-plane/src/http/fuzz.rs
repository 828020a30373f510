//! Fuzz targets (proptest, stable toolchain) for the `Authorization` header, which every
//! request brings and nobody vouches for: [`basic_credentials`] (the API and the registry both
//! read it; no route takes a Bearer token). Bounded cases, `PROPTEST_CASES` overrides them.
//!
//! Properties: any header value, well-formed or not, answers without panicking; what it
//! answers is a non-empty user without `:` and a non-empty secret; a header built from such a
//! pair answers exactly that pair.

use super::basic_credentials;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use proptest::prelude::*;

/// `cases` per target unless `PROPTEST_CASES` says otherwise (as `tests/support/proptest_config.rs`,
/// which a library's own tests cannot include).
fn config(cases: u32) -> ProptestConfig {
    let from_env = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    ProptestConfig::with_cases(from_env.unwrap_or(cases))
}

fn headers(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value);
    headers
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What a header may answer: never an empty user, a `:` in it, or an empty secret.
fn check(value: HeaderValue) {
    if let Some((user, secret)) = basic_credentials(&headers(value)) {
        assert!(!user.is_empty() && !user.contains(':') && !secret.is_empty());
    }
}

/// Schemes, spaces and payloads as a confused or hostile client sends them.
fn hostile_header() -> impl Strategy<Value = Vec<u8>> {
    let scheme = prop::sample::select(vec![
        "Basic ", "basic ", "BASIC ", "Basic", "Basic  ", "Bearer ", "bearer ", "Digest ", "",
        " Basic ", "Basic\t",
    ]);
    let payload = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|b| encode(&b).into_bytes()),
        "\\PC{0,40}".prop_map(|t| encode(t.as_bytes()).into_bytes()),
        "[A-Za-z0-9+/=:_-]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..60),
        Just(b"====".to_vec()),
        Just(encode(b":").into_bytes()),
        Just(encode(b"user:").into_bytes()),
        Just(encode(b":secret").into_bytes()),
        Just(encode(&[0xff, b':', 0xfe]).into_bytes()),
    ];
    let trailer = prop::sample::select(vec!["", " ", "  ", "\t", "=", "x"]);
    (scheme, payload, trailer).prop_map(|(scheme, payload, trailer)| {
        let mut bytes = scheme.as_bytes().to_vec();
        bytes.extend(payload);
        bytes.extend(trailer.as_bytes());
        bytes
    })
}

proptest! {
    #![proptest_config(config(3000))]

    #[test]
    fn fuzz_authorization_any_bytes_never_panic(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        hostile_header(),
    ]) {
        // Only what a header can hold reaches the parser (hyper refuses the rest).
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            check(value);
        }
    }

    #[test]
    fn fuzz_authorization_basic_pairs_round_trip(
        user in "[^:\\x00]{1,30}",
        secret in "\\PC{1,60}",
        lower in any::<bool>(),
        padding in prop::sample::select(vec!["", " ", "  "]),
    ) {
        let scheme = if lower { "basic" } else { "Basic" };
        let value = format!("{scheme} {}{padding}", encode(format!("{user}:{secret}").as_bytes()));
        let answered = basic_credentials(&headers(HeaderValue::from_str(&value).unwrap()));
        prop_assert_eq!(answered, Some((user, secret)));
    }

    #[test]
    fn fuzz_authorization_without_a_pair_answers_none(
        text in "[^:]{0,30}",
        scheme in prop::sample::select(vec!["Basic ", "Bearer ", "Token "]),
    ) {
        // No `:`, or another scheme: no credentials, whatever the rest.
        let value = format!("{scheme}{}", encode(text.as_bytes()));
        let answered = basic_credentials(&headers(HeaderValue::from_str(&value).unwrap()));
        prop_assert_eq!(answered, None);
        let bearer = format!("Bearer {}", encode(format!("{text}:x").as_bytes()));
        let answered = basic_credentials(&headers(HeaderValue::from_str(&bearer).unwrap()));
        prop_assert_eq!(answered, None);
    }
}

#[test]
fn no_header_or_an_empty_one_answers_none() {
    assert_eq!(basic_credentials(&HeaderMap::new()), None);
    assert_eq!(
        basic_credentials(&headers(HeaderValue::from_static(""))),
        None
    );
    assert_eq!(
        basic_credentials(&headers(HeaderValue::from_static("Basic "))),
        None
    );
}
