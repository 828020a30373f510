//! wharf's messages in the caller's words. wharf's errors name its flags (`--git-ref`) and
//! variables (`WHARF_GIT_REF`); a CI adapter passes its own names for them in
//! `WHARF_OPTION_NAMES` (`git-ref=gitRef,control-plane=control-plane-url,WHARF_TOKEN=token`),
//! and every message wharf prints (errors, warnings, the JSON and Markdown reports) names the
//! adapter's option instead. `WHARF_OPTION_WORD` (`input`, `parameter`) says what an option is
//! called there: "the 'git-ref' input". Text inside `${{ … }}` is an example to copy into a
//! workflow and is left as it is.

use crate::{Error, Result};
use wharf_ci::EnvMap;

pub const OPTION_NAMES: &str = "WHARF_OPTION_NAMES";
pub const OPTION_WORD: &str = "WHARF_OPTION_WORD";

/// The caller's names for wharf's flags and variables; empty when no adapter gave any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionNames {
    /// wharf's word (`--git-ref`, `WHARF_GIT_REF`) and the caller's phrase for it, longest
    /// wharf word first, so `WHARF_TOKEN_FILE` is never half-replaced by `WHARF_TOKEN`.
    words: Vec<(String, String)>,
}

impl OptionNames {
    pub fn from_env(env: &EnvMap) -> Result<Self> {
        let table = env.get(OPTION_NAMES).map(String::as_str).unwrap_or("");
        let word = env.get(OPTION_WORD).map(|w| w.trim()).unwrap_or("");
        Self::parse(table, word)
    }

    /// `table`: comma-separated `flag=name`, `WHARF_VARIABLE=name` or `name` (the same name).
    pub fn parse(table: &str, word: &str) -> Result<Self> {
        if !word.is_empty() && !word.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
            return Err(Error::Usage(format!(
                "{OPTION_WORD} must be a word such as input or parameter, got {:?}",
                crate::printable(word)
            )));
        }
        let phrase = |name: &str| match word {
            "" => format!("'{name}'"),
            word => format!("the '{name}' {word}"),
        };
        let mut words = Vec::new();
        for pair in table.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (ours, theirs) = pair.split_once('=').unwrap_or((pair, pair));
            let (ours, theirs) = (ours.trim(), theirs.trim());
            let valid = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            if !valid(ours) || !valid(theirs) {
                return Err(Error::Usage(format!(
                    "{OPTION_NAMES}: {:?} is not a pair of names: write flag=name pairs \
                     separated by commas, such as git-ref=gitRef,WHARF_TOKEN=token",
                    crate::printable(pair)
                )));
            }
            let said = phrase(theirs);
            if ours.starts_with("WHARF_") {
                words.push((ours.to_string(), said));
            } else {
                words.push((format!("--{ours}"), said.clone()));
                words.push((variable_of(ours), said));
            }
        }
        words.sort_by_key(|(ours, _)| std::cmp::Reverse(ours.len()));
        Ok(Self { words })
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// `message` with each of wharf's flags and variables named as the caller names them.
    pub fn say(&self, message: &str) -> String {
        if self.is_empty() {
            return message.to_string();
        }
        let mut said = String::with_capacity(message.len());
        let mut rest = message;
        while let Some(open) = rest.find("${{") {
            said.push_str(&self.replace_words(&rest[..open]));
            let close = rest[open..].find("}}").map_or(rest.len(), |c| open + c + 2);
            said.push_str(&rest[open..close]);
            rest = &rest[close..];
        }
        said.push_str(&self.replace_words(rest));
        self.once_each(said)
    }

    fn replace_words(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        'scan: while at < text.len() {
            let before_ok = text[..at].chars().next_back().is_none_or(|c| !is_word(c));
            if before_ok {
                for (ours, theirs) in &self.words {
                    let end = at + ours.len();
                    if text[at..].starts_with(ours.as_str())
                        && text[end..].chars().next().is_none_or(|c| !is_word(c))
                    {
                        out.push_str(theirs);
                        at = end;
                        continue 'scan;
                    }
                }
            }
            let c = text[at..].chars().next().expect("at is inside text");
            out.push(c);
            at += c.len_utf8();
        }
        out
    }

    /// "pass 'x' VALUE (or …) or set 'x'" says one thing twice once both name the caller's
    /// option: "set 'x' (or …)".
    fn once_each(&self, mut message: String) -> String {
        let mut phrases: Vec<&str> = self.words.iter().map(|(_, t)| t.as_str()).collect();
        phrases.dedup();
        for phrase in phrases {
            let start = format!("pass {phrase}");
            let end = format!(" or set {phrase}");
            let mut from = 0;
            while let Some(found) = message[from..].find(&start).map(|i| i + from) {
                let after = found + start.len();
                let Some(close) = message[after..].find(&end).map(|i| i + after) else {
                    break;
                };
                let between = &message[after..close];
                match between_is_metavar_or_alternative(between) {
                    true => {
                        let kept = between
                            .find(" (or ")
                            .map(|i| between[i..].to_string())
                            .unwrap_or_default();
                        let replacement = format!("set {phrase}{kept}");
                        message.replace_range(found..close + end.len(), &replacement);
                        from = found + replacement.len();
                    }
                    false => from = after,
                }
            }
        }
        message
    }
}

/// Between "pass X" and " or set X": nothing, a metavariable (` IMAGE`), an alternative in
/// parentheses (` (or …)`), or both.
fn between_is_metavar_or_alternative(between: &str) -> bool {
    let rest = match between.strip_prefix(' ') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => {
            let end = rest.find(' ').unwrap_or(rest.len());
            if !rest[..end]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '_')
            {
                return false;
            }
            &rest[end..]
        }
        _ => between,
    };
    rest.is_empty()
        || (rest.starts_with(" (or ") && rest.ends_with(')') && !rest[1..].contains(" or set "))
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The variable wharf reads for a flag: `git-ref` → `WHARF_GIT_REF`.
pub fn variable_of(flag: &str) -> String {
    match flag {
        "control-plane" => "WHARF_CONTROL_PLANE_URL".into(),
        flag => format!(
            "WHARF_{}",
            flag.to_ascii_uppercase().replace(['-', '.'], "_")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(table: &str, word: &str) -> OptionNames {
        OptionNames::parse(table, word).unwrap()
    }

    #[test]
    fn flags_and_variables_become_the_callers_option() {
        let plugin = names("git-ref,control-plane=control-plane-url,project", "");
        assert_eq!(
            plugin.say("--git-ref and WHARF_GIT_REF were both given"),
            "'git-ref' and 'git-ref' were both given"
        );
        assert_eq!(
            plugin.say("missing project: pass --project or set WHARF_PROJECT"),
            "missing project: set 'project'"
        );
        assert_eq!(
            plugin.say("pass --control-plane URL (or set nothing for the embedded one) or set WHARF_CONTROL_PLANE_URL"),
            "set 'control-plane-url' (or set nothing for the embedded one)"
        );
    }

    #[test]
    fn only_whole_words_are_replaced_and_longest_first() {
        let action = names(
            "WHARF_TOKEN=token,WHARF_TOKEN_FILE=token-file,image",
            "input",
        );
        assert_eq!(action.say("WHARF_TOKEN_FILE"), "the 'token-file' input");
        assert_eq!(action.say("WHARF_TOKENS"), "WHARF_TOKENS");
        assert_eq!(
            action.say("--image-digest --image"),
            "--image-digest the 'image' input"
        );
    }

    #[test]
    fn examples_inside_expressions_stay_as_written() {
        let action = names("WHARF_TOKEN=token", "input");
        assert_eq!(
            action.say("set WHARF_TOKEN: token: ${{ secrets.WHARF_TOKEN }}"),
            "set the 'token' input: token: ${{ secrets.WHARF_TOKEN }}"
        );
        assert_eq!(
            action.say("WHARF_TOKEN ${{ env.WHARF_TOKEN"),
            "the 'token' input ${{ env.WHARF_TOKEN"
        );
    }

    #[test]
    fn no_table_changes_nothing_and_a_bad_table_names_the_variable() {
        assert_eq!(
            names("", "").say("pass --x or set WHARF_X"),
            "pass --x or set WHARF_X"
        );
        let error = OptionNames::parse("git-ref=git ref", "")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("WHARF_OPTION_NAMES") && error.contains("flag=name"),
            "{error}"
        );
        let error = OptionNames::parse("", "in;put").unwrap_err().to_string();
        assert!(error.contains("WHARF_OPTION_WORD"), "{error}");
    }

    #[test]
    fn unrelated_pass_or_set_is_left_alone() {
        let plugin = names("project", "");
        assert_eq!(
            plugin.say("pass --project here, or set WHARF_SERVICE"),
            "pass 'project' here, or set WHARF_SERVICE"
        );
    }
}
