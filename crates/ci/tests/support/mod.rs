//! The CI fixture cases (`../fixtures/*.toml`): loading them, and checking a context against one.
//! Shared by this crate's tests (through the public API) and the end-to-end tests (through
//! `wharf ci-context --output json`).
#![allow(dead_code)]

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every field of a context; a case lists the ones it expects set, all others must be null.
pub const FIELDS: [&str; 15] = [
    "provider",
    "sourceBranch",
    "targetBranch",
    "tag",
    "headSha",
    "mergeSha",
    "prNumber",
    "headRepository",
    "mergeQueue",
    "buildId",
    "buildNumber",
    "buildUrl",
    "attempt",
    "repository",
    "gitRef",
];

#[derive(Debug, Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// The vendor's documentation of the variables (and events) the case sets.
    #[serde(default)]
    pub doc: Option<String>,
    /// `branch:NAME`, `detached`, or absent for no checkout.
    #[serde(default)]
    pub git: Option<String>,
    /// An event file's JSON; `{event}` in the environment becomes its path.
    #[serde(default)]
    pub event: Option<String>,
    /// More files the CI writes, by name; `{dir}` in the environment and in these files becomes
    /// the directory they are written to.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub expect: BTreeMap<String, String>,
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
    /// Field → a part of the reason the context must give for the field being null.
    #[serde(default)]
    pub unknown: BTreeMap<String, String>,
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ci/tests/fixtures")
        .canonicalize()
        .expect("fixtures directory")
}

/// All cases, named `file: case`.
pub fn load_all() -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file: File =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        cases.extend(file.case.into_iter().map(|mut case| {
            case.name = format!("{stem}: {}", case.name);
            case
        }));
    }
    cases
}

/// The case's environment, with its event file and other files written into `dir`.
pub fn environment(case: &Case, dir: &Path) -> BTreeMap<String, String> {
    let event_path = dir.join("event.json");
    let place = |text: &str| {
        text.replace("{event}", &event_path.to_string_lossy())
            .replace("{dir}", &dir.to_string_lossy())
    };
    if let Some(event) = &case.event {
        std::fs::write(&event_path, event).unwrap();
    }
    for (name, text) in &case.files {
        std::fs::write(dir.join(name), place(text)).unwrap();
    }
    case.env
        .iter()
        .map(|(k, v)| (k.clone(), place(v)))
        .collect()
}

/// Panics, naming the case and field, unless `actual` (a context as JSON) matches.
/// `$GIT` in an expectation stands for the checkout's HEAD commit, `git_sha`.
pub fn check(case: &Case, actual: &Value, git_sha: Option<&str>) {
    for field in FIELDS {
        let expected = case.expect.get(field).map(|v| {
            if v == "$GIT" {
                git_sha.expect("case expects a git checkout").to_string()
            } else {
                v.clone()
            }
        });
        let got = actual.get(field).and_then(Value::as_str).map(String::from);
        assert_eq!(
            got, expected,
            "{}: field {field}\nwhole context: {actual:#}",
            case.name
        );
    }
    for (field, source) in &case.sources {
        assert_eq!(
            actual["sources"][field].as_str(),
            Some(source.as_str()),
            "{}: source of {field}\nwhole context: {actual:#}",
            case.name
        );
    }
    for (field, reason) in &case.unknown {
        let given = actual["unknown"][field].as_str().unwrap_or_default();
        assert!(
            given.contains(reason.as_str()),
            "{}: the reason {field} is unknown should mention {reason:?}\nwhole context: \
             {actual:#}",
            case.name
        );
    }
    for field in FIELDS {
        let set = !actual[field].is_null();
        assert_eq!(
            set,
            actual["sources"].get(field).is_some(),
            "{}: {field} set without a source",
            case.name
        );
        assert!(
            !(set && actual["unknown"].get(field).is_some()),
            "{}: {field} is set and said to be unknown",
            case.name
        );
    }
}

/// The substring the git-ref error must contain, for cases that expect one.
pub fn expected_error(case: &Case) -> Option<&str> {
    case.expect.get("error").map(String::as_str)
}

/// Makes `dir` a git checkout as the case says; answers its HEAD commit.
pub fn make_checkout(case: &Case, dir: &Path) -> Option<String> {
    let spec = case.git.as_deref()?;
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let branch = spec.strip_prefix("branch:").unwrap_or("main");
    git(&["init", "-q", "-b", branch]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "x",
    ]);
    if spec == "detached" {
        git(&["checkout", "-q", "--detach"]);
    }
    Some(git(&["rev-parse", "HEAD"]))
}
