//! The job summary: a short Markdown report of what was registered and where it went.

use wharf_registration::{Outcome, Pushed};

/// Links the summary can show.
#[derive(Debug, Default)]
pub struct Links {
    pub run: Option<String>,
    pub deployment: Option<String>,
}

pub fn registered(outcome: &Outcome, pushed: Option<&Pushed>, links: &Links) -> String {
    let title = format!("{}/{}", outcome.project, outcome.ci_name);
    let routed = match (&outcome.routed_to, &outcome.rule_name) {
        (Some(to), Some(rule)) => format!("**{}** (rule {})", cell(to), code(rule)),
        (Some(to), None) => format!("**{}**", cell(to)),
        (None, _) => "_unclassified_: no routing rule matched; it will not deploy".into(),
    };
    let mut rows = vec![
        ("Image", code(&outcome.artifact_uri)),
        ("Routed to", routed),
        (
            "Registered by",
            format!(
                "{} {}",
                outcome.registered_by.as_str(),
                code(&outcome.registered_value)
            ),
        ),
        (
            "Artifact id",
            outcome.artifact_id.as_deref().map(code).unwrap_or_default(),
        ),
    ];
    if let Some(id) = &outcome.external_id {
        rows.push(("External id", code(id)));
    }
    if let Some(pushed) = pushed {
        rows.push(("Digest", code(&pushed.digest)));
        rows.push((
            "Pushed",
            format!(
                "{} bytes in {} blobs; {} skipped, {} mounted; {} ms",
                pushed.bytes_uploaded,
                pushed.blobs_uploaded,
                pushed.blobs_skipped,
                pushed.blobs_mounted,
                pushed.duration_ms
            ),
        ));
    }
    if outcome.replayed {
        rows.push((
            "Re-run",
            "already registered by an earlier attempt; nothing written".into(),
        ));
    }
    rows.push(("Control plane", link(&outcome.control_plane)));
    if let Some(deployment) = &links.deployment {
        rows.push(("GitHub deployment", link(deployment)));
    }
    if let Some(run) = &links.run {
        rows.push(("Run", link(run)));
    }
    let mut text = format!(
        "### wharf: {} registered\n\n| | |\n|---|---|\n",
        cell(&title)
    );
    for (name, value) in rows {
        text.push_str(&format!("| {name} | {value} |\n"));
    }
    text.push('\n');
    text
}

pub fn failed(kind: &str, exit_code: i32, message: &str) -> String {
    format!(
        "### wharf: registration failed\n\n{} (`{kind}`, exit {exit_code})\n\n",
        cell(message)
    )
}

pub fn skipped(message: &str) -> String {
    format!("### wharf: skipped\n\n{}\n\n", cell(message))
}

/// Text safe inside a table cell: no pipes, no line breaks, no HTML.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace(['\n', '\r'], " ")
}

fn code(text: &str) -> String {
    format!("`{}`", cell(&text.replace('`', "'")))
}

fn link(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!("[{}]({})", cell(url), url.replace([' ', ')', '|'], ""))
    } else {
        cell(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_cannot_break_the_table_or_inject_html() {
        assert_eq!(cell("a|b\n<script>"), "a\\|b &lt;script>");
        assert_eq!(code("x`y"), "`x'y`");
    }
}
