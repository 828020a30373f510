//! Round trips against JSON samples written from `shared/reference/facets-api.md`.

use super::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Parses `sample`, writes it back, and checks nothing was lost or renamed.
fn round_trip<T: Serialize + DeserializeOwned>(sample: Value) -> T {
    let parsed: T = serde_json::from_value(sample.clone()).expect("sample parses");
    let written = serde_json::to_value(&parsed).expect("serialises");
    assert_eq!(written, sample, "round trip changed the JSON");
    parsed
}

#[test]
fn saas_artifact_request_round_trips() {
    let request: SaasArtifactRequest = round_trip(json!({
        "blueprintName": "shop",
        "artifactUri": "registry.example.com/shop/api:1.4.2",
        "artifactory": "default",
        "artifactRegisterType": "GIT_REF",
        "artifactRegisterValue": "release/2.1",
        "applicationName": "api",
        "externalId": "9137712345",
        "tag": "1.4.2"
    }));
    assert_eq!(request.artifact_register_type, ArtifactRegisterType::GitRef);
    assert_eq!(request.ci_name, None);
}

#[test]
fn artifact_request_round_trips() {
    let request: ArtifactRequest = round_trip(json!({
        "applicationName": "api",
        "artifactUri": "registry.example.com/shop/api:1.4.2",
        "artifactory": "default",
        "description": "nightly",
        "externalId": "77",
        "metadata": {"BRANCH_NAME": "main"},
        "registrationType": "ENVIRONMENT",
        "stackName": "shop",
        "registeredFor": "CLUSTER",
        "clusterId": "c-1",
        "promoted": false
    }));
    assert_eq!(request.registered_for, Some(RegisteredFor::Cluster));
}

#[test]
fn register_by_env_and_stream_round_trip() {
    round_trip::<RegisterByEnvRequest>(json!({
        "applicationName": "api", "artifactUri": "r/a:1", "artifactory": "default",
        "description": "d", "externalId": "1", "clusterName": "dev", "stackName": "shop"
    }));
    round_trip::<RegisterByReleaseStreamRequest>(json!({
        "applicationName": "api", "artifactUri": "r/a:1", "artifactory": "default",
        "description": "d", "externalId": "1", "stackName": "shop", "releaseStream": "QA"
    }));
}

#[test]
fn artifact_round_trips_and_ignores_unknown_fields() {
    let sample = json!({
        "id": "a1", "createdBy": "ci-bot", "creationDate": "2025-08-11T10:15:30.123Z",
        "lastModifiedDate": "2025-08-11T10:15:30.123Z", "lastModifiedBy": "ci-bot",
        "buildId": "77", "applicationName": "api", "artifactUri": "r/a:1",
        "clusterId": "c-1", "releaseStream": "QA", "artifactory": "default",
        "buildDescription": "d", "createdOn": "2025-08-11T10:15:30.123Z",
        "metadata": {"BRANCH_NAME": "main"}, "appliedRuleId": "r1",
        "appliedRuleName": "default", "appliedRuleVersionId": "1",
        "repositoryName": "shop/api", "tag": "1", "registrationType": "ENVIRONMENT",
        "registrationValue": "c-1", "promoted": false, "classified": true,
        "versioningKey": "k"
    });
    let artifact: Artifact = round_trip(sample.clone());
    assert!(artifact.classified);

    let mut newer = sample;
    newer["aFieldFromTheFuture"] = json!({"nested": [1, 2]});
    let tolerant: Artifact = serde_json::from_value(newer).expect("unknown field is ignored");
    assert_eq!(tolerant, artifact);
}

#[test]
fn ci_artifact_response_round_trips() {
    round_trip::<CiArtifactResponse>(json!({
        "artifactId": "a1", "externalId": "77", "artifactName": "api", "artifactUri": "r/a:1",
        "artifactory": "default", "buildDescription": "d", "createdOn": "2025-08-11T10:15:30Z",
        "registrationType": "RELEASE_STREAM", "registrationValue": "QA", "createdBy": "u",
        "metadata": {}, "repositoryName": "shop/api", "tag": "1", "promoted": true,
        "classified": true
    }));
}

#[test]
fn configuration_types_round_trip() {
    round_trip::<ArtifactCI>(json!({
        "id": "ci1", "name": "api", "stackName": "shop", "registrationType": "ENVIRONMENT"
    }));
    let rule: RoutingRuleRequest = round_trip(json!({
        "ruleName": "default", "registrationType": "ENVIRONMENT", "stackName": "shop",
        "isDefault": true, "ciSystem": "BRANCH_PER_ENVIRONMENT",
        "criteria": [{"metadataKey": "BRANCH_NAME", "operator": "STARTS_WITH",
                      "value": "release/", "routeTo": "staging", "priority": 2}]
    }));
    assert_eq!(rule.criteria[0].operator, Operator::StartsWith);
    round_trip::<RoutingRuleResponse>(json!({
        "id": "r1", "ruleName": "default", "registrationType": "ENVIRONMENT",
        "stackName": "shop", "default": true, "criteria": []
    }));
    // A rule read (`default`, and wharf's `isDefault`) and written back keeps its flag.
    for read in [
        json!({"id": "r1", "ruleName": "default", "registrationType": "ENVIRONMENT",
               "stackName": "shop", "default": true, "criteria": []}),
        json!({"id": "r1", "ruleName": "default", "registrationType": "ENVIRONMENT",
               "stackName": "shop", "default": true, "isDefault": true, "criteria": []}),
    ] {
        let back: RoutingRuleRequest = serde_json::from_value(read).unwrap();
        assert!(back.wants_default());
    }
    round_trip::<PromotionWorkflow>(json!({
        "id": "w1", "name": "default", "stackName": "shop", "registrationType": "ENVIRONMENT",
        "default": true,
        "hierarchies": [{"sequence": 1, "registrationValue": "dev"},
                        {"sequence": 2, "registrationValue": "staging"}]
    }));
    round_trip::<CiCdDto>(json!({
        "registrationType": "RELEASE_STREAM", "stackName": "shop",
        "routingRules": [{"metadataKey": "BRANCH_NAME", "operator": "EQUALS",
                          "value": "main", "routeTo": "QA", "priority": 1}],
        "promotionHierarchies": [{"sequence": 1, "registrationValue": "QA"}],
        "ciSystem": "SINGLE_BRANCH_PROMOTION", "mapToAllCis": true
    }));
    round_trip::<ReleaseStream>(json!({
        "name": "PRODUCTION", "description": "live", "createdBy": "admin",
        "creationDate": "2025-08-11T10:15:30Z", "prod": true
    }));
}

#[test]
fn push_credentials_and_errors_round_trip() {
    round_trip::<PushCredentialsRequest>(json!({
        "blueprintName": "shop", "artifactory": "default", "applicationName": "api"
    }));
    round_trip::<PushCredentialsResponse>(json!({
        "username": "u", "password": "p", "artifactoryUri": "cp.example.com",
        "repositoryUri": "cp.example.com/shop/api"
    }));
    let error: ErrorDetails = round_trip(json!({"message": "no such CI", "code": "NOT_FOUND"}));
    assert_eq!(error.message, "no such CI");
}

#[test]
fn operators_match_as_named() {
    assert!(Operator::Equals.matches("main", "main"));
    assert!(!Operator::Equals.matches("main2", "main"));
    assert!(Operator::StartsWith.matches("release/2.1", "release/"));
    assert!(Operator::EndsWith.matches("feature/x-hotfix", "-hotfix"));
    assert!(Operator::Contains.matches("feature/JIRA-1/x", "JIRA-1"));
    assert_eq!(Operator::parse("starts_with"), Some(Operator::StartsWith));
    assert_eq!(Operator::parse("REGEX"), None);
}

#[test]
fn unknown_enum_values_are_refused_with_the_value_named() {
    let error = serde_json::from_value::<Criterion>(json!({
        "metadataKey": "BRANCH_NAME", "operator": "REGEX", "value": ".*", "routeTo": "dev"
    }))
    .unwrap_err()
    .to_string();
    assert!(error.contains("REGEX"), "{error}");
}

// ---- classify: which criterion of a rule picks a build's bucket ----

fn criterion(op: Operator, value: &str, to: &str, priority: i64) -> Criterion {
    Criterion {
        metadata_key: "BRANCH_NAME".into(),
        operator: op,
        value: value.into(),
        route_to: to.into(),
        priority,
    }
}

fn branch(name: &str) -> Metadata {
    Metadata::from([("BRANCH_NAME".to_string(), name.to_string())])
}

#[test]
fn lower_priority_wins_whatever_the_order() {
    let rules = [
        criterion(Operator::StartsWith, "release/", "staging", 2),
        criterion(Operator::Equals, "release/hot", "prod", 1),
    ];
    assert_eq!(
        classify(&rules, &branch("release/hot")).unwrap().route_to,
        "prod"
    );
    assert_eq!(
        classify(&rules, &branch("release/2.1")).unwrap().route_to,
        "staging"
    );
}

#[test]
fn no_match_and_missing_key_leave_the_build_unclassified() {
    let rules = [criterion(Operator::Equals, "main", "dev", 1)];
    assert!(classify(&rules, &branch("feature/x")).is_none());
    assert!(classify(&rules, &Metadata::new()).is_none());
}

#[test]
fn every_operator_routes() {
    let rules = [
        criterion(Operator::EndsWith, "-rc", "staging", 1),
        criterion(Operator::Contains, "hotfix", "prod", 2),
    ];
    assert_eq!(
        classify(&rules, &branch("v2-rc")).unwrap().route_to,
        "staging"
    );
    assert_eq!(
        classify(&rules, &branch("x/hotfix/y")).unwrap().route_to,
        "prod"
    );
}

// ---- routed_to: where a build sits, by name ----

#[test]
fn routed_to_is_the_environment_then_the_stream_and_nothing_unclassified() {
    assert_eq!(routed_to(true, Some("dev"), Some("QA")), Some("dev"));
    assert_eq!(routed_to(true, None, Some("QA")), Some("QA"));
    assert_eq!(routed_to(false, Some("dev"), Some("QA")), None);
    assert_eq!(routed_to(true, None, None), None);
    let artifact = Artifact {
        classified: true,
        cluster_name: Some("staging".into()),
        ..Default::default()
    };
    assert_eq!(artifact.routed_to(), Some("staging"));
    let unclassified = Artifact {
        release_stream: Some("QA".into()),
        ..Default::default()
    };
    assert_eq!(unclassified.routed_to(), None);
}

#[test]
fn a_criterion_reads_back_from_its_rule_and_bad_rules_say_how_to_write_one() {
    let rule = "STARTS_WITH:release/=staging";
    let criterion = crate::Criterion::from_rule(rule, 1).unwrap();
    assert_eq!(criterion.rule(), rule);
    assert_eq!(criterion.priority, 2);
    assert_eq!(
        criterion.describe(),
        "BRANCH_NAME STARTS_WITH 'release/' → staging"
    );
    for bad in [
        "release/=staging",
        "STARTS_WITH:release/",
        "MATCHES:x=y",
        "EQUALS:=dev",
        "EQUALS:x=",
    ] {
        let error = crate::Criterion::from_rule(bad, 0).unwrap_err();
        assert!(
            error.contains("write OPERATOR:VALUE=STAGE"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn closed_sets_name_themselves_as_the_wire_does_and_in_words() {
    for (kind, wire) in [
        (RegistrationType::Environment, "ENVIRONMENT"),
        (RegistrationType::ReleaseStream, "RELEASE_STREAM"),
        (RegistrationType::Hybrid, "HYBRID"),
    ] {
        assert_eq!(kind.as_str(), wire);
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(wire));
    }
    assert_eq!(ArtifactRegisterType::GitRef.in_words(), "branch");
    assert_eq!(ArtifactRegisterType::Environment.in_words(), "environment");
    assert_eq!(
        ArtifactRegisterType::ReleaseStream.in_words(),
        "release stream"
    );
}

#[test]
fn a_rule_is_the_default_by_either_key_and_only_when_true() {
    let rule = |extra: Value| -> RoutingRuleRequest {
        let mut body = json!({
            "ruleName": "main to dev",
            "registrationType": "ENVIRONMENT",
            "criteria": [],
            "stackName": "shop",
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(body).unwrap()
    };
    assert!(!rule(json!({})).wants_default());
    assert!(!rule(json!({"isDefault": false, "default": false})).wants_default());
    assert!(rule(json!({"isDefault": true})).wants_default());
    assert!(rule(json!({"default": true})).wants_default());
}

#[test]
fn a_required_time_reads_text_or_epoch_milliseconds() {
    #[derive(serde::Deserialize)]
    struct Stamped {
        #[serde(deserialize_with = "crate::lenient::required_time")]
        at: String,
    }
    let read = |json: &str| serde_json::from_str::<Stamped>(json).map(|s| s.at);
    assert_eq!(
        read(r#"{"at": 1764495330123}"#).unwrap(),
        "2025-11-30T09:35:30.123Z"
    );
    assert_eq!(
        read(r#"{"at": "2026-11-23T10:00:00Z"}"#).unwrap(),
        "2026-11-23T10:00:00Z"
    );
    assert!(read(r#"{"at": null}"#).is_err(), "required");
}

#[test]
fn the_first_c1_control_is_a_unicode_escape_not_a_byte() {
    use crate::printable::printable;
    assert_eq!(printable("a\u{7f}b"), "a\\x7fb");
    assert_eq!(printable("a\u{80}b"), "a\\u{80}b");
    assert_eq!(printable("a\u{9b}b"), "a\\u{9b}b");
}
