//! GitHub Actions' side of the conversation: workflow commands on stdout (`::add-mask::`,
//! `::error::`, …) and the file commands (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`).

use std::io::Write;
use std::path::PathBuf;
use wharf_client::printable;

/// Escapes a command's message, as the runner unescapes it.
pub fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property (`title=…`), which also may not hold `:` or `,`.
pub fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

/// Asks the runner to mask `value` in every later log line. Each line of a multi-line secret
/// is masked on its own, as the runner matches line by line.
pub fn add_mask(value: &str) {
    for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
        println!("::add-mask::{}", escape_data(line));
    }
}

pub fn error(title: &str, message: &str) {
    annotate("error", title, message);
}

pub fn warning(title: &str, message: &str) {
    annotate("warning", title, message);
}

pub fn notice(title: &str, message: &str) {
    annotate("notice", title, message);
}

/// An annotation. Its text may hold a control plane's words, so control characters are shown
/// as escapes first (an ESC would reach the log viewer as a terminal sequence).
fn annotate(level: &str, title: &str, message: &str) {
    println!("{}", annotation(level, title, message));
}

fn annotation(level: &str, title: &str, message: &str) -> String {
    format!(
        "::{level} title={}::{}",
        escape_property(&printable(title)),
        escape_data(&printable(message))
    )
}

/// The runner's files for step outputs and the job summary; absent outside a runner.
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub output: Option<PathBuf>,
    pub summary: Option<PathBuf>,
}

impl Files {
    pub fn from_env(env: &wharf_ci::EnvMap) -> Self {
        let path = |name: &str| env.get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self {
            output: path("GITHUB_OUTPUT"),
            summary: path("GITHUB_STEP_SUMMARY"),
        }
    }

    /// Appends `name<<DELIMITER` blocks, so values may hold newlines; the delimiter is random
    /// and checked absent from the value, so a value can never end its block early.
    pub fn set_outputs(&self, outputs: &[(&str, String)]) -> std::io::Result<()> {
        let Some(path) = &self.output else {
            return Ok(());
        };
        let mut text = String::new();
        for (name, value) in outputs {
            let delimiter = loop {
                let candidate = format!("ghadelimiter_{}", uuid::Uuid::new_v4());
                if !value.contains(&candidate) {
                    break candidate;
                }
            };
            text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        }
        append(path, &text)
    }

    pub fn append_summary(&self, markdown: &str) -> std::io::Result<()> {
        match &self.summary {
            Some(path) => append(path, markdown),
            None => Ok(()),
        }
    }
}

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newlines_and_percents_cannot_start_a_new_command() {
        assert_eq!(
            escape_data("50% done\n::error::x"),
            "50%25 done%0A::error::x"
        );
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn annotations_show_control_characters_as_escapes() {
        assert_eq!(
            annotation(
                "error",
                "wharf: \u{1b}]0;x\u{7}",
                "image a\u{1b}[2Jb\n::error::c"
            ),
            "::error title=wharf%3A \\x1b]0;x\\x07::image a\\x1b[2Jb\\n::error::c"
        );
    }

    #[test]
    fn outputs_are_written_as_delimited_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files {
            output: Some(dir.path().join("out")),
            summary: None,
        };
        files
            .set_outputs(&[("a", "1".into()), ("b", "two\nlines".into())])
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("out")).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert!(lines[0].starts_with("a<<ghadelimiter_"));
        assert_eq!(lines[1], "1");
        assert_eq!(lines[2], lines[0].trim_start_matches("a<<"));
        assert_eq!(&lines[4..6], ["two", "lines"]);
    }
}
