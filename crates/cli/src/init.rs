//! `wharf init`: a commented `wharf.toml` for the repository and CI it runs in, to edit and
//! `wharf apply`. It writes a new file only: an existing one is never overwritten.

use crate::CliResult;
use std::path::Path;
use wharf_ci::{CiContext, Provider};
use wharf_client as registration;

/// Writes the file at `path`; answers what it wrote.
pub fn init(path: &Path, ci: &CiContext) -> CliResult<String> {
    if path.exists() {
        return Err(registration::Error::Usage(format!(
            "{} already exists: wharf init writes a new file only; edit that one, or pass \
             another path",
            path.display()
        ))
        .into());
    }
    let text = project_file(ci, &names(ci, path));
    std::fs::write(path, &text)
        .map_err(|e| registration::Error::Usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(text)
}

/// The project and the service the repository suggests: its name, as a valid name.
struct Names {
    project: String,
    service: String,
    repository: Option<String>,
}

fn names(ci: &CiContext, path: &Path) -> Names {
    let repository = ci.repository.clone();
    let from_dir = || {
        std::fs::canonicalize(path.parent().unwrap_or(Path::new(".")))
            .ok()
            .and_then(|dir| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
    };
    let base = repository
        .as_deref()
        .and_then(|r| r.rsplit('/').next())
        .map(str::to_string)
        .or_else(from_dir)
        .unwrap_or_else(|| "app".into());
    let name = valid_name(&base);
    Names {
        project: name.clone(),
        service: name,
        repository,
    }
}

/// Letters, digits and `-`, starting with a letter, at most 63.
fn valid_name(raw: &str) -> String {
    let cleaned: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    let name: String = trimmed.chars().take(63).collect();
    match name.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => name,
        _ => format!("app-{name}").trim_end_matches('-').to_string(),
    }
}

fn project_file(ci: &CiContext, names: &Names) -> String {
    let Names {
        project, service, ..
    } = names;
    let mut text = format!(
        r#"# The project file: what `wharf apply wharf.toml` makes the control plane hold. Applying it
# again changes only what differs; `wharf apply wharf.toml --dry-run` shows that first.
# Reference: docs/control-plane.md (the file), docs/promotion.md (protected stages).

[project]
name = "{project}"
registration_type = "ENVIRONMENT"   # builds go to environments (or RELEASE_STREAM)

# Where builds can go. Each environment follows a release stream.
[[environments]]
name = "dev"
release_stream = "QA"

[[environments]]
name = "staging"
release_stream = "STAGING"

[[environments]]
name = "prod"
release_stream = "PRODUCTION"

# Which environment a registered build goes to, by its branch.
[routing]
rule_name = "{project}-branches"

[[routing.criteria]]
metadata_key = "BRANCH_NAME"
operator = "EQUALS"
value = "main"
route_to = "dev"

[[routing.criteria]]
metadata_key = "BRANCH_NAME"
operator = "STARTS_WITH"
value = "release/"
route_to = "staging"

# The order `wharf promote` moves a build along.
[promotion]
order = ["dev", "staging", "prod"]

# One CI integration per service that registers builds.
[[ci]]
name = "{service}"

# Who may do what. This list is the whole membership: applying removes members it omits.
# A server admin's apply creates missing users; give them tokens with `wharf token create`.
[[members]]
user = "ci-bot"
role = "ci"                         # may register and push, nothing more

[[members]]
user = "release-lead"
role = "release-manager"            # may promote and approve

# prod takes images only by digest and needs one approval from a release manager. Registering
# by tag still works for dev and staging; register by digest (or `wharf push`) to reach prod.
[protection.prod]
approvals = 1
approvers = ["release-manager"]
"#
    );
    if let Some(trust) = trust_block(ci, names) {
        text.push_str(&trust);
    }
    text
}

/// A keyless-login policy for the CI the file was made in, when wharf knows its issuer.
fn trust_block(ci: &CiContext, names: &Names) -> Option<String> {
    let repository = names.repository.as_deref()?;
    let (issuer, claim) = match ci.provider? {
        Provider::GithubActions => (
            "https://token.actions.githubusercontent.com",
            format!("repository = \"{repository}\"\nref = \"refs/heads/main\""),
        ),
        Provider::GitlabCi => (
            "https://gitlab.com",
            format!("project_path = \"{repository}\"\nref = \"main\""),
        ),
        _ => return None,
    };
    Some(format!(
        r#"
# Keyless login: this CI's jobs trade their OIDC identity token for a short-lived token, so no
# secret is stored in CI (docs/keyless.md). The server needs outbound HTTPS to the issuer.
[[trust]]
name = "ci"
issuer = "{issuer}"
role = "ci"
[trust.claims]
{claim}
"#
    ))
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_are_made_valid() {
        assert_eq!(valid_name("Shop_API"), "shop-api");
        assert_eq!(valid_name("9lives"), "app-9lives");
        assert_eq!(valid_name("--"), "app");
    }
}
