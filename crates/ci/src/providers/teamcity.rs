//! TeamCity: the environment has only the commit (`BUILD_VCS_NUMBER`) and the build number; the
//! rest is in the parameter files the agent writes: `TEAMCITY_BUILD_PROPERTIES_FILE` (system
//! properties such as `teamcity.build.id`) names, in `teamcity.configuration.properties.file`,
//! the file of configuration parameters: the branch (`teamcity.build.vcs.branch.<root>` in
//! full, `teamcity.build.branch` as the branch specification shortens it), the Pull Requests
//! feature's `teamcity.pullRequest.*`, and `teamcity.serverUrl`.

use super::{Gap, Gaps, explain, get, start, take, take_full_ref, take_template};
use crate::{CiContext, EnvMap, Field, Provider};
use std::collections::BTreeMap;

const BUILD_FILE: &str = "TEAMCITY_BUILD_PROPERTIES_FILE";
const CONFIG_FILE: &str = "teamcity.configuration.properties.file";

const GAPS: Gaps = &[Gap::MergeCommit, Gap::Fork];

/// One parameter file: its parameters, and the name its values are sourced by.
struct Parameters {
    name: &'static str,
    values: BTreeMap<String, String>,
}

impl Parameters {
    fn read(name: &'static str, path: Option<&str>) -> Self {
        let text = path.and_then(|p| std::fs::read_to_string(p).ok());
        let values = text.as_deref().map(parse_properties).unwrap_or_default();
        Self { name, values }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn take(&self, context: &mut CiContext, field: Field, key: &str) {
        if let Some(value) = self.get(key) {
            context.set(field, value, format!("{}:{key}", self.name));
        }
    }
}

pub(crate) fn detect(env: &EnvMap) -> CiContext {
    let mut context = start(Provider::Teamcity, "TEAMCITY_VERSION");
    let build = Parameters::read(BUILD_FILE, get(env, BUILD_FILE));
    let config = Parameters::read(CONFIG_FILE, build.get(CONFIG_FILE));
    if config.values.is_empty() {
        context.note_unknown(
            Field::SourceBranch,
            "TeamCity names the branch only in its parameter files \
             (TEAMCITY_BUILD_PROPERTIES_FILE → teamcity.configuration.properties.file), which \
             could not be read",
        );
    }
    let full_branch = vcs_branch(&config);
    if config.get("teamcity.pullRequest.number").is_some() {
        config.take(&mut context, Field::PrNumber, "teamcity.pullRequest.number");
        config.take(
            &mut context,
            Field::SourceBranch,
            "teamcity.pullRequest.source.branch",
        );
        config.take(
            &mut context,
            Field::TargetBranch,
            "teamcity.pullRequest.target.branch",
        );
    } else if let Some((key, full)) = &full_branch {
        take_full_ref(&mut context, full, &format!("{CONFIG_FILE}:{key}"));
    } else if config.get("teamcity.build.branch") != Some("<default>") {
        config.take(&mut context, Field::SourceBranch, "teamcity.build.branch");
    }
    // A pull request built from its merge ref (Azure DevOps) builds the merge commit.
    let merge_ref = full_branch.is_some_and(|(_, full)| full.ends_with("/merge"));
    let commit_field = if merge_ref {
        Field::MergeSha
    } else {
        Field::HeadSha
    };
    take(&mut context, env, commit_field, "BUILD_VCS_NUMBER");
    if merge_ref {
        context.note_unknown(
            Field::HeadSha,
            "the build's VCS branch is the pull request's merge ref: BUILD_VCS_NUMBER is the \
             merge commit, and TeamCity names no head commit",
        );
    }
    build.take(&mut context, Field::BuildId, "teamcity.build.id");
    take(&mut context, env, Field::BuildNumber, "BUILD_NUMBER");
    take_template(
        &mut context,
        Field::BuildUrl,
        "{teamcity.serverUrl}/viewLog.html?buildId={teamcity.build.id}",
        |key| config.get(key).or_else(|| build.get(key)),
    );
    config.take(&mut context, Field::Repository, "vcsroot.url");
    explain(&mut context, GAPS);
    context
}

/// `teamcity.build.vcs.branch.<VCS root>`: the full name of the branch built, when the build
/// has one VCS root (with more, which one is the build's own cannot be told).
fn vcs_branch(config: &Parameters) -> Option<(String, String)> {
    let mut branches = config
        .values
        .iter()
        .filter(|(key, value)| key.starts_with("teamcity.build.vcs.branch.") && !value.is_empty());
    let (key, value) = branches.next()?;
    branches
        .next()
        .is_none()
        .then(|| (key.clone(), value.trim().to_string()))
        .filter(|(_, full)| full.starts_with("refs/"))
}

/// A Java properties file, as TeamCity writes them: `key=value` lines, `#` and `!` comments,
/// `\` escapes (`\:`, `\=`, `\\`, `\uXXXX`) and `\` line continuations.
fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let mut logical = String::new();
    for line in text.lines() {
        let line = line.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with(['#', '!'])) {
            continue;
        }
        let backslashes = line.len() - line.trim_end_matches('\\').len();
        if backslashes % 2 == 1 {
            logical.push_str(&line[..line.len() - 1]);
            continue;
        }
        logical.push_str(line);
        let (key, value) = split_entry(&logical);
        properties.insert(unescape(key), unescape(value));
        logical.clear();
    }
    properties
}

/// The key ends at the first unescaped `=`, `:` or blank; one separator follows, with blanks.
fn split_entry(line: &str) -> (&str, &str) {
    let mut escaped = false;
    for (at, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '=' | ':' | ' ' | '\t' => {
                let rest = line[at..].trim_start_matches([' ', '\t']);
                let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
                return (&line[..at], rest.trim_start_matches([' ', '\t']));
            }
            _ => {}
        }
    }
    (line, "")
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(decoded) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(decoded);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_read_as_java_writes_them() {
        let text = "#Build properties\n\
                    teamcity.serverUrl=https\\://ci.example.com\\:8111\n\
                    ! a comment\n\
                    spaced\\ key\\ name = value with spaces\n\
                    path=C\\:\\\\agent\\\\temp\n\
                    long=first \\\n    second\n\
                    unicode=caf\\u00e9\n\
                    empty=\n";
        let properties = parse_properties(text);
        assert_eq!(
            properties["teamcity.serverUrl"],
            "https://ci.example.com:8111"
        );
        assert_eq!(properties["spaced key name"], "value with spaces");
        assert_eq!(properties["path"], "C:\\agent\\temp");
        assert_eq!(properties["long"], "first second");
        assert_eq!(properties["unicode"], "café");
        assert_eq!(properties["empty"], "");
        assert_eq!(properties.len(), 6);
    }
}
