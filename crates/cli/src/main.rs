//! `wharf`: the thin binary that wires the crates together. Parsing is in `args`, printing in
//! `output`, the embedded control plane in `embedded`; every decision lives in the crates.

mod args;
mod embedded;
mod gc;
mod init;
mod output;
mod progress;
mod serve;

use anyhow::Context;
use args::{BuildsArgs, BuildsCommand, Cli, Command, GlobalArgs, Output, RefFromArg, RegisterArgs};
use clap::Parser;
use std::path::Path;
use std::process::ExitCode;
use wharf_ci::{CiContext, EnvMap, RefFrom, SystemGit};
use wharf_client::no_credentials::Missing;
use wharf_client::{self as registration, Client, Endpoint, RetryPolicy, WharfEnv, exit};

/// A failure with the exit code `docs/cli.md` documents for it.
struct Failure {
    code: i32,
    kind: &'static str,
    message: String,
}

impl From<registration::Error> for Failure {
    fn from(error: registration::Error) -> Self {
        Self {
            code: error.exit_code(),
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// A control plane error as the client's error of the same meaning, so its exit code and kind
/// come from the one table ([`registration::Error::exit_code`]).
impl From<wharf_control_plane::Error> for Failure {
    fn from(error: wharf_control_plane::Error) -> Self {
        use wharf_control_plane::Error as E;
        let message = error.to_string();
        let same = match error {
            E::BadRequest(_) => registration::Error::Usage(message),
            E::Conflict(_) => registration::Error::Conflict(message),
            E::NotFound(_) => registration::Error::NotFound(message),
            _ => registration::Error::Internal(message),
        };
        same.into()
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: exit::INTERNAL,
            kind: "internal",
            message: format!("{error:#}"),
        }
    }
}

/// What a command answers: its value, or the failure with its documented exit code.
type CliResult<T = ()> = Result<T, Failure>;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    init_logging(matches!(cli.command, Command::Serve(_)));
    let output = cli.global.output;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let message = format!("cannot start the async runtime: {error}");
            output::failure(output, "internal", exit::INTERNAL, &message);
            return ExitCode::from(exit::INTERNAL as u8);
        }
    };
    let result = runtime
        .block_on(run(cli))
        .and_then(|()| match output::stdout_failure() {
            // The results did not all reach stdout (a full disk, say; a closed pipe is fine).
            Some(why) => Err(Failure {
                code: exit::INTERNAL,
                kind: "internal",
                message: why.to_string(),
            }),
            None => Ok(()),
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            output::failure(output, failure.kind, failure.code, &failure.message);
            ExitCode::from(failure.code as u8)
        }
    }
}

/// What clap could not parse. `--help` and `--version` print as clap prints them; a usage
/// error goes to stderr as clap words it and, when `--output json` was asked for, also to
/// stdout as the JSON error document every other failure prints. Exit 2.
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        error.exit();
    }
    let _ = error.print();
    if asked_for_json(std::env::args_os().skip(1)) {
        output::failure_json("usage", exit::USAGE, &clap_message(error));
    }
    ExitCode::from(exit::USAGE as u8)
}

/// Whether the command line asked for `--output json` (its last `--output` wins, as in clap),
/// read without clap, which could not parse it.
fn asked_for_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let mut json = false;
    let mut args = args.map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--output" {
            json = args.next().as_deref() == Some("json");
        } else if let Some(value) = arg.strip_prefix("--output=") {
            json = value == "json";
        }
    }
    json
}

/// Clap's message without its `error: ` prefix, usage and help hint: its first paragraph, on
/// one line.
fn clap_message(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let first = rendered.split("\n\n").next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn init_logging(serving: bool) {
    let default = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WHARF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal who has not said NO_COLOR; never in files or
    // pipes.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        .init();
}

async fn run(mut cli: Cli) -> CliResult {
    let env = wharf_ci::process_env();
    output::set_terms(registration::OptionNames::from_env(&env)?);
    cli.global.keyless_project = keyless_project(&cli.command, &env);
    let is_push = matches!(cli.command, Command::Push(_));
    let is_upload = matches!(cli.command, Command::Upload(_));
    match cli.command {
        Command::Serve(args) => serve::serve(args).await,
        Command::CiContext(args) => {
            let context = detect(&env, args.ref_from)?;
            output::ci_context(cli.global.output, &context);
            Ok(())
        }
        Command::Register(args) | Command::Push(args) | Command::Upload(args) => {
            if is_upload && args.file.is_none() && env_path(&env, "WHARF_FILE").is_none() {
                return Err(registration::Error::Usage(
                    "wharf upload needs the file: --file PATH (or WHARF_FILE)".into(),
                )
                .into());
            }
            let args = RegisterArgs {
                push: args.push || is_push,
                ..args
            };
            let ci = detect(&env, args.ref_from)?;
            if let Some(file) = args
                .summary_file
                .clone()
                .or_else(|| env_path(&env, "WHARF_SUMMARY_FILE"))
            {
                output::set_summary_file(file);
            }
            let skip =
                args.skip_without_credentials || env_flag(&env, "WHARF_SKIP_WITHOUT_CREDENTIALS")?;
            match without_credentials(&cli.global, &env, &ci, skip)? {
                Some(Missing::Skip(reason)) => {
                    output::skipped(cli.global.output, &reason);
                    return Ok(());
                }
                Some(Missing::Fail(error)) => return Err(error.into()),
                None => {}
            }
            let (env_ref, ci_ref) = (&env, &ci);
            with_control_plane(&cli.global, &env, &ci, None, |client, label| async move {
                register(&args, env_ref, ci_ref, &client, &label, cli.global.output).await
            })
            .await
        }
        Command::Whoami => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, label| async move {
                let user = client.whoami().await?;
                output::whoami(cli.global.output, &user, &label);
                Ok(())
            })
            .await
        }
        Command::Builds(BuildsArgs {
            command: Some(BuildsCommand::Show { id }),
            ..
        }) => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let details = client.build_details(&id).await?;
                output::build_details(cli.global.output, &details);
                Ok(())
            })
            .await
        }
        Command::Builds(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let (project, service) = project_and_service(&env, args.project, args.service)?;
            let query = registration::BuildQuery {
                routed_to: args.routed_to,
                external_id: args.external_id,
                classified: args.unclassified.then_some(false),
                promoted: args.promoted.then_some(true),
                limit: args.limit,
            };
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let builds = client.builds(&project, &service, &query).await?;
                output::builds(cli.global.output, &builds);
                Ok(())
            })
            .await
        }
        Command::Promote(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let (project, service) = project_and_service(&env, args.project, args.service)?;
            let target = match (args.artifact_id, args.external_id) {
                (Some(id), _) => registration::PromoteTarget::ArtifactId(id),
                (None, Some(id)) => registration::PromoteTarget::ExternalId(id),
                (None, None) => unreachable!("clap requires one of them"),
            };
            with_control_plane(&cli.global, &env, &ci, None, |client, label| async move {
                let promoted = registration::promote(
                    &client,
                    &project,
                    &service,
                    &target,
                    args.to.as_deref(),
                    &label,
                )
                .await?;
                output::promoted(cli.global.output, &promoted);
                Ok(())
            })
            .await
        }
        Command::Resolve(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let wharf_env = WharfEnv::from_map(&env)?;
            let project = args.project.or(wharf_env.project).ok_or_else(|| {
                registration::Error::Usage(
                    "missing project: pass --project or set WHARF_PROJECT".into(),
                )
            })?;
            let service = match (args.service, args.expression) {
                (Some(service), _) => service,
                (None, Some(expression)) => {
                    wharf_control_plane::promotion::parse_expression(&expression)?
                }
                (None, None) => unreachable!("clap requires one of them"),
            };
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let resolved = client
                    .resolve(&project, &args.environment, &service)
                    .await?;
                output::resolved(cli.global.output, &resolved);
                Ok(())
            })
            .await
        }
        Command::Audit(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let query = audit_query(args);
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let page = client.audit(&query).await?;
                output::audit(cli.global.output, &page);
                Ok(())
            })
            .await
        }
        Command::Approvals(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let project = args.project.or_else(|| env.get("WHARF_PROJECT").cloned());
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                if let Some(args::ApprovalsCommand::Show { id }) = args.show {
                    let request = client.approval(&id).await?;
                    output::approval(cli.global.output, &request);
                    return Ok(());
                }
                let pending = client.pending_approvals(project.as_deref()).await?;
                output::approvals(cli.global.output, &pending);
                Ok(())
            })
            .await
        }
        Command::Approve(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let request = client.approve(&args.id).await?;
                output::decided(cli.global.output, "approved", &request);
                Ok(())
            })
            .await
        }
        Command::Reject(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let request = client.reject(&args.id, &args.reason).await?;
                output::decided(cli.global.output, "rejected", &request);
                Ok(())
            })
            .await
        }
        Command::Rollback(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let (project, service) = project_and_service(&env, args.project, args.service)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, label| async move {
                let answer = client
                    .rollback(&project, &service, &args.environment, args.to.as_deref())
                    .await?;
                output::rolled_back(cli.global.output, &args.environment, &answer, &label);
                Ok(())
            })
            .await
        }
        Command::Gc(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                gc::gc(&client, args, cli.global.output).await
            })
            .await
        }
        Command::Token(command) => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, label| async move {
                if label.starts_with("embedded") {
                    return Err(registration::Error::Usage(
                        "tokens need `wharf serve`: the embedded control plane lives for one \
                         command and keeps no users; start `wharf serve` and point \
                         --control-plane (WHARF_CONTROL_PLANE_URL) at it"
                            .into(),
                    )
                    .into());
                }
                token(&client, command, cli.global.output).await
            })
            .await
        }
        Command::Events(command) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let env_ref = &env;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let args::EventsCommand::List {
                    project,
                    after,
                    limit,
                } = command;
                let project = project_from(env_ref, project)?;
                output::events(
                    cli.global.output,
                    &client.events(&project, after, limit).await?,
                );
                Ok(())
            })
            .await
        }
        Command::Webhooks(command) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let env_ref = &env;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                webhooks(&client, command, env_ref, cli.global.output).await
            })
            .await
        }
        Command::Members(command) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let env_ref = &env;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                members(&client, command, env_ref, cli.global.output).await
            })
            .await
        }
        Command::Users(command) => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                match command {
                    args::UsersCommand::List => {
                        output::users(cli.global.output, &client.users().await?)
                    }
                    args::UsersCommand::Create { user, admin } => {
                        client.create_user(&user, admin).await?;
                        output::done(cli.global.output, &format!("created user {user}"));
                    }
                }
                Ok(())
            })
            .await
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "wharf", &mut script);
            output::raw(&String::from_utf8_lossy(&script));
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .context("rendering the man page")?;
            output::raw(&String::from_utf8_lossy(&page));
            Ok(())
        }
        Command::Status { project } => {
            let ci = detect(&env, RefFromArg::Source)?;
            let project = project_from(&env, project)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                output::status(cli.global.output, &client.status(&project).await?);
                Ok(())
            })
            .await
        }
        Command::Attach(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let (project, service) =
                project_and_service(&env, args.project.clone(), args.service.clone())?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let build = client
                    .attach(&project, &service, &args.environment, &args.image)
                    .await?;
                output::attached(cli.global.output, &service, &args.environment, &build);
                Ok(())
            })
            .await
        }
        Command::Strategy(args) => {
            let ci = detect(&env, RefFromArg::Source)?;
            let (project, service) =
                project_and_service(&env, args.project.clone(), args.service.clone())?;
            let change = strategy_change(&args)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                match change {
                    None => output::strategy(
                        cli.global.output,
                        &client.strategy(&project, &service).await?,
                    ),
                    Some(change) => output::strategy_changed(
                        cli.global.output,
                        &client.set_strategy(&project, &service, &change).await?,
                    ),
                }
                Ok(())
            })
            .await
        }
        Command::Init { file } => {
            let ci = detect(&env, RefFromArg::Source)?;
            init::init(&file, &ci)?;
            output::done(
                cli.global.output,
                &format!(
                    "wrote {}: edit it, then `wharf apply {}` (`--dry-run` first)",
                    file.display(),
                    file.display()
                ),
            );
            Ok(())
        }
        Command::Trust(args::TrustCommand::Test { project, token }) => {
            let project = project_from(&env, project)?;
            let identity = std::fs::read_to_string(&token).map_err(|e| {
                registration::Error::Usage(format!(
                    "--token {}: cannot read the identity token: {e}",
                    token.display()
                ))
            })?;
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                let verdict = client.trust_test(&project, identity.trim()).await?;
                output::trust_test(cli.global.output, &verdict);
                Ok(())
            })
            .await
        }
        Command::Projects => {
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(&cli.global, &env, &ci, None, |client, _| async move {
                output::projects(cli.global.output, &client.projects().await?);
                Ok(())
            })
            .await
        }
        Command::Apply(args) => {
            let file = wharf_control_plane::project_file::load(&args.file)?;
            let ci = detect(&env, RefFromArg::Source)?;
            with_control_plane(
                &cli.global,
                &env,
                &ci,
                (!args.dry_run).then_some(args.file.as_path()),
                |client, label| async move {
                    let summary = client.apply(&file, args.dry_run).await?;
                    output::applied(cli.global.output, &summary, &label);
                    Ok(())
                },
            )
            .await
        }
    }
}

async fn webhooks(
    client: &Client,
    command: args::WebhooksCommand,
    env: &EnvMap,
    output: Output,
) -> CliResult {
    match command {
        args::WebhooksCommand::List { project } => {
            let project = project_from(env, project)?;
            output::webhooks(output, &client.webhooks(&project).await?);
        }
        args::WebhooksCommand::Deliveries {
            project,
            webhook,
            limit,
        } => {
            let project = project_from(env, project)?;
            let rows = client
                .deliveries(&project, webhook.as_deref(), limit)
                .await?;
            output::deliveries(output, &rows);
        }
        args::WebhooksCommand::Redeliver { delivery } => {
            output::deliveries(output, &[client.redeliver(&delivery).await?]);
        }
        args::WebhooksCommand::Test { project, webhook } => {
            let project = project_from(env, project)?;
            output::deliveries(output, &[client.test_webhook(&project, &webhook).await?]);
        }
    }
    Ok(())
}

async fn members(
    client: &Client,
    command: args::MembersCommand,
    env: &EnvMap,
    output: Output,
) -> CliResult {
    let project = |flag: Option<String>| project_from(env, flag);
    match command {
        args::MembersCommand::List { project: flag } => {
            let members = client.members(&project(flag)?).await?;
            output::members(output, &members);
        }
        args::MembersCommand::Set {
            project: flag,
            user,
            role,
        } => {
            let project = project(flag)?;
            client.set_member(&project, &user, Some(&role)).await?;
            output::done(output, &format!("{user} is {role} on {project}"));
        }
        args::MembersCommand::Remove {
            project: flag,
            user,
        } => {
            let project = project(flag)?;
            client.set_member(&project, &user, None).await?;
            output::done(
                output,
                &format!("{user} is no longer a member of {project}"),
            );
        }
    }
    Ok(())
}

async fn token(client: &Client, command: args::TokenCommand, output: Output) -> CliResult {
    match command {
        args::TokenCommand::Create {
            name,
            user,
            expires_in_days,
        } => {
            let created = client
                .create_token(name.as_deref(), user.as_deref(), expires_in_days)
                .await?;
            output::token_created(output, &created);
        }
        args::TokenCommand::List { user } => {
            let tokens = client.list_tokens(user.as_deref()).await?;
            output::tokens(output, &tokens);
        }
        args::TokenCommand::Revoke { id } => {
            client.revoke_token(&id).await?;
            output::revoked(output, &id);
        }
    }
    Ok(())
}

/// `--project`, else `WHARF_PROJECT`; neither is a usage error naming both.
fn project_from(env: &EnvMap, flag: Option<String>) -> CliResult<String> {
    flag.or_else(|| env.get("WHARF_PROJECT").cloned())
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| {
            registration::Error::Usage(
                "missing project: pass --project or set WHARF_PROJECT".into(),
            )
            .into()
        })
}

fn project_and_service(
    env: &EnvMap,
    project: Option<String>,
    service: Option<String>,
) -> CliResult<(String, String)> {
    let wharf_env = WharfEnv::from_map(env)?;
    let project = project.or(wharf_env.project).ok_or_else(|| {
        registration::Error::Usage("missing project: pass --project or set WHARF_PROJECT".into())
    })?;
    let service = service.or(wharf_env.service).ok_or_else(|| {
        registration::Error::Usage("missing service: pass --service or set WHARF_SERVICE".into())
    })?;
    Ok((project, service))
}

/// The audit query pairs; `--since` defaults to 24 hours ago.
fn audit_query(args: args::AuditArgs) -> Vec<(&'static str, String)> {
    let day_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis().saturating_sub(24 * 3600 * 1000))
        .unwrap_or_default();
    let mut query = vec![
        ("start", args.since.unwrap_or_else(|| day_ago.to_string())),
        ("number", args.page.to_string()),
        ("size", args.size.to_string()),
    ];
    let optional = [
        ("end", args.until),
        ("stackName", args.project),
        ("clusterName", args.environment),
        ("performedBy", args.performed_by),
        ("target", args.target),
    ];
    query.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    query.extend(args.entity.into_iter().map(|e| ("entity", e)));
    query.extend(args.action.into_iter().map(|a| ("entityAction", a)));
    query
}

/// For a remote control plane with no token and no keyless login: skip or fail, as
/// [`registration::no_credentials`] decides. The embedded one needs no token.
fn without_credentials(
    global: &GlobalArgs,
    env: &EnvMap,
    ci: &CiContext,
    skip: bool,
) -> CliResult<Option<Missing>> {
    let wharf_env = WharfEnv::from_map(env)?;
    match registration::resolve_endpoint(global.control_plane.as_deref(), &wharf_env, ci) {
        Ok(Endpoint::Remote(_)) => Ok(registration::no_credentials::decide(
            env,
            &wharf_env,
            global.token_file.as_deref(),
            ci,
            skip,
        )?),
        // An endpoint error is reported where the endpoint is used, in its own words.
        _ => Ok(None),
    }
}

fn env_path(env: &EnvMap, name: &str) -> Option<std::path::PathBuf> {
    env.get(name)
        .filter(|v| !v.trim().is_empty())
        .map(Into::into)
}

/// A `true`/`false` variable; unset or empty is false.
fn env_flag(env: &EnvMap, name: &str) -> CliResult<bool> {
    match env.get(name).map(|v| v.trim()).unwrap_or("") {
        "" | "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        other => Err(registration::Error::Usage(format!(
            "{name} must be true or false, got {:?}",
            registration::printable(other)
        ))
        .into()),
    }
}

/// The change `wharf strategy --set …` asks for; none: show the strategy.
fn strategy_change(args: &args::StrategyArgs) -> CliResult<Option<wharf_api::StrategyChange>> {
    let Some(set) = &args.set else {
        return Ok(None);
    };
    let strategy: wharf_api::Strategy = set
        .parse()
        .map_err(|e: wharf_api::UnknownValue| registration::Error::Usage(format!("--set: {e}")))?;
    let service_only =
        !args.route.is_empty() || args.order.is_some() || args.registration_type.is_some();
    if service_only && strategy != wharf_api::Strategy::Service {
        return Err(registration::Error::Usage(format!(
            "--route, --order and --registration-type describe a service's own CI/CD: use them \
             with --set service, not --set {set}"
        ))
        .into());
    }
    let routes = args
        .route
        .iter()
        .enumerate()
        .map(|(i, rule)| route_rule(rule, i))
        .collect::<CliResult<Vec<_>>>()?;
    let registration_type = match &args.registration_type {
        Some(kind) => Some(kind.parse().map_err(|e: wharf_api::UnknownValue| {
            registration::Error::Usage(format!("--registration-type: {e}"))
        })?),
        None => None,
    };
    Ok(Some(wharf_api::StrategyChange {
        strategy,
        registration_type,
        ci_system: None,
        routing_rules: (!routes.is_empty()).then_some(routes),
        promotion_order: args.order.clone(),
        reset: args.reset,
        dry_run: args.dry_run,
    }))
}

/// `--route OPERATOR:VALUE=STAGE` as a branch criterion at `position` (0-based).
fn route_rule(text: &str, position: usize) -> CliResult<wharf_api::Criterion> {
    wharf_api::Criterion::from_rule(text, position)
        .map_err(|e| registration::Error::Usage(format!("--route {e}")).into())
}

/// The project a keyless login logs in to: the command's `--project`, else `WHARF_PROJECT`.
fn keyless_project(command: &Command, env: &EnvMap) -> Option<String> {
    let flag = match command {
        Command::Register(args) | Command::Push(args) | Command::Upload(args) => {
            args.project.clone()
        }
        Command::Builds(args) => args.project.clone(),
        Command::Promote(args) => args.project.clone(),
        Command::Resolve(args) => args.project.clone(),
        Command::Approvals(args) => args.project.clone(),
        Command::Rollback(args) => args.project.clone(),
        Command::Strategy(args) => args.project.clone(),
        Command::Attach(args) => args.project.clone(),
        _ => None,
    };
    flag.or_else(|| env.get("WHARF_PROJECT").cloned())
        .filter(|p| !p.trim().is_empty())
}

fn detect(env: &EnvMap, ref_from: RefFromArg) -> CliResult<CiContext> {
    let dir = std::env::current_dir().context("reading the working directory")?;
    let ref_from = match ref_from {
        RefFromArg::Source => RefFrom::Source,
        RefFromArg::Target => RefFrom::Target,
    };
    Ok(wharf_ci::detect(env, &SystemGit::new(dir), ref_from))
}

/// Runs `work` against the configured control plane, or the embedded one (started here and
/// stopped after, whatever `work` answers).
async fn with_control_plane<F, Fut>(
    global: &GlobalArgs,
    env: &EnvMap,
    ci: &CiContext,
    project_file: Option<&Path>,
    work: F,
) -> CliResult
where
    F: FnOnce(Client, String) -> Fut,
    Fut: std::future::Future<Output = CliResult>,
{
    let mut wharf_env = WharfEnv::from_map(env)?;
    if global.allow_insecure_http {
        wharf_env.allow_insecure_http = Some("1".into());
    }
    let retry = RetryPolicy::from_env(env);
    match registration::resolve_endpoint(global.control_plane.as_deref(), &wharf_env, ci)? {
        Endpoint::Remote(url) => {
            let (username, token) = registration::connect_credentials(
                &url,
                global.keyless_project.as_deref(),
                env,
                &wharf_env,
                global.token_file.as_deref(),
                ci,
            )
            .await?;
            let client = Client::new(&url, &username, token, retry)?;
            work(client, url).await
        }
        Endpoint::Embedded => {
            let dir = std::env::current_dir().context("reading the working directory")?;
            let local = embedded::start(&dir, project_file).await?;
            let client = Client::new(
                &local.server.url(),
                &local.username,
                local.token.clone(),
                retry,
            )?;
            let label = format!("embedded ({})", dir.join(embedded::DATA_DIR).display());
            let result = work(client, label).await;
            local.server.stop().await?;
            result
        }
    }
}

async fn register(
    args: &RegisterArgs,
    env: &EnvMap,
    ci: &CiContext,
    client: &Client,
    label: &str,
    output: Output,
) -> CliResult {
    let flags = registration::RegisterFlags {
        project: args.project.clone(),
        service: args.service.clone(),
        ci_name: args.ci_name.clone(),
        image: args.image.clone(),
        file: args.file.clone(),
        git_ref: args.git_ref.clone(),
        environment: args.environment.clone(),
        release_stream: args.release_stream.clone(),
        external_id: args.external_id.clone(),
        registry: args.registry.clone(),
        description: args.description.clone(),
        push: args.push,
        tag: args.push_options.tag.clone(),
        platform: args.push_options.platform.clone(),
    };
    let mut plan = registration::resolve(&flags, env, &WharfEnv::from_map(env)?, ci)?;
    if args.no_provenance {
        plan.provenance = None;
    }
    if args.dry_run {
        let preview = registration::preview(client, &plan, label).await?;
        output::preview(output, &preview);
        return Ok(());
    }
    let reporter = match args.push {
        true => Some(progress::Reporter::start(progress::mode(env)?, env)),
        false => None,
    };
    let referrers = wharf_oci::ReferrerFilter::parse(&args.push_options.referrers)
        .map_err(registration::Error::Usage)?;
    let push = args.push.then(|| {
        let options = &args.push_options;
        let push_options = registration::PushOptions {
            tag: options.tag.clone(),
            platform: options.platform.clone(),
            concurrency: options.concurrency,
            referrers,
            transport: wharf_oci::Transport {
                ca_file: options.ca_file.clone(),
                insecure_skip_tls_verify: options.insecure_skip_tls_verify,
                plain_http: options.plain_http,
            },
            progress: reporter.as_ref().and_then(progress::Reporter::handle),
            layer_compression: if options.gzip_layers {
                wharf_oci::LayerCompression::Gzip
            } else {
                wharf_oci::LayerCompression::None
            },
        };
        registration::push_request(&plan, push_options, env)
    });
    let registered =
        registration::register_image(client, plan, label, push, args.require_route).await;
    if let Some(reporter) = reporter {
        reporter.finish();
    }
    let registered = registered?;
    if let Some(warning) = &registered.unrouted_warning {
        output::warning(output, warning);
    }
    output::registered(output, &registered.outcome, registered.pushed.as_ref());
    Ok(())
}
