//! Fuzz targets (proptest, stable toolchain) for what this crate reads from a CI job, none of
//! which wharf controls: GitHub's event file (`GITHUB_EVENT_PATH`, also Gitea's and
//! Forgejo's), TeamCity's parameter files, Buildkite's plugin configuration JSON, and every
//! provider's variables. Each target runs a bounded number of cases (`PROPTEST_CASES`
//! overrides it); a failing input is kept as a plain regression `#[test]` below.
//!
//! Structure-aware: the inputs start from the fixture cases (`fixtures/*.toml`, one real
//! environment per provider and situation) and replace values, event fields and files with
//! hostile ones. Properties: detection never panics, the context always serialises, and a
//! `gitRef` it answers is a normalised, non-empty ref.

#[path = "support/mod.rs"]
mod fixture_cases;

use proptest::prelude::*;
use serde_json::{Value, json};
use std::sync::OnceLock;
use wharf_ci::{NoGit, RefFrom, normalise_ref};

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

fn cases() -> &'static [fixture_cases::Case] {
    static CASES: OnceLock<Vec<fixture_cases::Case>> = OnceLock::new();
    CASES.get_or_init(fixture_cases::load_all)
}

/// Text a hostile or broken CI could put in a variable or a file.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "\\PC{0,40}",
        2 => prop::collection::vec(
            prop::sample::select(vec![
                "refs/", "heads/", "tags/", "pull/", "remotes/origin/", "/", "merge", "head",
                "gh-readonly-queue/", "pr-", "-", "0", "42", "18446744073709551616", "deadbeef",
                " ", "\t", "\n", "\\", "\\u", "\\u00e", "\\uZZZZ", "=", ":", "\0", "\u{1b}[31m",
                "é", "{", "}", "\"", "#", "!", "$", "%",
            ]),
            0..10,
        )
        .prop_map(|parts| parts.concat()),
        1 => Just(String::new()),
        1 => Just("x".repeat(10_000)),
    ]
}

/// A JSON value of any shape, strings hostile.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        hostile_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(hostile_text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The event paths the providers read, each given a value of any shape.
const EVENT_PATHS: [&str; 12] = [
    "pull_request.head.ref",
    "pull_request.head.sha",
    "pull_request.base.ref",
    "pull_request.number",
    "pull_request.head.repo.full_name",
    "pull_request.base.repo.full_name",
    "merge_group.base_ref",
    "merge_group.head_sha",
    "number",
    "ref",
    "after",
    "repository.full_name",
];

fn set_path(event: &mut Value, path: &str, value: Value) {
    let mut at = event;
    let keys: Vec<&str> = path.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        if !at.is_object() {
            *at = json!({});
        }
        at = at
            .as_object_mut()
            .unwrap()
            .entry(key.to_string())
            .or_insert_with(|| json!({}));
    }
    if !at.is_object() {
        *at = json!({});
    }
    at[keys[keys.len() - 1]] = value;
}

/// How a fixture case is made hostile.
#[derive(Debug, Clone)]
struct Mutation {
    case: prop::sample::Index,
    /// Variables of the case given other values.
    env: Vec<(prop::sample::Index, String)>,
    /// Variables any CI might set, added.
    extra: Vec<(&'static str, String)>,
    /// Event fields given values of any shape.
    event: Vec<(prop::sample::Index, Value)>,
    /// The event file replaced with these bytes.
    event_bytes: Option<Vec<u8>>,
    /// The other files (TeamCity's) replaced with this text.
    files: Option<String>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let extra_var = prop::sample::select(vec![
        "GITHUB_EVENT_NAME",
        "GITHUB_REF",
        "GITHUB_HEAD_REF",
        "GITHUB_BASE_REF",
        "GITHUB_RUN_ATTEMPT",
        "BUILDKITE_PLUGIN_CONFIGURATION",
        "BUILDKITE_RETRY_COUNT",
        "BUILDKITE_PULL_REQUEST",
        "CODEBUILD_SOURCE_VERSION",
        "CODEBUILD_WEBHOOK_TRIGGER",
        "CI_MERGE_REQUEST_IID",
        "SYSTEM_PULLREQUEST_PULLREQUESTNUMBER",
        "CIRCLE_PULL_REQUEST",
        "TEAMCITY_BUILD_PROPERTIES_FILE",
        "WHARF_GIT_REF",
        "CI",
    ]);
    let event_bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ];
    (
        any::<prop::sample::Index>(),
        prop::collection::vec((any::<prop::sample::Index>(), hostile_text()), 0..4),
        prop::collection::vec((extra_var, hostile_text()), 0..3),
        prop::collection::vec((any::<prop::sample::Index>(), json_value()), 0..4),
        prop::option::weighted(0.2, event_bytes),
        prop::option::weighted(0.2, properties_text()),
    )
        .prop_map(|(case, env, extra, event, event_bytes, files)| Mutation {
            case,
            env,
            extra,
            event,
            event_bytes,
            files,
        })
}

/// A Java properties file, as TeamCity writes it or worse: escapes, continuations, unicode.
fn properties_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("teamcity.build.branch".to_string()),
        Just("teamcity.build.vcs.branch.root".to_string()),
        Just("teamcity.pullRequest.number".to_string()),
        Just("teamcity.configuration.properties.file".to_string()),
        hostile_text(),
    ];
    let separator = prop::sample::select(vec!["=", ":", " ", " = ", "\t", ""]);
    let ending = prop::sample::select(vec!["\n", "\r\n", "\\\n", "\\", "\r", ""]);
    prop::collection::vec((key, separator, hostile_text(), ending), 0..8).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(k, s, v, e)| format!("{k}{s}{v}{e}"))
            .collect()
    })
}

/// Runs detection on `case` made hostile by `m`; panics on a broken property.
fn detect_mutated(m: &Mutation) {
    let all = cases();
    let mut case = all[m.case.index(all.len())].clone();
    let keys: Vec<String> = case.env.keys().cloned().collect();
    if !keys.is_empty() {
        for (at, value) in &m.env {
            case.env
                .insert(keys[at.index(keys.len())].clone(), value.clone());
        }
    }
    for (name, value) in &m.extra {
        case.env.insert(name.to_string(), value.clone());
    }
    if !m.event.is_empty() {
        let mut event: Value = case
            .event
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or_else(|| json!({}));
        for (at, value) in &m.event {
            set_path(
                &mut event,
                EVENT_PATHS[at.index(EVENT_PATHS.len())],
                value.clone(),
            );
        }
        case.event = Some(event.to_string());
    }
    if let Some(text) = &m.files {
        for file in case.files.values_mut() {
            *file = text.clone();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut env = fixture_cases::environment(&case, dir.path());
    if let Some(bytes) = &m.event_bytes {
        let path = dir.path().join("hostile-event.json");
        std::fs::write(&path, bytes).unwrap();
        env.insert(
            "GITHUB_EVENT_PATH".into(),
            path.to_string_lossy().into_owned(),
        );
    }
    check(&env);
}

fn check(env: &wharf_ci::EnvMap) {
    for ref_from in [RefFrom::Source, RefFrom::Target] {
        let context = wharf_ci::detect(env, &NoGit, ref_from);
        let json = serde_json::to_value(&context).expect("a context always serialises");
        assert!(json.is_object());
        if let Ok(git_ref) = context.require_git_ref() {
            assert!(!git_ref.is_empty());
            assert_eq!(normalise_ref(git_ref), git_ref, "a gitRef is normalised");
        }
    }
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn fuzz_ci_fixture_environments_made_hostile_never_panic(m in mutation()) {
        detect_mutated(&m);
    }

    #[test]
    fn fuzz_ci_github_event_file_of_any_bytes_never_panics(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        ],
        event_name in prop::sample::select(vec!["pull_request", "pull_request_target", "merge_group", "push", "workflow_dispatch", ""]),
        full_ref in prop::sample::select(vec!["refs/pull/7/merge", "refs/pull/7/head", "refs/heads/main", "refs/tags/v1", "refs/heads/gh-readonly-queue/main/pr-7-abc123", ""]),
        flavour in prop::sample::select(vec!["GITHUB_ACTIONS", "GITEA_ACTIONS", "FORGEJO_ACTIONS"]),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("event.json");
        std::fs::write(&path, &bytes).unwrap();
        let env: wharf_ci::EnvMap = [
            ("CI", "true"),
            ("GITHUB_ACTIONS", "true"),
            (flavour, "true"),
            ("GITHUB_EVENT_NAME", event_name),
            ("GITHUB_REF", full_ref),
            ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_EVENT_PATH", path.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        check(&env);
    }

    #[test]
    fn fuzz_ci_teamcity_parameter_files_never_panic(
        build in properties_text(),
        config_file in properties_text(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.properties");
        let build_path = dir.path().join("build.properties");
        // The build file names the configuration file, as TeamCity's does, then the rest.
        let escaped = config_path.to_string_lossy().replace('\\', "\\\\").replace(':', "\\:");
        std::fs::write(&build_path, format!("teamcity.configuration.properties.file={escaped}\n{build}")).unwrap();
        std::fs::write(&config_path, config_file).unwrap();
        let env: wharf_ci::EnvMap = [
            ("TEAMCITY_VERSION", "2024.03"),
            ("BUILD_NUMBER", "7"),
            ("TEAMCITY_BUILD_PROPERTIES_FILE", build_path.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        check(&env);
    }

    #[test]
    fn fuzz_ci_buildkite_plugin_configuration_never_panics(
        configuration in prop_oneof![
            hostile_text(),
            json_value().prop_map(|v| v.to_string()),
            (json_value(), hostile_text()).prop_map(|(v, r)| json!({"git-ref": r, "other": v}).to_string()),
        ],
    ) {
        let env: wharf_ci::EnvMap = [
            ("BUILDKITE", "true"),
            ("BUILDKITE_BRANCH", "main"),
            ("BUILDKITE_COMMIT", "0123456789abcdef0123456789abcdef01234567"),
            ("BUILDKITE_PLUGIN_CONFIGURATION", configuration.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        check(&env);
    }

    #[test]
    fn fuzz_ci_normalise_ref_is_idempotent(raw in hostile_text()) {
        let once = normalise_ref(&raw);
        prop_assert_eq!(normalise_ref(&once), once);
    }
}
