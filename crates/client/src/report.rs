//! The JSON of a registration, as `wharf register|push --output json` prints it: the
//! [`Outcome`] with the push's numbers merged in, or the error report. This is a contract: the
//! test below writes `tests/contract/*.json` from real values through these functions, and every
//! adapter's test suite reads those files, so a renamed or removed field fails the adapters.

use crate::{Outcome, Pushed};
use serde_json::{Value, json};

/// A finished registration: the outcome's fields, and with a push the [`Pushed`] fields beside
/// them (`digest`, `pushedUri`, `blobsUploaded`, …).
pub fn registered(outcome: &Outcome, pushed: Option<&Pushed>) -> Value {
    let mut value = serde_json::to_value(outcome).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("summary".into(), crate::markdown::one_line(outcome).into());
    }
    if let (Some(map), Some(pushed)) = (value.as_object_mut(), pushed)
        && let Ok(Value::Object(extra)) = serde_json::to_value(pushed)
    {
        map.extend(extra);
    }
    value
}

/// A registration skipped for want of credentials (`--skip-without-credentials`):
/// `{"skipped": true, "reason"}`; exit 0.
pub fn skipped(reason: &str) -> Value {
    json!({"skipped": true, "reason": reason})
}

/// A failure: `{"error": {"kind", "exitCode", "message"}}`, with the documented exit code.
pub fn failure(kind: &str, exit_code: i32, message: &str) -> Value {
    json!({"error": {"kind": kind, "exitCode": exit_code, "message": message}})
}

#[cfg(test)]
mod tests {
    //! The contract: `tests/contract/*.json`, written from real values. Run with `WHARF_BLESS=1`
    //! to rewrite the files after a deliberate change to the outcome, then fix the adapters
    //! whose suites fail.

    use super::*;
    use crate::{Preview, RegisterFlags, WharfEnv, resolve};
    use std::path::PathBuf;
    use wharf_api::{ArtifactRegisterType, RegistrationType};
    use wharf_ci::{EnvMap, NoGit, RefFrom};
    use wharf_oci::{BlobAction, BlobStat};

    const DIGEST: &str = "sha256:754bf3b38cf81ebd93434a33c28e3ca3c0457bdae8fa48ca46ca42ae6c68e5f4";

    fn contract_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/contract")
    }

    /// A Buildkite build of `main`, as the adapters' suites set it up.
    fn buildkite_env() -> EnvMap {
        [
            ("BUILDKITE", "true"),
            ("CI", "true"),
            ("BUILDKITE_BRANCH", "main"),
            ("BUILDKITE_BUILD_ID", "0190b5a8-1b2c-4d5e-8f90-123456789abc"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn flags() -> RegisterFlags {
        RegisterFlags {
            project: Some("shop".into()),
            service: Some("api".into()),
            image: Some("registry.example.com/shop/api:1.4.2".into()),
            ..Default::default()
        }
    }

    fn resolved(flags: &RegisterFlags) -> crate::Result<crate::Plan> {
        let env = buildkite_env();
        let ci = wharf_ci::detect(&env, &NoGit, RefFrom::Source);
        resolve(flags, &env, &WharfEnv::from_map(&env)?, &ci)
    }

    fn routed() -> Outcome {
        Outcome {
            artifact_id: Some("01a20a66090c7690bc860088cf32f9c8".into()),
            ci_name: "api".into(),
            project: "shop".into(),
            artifact_uri: "registry.example.com/shop/api:1.4.2".into(),
            external_id: Some("0190b5a8-1b2c-4d5e-8f90-123456789abc".into()),
            registration_type: Some(RegistrationType::Environment),
            classified: Some(true),
            routed_to: Some("dev".into()),
            routed_to_id: None,
            rule_name: Some("shop-branches".into()),
            control_plane: "https://cp.example.com".into(),
            registered_by: ArtifactRegisterType::GitRef,
            registered_value: "main".into(),
            replayed: false,
            warnings: Vec::new(),
            artifact_type: None,
            file: None,
        }
    }

    fn pushed() -> (Outcome, Pushed) {
        let uri = format!("cp.example.com/shop/api@{DIGEST}");
        let outcome = Outcome {
            artifact_id: Some("01a20a692532761a8626cb2c849edc77".into()),
            artifact_uri: uri.clone(),
            ..routed()
        };
        let blob = |digest: &str, size, action, millis| BlobStat {
            digest: digest.into(),
            size,
            action,
            millis,
        };
        let pushed = Pushed {
            digest: DIGEST.into(),
            pushed_uri: uri,
            tag: "1.4.2".into(),
            bytes_uploaded: 120,
            blobs_uploaded: 1,
            blobs_skipped: 1,
            blobs_mounted: 0,
            up_to_date: false,
            duration_ms: 74,
            referrers: Vec::new(),
            blobs: vec![
                blob(
                    "sha256:22ebfc97f89f2eee37d4d13195bd45a53e58dff357f08e7d7f41d10588f84b49",
                    120,
                    BlobAction::Uploaded,
                    19,
                ),
                blob(
                    "sha256:ceccd949c0374543a6f6ca427a96c15a3a61f2ec3a0dcd3fc84fa6ec45afc262",
                    151,
                    BlobAction::Skipped,
                    2,
                ),
            ],
            compressed_layers: Vec::new(),
        };
        (outcome, pushed)
    }

    fn dry_run() -> Preview {
        let plan = resolved(&flags()).expect("the contract's flags resolve");
        let mut preview = Preview {
            dry_run: true,
            control_plane: "https://cp.example.com".into(),
            request: plan.request,
            ci_registration_type: Some(RegistrationType::Environment),
            predicted_route: Some("dev".into()),
            predicted_rule: Some("shop-branches".into()),
            predicted_by: "server",
            sources: plan.sources,
            warnings: Vec::new(),
            summary: String::new(),
        };
        preview.summary = crate::markdown::preview_line(&preview);
        preview
    }

    /// Each contract case: the JSON wharf prints for it (`CASE.json`) and its Markdown report
    /// (`CASE.md`, what `--summary-file` gets and the adapters show).
    fn contract() -> Vec<(&'static str, Value, String)> {
        let unrouted = Outcome {
            artifact_id: Some("01a20a6609bc71e685b58f798dce5c7b".into()),
            classified: Some(false),
            routed_to: None,
            rule_name: None,
            registered_value: "feature/login".into(),
            ..routed()
        };
        let replayed = Outcome {
            replayed: true,
            ..routed()
        };
        let (pushed_outcome, pushed) = pushed();
        // A real refusal: two targets given, so the message names wharf's flags, which each
        // adapter translates into its own option names.
        let error = resolved(&RegisterFlags {
            git_ref: Some("main".into()),
            environment: Some("staging".into()),
            ..flags()
        })
        .expect_err("two targets are refused");
        let links = crate::markdown::Links::default();
        let outcome = |o: &Outcome, p: Option<&Pushed>| {
            (registered(o, p), crate::markdown::registered(o, p, &links))
        };
        let skip_reason = "no token (WHARF_TOKEN is unset or empty) and no keyless login, so \
                           nothing was registered (--skip-without-credentials)";
        let cases = vec![
            ("routed", outcome(&routed(), None)),
            ("unrouted", outcome(&unrouted, None)),
            ("replayed", outcome(&replayed, None)),
            ("pushed", outcome(&pushed_outcome, Some(&pushed))),
            (
                "error",
                (
                    failure(error.kind(), error.exit_code(), &error.to_string()),
                    crate::markdown::failed(error.kind(), error.exit_code(), &error.to_string()),
                ),
            ),
            (
                "dry-run",
                (
                    serde_json::to_value(dry_run()).unwrap(),
                    crate::markdown::preview(&dry_run()),
                ),
            ),
            (
                "skipped",
                (skipped(skip_reason), crate::markdown::skipped(skip_reason)),
            ),
        ];
        cases
            .into_iter()
            .map(|(name, (json, markdown))| (name, json, markdown))
            .collect()
    }

    #[test]
    fn the_contract_files_are_what_wharf_prints() {
        let dir = contract_dir();
        let bless = std::env::var_os("WHARF_BLESS").is_some_and(|v| v == "1");
        let mut stale = Vec::new();
        for (name, value, markdown) in contract() {
            // As the CLI prints it: pretty JSON and a newline; the report as written.
            let json = format!("{}\n", serde_json::to_string_pretty(&value).unwrap());
            for (file, text) in [
                (format!("{name}.json"), json),
                (format!("{name}.md"), markdown),
            ] {
                let path = dir.join(&file);
                if bless {
                    std::fs::create_dir_all(&dir).unwrap();
                    std::fs::write(&path, &text).unwrap();
                } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    stale.push(file);
                }
            }
        }
        assert!(
            stale.is_empty(),
            "tests/contract/{{{}}} differ from what wharf prints: rerun with WHARF_BLESS=1 to \
             rewrite them, review the diff, and update the adapters whose suites then fail",
            stale.join(",")
        );
    }

    #[test]
    fn a_push_adds_its_fields_beside_the_outcome() {
        let (outcome, pushed) = pushed();
        let value = registered(&outcome, Some(&pushed));
        assert_eq!(value["routedTo"], "dev");
        assert_eq!(value["digest"], DIGEST);
        assert_eq!(value["blobsUploaded"], 1);
        assert!(registered(&outcome, None).get("digest").is_none());
    }
}
