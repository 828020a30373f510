//! The Action's inputs. `action.yml` maps each input to a variable in `env:`; the ones wharf
//! itself knows (`WHARF_PROJECT`, `WHARF_GIT_REF`, …) are read by `wharf-registration`, the
//! Action's own are read here. An empty value is an input left unset.

use wharf_ci::EnvMap;
use wharf_registration::{Error, Result, Secret};

/// Each `WHARF_*` variable and the input it comes from, so errors can name the input.
pub const INPUT_VARIABLES: &[(&str, &str)] = &[
    ("WHARF_CONTROL_PLANE_URL", "control-plane-url"),
    ("WHARF_USERNAME", "username"),
    ("WHARF_TOKEN", "token"),
    ("WHARF_OIDC_AUDIENCE", "oidc-audience"),
    ("WHARF_PROJECT", "project"),
    ("WHARF_SERVICE", "service"),
    ("WHARF_CI_NAME", "ci-name"),
    ("WHARF_IMAGE", "image"),
    ("WHARF_GIT_REF", "git-ref"),
    ("WHARF_ENVIRONMENT", "environment"),
    ("WHARF_RELEASE_STREAM", "release-stream"),
    ("WHARF_EXTERNAL_ID", "external-id"),
    ("WHARF_REGISTRY", "registry"),
    ("WHARF_DESCRIPTION", "description"),
    ("WHARF_PUSH", "push"),
    ("WHARF_PUSH_TAG", "tag"),
    ("WHARF_PLATFORM", "platform"),
    ("WHARF_REQUIRE_ROUTE", "require-route"),
    ("WHARF_DEPLOYMENT", "deployment"),
    ("WHARF_GITHUB_TOKEN", "github-token"),
    ("WHARF_GITHUB_API_URL", "github-api-url"),
    ("WHARF_SKIP_WITHOUT_CREDENTIALS", "skip-without-credentials"),
];

#[derive(Debug)]
pub struct Inputs {
    pub push: bool,
    pub tag: Option<String>,
    pub platform: Option<String>,
    pub require_route: bool,
    /// Promote the registered build up to this stage.
    pub promote_to: Option<String>,
    pub deployment: bool,
    pub github_token: Option<Secret>,
    pub github_api_url: String,
    pub skip_without_credentials: bool,
}

impl Inputs {
    pub fn from_env(env: &EnvMap) -> Result<Self> {
        Ok(Self {
            push: flag(env, "WHARF_PUSH")?,
            tag: text(env, "WHARF_PUSH_TAG"),
            platform: text(env, "WHARF_PLATFORM"),
            require_route: flag(env, "WHARF_REQUIRE_ROUTE")?,
            promote_to: text(env, "WHARF_PROMOTE_TO"),
            deployment: flag(env, "WHARF_DEPLOYMENT")?,
            github_token: text(env, "WHARF_GITHUB_TOKEN").map(Secret::new),
            github_api_url: text(env, "WHARF_GITHUB_API_URL")
                .or_else(|| text(env, "GITHUB_API_URL"))
                .unwrap_or_else(|| "https://api.github.com".into()),
            skip_without_credentials: flag(env, "WHARF_SKIP_WITHOUT_CREDENTIALS")?,
        })
    }
}

pub fn text(env: &EnvMap, name: &str) -> Option<String> {
    env.get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `true` or `false`, as YAML booleans arrive in `inputs`; unset is false.
fn flag(env: &EnvMap, name: &str) -> Result<bool> {
    match text(env, name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Error::Usage(format!(
            "input '{}' must be true or false, not '{other}'",
            input_name(name).unwrap_or(name)
        ))),
    }
}

pub fn input_name(variable: &str) -> Option<&'static str> {
    INPUT_VARIABLES
        .iter()
        .find(|(var, _)| *var == variable)
        .map(|(_, input)| *input)
}

/// Rewrites wharf's messages, which speak of flags and variables, in the Action's terms:
/// each `WHARF_*` variable named becomes its input. Text inside a `${{ … }}` expression is an
/// example to copy into a workflow (`${{ secrets.WHARF_TOKEN }}`) and is left as it is.
pub fn in_action_terms(message: &str) -> String {
    let mut rewritten = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find("${{") {
        rewritten.push_str(&variables_as_inputs(&rest[..open]));
        let expression = match rest[open..].find("}}") {
            Some(close) => &rest[open..open + close + 2],
            None => &rest[open..],
        };
        rewritten.push_str(expression);
        rest = &rest[open + expression.len()..];
    }
    rewritten.push_str(&variables_as_inputs(rest));
    rewritten
}

/// Each `WHARF_*` variable named in `text` (as a whole word) becomes its input.
fn variables_as_inputs(text: &str) -> String {
    let mut message = text.to_string();
    // Longest first, so WHARF_TOKEN_FILE is not half-replaced by WHARF_TOKEN.
    let mut pairs: Vec<_> = INPUT_VARIABLES.to_vec();
    pairs.sort_by_key(|(var, _)| std::cmp::Reverse(var.len()));
    for (var, input) in pairs {
        let boundary = |m: &str, at: usize| {
            m[at + var.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        };
        let mut at = 0;
        while let Some(found) = message[at..].find(var).map(|i| i + at) {
            if boundary(&message, found) {
                let replacement = format!("the '{input}' input");
                message.replace_range(found..found + var.len(), &replacement);
                at = found + replacement.len();
            } else {
                at = found + var.len();
            }
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn booleans_are_true_false_or_unset() {
        let inputs =
            Inputs::from_env(&env_of(&[("WHARF_PUSH", "true"), ("WHARF_DEPLOYMENT", "")])).unwrap();
        assert!(inputs.push);
        assert!(!inputs.deployment);
        let error = Inputs::from_env(&env_of(&[("WHARF_DEPLOYMENT", "yes")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "input 'deployment' must be true or false, not 'yes'"
        );
        assert_eq!(error.exit_code(), 2);
    }

    #[test]
    fn the_github_api_url_defaults_to_the_runners() {
        let inputs =
            Inputs::from_env(&env_of(&[("GITHUB_API_URL", "https://ghe.example/api/v3")])).unwrap();
        assert_eq!(inputs.github_api_url, "https://ghe.example/api/v3");
        let inputs = Inputs::from_env(&env_of(&[])).unwrap();
        assert_eq!(inputs.github_api_url, "https://api.github.com");
    }

    #[test]
    fn messages_name_inputs_not_variables() {
        assert_eq!(
            in_action_terms("missing project: pass --project or set WHARF_PROJECT"),
            "missing project: pass --project or set the 'project' input"
        );
        assert_eq!(
            in_action_terms("WHARF_GIT_REF and WHARF_ENVIRONMENT were both given"),
            "the 'git-ref' input and the 'environment' input were both given"
        );
        assert_eq!(in_action_terms("WHARF_TOKEN_FILE"), "WHARF_TOKEN_FILE");
    }

    #[test]
    fn examples_inside_expressions_are_left_as_they_are() {
        assert_eq!(
            in_action_terms(
                "WHARF_TOKEN is empty: pass token: ${{ secrets.WHARF_TOKEN }} (a secret), \
                 or set WHARF_PROJECT from ${{ vars.WHARF_PROJECT }}"
            ),
            "the 'token' input is empty: pass token: ${{ secrets.WHARF_TOKEN }} (a secret), \
             or set the 'project' input from ${{ vars.WHARF_PROJECT }}"
        );
        // An expression left open is still not rewritten.
        assert_eq!(
            in_action_terms("WHARF_IMAGE ${{ env.WHARF_IMAGE"),
            "the 'image' input ${{ env.WHARF_IMAGE"
        );
    }
}
