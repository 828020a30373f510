//! wharf's report of a registration in Markdown, for the places CI shows it: a GitHub job
//! summary, a Buildkite annotation (`wharf register --output markdown`, `--summary-file FILE`).
//! Every adapter shows this text as it is; none renders an outcome of its own.

use crate::{Outcome, Preview, Pushed};

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
        (None, _) => UNCLASSIFIED.into(),
    };
    let mut rows = vec![
        ("Image", code(&outcome.artifact_uri)),
        ("Routed to", routed),
        (
            "Registered by",
            format!(
                "{} {}",
                outcome.registered_by.in_words(),
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
        rows.push(("Deployment", link(deployment)));
    }
    if let Some(run) = &links.run {
        rows.push(("Run", link(run)));
    }
    table(&format!("wharf: {title} registered"), rows)
}

fn table(title: &str, rows: Vec<(&str, String)>) -> String {
    let mut text = format!("### {}\n\n| | |\n|---|---|\n", cell(title));
    for (name, value) in rows {
        text.push_str(&format!("| {name} | {value} |\n"));
    }
    text.push('\n');
    text
}

/// A dry run: what would be registered and where the control plane would route it.
pub fn preview(preview: &Preview) -> String {
    let request = &preview.request;
    let route = match (&preview.predicted_route, &preview.predicted_rule) {
        (Some(to), Some(rule)) => format!("**{}** (rule {})", cell(to), code(rule)),
        (Some(to), None) => format!("**{}**", cell(to)),
        (None, _) => UNCLASSIFIED.into(),
    };
    let by = match preview.predicted_by {
        "server" => "the control plane",
        _ => "wharf (a prediction: this control plane has no preview)",
    };
    let rows = [
        ("Image", code(&request.artifact_uri)),
        ("Would route to", route),
        ("Predicted by", by.to_string()),
        (
            "Registered by",
            format!(
                "{} {}",
                request.artifact_register_type.in_words(),
                code(&request.artifact_register_value)
            ),
        ),
        ("Control plane", link(&preview.control_plane)),
    ];
    table(
        &format!(
            "wharf: dry run for {}/{}, nothing written",
            request.blueprint_name,
            request
                .ci_name
                .as_deref()
                .or(request.application_name.as_deref())
                .unwrap_or("(no service)")
        ),
        rows.into_iter().collect(),
    )
}

/// One line for a build description or a log: what was registered and where it went.
pub fn one_line(outcome: &Outcome) -> String {
    let id = outcome
        .artifact_id
        .as_deref()
        .unwrap_or("(id not reported)");
    let verb = if outcome.replayed {
        "already registered"
    } else {
        "registered"
    };
    let place = match (&outcome.routed_to, &outcome.rule_name) {
        (Some(to), Some(rule)) => format!("routed to {to} (rule {rule})"),
        (Some(to), None) => format!("routed to {to}"),
        (None, _) if outcome.classified == Some(false) => {
            "unclassified: no routing rule matched; it will not deploy".into()
        }
        (None, _) => "route not reported by the control plane".into(),
    };
    format!(
        "{}/{} {verb} {} as build {id}, {place}",
        outcome.project, outcome.ci_name, outcome.artifact_uri
    )
}

/// One line for a dry run.
pub fn preview_line(preview: &Preview) -> String {
    let request = &preview.request;
    let route = match (&preview.predicted_route, &preview.predicted_rule) {
        (Some(to), Some(rule)) => format!("would route to {to} (rule {rule})"),
        (Some(to), None) => format!("would route to {to}"),
        (None, _) => "would be unclassified: no routing rule matches".into(),
    };
    let guess = match preview.predicted_by {
        "server" => "",
        _ => " (wharf's prediction)",
    };
    format!(
        "dry run: {} into project {} {route}{guess}; nothing was written",
        request.artifact_uri, request.blueprint_name
    )
}

/// The one wording of an unrouted build, everywhere wharf reports one.
pub const UNCLASSIFIED: &str = "_unclassified_: no routing rule matched; it will not deploy";

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
