//! The Action's inputs. `action.yml` maps each input to a variable in `env:`; the ones wharf
//! itself knows (`WHARF_PROJECT`, `WHARF_GIT_REF`, …) are read by `wharf-client`, the
//! Action's own are read here. An empty value is an input left unset.

use wharf_ci::EnvMap;
use wharf_client::{Error, Result, Secret};

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
    ("WHARF_FILE", "file"),
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

/// The inputs' names for wharf's variables, so wharf's messages name the inputs:
/// "the 'git-ref' input".
pub fn option_names() -> wharf_client::OptionNames {
    use wharf_client::terms::variable_of;
    // An input named as wharf's flag is given as the flag (both `--x` and `WHARF_X` are named
    // as the input); the others by variable; and the two flags whose variable differs.
    let mut table: Vec<String> = INPUT_VARIABLES
        .iter()
        .map(|(variable, input)| match variable_of(input) == *variable {
            true => input.to_string(),
            false => format!("{variable}={input}"),
        })
        .collect();
    table.extend(["control-plane=control-plane-url".into(), "tag".into()]);
    wharf_client::OptionNames::parse(&table.join(","), "input").expect("the inputs' table is valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_ci::env_of;

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
        let terms = option_names();
        assert_eq!(
            terms.say("missing project: pass --project or set WHARF_PROJECT"),
            "missing project: set the 'project' input"
        );
        assert_eq!(
            terms.say("WHARF_GIT_REF and WHARF_ENVIRONMENT were both given"),
            "the 'git-ref' input and the 'environment' input were both given"
        );
        assert_eq!(terms.say("WHARF_TOKEN_FILE"), "WHARF_TOKEN_FILE");
        assert_eq!(
            terms.say("pass token: ${{ secrets.WHARF_TOKEN }}"),
            "pass token: ${{ secrets.WHARF_TOKEN }}"
        );
    }
}
