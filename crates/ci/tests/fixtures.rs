//! Every fixture case through the public API, with a real git checkout where the case has one.

#[path = "support/mod.rs"]
mod fixture_cases;

use wharf_ci::{RefFrom, SystemGit};

#[test]
fn every_provider_has_five_cases_each_with_its_vendor_documentation() {
    let cases = fixture_cases::load_all();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    for provider in wharf_ci::Provider::ALL.map(wharf_ci::Provider::as_str) {
        let count = cases
            .iter()
            .filter(|c| c.expect.get("provider").map(String::as_str) == Some(provider))
            .count();
        assert!(count >= 5, "{count} cases for {provider}");
    }
    for case in &cases {
        let doc = case.doc.as_deref().unwrap_or_default();
        assert!(
            doc.starts_with("https://"),
            "{}: no vendor doc link",
            case.name
        );
    }
}

#[test]
fn every_case_detects_as_expected() {
    for case in fixture_cases::load_all() {
        let dir = tempfile::tempdir().unwrap();
        let env = fixture_cases::environment(&case, dir.path());
        let sha = fixture_cases::make_checkout(&case, dir.path());
        let context = wharf_ci::detect(&env, &SystemGit::new(dir.path()), RefFrom::Source);
        let json = serde_json::to_value(&context).unwrap();
        fixture_cases::check(&case, &json, sha.as_deref());
        match fixture_cases::expected_error(&case) {
            Some(needle) => {
                let error = context.require_git_ref().unwrap_err().to_string();
                assert!(error.contains(needle), "{}: {error}", case.name);
            }
            None => assert!(context.require_git_ref().is_ok(), "{}", case.name),
        }
    }
}
