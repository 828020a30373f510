//! The one proptest configuration every fuzz target uses (included by path from each crate's
//! fuzz tests): a bounded number of cases per target, which `PROPTEST_CASES` overrides.

use proptest::prelude::ProptestConfig;

pub fn config(cases: u32) -> ProptestConfig {
    let from_env = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    ProptestConfig::with_cases(from_env.unwrap_or(cases))
}
