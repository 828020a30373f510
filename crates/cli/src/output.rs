//! Printing: results on stdout (one JSON document with `--output json`), warnings and errors
//! on stderr.

use crate::args::Output;
use serde::Serialize;
use wharf_api::project_file::ApplySummary;
use wharf_api::{AuditEntry, CiArtifactResponse, Page, Resolved, User};
use wharf_ci::CiContext;
use wharf_registration::{Outcome, Preview, Promoted, Pushed, report};

fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: cannot print JSON: {error}"),
    }
}

pub fn failure(output: Output, kind: &str, code: i32, message: &str) {
    eprintln!("error: {message}");
    if output == Output::Json {
        json(&report::failure(kind, code, message));
    }
}

pub fn warning(_output: Output, message: &str) {
    eprintln!("warning: {message}");
}

pub fn registered(output: Output, outcome: &Outcome, pushed: Option<&Pushed>) {
    if output == Output::Json {
        return json(&report::registered(outcome, pushed));
    }
    if let Some(pushed) = pushed {
        let what = if pushed.up_to_date {
            "already there"
        } else {
            "pushed"
        };
        println!(
            "{what} {} ({} uploaded in {} blobs, {} skipped, {} mounted, {} ms)",
            pushed.pushed_uri,
            human_bytes(pushed.bytes_uploaded),
            pushed.blobs_uploaded,
            pushed.blobs_skipped,
            pushed.blobs_mounted,
            pushed.duration_ms
        );
    }
    let verb = if outcome.replayed {
        "already registered"
    } else {
        "registered"
    };
    println!(
        "{verb} {} build {} in project {}",
        outcome.ci_name,
        outcome
            .artifact_id
            .as_deref()
            .unwrap_or("(id not reported)"),
        outcome.project
    );
    println!("  image      {}", outcome.artifact_uri);
    println!(
        "  by         {} {}",
        outcome.registered_by.as_str(),
        outcome.registered_value
    );
    let said_as_id = outcome
        .routed_to_id
        .as_ref()
        .map(|id| format!("environment id {id} (its name could not be read)"));
    match (
        outcome.routed_to.as_ref().or(said_as_id.as_ref()),
        &outcome.rule_name,
    ) {
        (Some(to), Some(rule)) => println!("  routed to  {to} (rule {rule})"),
        (Some(to), None) => println!("  routed to  {to}"),
        (None, _) if outcome.classified == Some(false) => {
            println!("  routed to  nothing (unclassified)")
        }
        (None, _) => println!("  routed to  unknown (the control plane did not say)"),
    }
    if let Some(id) = &outcome.external_id {
        println!("  external   {id}");
    }
    println!("  control    {}", outcome.control_plane);
    for warning in &outcome.warnings {
        eprintln!("warning: {warning}");
    }
}

pub fn preview(output: Output, preview: &Preview) {
    if output == Output::Json {
        return json(preview);
    }
    let request = &preview.request;
    println!("dry run: nothing was sent that writes");
    println!(
        "  would register {} into project {}",
        request.artifact_uri, request.blueprint_name
    );
    println!(
        "  by             {} {}",
        request.artifact_register_type.as_str(),
        request.artifact_register_value
    );
    match (&preview.predicted_route, &preview.predicted_rule) {
        (Some(to), Some(rule)) => println!("  would route to {to} (rule {rule})"),
        (Some(to), None) => println!("  would route to {to}"),
        (None, _) => println!("  would route to nothing (unclassified)"),
    }
    println!("  control plane  {}", preview.control_plane);
    for (setting, source) in &preview.sources {
        println!("  {setting:<14} from {source}");
    }
}

pub fn whoami(output: Output, user: &User, control_plane: &str) {
    if output == Output::Json {
        return json(
            &serde_json::json!({"username": user.username, "admin": user.admin,
            "controlPlane": control_plane}),
        );
    }
    println!("{} on {control_plane}", user.username);
}

pub fn builds(output: Output, builds: &[CiArtifactResponse]) {
    if output == Output::Json {
        return json(&builds);
    }
    if builds.is_empty() {
        println!("no builds");
        return;
    }
    println!(
        "{:<34} {:<14} {:<12} {:<25} IMAGE",
        "ID", "EXTERNAL ID", "ROUTED TO", "CREATED"
    );
    for build in builds {
        println!(
            "{:<34} {:<14} {:<12} {:<25} {}",
            build.artifact_id,
            build.external_id.as_deref().unwrap_or("-"),
            build.routed_to.as_deref().unwrap_or("unclassified"),
            build.created_on.as_deref().unwrap_or("-"),
            build.artifact_uri.as_deref().unwrap_or("-"),
        );
    }
}

pub fn applied(output: Output, summary: &ApplySummary, control_plane: &str) {
    if output == Output::Json {
        return json(summary);
    }
    println!("applied project {} to {control_plane}", summary.project);
    for item in &summary.created {
        println!("  created  {item}");
    }
    for item in &summary.updated {
        println!("  updated  {item}");
    }
    println!("  {} unchanged", summary.unchanged);
}

pub fn ci_context(output: Output, context: &CiContext) {
    if output == Output::Json {
        return json(context);
    }
    let value = serde_json::to_value(context).unwrap_or_default();
    for (key, field) in value.as_object().into_iter().flatten() {
        // Beside each value, where it came from; beside a null, why it cannot be known.
        let why = context.unknown.get(key.as_str());
        if key == "sources" || key == "unknown" || (field.is_null() && why.is_none()) {
            continue;
        }
        let shown = field
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| field.to_string());
        let source = context
            .sources
            .get(key.as_str())
            .or(why)
            .map(String::as_str)
            .unwrap_or("");
        println!("{key:<14} {shown:<45} {source}");
    }
}

pub fn promoted(output: Output, promoted: &Promoted) {
    if output == Output::Json {
        return json(promoted);
    }
    let verb = if promoted.replayed {
        "already promoted"
    } else {
        "promoted"
    };
    println!(
        "{verb} {} build to {} (build {})",
        promoted.ci_name,
        promoted.routed_to.as_deref().unwrap_or("?"),
        promoted.artifact_id
    );
    if !promoted.steps.is_empty() {
        println!("  through   {}", promoted.steps.join(" → "));
    }
    if let Some(uri) = &promoted.artifact_uri {
        println!("  image     {uri}");
    }
    println!("  control   {}", promoted.control_plane);
}

pub fn resolved(output: Output, resolved: &Resolved) {
    if output == Output::Json {
        return json(resolved);
    }
    let artifact = &resolved.artifact;
    println!("{}", artifact.artifact_uri.as_deref().unwrap_or("?"));
    eprintln!(
        "{} in {} → build {} from the {} bucket '{}'",
        resolved.expression,
        resolved.environment,
        artifact.id,
        resolved.resolved_from.to_lowercase().replace('_', " "),
        resolved.bucket
    );
}

pub fn audit(output: Output, page: &Page<AuditEntry>) {
    if output == Output::Json {
        return json(page);
    }
    if page.empty {
        println!("no audit entries");
        return;
    }
    println!(
        "{:<25} {:<14} {:<28} {:<34} WHERE",
        "WHEN", "WHO", "ACTION", "TARGET"
    );
    for entry in &page.content {
        let place = [entry.stack_name.as_deref(), entry.cluster_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        println!(
            "{:<25} {:<14} {:<28} {:<34} {}",
            entry.performed_at,
            entry.performed_by,
            entry.entity_action,
            entry.target.as_deref().unwrap_or("-"),
            place
        );
    }
    println!(
        "page {} of {} ({} entries)",
        page.number + 1,
        page.total_pages.max(1),
        page.total_elements
    );
}

/// The token goes to stdout alone (for `$(wharf token create)`), the rest to stderr.
pub fn token_created(output: Output, created: &serde_json::Value) {
    if output == Output::Json {
        return json(created);
    }
    println!("{}", created["token"].as_str().unwrap_or_default());
    eprintln!(
        "token {} for {} created{}; it is shown only this once, store it in your CI's secrets",
        created["id"].as_str().unwrap_or("?"),
        created["username"].as_str().unwrap_or("?"),
        created["expiresAt"]
            .as_str()
            .map(|at| format!(", expires {at}"))
            .unwrap_or_default()
    );
}

pub fn tokens(output: Output, tokens: &serde_json::Value) {
    if output == Output::Json {
        return json(tokens);
    }
    println!(
        "{:<34} {:<16} {:<20} {:<25} EXPIRES",
        "ID", "USER", "NAME", "CREATED"
    );
    for token in tokens.as_array().into_iter().flatten() {
        let field = |key: &str| token[key].as_str().unwrap_or("-").to_string();
        println!(
            "{:<34} {:<16} {:<20} {:<25} {}",
            field("id"),
            field("username"),
            field("name"),
            field("createdAt"),
            field("expiresAt")
        );
    }
}

pub fn revoked(output: Output, id: &str) {
    if output == Output::Json {
        return json(&serde_json::json!({"revoked": id}));
    }
    println!("revoked token {id}");
}

pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
