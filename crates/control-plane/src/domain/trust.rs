//! Trust policies (`[[trust]]` in the project file): which CI identity tokens may trade for a
//! short-lived token on a project ([`super::oidc`] does the trade). Here: checking policies,
//! replacing a project's policies when its file is applied, listing them, and matching a
//! token's claims against them (`*` globs).

use super::Identity;
use crate::error::{Error, Result};
use crate::validate::{quoted, valid_username};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use wharf_api::project_file::{ApplySummary, ProjectFile, TrustPolicy};
use wharf_store::Tx;

/// Users made for keyless logins are named `oidc+<project>+<policy>`; no one else may be.
pub const USER_PREFIX: &str = "oidc+";

/// Longest policy name.
const MAX_POLICY_NAME: usize = 32;

/// The name of the `index`th policy (0-based): its own, or `trust-<position>`.
pub fn policy_name(index: usize, policy: &TrustPolicy) -> String {
    policy
        .name
        .clone()
        .unwrap_or_else(|| format!("trust-{}", index + 1))
}

/// The user a policy's tokens belong to.
pub fn policy_user(project: &str, name: &str) -> String {
    format!("{USER_PREFIX}{project}+{name}")
}

/// Whether `username` is a keyless login's user (managed by `[[trust]]`, never a member).
pub fn is_keyless_user(username: &str) -> bool {
    username.starts_with(USER_PREFIX)
}

/// Refuses an issuer that is neither `https://` nor plain HTTP on a loopback address
/// (`127.0.0.1`, `[::1]`, `localhost`), which only tests run.
pub fn check_issuer_url(issuer: &str) -> Result<(), String> {
    let not_https = || {
        format!(
            "issuer {} is not an https:// URL: identity tokens are trusted only from HTTPS \
             issuers (plain http:// only on a loopback address, for tests)",
            quoted(issuer)
        )
    };
    let url = reqwest::Url::parse(issuer).map_err(|_| not_https())?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "issuer {} carries a user name or password: an issuer URL names only a host",
            quoted(issuer)
        ));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("issuer {} has no host", quoted(issuer)));
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if wharf_http::is_loopback_host(host) => Ok(()),
        _ => Err(not_https()),
    }
}

/// Checks every `[[trust]]` entry: unique names that make valid user names, an HTTPS issuer,
/// an audience, a role, and at least one claim condition that is not only `*`.
pub fn check_policies(file: &ProjectFile) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for (i, policy) in file.trust.iter().enumerate() {
        let at = format!("trust[{i}]");
        let name = policy_name(i, policy);
        let name_ok = !name.is_empty()
            && name.len() <= MAX_POLICY_NAME
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !name_ok {
            return Err(format!(
                "{at}.name {} is not a valid policy name: use 1 to {MAX_POLICY_NAME} letters, \
                 digits, '.', '_' or '-', starting with a letter or digit",
                quoted(&name)
            ));
        }
        if !names.insert(name.clone()) {
            return Err(format!("trust policy '{name}' is declared twice"));
        }
        valid_username(
            &format!("{at}.name"),
            &policy_user(&file.project.name, &name),
        )
        .map_err(|_| {
            format!(
                "{at}.name '{name}' is too long for this project: the user its tokens belong \
                 to, '{}', must fit in 64 characters; choose a shorter name",
                policy_user(&file.project.name, &name)
            )
        })?;
        check_issuer_url(&policy.issuer).map_err(|e| format!("{at}.issuer: {e}"))?;
        if policy.audience.trim().is_empty() {
            return Err(format!(
                "{at}.audience is empty; leave it out for \"wharf\", or name the audience your \
                 CI's tokens carry"
            ));
        }
        if policy.role.trim().is_empty() {
            return Err(format!("{at}.role is empty; name a role such as \"ci\""));
        }
        if policy.claims.keys().any(|claim| claim.trim().is_empty()) {
            return Err(format!("{at}.claims has an empty claim name"));
        }
        if !policy
            .claims
            .values()
            .any(|wanted| !wanted.is_empty() && wanted.chars().any(|c| c != '*'))
        {
            return Err(format!(
                "{at}.claims names no claim that must have a particular value: without one, \
                 every job of every user of this issuer would match. Add e.g. [trust.claims] \
                 repository = \"acme/shop\" (see docs/keyless.md)"
            ));
        }
    }
    Ok(())
}

/// Replaces the project's trust policies with the file's, after checking each role exists.
pub(super) async fn apply_trust(
    tx: &mut Tx,
    file: &ProjectFile,
    summary: &mut ApplySummary,
) -> Result<()> {
    let project = &file.project.name;
    let before: BTreeMap<String, TrustPolicy> = tx
        .trust_policies_in_tx(project)
        .await?
        .into_iter()
        .map(|row| (row.name, row.policy.0))
        .collect();
    let mut policies = Vec::new();
    for (i, policy) in file.trust.iter().enumerate() {
        if !tx.role_exists(&policy.role).await? {
            return Err(Error::bad_request(format!(
                "trust[{i}].role: role '{}' does not exist; built-in roles are admin, \
                 release-manager, ci, viewer",
                policy.role
            )));
        }
        let name = policy_name(i, policy);
        match before.get(&name) {
            None => summary.created.push(format!("trust policy {name}")),
            Some(old) if old != policy => summary.updated.push(format!("trust policy {name}")),
            Some(_) => summary.unchanged += 1,
        }
        policies.push((name, policy.clone()));
    }
    for name in before
        .keys()
        .filter(|name| !policies.iter().any(|(kept, _)| kept == *name))
    {
        summary.updated.push(format!("trust policy {name} removed"));
    }
    tx.replace_trust_policies(project, &policies).await?;
    Ok(())
}

/// A trust policy as `GET /wharf/v1/projects/{project}/trust` lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustView {
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub role: String,
    pub claims: BTreeMap<String, String>,
    /// The user its tokens belong to.
    pub username: String,
}

impl Identity {
    /// The trust policies of a project (a read: any valid token).
    pub async fn trust_policies(&self, project: &str) -> Result<Vec<TrustView>> {
        self.lookups.project(project).await?;
        let rows = self.store.trust_policies(project).await?;
        Ok(rows
            .into_iter()
            .map(|row| TrustView {
                username: policy_user(project, &row.name),
                name: row.name,
                issuer: row.policy.0.issuer,
                audience: row.policy.0.audience,
                role: row.policy.0.role,
                claims: row.policy.0.claims,
            })
            .collect())
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (`/`
/// included) and everything else for itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star_p, star_t)) = star {
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A claim's value as text conditions compare it: strings as they are, numbers and booleans
/// as their text; a list matches when one of its items does.
fn claim_texts(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Number(n) => vec![n.to_string()],
        serde_json::Value::Bool(b) => vec![b.to_string()],
        serde_json::Value::Array(items) => items.iter().flat_map(claim_texts).collect(),
        _ => Vec::new(),
    }
}

/// Why a token's claims do not satisfy a policy: the first condition that fails.
pub fn unmatched_claim(
    policy: &TrustPolicy,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    for (claim, wanted) in &policy.claims {
        match claims.get(claim) {
            None | Some(serde_json::Value::Null) => {
                return Some(format!("the token has no claim '{claim}'"));
            }
            Some(value) => {
                if !claim_texts(value).iter().any(|text| glob(wanted, text)) {
                    return Some(format!(
                        "claim '{claim}' is {}, which the policy does not allow",
                        quoted(&value_text(value))
                    ));
                }
            }
        }
    }
    None
}

/// The claims a policy names, with the token's values: what the audit entry records.
pub fn matched_claims(
    policy: &TrustPolicy,
    claims: &serde_json::Map<String, serde_json::Value>,
) -> BTreeMap<String, serde_json::Value> {
    policy
        .claims
        .keys()
        .filter_map(|claim| Some((claim.clone(), claims.get(claim)?.clone())))
        .collect()
}

fn value_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob("refs/heads/*", "refs/heads/main"));
        assert!(glob("refs/heads/*", "refs/heads/feature/x"));
        assert!(glob(
            "repo:acme/*:ref:refs/heads/main",
            "repo:acme/shop:ref:refs/heads/main"
        ));
        assert!(glob("*", ""));
        assert!(glob("*a", "ba"), "a leading star");
        assert!(glob("**x", "abx"));
        assert!(!glob("*a", "ab"));
        assert!(glob("a*bc", "abbc"), "a star that backtracks");
        assert!(glob("a*bc", "abcbc"));
        assert!(!glob("a*bc", "abbd"));
        assert!(glob("*/main", "refs/heads/main"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("refs/heads/*", "refs/tags/v1"));
        assert!(!glob("acme/shop", "acme/shop2"));
        assert!(!glob("acme/shop", "acme/sho"));
        assert!(!glob("a*c", "ab"));
        assert!(glob("", ""));
        assert!(!glob("", "x"));
    }

    fn policy(claims: &[(&str, &str)]) -> TrustPolicy {
        TrustPolicy {
            name: None,
            issuer: "https://token.actions.githubusercontent.com".into(),
            audience: "wharf".into(),
            role: "ci".into(),
            claims: claims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn every_listed_claim_must_match() {
        let claims = json!({"repository": "acme/shop", "ref": "refs/heads/main", "run_number": 7,
            "ssh": false, "contexts": ["a", "b"]});
        let claims = claims.as_object().unwrap();
        let p = policy(&[("repository", "acme/shop"), ("ref", "refs/heads/*")]);
        assert_eq!(unmatched_claim(&p, claims), None);
        let p = policy(&[("run_number", "7"), ("ssh", "false"), ("contexts", "b")]);
        assert_eq!(unmatched_claim(&p, claims), None);
        let p = policy(&[("repository", "acme/*"), ("environment", "prod")]);
        assert!(
            unmatched_claim(&p, claims)
                .unwrap()
                .contains("no claim 'environment'")
        );
        let p = policy(&[("repository", "evil/*")]);
        let why = unmatched_claim(&p, claims).unwrap();
        assert!(
            why.contains("'repository'") && why.contains("acme/shop"),
            "{why}"
        );
    }

    #[test]
    fn issuers_are_https_or_loopback() {
        assert!(check_issuer_url("https://token.actions.githubusercontent.com").is_ok());
        assert!(check_issuer_url("https://oidc.circleci.com/org/1").is_ok());
        assert!(check_issuer_url("http://127.0.0.1:8080").is_ok());
        assert!(check_issuer_url("http://localhost:9/x").is_ok());
        assert!(check_issuer_url("http://[::1]:9").is_ok());
        for refused in [
            "http://gitlab.example.com",
            "http://127.0.0.1.evil.com",
            "http://localhost.evil.com:80",
            // Issue 26, finding 2: userinfo before the real host.
            "http://localhost:80@wharf-issuer.example.com",
            "http://127.0.0.1@wharf-issuer.example.com/x",
            "https://user:pw@token.actions.githubusercontent.com",
            "http://[::1]@evil.example",
            "ftp://x",
            "https://",
            "token.actions.githubusercontent.com",
        ] {
            assert!(check_issuer_url(refused).is_err(), "{refused}");
        }
    }

    fn file(trust: Vec<TrustPolicy>) -> ProjectFile {
        let mut file: ProjectFile =
            toml::from_str("[project]\nname = \"shop\"\nregistration_type = \"ENVIRONMENT\"\n")
                .unwrap();
        file.trust = trust;
        file
    }

    #[test]
    fn issuer_urls_are_https_or_loopback_http_and_name_only_a_host() {
        assert!(check_issuer_url("https://token.actions.githubusercontent.com").is_ok());
        assert!(check_issuer_url("http://127.0.0.1:8080").is_ok());
        assert!(check_issuer_url("http://localhost:9").is_ok());
        assert!(check_issuer_url("http://[::1]:9").is_ok());
        for refused in [
            "http://issuer.example.com",
            "ftp://issuer.example.com",
            "not a url",
            "https://user@issuer.example.com",
            "https://:secret@issuer.example.com",
            "http://localhost:80@wharf-issuer.example.com",
            "file:///etc/passwd",
        ] {
            assert!(check_issuer_url(refused).is_err(), "{refused}");
        }
        let userinfo = check_issuer_url("https://:secret@issuer.example.com").unwrap_err();
        assert!(userinfo.contains("user name or password"), "{userinfo}");
    }

    #[test]
    fn the_audit_records_the_claims_a_policy_names_with_the_tokens_values() {
        let policy = policy(&[("repository", "acme/*"), ("ref", "refs/heads/main")]);
        let claims = serde_json::json!({
            "repository": "acme/shop", "ref": "refs/heads/main", "sub": "repo:acme/shop"
        });
        let matched = matched_claims(&policy, claims.as_object().unwrap());
        assert_eq!(
            matched.len(),
            2,
            "only the claims the policy names: {matched:?}"
        );
        assert_eq!(matched["repository"], "acme/shop");
        assert_eq!(matched["ref"], "refs/heads/main");
    }

    #[test]
    fn policies_are_checked() {
        assert!(check_policies(&file(vec![policy(&[("repository", "acme/shop")])])).is_ok());
        let none = check_policies(&file(vec![policy(&[])])).unwrap_err();
        assert!(none.contains("trust[0].claims"), "{none}");
        let stars = check_policies(&file(vec![policy(&[("sub", "**")])])).unwrap_err();
        assert!(stars.contains("trust[0].claims"), "{stars}");
        let mut http = policy(&[("sub", "x")]);
        http.issuer = "http://issuer.example.com".into();
        let error = check_policies(&file(vec![http])).unwrap_err();
        assert!(error.starts_with("trust[0].issuer"), "{error}");
        let twice = check_policies(&file(vec![
            policy(&[("sub", "x")]),
            TrustPolicy {
                name: Some("trust-1".into()),
                ..policy(&[("sub", "y")])
            },
        ]))
        .unwrap_err();
        assert!(twice.contains("declared twice"), "{twice}");
        let long = TrustPolicy {
            name: Some("x".repeat(40)),
            ..policy(&[("sub", "x")])
        };
        assert!(check_policies(&file(vec![long])).is_err());
        assert_eq!(policy_user("shop", "trust-1"), "oidc+shop+trust-1");
        assert!(valid_username("u", &policy_user("shop", "trust-1")).is_ok());
    }

    #[test]
    fn a_project_file_reads_trust_tables() {
        let file: ProjectFile = toml::from_str(
            r#"
[project]
name = "shop"
registration_type = "ENVIRONMENT"

[[trust]]
issuer = "https://token.actions.githubusercontent.com"
role = "ci"
[trust.claims]
repository = "acme/shop"
ref = "refs/heads/*"

[[trust]]
name = "buildkite"
issuer = "https://agent.buildkite.com"
audience = "https://buildkite.com/acme"
role = "ci"
[trust.claims]
organization_slug = "acme"
build_number = 7
"#,
        )
        .unwrap();
        assert_eq!(file.trust.len(), 2);
        assert_eq!(file.trust[0].audience, "wharf");
        assert_eq!(file.trust[1].claims["build_number"], "7");
        assert!(check_policies(&file).is_ok());
        let typo = toml::from_str::<ProjectFile>(
            "[project]\nname = \"shop\"\nregistration_type = \"ENVIRONMENT\"\n[[trust]]\n\
             issuer = \"https://x\"\nrole = \"ci\"\nclaim = {}\n",
        );
        assert!(typo.is_err());
    }
}
