//! Fuzz targets (proptest, stable toolchain) for the project file (`wharf.toml`, also the JSON
//! body of `PUT /wharf/v1/projects/{name}`): arbitrary text, documents of the right shape with
//! hostile values, wrong types and unknown keys. Each target runs a bounded number of cases
//! (`PROPTEST_CASES` overrides it); a failing input is kept as a plain regression `#[test]`.
//!
//! Properties: parsing never panics; every file prints to TOML and to JSON and reads back
//! equal; an unknown key is refused, not ignored.

use proptest::prelude::*;
use wharf_api::project_file::{
    CiEntry, CriterionEntry, EnvironmentEntry, MemberEntry, ProjectFile, ProjectSection,
    PromotionSection, RoutingSection, StreamEntry,
};
use wharf_api::{CiSystem, ClosedSet, Operator, RegistrationType};

#[path = "../../../tests/support/proptest_config.rs"]
mod proptest_config;
use proptest_config::config;

/// Names as a user or an attacker might write them.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z][a-z0-9-]{0,10}",
        2 => "\\PC{0,20}",
        1 => prop::sample::select(vec![
            "..", ".", "Shop", "", " ", "a\0b", "\u{1b}[2J", "x\ny", "'\"", "\\", "[[ci]]", "é",
        ])
        .prop_map(str::to_string),
        1 => Just("n".repeat(5000)),
    ]
}

fn closed<T: ClosedSet + std::fmt::Debug>() -> impl Strategy<Value = T> {
    prop::sample::select(T::ALL.to_vec())
}

fn project_file() -> impl Strategy<Value = ProjectFile> {
    let project = (
        text(),
        closed::<RegistrationType>(),
        prop::option::of(closed::<CiSystem>()),
    )
        .prop_map(|(name, registration_type, ci_system)| ProjectSection {
            name,
            registration_type,
            ci_system,
        });
    let streams = prop::collection::vec(
        (text(), any::<bool>(), prop::option::of(text())).prop_map(|(name, prod, description)| {
            StreamEntry {
                name,
                prod,
                description,
            }
        }),
        0..3,
    );
    let environments = prop::collection::vec(
        (text(), text()).prop_map(|(name, release_stream)| EnvironmentEntry {
            name,
            release_stream,
        }),
        0..3,
    );
    let criterion = (
        text(),
        prop::sample::select(Operator::ALL.to_vec()),
        text(),
        text(),
        prop::option::of(any::<i64>()),
    )
        .prop_map(
            |(metadata_key, operator, value, route_to, priority)| CriterionEntry {
                metadata_key,
                operator,
                value,
                route_to,
                priority,
            },
        );
    let routing = prop::option::of((text(), prop::collection::vec(criterion, 0..3)).prop_map(
        |(rule_name, criteria)| RoutingSection {
            rule_name,
            criteria,
        },
    ));
    let promotion = prop::option::of(
        prop::collection::vec(text(), 0..4).prop_map(|order| PromotionSection { order }),
    );
    let ci = prop::collection::vec(
        (text(), prop::option::of(text())).prop_map(|(name, description)| CiEntry {
            name,
            description,
            ..Default::default()
        }),
        0..3,
    );
    let members = prop::collection::vec(
        (text(), text()).prop_map(|(user, role)| MemberEntry { user, role }),
        0..3,
    );
    (
        project,
        streams,
        environments,
        routing,
        promotion,
        ci,
        members,
    )
        .prop_map(
            |(project, release_streams, environments, routing, promotion, ci, members)| {
                ProjectFile {
                    project,
                    release_streams,
                    environments,
                    routing,
                    promotion,
                    ci,
                    members,
                    protection: Default::default(),
                    trust: Default::default(),
                    webhooks: Default::default(),
                }
            },
        )
}

/// A TOML value of another type than a field wants.
fn wrong_value() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        any::<i64>().prop_map(toml::Value::Integer),
        any::<bool>().prop_map(toml::Value::Boolean),
        text().prop_map(toml::Value::String),
        Just(toml::Value::Array(vec![])),
        Just(toml::Value::Table(Default::default())),
        (-1e300f64..1e300).prop_map(toml::Value::Float),
    ]
}

fn count_tables(value: &toml::Value) -> usize {
    match value {
        toml::Value::Table(table) => 1 + table.values().map(count_tables).sum::<usize>(),
        toml::Value::Array(items) => items.iter().map(count_tables).sum(),
        _ => 0,
    }
}

/// The `n`th table of `value`, depth first (counting down `n`).
fn nth_table<'a>(value: &'a mut toml::Value, n: &mut usize) -> Option<&'a mut toml::Table> {
    match value {
        toml::Value::Table(table) => {
            if *n == 0 {
                return Some(table);
            }
            *n -= 1;
            table.iter_mut().find_map(|(_, v)| nth_table(v, n))
        }
        toml::Value::Array(items) => items.iter_mut().find_map(|v| nth_table(v, n)),
        _ => None,
    }
}

fn pick_table(value: &mut toml::Value, at: prop::sample::Index) -> &mut toml::Table {
    let mut n = at.index(count_tables(value));
    nth_table(value, &mut n).expect("a table counted is found")
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn fuzz_project_file_any_text_never_panics(text in prop_oneof![
        "\\PC{0,200}",
        prop::collection::vec(prop::sample::select(vec![
            "[project]\n", "name = ", "\"shop\"\n", "registration_type = ", "\"ENVIRONMENT\"\n",
            "[[environments]]\n", "[[release_streams]]\n", "[routing]\n", "[[routing.criteria]]\n",
            "operator = ", "\"EQUALS\"\n", "priority = ", "9223372036854775808\n", "[[members]]\n",
            "[promotion]\n", "order = [", "]\n", "\"", "'", "\n", "=", "{", "}", "\\u0000",
        ]), 0..20).prop_map(|parts| parts.concat()),
    ]) {
        let _ = toml::from_str::<ProjectFile>(&text);
        let _ = serde_json::from_str::<ProjectFile>(&text);
    }

    #[test]
    fn fuzz_project_file_round_trips_through_toml_and_json(file in project_file()) {
        let printed = toml::to_string(&file).expect("every project file prints as TOML");
        let read: ProjectFile = toml::from_str(&printed)
            .unwrap_or_else(|e| panic!("{printed}\nreads back as: {e}"));
        prop_assert_eq!(&read, &file);
        let json = serde_json::to_string(&file).unwrap();
        prop_assert_eq!(&serde_json::from_str::<ProjectFile>(&json).unwrap(), &file);
    }

    #[test]
    fn fuzz_project_file_wrong_types_and_unknown_keys_are_errors(
        file in project_file(),
        edits in prop::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>(), wrong_value()),
            1..3,
        ),
        unknown in prop::option::of((any::<prop::sample::Index>(), "[a-z_]{1,12}")),
    ) {
        let mut value = toml::Value::try_from(&file).unwrap();
        for (table, key, wrong) in edits {
            let table = pick_table(&mut value, table);
            let keys: Vec<String> = table.keys().cloned().collect();
            if !keys.is_empty() {
                table.insert(keys[key.index(keys.len())].clone(), wrong);
            }
        }
        let mut refused = false;
        if let Some((at, key)) = unknown {
            let table = pick_table(&mut value, at);
            if !table.contains_key(&key) {
                table.insert(key, toml::Value::Integer(1));
                refused = true;
            }
        }
        let printed = toml::to_string(&value).unwrap();
        let read = toml::from_str::<ProjectFile>(&printed);
        if refused {
            prop_assert!(read.is_err(), "an unknown key was accepted:\n{}", printed);
        }
        let json = serde_json::to_string(&value).unwrap();
        let _ = serde_json::from_str::<ProjectFile>(&json);
    }
}
