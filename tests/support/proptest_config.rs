//! The one proptest configuration every fuzz target uses (included by path from each crate's
//! fuzz tests): a bounded number of cases per target, which `PROPTEST_CASES` overrides.

use proptest::prelude::ProptestConfig;

pub fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}
