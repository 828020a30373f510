//! Fuzz targets (proptest, stable toolchain) for the control plane's project-file loader
//! (`wharf serve --config`, `project_file::load`): bytes of any kind, and files of the right
//! shape with one hostile name. Each target runs a bounded number of cases (`PROPTEST_CASES`
//! overrides it); a failing input is kept as a plain regression `#[test]` below. The
//! `Authorization` header's parser is private: its target is `src/http/fuzz.rs`.
//!
//! Properties: loading never panics; a file of valid names that refer to each other loads;
//! one name outside its rule is refused, and the error names its field.

use proptest::prelude::*;
use wharf_api::project_file::{
    CiEntry, CriterionEntry, EnvironmentEntry, MemberEntry, ProjectFile, ProjectSection,
    PromotionSection, RoutingSection, StreamEntry,
};
use wharf_api::{Operator, RegistrationType};
use wharf_control_plane::project_file::{load, validate};

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

/// Loads `bytes` as a project file from a fresh file.
fn load_bytes(bytes: &[u8]) -> Result<ProjectFile, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wharf.toml");
    std::fs::write(&path, bytes).unwrap();
    load(&path).map_err(|e| e.to_string())
}

/// A name every rule accepts (project, CI, stream, environment and user names alike).
fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,4})?"
}

/// Names no rule accepts.
fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "..",
            ".",
            "-x",
            "_x",
            "a:b",
            "a b",
            "x/y",
            "a\0b",
            "a\nb",
            "\u{1b}[2J",
            "é",
            "a\\b",
            "a\"b",
            "@x",
        ])
        .prop_map(str::to_string),
        Just("a".repeat(100_000)),
        (
            "[a-z]{0,3}",
            prop::sample::select(vec![':', '\0', '/', ' ', '\u{7f}', 'ü', '\t']),
            "[a-z]{0,3}"
        )
            .prop_map(|(a, c, b)| format!("{a}{c}{b}")),
    ]
}

/// A valid file: unique names, environments in declared or built-in streams, rules and the
/// promotion order naming real buckets.
fn valid_file() -> impl Strategy<Value = ProjectFile> {
    (
        name(),
        any::<bool>(),
        prop::collection::btree_set(name(), 0..3),
        prop::collection::btree_set(name(), 1..4),
        prop::collection::btree_set(name(), 0..3),
        prop::collection::btree_set(name(), 0..3),
        prop::collection::vec(
            (
                prop::sample::select(Operator::ALL.to_vec()),
                "[a-z/]{1,8}",
                any::<prop::sample::Index>(),
            ),
            0..3,
        ),
    )
        .prop_map(
            |(project, streams_mode, streams, environments, cis, members, criteria)| {
                let registration_type = match streams_mode {
                    true => RegistrationType::ReleaseStream,
                    false => RegistrationType::Environment,
                };
                let release_streams: Vec<StreamEntry> = streams
                    .iter()
                    .map(|s| StreamEntry {
                        name: format!("s{s}"),
                        prod: false,
                        description: None,
                    })
                    .collect();
                let stream_names: Vec<String> = release_streams
                    .iter()
                    .map(|s| s.name.clone())
                    .chain(["QA", "STAGING", "PRODUCTION"].map(String::from))
                    .collect();
                let environments: Vec<EnvironmentEntry> = environments
                    .iter()
                    .enumerate()
                    .map(|(i, e)| EnvironmentEntry {
                        name: format!("e{e}"),
                        release_stream: stream_names[i % stream_names.len()].clone(),
                    })
                    .collect();
                let buckets: Vec<String> = match registration_type {
                    RegistrationType::ReleaseStream => stream_names.clone(),
                    _ => environments.iter().map(|e| e.name.clone()).collect(),
                };
                let criteria = criteria
                    .into_iter()
                    .map(|(operator, value, at)| CriterionEntry {
                        metadata_key: "BRANCH_NAME".into(),
                        operator,
                        value,
                        route_to: buckets[at.index(buckets.len())].clone(),
                        priority: None,
                    })
                    .collect();
                ProjectFile {
                    project: ProjectSection {
                        name: project,
                        registration_type,
                        ci_system: None,
                    },
                    release_streams,
                    environments,
                    routing: Some(RoutingSection {
                        rule_name: "default".into(),
                        criteria,
                    }),
                    promotion: Some(PromotionSection { order: buckets }),
                    ci: cis
                        .into_iter()
                        .map(|name| CiEntry {
                            name,
                            ..Default::default()
                        })
                        .collect(),
                    members: members
                        .into_iter()
                        .map(|user| MemberEntry {
                            user,
                            role: "ci".into(),
                        })
                        .collect(),
                    protection: Default::default(),
                    trust: Default::default(),
                    webhooks: Default::default(),
                }
            },
        )
}

/// Where a hostile name can go, and the field an error must name.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Project,
    Stream,
    Environment,
    Ci,
    Member,
}

/// Puts `name` in `slot` (the first entry of its list, added when the list is empty); answers
/// the field the error must name.
fn spoil(file: &mut ProjectFile, slot: Slot, name: String) -> &'static str {
    match slot {
        Slot::Project => {
            file.project.name = name;
            "project.name"
        }
        Slot::Stream => {
            let entry = StreamEntry {
                name,
                prod: false,
                description: None,
            };
            match file.release_streams.first_mut() {
                Some(first) => first.name = entry.name,
                None => file.release_streams.push(entry),
            }
            "release_streams[0].name"
        }
        Slot::Environment => {
            match file.environments.first_mut() {
                Some(first) => first.name = name,
                None => file.environments.push(EnvironmentEntry {
                    name,
                    release_stream: "QA".into(),
                }),
            }
            "environments[0].name"
        }
        Slot::Ci => {
            match file.ci.first_mut() {
                Some(first) => first.name = name,
                None => file.ci.push(CiEntry {
                    name,
                    ..Default::default()
                }),
            }
            "ci[0].name"
        }
        Slot::Member => {
            match file.members.first_mut() {
                Some(first) => first.user = name,
                None => file.members.push(MemberEntry {
                    user: name,
                    role: "ci".into(),
                }),
            }
            "members[0].user"
        }
    }
}

proptest! {
    #![proptest_config(config(400))]

    #[test]
    fn fuzz_project_file_load_any_bytes_never_panics(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "\\PC{0,300}".prop_map(String::into_bytes),
        ]
    ) {
        if let Ok(file) = load_bytes(&bytes) {
            prop_assert!(validate(&file).is_ok());
        }
    }

    #[test]
    fn fuzz_project_file_valid_files_load_as_written(file in valid_file()) {
        let text = toml::to_string(&file).unwrap();
        let loaded = load_bytes(text.as_bytes());
        prop_assert_eq!(loaded.as_ref(), Ok(&file), "{}", text);
    }

    #[test]
    fn fuzz_project_file_one_hostile_name_is_refused_naming_its_field(
        file in valid_file(),
        slot in prop::sample::select(vec![Slot::Project, Slot::Stream, Slot::Environment, Slot::Ci, Slot::Member]),
        name in hostile_name(),
    ) {
        let mut file = file;
        let field = spoil(&mut file, slot, name);
        // The promotion order and the rules may name the spoiled bucket; they are checked after
        // the names.
        let text = toml::to_string(&file).unwrap();
        let error = load_bytes(text.as_bytes()).expect_err("a hostile name is refused");
        prop_assert!(error.contains(field), "{} not named in: {}", field, error);
    }

    #[test]
    fn fuzz_project_file_uppercase_project_and_ci_names_are_refused(
        file in valid_file(),
        ci in any::<bool>(),
        name in "[A-Z][a-zA-Z0-9]{0,8}",
    ) {
        let mut file = file;
        let field = spoil(&mut file, if ci { Slot::Ci } else { Slot::Project }, name);
        let text = toml::to_string(&file).unwrap();
        let error = load_bytes(text.as_bytes()).expect_err("an uppercase repository component is refused");
        prop_assert!(error.contains(field), "{} not named in: {}", field, error);
    }
}

/// Found by `fuzz_project_file_one_hostile_name_is_refused_naming_its_field`: the name rules
/// trim, so `"a "` passed the check while applying would have stored the name with its space.
#[test]
fn fuzz_regression_a_name_with_spaces_around_it_is_refused() {
    for (text, field) in [
        (
            "[project]\nname = \"a \"\nregistration_type = \"ENVIRONMENT\"\n",
            "project.name",
        ),
        (
            "[project]\nname = \"a\"\nregistration_type = \"ENVIRONMENT\"\n\
             [[environments]]\nname = \" dev\"\nrelease_stream = \"QA\"\n",
            "environments[0].name",
        ),
        (
            "[project]\nname = \"a\"\nregistration_type = \"ENVIRONMENT\"\n\
             [[members]]\nuser = \"bob\\t\"\nrole = \"ci\"\n",
            "members[0].user",
        ),
    ] {
        let error = load_bytes(text.as_bytes()).unwrap_err();
        assert!(
            error.contains(field) && error.contains("spaces around it"),
            "{error}"
        );
    }
}
