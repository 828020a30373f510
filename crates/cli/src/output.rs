//! Printing: results on stdout (one JSON document with `--output json`, wharf's Markdown report
//! with `--output markdown`), warnings and errors on stderr, every message in the caller's
//! option names ([`set_terms`], `WHARF_OPTION_NAMES`), and the Markdown report appended to
//! `--summary-file` when one is named.
//!
//! Every line goes through [`stdout_line`] or [`stderr_line`] (the `out!` and `note!` macros):
//! human text has its control characters shown as escapes ([`printable`]), since much of it
//! comes from the control plane, and JSON is written as serde wrote it. A closed stdout (`wharf
//! audit | head -1`) is not an error: once a write finds it closed, nothing more is written
//! there and the command ends as it would have. Any other write failure is kept for
//! [`stdout_failure`], so the command does not claim success.

use crate::args::Output;
use serde::Serialize;
use std::io::{ErrorKind, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use wharf_api::project_file::ApplySummary;
use wharf_api::{AuditEntry, CiArtifactResponse, Page, PromotionRequest, Resolved, User};
use wharf_ci::CiContext;
use wharf_client::{
    OptionNames, Outcome, Preview, PromoteAnswer, Promoted, Pushed, markdown, printable, report,
};

/// One line of human text on stdout, control characters escaped.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::stdout_line(&format!($($arg)*)) };
}

/// One line of human text on stderr, control characters escaped.
macro_rules! note {
    ($($arg:tt)*) => { $crate::output::stderr_line(&format!($($arg)*)) };
}

/// Set once stdout is found closed, or failing: nothing more is written there.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
/// Why stdout failed, when not because its reader went away.
static STDOUT_FAILED: OnceLock<String> = OnceLock::new();

/// The caller's names for wharf's flags and variables, set once at start.
static TERMS: OnceLock<OptionNames> = OnceLock::new();
/// The file `--summary-file` names, set once at start.
static SUMMARY_FILE: OnceLock<std::path::PathBuf> = OnceLock::new();

pub fn set_terms(names: OptionNames) {
    let _ = TERMS.set(names);
}

pub fn set_summary_file(path: std::path::PathBuf) {
    let _ = SUMMARY_FILE.set(path);
}

/// `message` in the caller's names.
pub fn say(message: &str) -> String {
    TERMS
        .get()
        .map_or_else(|| message.to_string(), |t| t.say(message))
}

/// Appends wharf's Markdown report to `--summary-file`; a file that cannot be written is a
/// warning, not a failure of what was already done.
fn summarise(text: &str) {
    let Some(path) = SUMMARY_FILE.get() else {
        return;
    };
    let appended = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()));
    if let Err(error) = appended {
        note!(
            "warning: cannot append the report to --summary-file {}: {error}",
            path.display()
        );
    }
}

/// Writes `text` and a newline to stdout, control characters escaped.
pub fn stdout_line(text: &str) {
    write_stdout(&printable(text));
}

/// Writes `text` and a newline to stderr, control characters escaped. A closed or failing
/// stderr is ignored: there is nowhere left to say so.
pub fn stderr_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", printable(text));
}

/// Writes `text` as it is, and a newline, to stdout.
fn write_stdout(text: &str) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    if let Err(error) = write_line(&mut std::io::stdout().lock(), text) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if let Some(why) = write_failure(&error) {
            let _ = STDOUT_FAILED.set(why);
        }
    }
}

fn write_line(sink: &mut impl Write, text: &str) -> std::io::Result<()> {
    writeln!(sink, "{text}")?;
    sink.flush()
}

/// What a failed write to stdout means: nothing for a closed pipe (its reader wanted no more),
/// else why the results are incomplete.
fn write_failure(error: &std::io::Error) -> Option<String> {
    (error.kind() != ErrorKind::BrokenPipe)
        .then(|| format!("cannot write the results to stdout: {error}"))
}

/// Why the results could not all be written to stdout, if they could not (a closed pipe
/// excepted: its reader wanted no more).
pub fn stdout_failure() -> Option<&'static str> {
    STDOUT_FAILED.get().map(String::as_str)
}

fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => write_stdout(&text),
        Err(error) => note!("error: cannot print JSON: {error}"),
    }
}

pub fn failure(output: Output, kind: &str, code: i32, message: &str) {
    let message = say(message);
    note!("error: {message}");
    match output {
        Output::Json | Output::Override => failure_json(kind, code, &message),
        Output::Markdown => write_stdout(&markdown::failed(kind, code, &message)),
        Output::Human => {}
    }
    summarise(&markdown::failed(kind, code, &message));
}

/// The JSON error document alone, on stdout (for a failure already told on stderr).
pub fn failure_json(kind: &str, code: i32, message: &str) {
    json(&report::failure(kind, code, &say(message)));
}

pub fn warning(_output: Output, message: &str) {
    note!("warning: {}", say(message));
}

/// A registration skipped for want of credentials (`--skip-without-credentials`).
pub fn skipped(output: Output, reason: &str) {
    let reason = say(reason);
    note!("warning: {reason}");
    match output {
        Output::Json => json(&report::skipped(&reason)),
        Output::Markdown => write_stdout(&markdown::skipped(&reason)),
        Output::Human | Output::Override => out!("skipped: {reason}"),
    }
    summarise(&markdown::skipped(&reason));
}

pub fn registered(output: Output, outcome: &Outcome, pushed: Option<&Pushed>) {
    let report = markdown::registered(outcome, pushed, &markdown::Links::default());
    summarise(&report);
    for warning in &outcome.warnings {
        warning_line(warning);
    }
    match output {
        Output::Json => return json(&report::registered(outcome, pushed)),
        Output::Markdown => return write_stdout(&report),
        Output::Human | Output::Override => {}
    }
    if let Some(pushed) = pushed {
        let what = if pushed.up_to_date {
            "already there"
        } else {
            "pushed"
        };
        out!(
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
    out!(
        "{verb} {} build {} in project {}",
        outcome.ci_name,
        outcome
            .artifact_id
            .as_deref()
            .unwrap_or("(id not reported)"),
        outcome.project
    );
    out!("  image      {}", outcome.artifact_uri);
    out!(
        "  by         {} {}",
        outcome.registered_by.in_words(),
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
        (Some(to), Some(rule)) => out!("  routed to  {to} (rule {rule})"),
        (Some(to), None) => out!("  routed to  {to}"),
        (None, _) if outcome.classified == Some(false) => {
            out!("  routed to  nothing (unclassified)")
        }
        (None, _) => out!("  routed to  unknown (the control plane did not say)"),
    }
    if let Some(id) = &outcome.external_id {
        out!("  external   {id}");
    }
    out!("  control    {}", outcome.control_plane);
}

fn warning_line(message: &str) {
    note!("warning: {}", say(message));
}

pub fn preview(output: Output, preview: &Preview) {
    for warning in &preview.warnings {
        warning_line(warning);
    }
    summarise(&markdown::preview(preview));
    match output {
        Output::Json => return json(preview),
        Output::Markdown => return write_stdout(&markdown::preview(preview)),
        Output::Human | Output::Override => {}
    }
    let request = &preview.request;
    out!("dry run: nothing was sent that writes");
    out!(
        "  would register {} into project {}",
        request.artifact_uri,
        request.blueprint_name
    );
    out!(
        "  by             {} {}",
        request.artifact_register_type.in_words(),
        request.artifact_register_value
    );
    let predicted = match preview.predicted_by {
        "server" => "",
        _ => " (predicted by wharf)",
    };
    match (&preview.predicted_route, &preview.predicted_rule) {
        (Some(to), Some(rule)) => out!("  would route to {to} (rule {rule}){predicted}"),
        (Some(to), None) => out!("  would route to {to}{predicted}"),
        (None, _) => out!("  would route to nothing (unclassified){predicted}"),
    }
    out!("  control plane  {}", preview.control_plane);
    for (setting, source) in &preview.sources {
        out!("  {setting:<14} from {source}");
    }
}

pub fn whoami(output: Output, user: &User, control_plane: &str) {
    if output == Output::Json {
        return json(
            &serde_json::json!({"username": user.username, "admin": user.admin,
            "controlPlane": control_plane}),
        );
    }
    out!("{} on {control_plane}", user.username);
}

pub fn builds(output: Output, builds: &[CiArtifactResponse]) {
    if output == Output::Json {
        return json(&builds);
    }
    if builds.is_empty() {
        out!("no builds");
        return;
    }
    out!(
        "{:<34} {:<14} {:<12} {:<25} IMAGE",
        "ID",
        "EXTERNAL ID",
        "ROUTED TO",
        "CREATED"
    );
    for build in builds {
        out!(
            "{:<34} {:<14} {:<12} {:<25} {}",
            build.artifact_id,
            build.external_id.as_deref().unwrap_or("-"),
            build.routed_to.as_deref().unwrap_or("unclassified"),
            build.created_on.as_deref().unwrap_or("-"),
            build.artifact_uri.as_deref().unwrap_or("-"),
        );
    }
}

pub fn build_details(output: Output, details: &wharf_api::provenance::BuildDetails) {
    if output == Output::Json {
        return json(details);
    }
    let build = &details.build;
    out!("build       {}", build.id);
    out!(
        "image       {}",
        build.artifact_uri.as_deref().unwrap_or("-")
    );
    out!(
        "digest      {}",
        details.digest.as_deref().unwrap_or("unknown")
    );
    out!(
        "routed to   {}",
        build.routed_to().unwrap_or("unclassified")
    );
    match &details.provenance {
        None => out!("provenance  none recorded"),
        Some(p) => {
            out!(
                "provenance  {} ({})",
                p.predicate_type,
                p.verification.as_str()
            );
            out!("  builder   {}", p.builder_id.as_deref().unwrap_or("-"));
            if !p.checked.is_empty() {
                out!("  checked   {}", p.checked.join(", "));
            }
            out!("  recorded  {} by {}", p.recorded_at, p.recorded_by);
        }
    }
    if details.referrers.is_empty() {
        out!("referrers   none");
    }
    for referrer in &details.referrers {
        out!(
            "referrer    {} {}",
            referrer.artifact_type.as_deref().unwrap_or("-"),
            referrer.digest
        );
    }
}

pub fn applied(output: Output, summary: &ApplySummary, control_plane: &str) {
    if output == Output::Json {
        return json(summary);
    }
    match summary.dry_run {
        true => out!(
            "dry run: applying project {} to {control_plane} would make these changes; none was made",
            summary.project
        ),
        false => out!("applied project {} to {control_plane}", summary.project),
    }
    for item in &summary.created {
        out!("  created  {item}");
    }
    for item in &summary.updated {
        out!("  updated  {item}");
    }
    for item in &summary.removed {
        out!("  removed  {item}");
    }
    for change in &summary.changes {
        out!("  - {change}");
    }
    for warning in &summary.warnings {
        warning_line(warning);
    }
    out!("  {} unchanged", summary.unchanged);
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
        out!("{key:<14} {shown:<45} {source}");
    }
}

pub fn promoted(output: Output, promoted: &Promoted) {
    if let Some(request) = &promoted.pending {
        return pending(output, request, &promoted.steps, &promoted.control_plane);
    }
    if output == Output::Json {
        return json(promoted);
    }
    let verb = if promoted.replayed {
        "already promoted"
    } else {
        "promoted"
    };
    out!(
        "{verb} {} build to {} (build {})",
        promoted.ci_name,
        promoted.routed_to.as_deref().unwrap_or("?"),
        promoted.artifact_id
    );
    if !promoted.steps.is_empty() {
        out!("  through   {}", promoted.steps.join(" → "));
    }
    if let Some(uri) = &promoted.artifact_uri {
        out!("  image     {uri}");
    }
    out!("  control   {}", promoted.control_plane);
}

/// A promotion (or rollback) that waits for approvals: the request (`requestId`), with the
/// stages passed on the way and the control plane.
fn pending(output: Output, request: &PromotionRequest, steps: &[String], control_plane: &str) {
    if output == Output::Json {
        let mut value = serde_json::to_value(request).unwrap_or_default();
        if let serde_json::Value::Object(fields) = &mut value {
            fields.insert("pending".into(), true.into());
            fields.insert("steps".into(), steps.into());
            fields.insert("controlPlane".into(), control_plane.into());
        }
        return json(&value);
    }
    let what = match request.kind.as_str() {
        "ROLLBACK" => "rollback",
        _ => "promotion",
    };
    out!(
        "{what} of {} into {} waits for {} approval(s): request {}",
        request.ci_name,
        request.stage,
        request.required,
        request.request_id
    );
    if !steps.is_empty() {
        out!("  through   {}", steps.join(" → "));
    }
    out!("  image     {} ({})", request.artifact_uri, request.digest);
    request_approvers(request);
    out!("  approve   wharf approve {}", request.request_id);
    out!("  control   {control_plane}");
}

fn request_approvers(request: &PromotionRequest) {
    let given: Vec<&str> = request
        .approvals
        .iter()
        .map(|a| a.username.as_str())
        .collect();
    out!(
        "  approved  {} of {}{}",
        given.len(),
        request.required,
        if given.is_empty() {
            String::new()
        } else {
            format!(" ({})", given.join(", "))
        }
    );
    let who = if request.eligible_approvers.is_empty() {
        "no one else may approve it now: give another member one of those roles (the one who \
         asked, and who already approved, may not)"
            .to_string()
    } else {
        request.eligible_approvers.join(", ")
    };
    out!(
        "  may approve (role {} or a server admin): {who}",
        request.approvers.join(" or ")
    );
}

pub fn approvals(output: Output, requests: &[PromotionRequest]) {
    if output == Output::Json {
        return json(&requests);
    }
    if requests.is_empty() {
        return note!("no promotion waits for approval");
    }
    for request in requests {
        out!(
            "{}  {} {} → {}  {} of {} approvals  asked by {} at {}",
            request.request_id,
            request.kind.to_lowercase(),
            request.ci_name,
            request.stage,
            request.approvals.len(),
            request.required,
            request.requested_by,
            request.requested_at
        );
    }
}

/// One request in full (`wharf approvals show ID`).
pub fn approval(output: Output, request: &PromotionRequest) {
    if output == Output::Json {
        return json(request);
    }
    out!(
        "{} {} of {} into {} ({})",
        request.request_id,
        request.kind.to_lowercase(),
        request.ci_name,
        request.stage,
        request.status.to_lowercase()
    );
    out!("  image     {}", request.artifact_uri);
    out!("  digest    {}", request.digest);
    out!(
        "  asked by  {} at {}",
        request.requested_by,
        request.requested_at
    );
    if let Some(reason) = &request.reason {
        out!("  reason    {reason}");
    }
    if request.status == "PENDING" {
        request_approvers(request);
    }
}

/// A request after `wharf approve` or `wharf reject`.
pub fn decided(output: Output, verb: &str, request: &PromotionRequest) {
    if output == Output::Json {
        return json(request);
    }
    out!(
        "{verb} request {}: {} of {} into {} is {}",
        request.request_id,
        request.ci_name,
        request.artifact_uri,
        request.stage,
        request.status.to_lowercase()
    );
    match request.status.as_str() {
        "COMPLETED" => out!(
            "  build     {} now in {}",
            request.result_id.as_deref().unwrap_or("?"),
            request.stage
        ),
        "PENDING" => request_approvers(request),
        _ => {
            if let Some(reason) = &request.reason {
                out!("  reason    {reason}");
            }
        }
    }
}

pub fn rolled_back(output: Output, environment: &str, answer: &PromoteAnswer, control_plane: &str) {
    match answer {
        PromoteAnswer::Pending(request) => pending(output, request, &[], control_plane),
        PromoteAnswer::Placed(artifact, _) => {
            if output == Output::Json {
                return json(artifact);
            }
            out!(
                "rolled {environment} back to {} (build {})",
                artifact.artifact_uri.as_deref().unwrap_or("?"),
                artifact.id
            );
            out!("  control   {control_plane}");
        }
    }
}

pub fn resolved(output: Output, resolved: &Resolved) {
    if output == Output::Json {
        return json(resolved);
    }
    if output == Output::Override {
        match &resolved.service_override {
            Some(entry) => return json(entry),
            None => {
                note!(
                    "warning: this control plane answers no override; printing the resolved build"
                );
                return json(resolved);
            }
        }
    }
    let artifact = &resolved.artifact;
    match &artifact.file {
        Some(file) => out!("{}", file.uri),
        None => out!("{}", artifact.artifact_uri.as_deref().unwrap_or("?")),
    }
    note!(
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
        out!("no audit entries");
        return;
    }
    out!(
        "{:<25} {:<14} {:<28} {:<34} WHERE",
        "WHEN",
        "WHO",
        "ACTION",
        "TARGET"
    );
    for entry in &page.content {
        let place = [entry.stack_name.as_deref(), entry.cluster_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        out!(
            "{:<25} {:<14} {:<28} {:<34} {}",
            entry.performed_at,
            entry.performed_by,
            entry.entity_action,
            entry.target.as_deref().unwrap_or("-"),
            place
        );
    }
    out!(
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
    out!("{}", created["token"].as_str().unwrap_or_default());
    note!(
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
    out!(
        "{:<34} {:<16} {:<20} {:<25} EXPIRES",
        "ID",
        "USER",
        "NAME",
        "CREATED"
    );
    for token in tokens.as_array().into_iter().flatten() {
        let field = |key: &str| token[key].as_str().unwrap_or("-").to_string();
        out!(
            "{:<34} {:<16} {:<20} {:<25} {}",
            field("id"),
            field("username"),
            field("name"),
            field("createdAt"),
            field("expiresAt")
        );
    }
}

/// Text printed as it is (a completion script, a man page): no escapes, no newline added.
pub fn raw(text: &str) {
    write_stdout(text.trim_end_matches('\n'));
}

/// A write that answers nothing but that it was done.
pub fn done(output: Output, what: &str) {
    if output == Output::Json {
        return json(&serde_json::json!({"done": what}));
    }
    out!("{what}");
}

pub fn members(output: Output, members: &serde_json::Value) {
    if output == Output::Json {
        return json(members);
    }
    out!("{:<24} {:<18} ON", "USER", "ROLE");
    for member in members.as_array().into_iter().flatten() {
        let every = member["everyProject"].as_bool().unwrap_or(false);
        out!(
            "{:<24} {:<18} {}",
            member["username"].as_str().unwrap_or("?"),
            member["role"].as_str().unwrap_or("?"),
            if every {
                "every project"
            } else {
                "this project"
            }
        );
    }
}

pub fn users(output: Output, users: &serde_json::Value) {
    if output == Output::Json {
        return json(users);
    }
    out!("{:<24} {:<6} CREATED", "USER", "ADMIN");
    for user in users.as_array().into_iter().flatten() {
        out!(
            "{:<24} {:<6} {}",
            user["username"].as_str().unwrap_or("?"),
            if user["admin"].as_bool().unwrap_or(false) {
                "yes"
            } else {
                "no"
            },
            user["createdAt"].as_str().unwrap_or("-")
        );
    }
}

pub fn status(output: Output, status: &wharf_api::ProjectStatus) {
    if output == Output::Json {
        return json(status);
    }
    out!(
        "project {} (stages: {})",
        status.project,
        status.stages.join(" → ")
    );
    for service in &status.services {
        out!("");
        out!("{}", service.service);
        if service.stages.is_empty() {
            out!("  deploys nothing yet");
        }
        for at in &service.stages {
            let digest = at
                .digest
                .as_deref()
                .map(|d| {
                    d.trim_start_matches("sha256:")
                        .chars()
                        .take(12)
                        .collect::<String>()
                })
                .unwrap_or_else(|| "-".into());
            out!(
                "  {:<12} {}  {digest}  {} by {}, {}{}",
                at.stage,
                at.image,
                at.since,
                at.by,
                at.how,
                if at.via.starts_with("release stream") {
                    format!(" (from {})", at.via)
                } else {
                    String::new()
                }
            );
        }
    }
    if !status.pending.is_empty() {
        out!("");
        out!("waiting for approvals:");
        for request in &status.pending {
            out!(
                "  {} {} into {} ({} of {}) asked by {}: wharf approve {}",
                request.ci_name,
                request.artifact_uri,
                request.stage,
                request.approvals.len(),
                request.required,
                request.requested_by,
                request.request_id
            );
        }
    }
}

pub fn trust_test(output: Output, verdict: &serde_json::Value) {
    if output == Output::Json {
        return json(verdict);
    }
    match verdict["matches"].as_bool() {
        Some(true) => out!(
            "matches policy '{}': a login by it acts as {} with role {}",
            verdict["policy"].as_str().unwrap_or("?"),
            verdict["user"].as_str().unwrap_or("?"),
            verdict["role"].as_str().unwrap_or("?")
        ),
        _ => out!(
            "matches no policy: {}",
            verdict["reason"].as_str().unwrap_or("no reason given")
        ),
    }
}

pub fn projects(output: Output, names: &[String]) {
    if output == Output::Json {
        return json(&names);
    }
    for name in names {
        out!("{name}");
    }
}

pub fn revoked(output: Output, id: &str) {
    if output == Output::Json {
        return json(&serde_json::json!({"revoked": id}));
    }
    out!("revoked token {id}");
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

/// `wharf strategy`: the strategy, what it follows, and the project's beside a service's own.
pub fn strategy(output: Output, view: &wharf_api::ServiceStrategy) {
    if output == Output::Json {
        return json(view);
    }
    for line in strategy_lines(view) {
        out!("{line}");
    }
}

fn strategy_lines(view: &wharf_api::ServiceStrategy) -> Vec<String> {
    use wharf_api::{ClosedSet, Strategy};
    let mut lines = vec![format!(
        "service {} of project {}: strategy {}",
        view.service,
        view.project,
        view.strategy.name()
    )];
    lines.push(format!("  {}", view.strategy.meaning()));
    if view.strategy == Strategy::Manual {
        return lines;
    }
    let whose = match view.strategy {
        Strategy::Service => "its own",
        _ => "the project's",
    };
    if let Some(kind) = view.registration_type {
        lines.push(format!("  registration type {}", kind.as_str()));
    }
    lines.push(format!(
        "  branch rules ({whose}): {}",
        criteria_text(&view.routing_rules)
    ));
    lines.push(format!(
        "  promotion order ({whose}): {}",
        order_text(&view.promotion_order)
    ));
    if let Some(criteria) = &view.project_routing_rules {
        lines.push(format!(
            "  the project's branch rules: {}",
            criteria_text(criteria)
        ));
    }
    if let Some(order) = &view.project_promotion_order {
        lines.push(format!(
            "  the project's promotion order: {}",
            order_text(order)
        ));
    }
    lines
}

fn criteria_text(criteria: &[wharf_api::Criterion]) -> String {
    if criteria.is_empty() {
        return "none".into();
    }
    criteria
        .iter()
        .map(wharf_api::Criterion::describe)
        .collect::<Vec<_>>()
        .join("; ")
}

fn order_text(order: &[String]) -> String {
    if order.is_empty() {
        return "none".into();
    }
    order.join(" → ")
}

/// `wharf strategy --set …`: what changed (or would), then the strategy now.
pub fn strategy_changed(output: Output, changed: &wharf_api::StrategyChanged) {
    if output == Output::Json {
        return json(changed);
    }
    let heading = if changed.dry_run {
        "dry run: nothing was changed; this is what --set would do:"
    } else {
        "changed:"
    };
    out!("{heading}");
    for change in &changed.changes {
        out!("  - {change}");
    }
    for line in strategy_lines(&changed.after) {
        out!("{line}");
    }
}

/// `wharf attach`: which environment now deploys what.
pub fn attached(output: Output, service: &str, environment: &str, build: &wharf_api::Artifact) {
    for warning in &build.warnings {
        warning_line(warning);
    }
    if output == Output::Json {
        return json(build);
    }
    out!(
        "attached {} to {environment} for service {service} (build {})",
        build.artifact_uri.as_deref().unwrap_or("-"),
        build.id
    );
}

/// `wharf events list`: one line per event, oldest first.
pub fn events(output: Output, events: &[wharf_api::CloudEvent]) {
    if output == Output::Json {
        return json(&events);
    }
    if events.is_empty() {
        out!("no events");
    }
    for event in events {
        out!(
            "{:>6}  {}  {:<26} {}",
            event.wharfseq.unwrap_or_default(),
            event.time,
            event.kind,
            event.subject
        );
    }
}

/// `wharf webhooks list`.
pub fn webhooks(output: Output, hooks: &[wharf_api::WebhookView]) {
    if output == Output::Json {
        return json(&hooks);
    }
    if hooks.is_empty() {
        out!("no webhooks: declare them under [[webhooks]] in wharf.toml");
    }
    for hook in hooks {
        let state = match &hook.disabled_reason {
            Some(why) => format!("DISABLED ({why})"),
            None => "enabled".to_string(),
        };
        out!(
            "{}  {}  [{}]  {state}",
            hook.name,
            hook.url,
            hook.events.join(", ")
        );
    }
}

/// `wharf webhooks deliveries` (and what redeliver and test queued).
pub fn deliveries(output: Output, rows: &[wharf_api::DeliveryView]) {
    if output == Output::Json {
        return json(&rows);
    }
    if rows.is_empty() {
        out!("no deliveries");
    }
    for row in rows {
        let answer = match (row.last_status, &row.last_error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "not sent yet".to_string(),
        };
        out!(
            "{}  {:<9} {} attempt(s)  {:<24} {}  {answer}",
            row.id,
            row.status,
            row.attempts,
            row.event_type,
            row.webhook
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that refuses every write with `kind`.
    struct Refusing(ErrorKind);

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_no_failure_other_write_errors_are() {
        let closed = write_line(&mut Refusing(ErrorKind::BrokenPipe), "x").unwrap_err();
        assert_eq!(write_failure(&closed), None);
        let full = write_line(&mut Refusing(ErrorKind::StorageFull), "x").unwrap_err();
        let why = write_failure(&full).expect("a full disk fails the command");
        assert!(
            why.starts_with("cannot write the results to stdout: "),
            "{why}"
        );
    }

    #[test]
    fn human_lines_show_control_characters_as_escapes_json_keeps_them_as_json() {
        let uri = "ghcr.io/acme/api:1\u{1b}]0;owned\u{7}\n\u{1b}[2Jfake";
        let mut human = Vec::new();
        write_line(&mut human, &printable(&format!("  image      {uri}"))).unwrap();
        assert_eq!(
            String::from_utf8(human).unwrap(),
            "  image      ghcr.io/acme/api:1\\x1b]0;owned\\x07\\n\\x1b[2Jfake\n"
        );
        let json = serde_json::to_string(&serde_json::json!({ "artifactUri": uri })).unwrap();
        assert!(!json.chars().any(char::is_control), "{json}");
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["artifactUri"], uri);
    }
}
