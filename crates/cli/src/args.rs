//! The command line, as clap reads it. Secrets have no flags: they come from the environment
//! or `--token-file`.

use clap::{Args, Parser, Subcommand, ValueEnum, value_parser};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

/// `wharf --version`: the version and the commit, which scripts/dist stamps at build time
/// (`WHARF_BUILD_COMMIT`); a plain `cargo build` says "unknown".
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let commit = option_env!("WHARF_BUILD_COMMIT").unwrap_or("unknown");
    format!("{} (commit {commit})", env!("CARGO_PKG_VERSION"))
});

#[derive(Debug, Parser)]
#[command(
    name = "wharf",
    version = VERSION.as_str(),
    about = "Register container images with a Facets-compatible control plane"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Control plane base URL [env: WHARF_CONTROL_PLANE_URL]. Outside CI, none means the
    /// embedded control plane over .wharf/ in the working directory.
    #[arg(long, global = true, value_name = "URL", help_heading = GLOBAL)]
    pub control_plane: Option<String>,
    /// Read the token from this file instead of WHARF_TOKEN [env: WHARF_TOKEN_FILE].
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub token_file: Option<PathBuf>,
    /// Print results as human text, as one JSON document, or (register and push) as wharf's
    /// Markdown report, for a job summary or an annotation; `override` (resolve): the
    /// environment override a deployer reads. Other commands print these as human text.
    #[arg(long, global = true, value_enum, default_value_t = Output::Human, help_heading = GLOBAL)]
    pub output: Output,
    /// Allow plain http:// to a control plane that is not on loopback (the token then travels
    /// in clear text) [env: WHARF_ALLOW_INSECURE_HTTP=1].
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub allow_insecure_http: bool,
    /// The project a keyless login (the CI's identity token, no WHARF_TOKEN) logs in to: the
    /// command's --project, else WHARF_PROJECT. Set by `main`, never parsed.
    #[arg(skip)]
    pub keyless_project: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
    Markdown,
    Override,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register an image with the control plane, routed by branch rules or to a named target.
    #[command(
        after_help = "Example:\n  wharf register --project shop --service api --image registry.example.com/shop/api@sha256:… --git-ref main"
    )]
    Register(RegisterArgs),
    /// Copy the image into the control plane's registry, then register the pushed image by
    /// digest (`wharf register --push`).
    #[command(
        after_help = "Example:\n  wharf push --project shop --service api --image oci:./build/layout:1.4.2"
    )]
    Push(RegisterArgs),
    /// Show who the credentials belong to.
    Whoami,
    /// List the builds of a service, newest first.
    #[command(
        after_help = "Example:\n  wharf builds --project shop --service api --routed-to dev --limit 5"
    )]
    #[command(args_conflicts_with_subcommands = true)]
    Builds(BuildsArgs),
    /// Promote a build to the next stage of its workflow, or up to --to.
    #[command(
        after_help = "Example:\n  wharf promote --project shop --service api --artifact-id 1d5ae04f… --to prod"
    )]
    Promote(PromoteArgs),
    /// Show which build an environment deploys for a service.
    #[command(
        after_help = "Example:\n  wharf resolve --project shop --environment prod --service api"
    )]
    Resolve(ResolveArgs),
    /// List promotions (and rollbacks) into protected stages that wait for approvals.
    #[command(
        after_help = "Examples:\n  wharf approvals --project shop\n  wharf approvals show 7c1e…",
        args_conflicts_with_subcommands = true
    )]
    Approvals(ApprovalsArgs),
    /// Approve a pending promotion request; the last approval needed completes it.
    #[command(after_help = "Example:\n  wharf approve 7c1e…   (the id `wharf approvals` lists)")]
    Approve(ApproveArgs),
    /// Reject a pending promotion request, with the reason; it closes.
    #[command(after_help = "Example:\n  wharf reject 7c1e… --reason \"fails the load test\"")]
    Reject(RejectArgs),
    /// Point an environment back at its previous build of a service (or at --to).
    #[command(
        after_help = "Example:\n  wharf rollback --project shop --service api --environment prod"
    )]
    Rollback(RollbackArgs),
    /// Show the audit trail: who changed what, when.
    #[command(after_help = "Example:\n  wharf audit --project shop --since 2026-12-01")]
    Audit(AuditArgs),
    /// Apply a declarative project file (wharf.toml) to the control plane.
    #[command(
        after_help = "Example:\n  wharf apply wharf.toml --dry-run   (then without --dry-run)"
    )]
    Apply(ApplyArgs),
    /// Create, list and revoke personal tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// A project's members: list them, give one a role, remove one (project admins). The
    /// project file's [[members]] is the whole list: `wharf apply` removes who it omits.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Server users: list and create them (server admins).
    #[command(subcommand)]
    Users(UsersCommand),
    /// What each stage of a project deploys now, per service (image, digest, age, who, how),
    /// and the promotions waiting for approvals.
    #[command(after_help = "Example:\n  wharf status --project shop")]
    Status {
        /// The project [required, or WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
    },
    /// Upload a file (WAR, JAR, ZIP…) as a freestyle build: kept in the control plane's
    /// registry by digest, routed, promoted, protected and resolved like an image.
    /// `wharf register --file PATH` is the same.
    #[command(
        after_help = "Example:\n  wharf upload --project shop --service docs --file site.zip --git-ref main"
    )]
    Upload(RegisterArgs),
    /// Attach an image to one environment of a service by hand (the manual strategy's way
    /// in; other environments do not change). A protected environment asks the same as a
    /// registration into it.
    #[command(
        after_help = "Example:\n  wharf attach --project shop --service docs --environment dev \\\n    \
        --image registry.example.com/shop/docs@sha256:…"
    )]
    Attach(AttachArgs),
    /// A service's image strategy: show it, or switch it. `project` follows the project's
    /// branch rules and promotion order, `service` its own, `manual` takes images attached to
    /// each environment by hand.
    #[command(
        after_help = "Examples:\n  wharf strategy --project shop --service web\n  \
        wharf strategy --project shop --service web --set service \\\n    \
        --route STARTS_WITH:release/=staging --order staging,prod --dry-run\n  \
        wharf strategy --project shop --service docs --set manual"
    )]
    Strategy(StrategyArgs),
    /// The project's events: every change, as the webhooks are sent them.
    #[command(
        subcommand,
        after_help = "Example:\n  wharf events list --project shop --after 120"
    )]
    Events(EventsCommand),
    /// The project's webhooks: subscriptions, deliveries, redelivery, a test event.
    #[command(
        subcommand,
        after_help = "Examples:\n  wharf webhooks deliveries --project shop --webhook argo\n  wharf webhooks redeliver 01a2…\n  wharf webhooks test --project shop --webhook argo"
    )]
    Webhooks(WebhooksCommand),
    /// Write a commented wharf.toml for this repository and CI, to edit and apply.
    #[command(after_help = "Example:\n  wharf init && wharf apply wharf.toml --dry-run")]
    Init {
        /// Where to write it; an existing file is never overwritten.
        #[arg(default_value = "wharf.toml")]
        file: PathBuf,
    },
    /// Keyless login's trust policies: test which one a CI's identity token would match.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// List the projects of the control plane.
    Projects,
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell), e.g.
    /// `wharf completions bash > /etc/bash_completion.d/wharf`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `wharf man > wharf.1`.
    #[command(hide = true)]
    Man,
    /// Print the detected CI context and where each value came from.
    CiContext(CiContextArgs),
    /// Run the reference control plane.
    #[command(
        after_help = "The first server admin comes from the environment: WHARF_ADMIN_USERNAME and\nWHARF_ADMIN_TOKEN (a new token on a later start replaces the one the last start brought).\nRegistry passwords are sealed with WHARF_SECRET_KEY (see docs/control-plane.md).\n\nExample:\n  WHARF_ADMIN_USERNAME=admin WHARF_ADMIN_TOKEN=… wharf serve --data /var/lib/wharf --config wharf.toml"
    )]
    Serve(ServeArgs),
    /// Remove the built-in registry's blobs that no manifest references and expired uploads
    /// (a server admin; the server also does it on its own every 6 hours).
    Gc(GcArgs),
}

/// `wharf gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Print what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Spare blobs used more recently than this (a push in progress uploads its blobs before
    /// its manifest) [default: 1h, the life of an upload session].
    #[arg(long, value_name = "DURATION", value_parser = duration_or_zero)]
    pub grace: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Project (blueprint) [env: WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// Service (application); also the CI integration's name unless --ci-name is given
    /// [env: WHARF_SERVICE].
    #[arg(long)]
    pub service: Option<String>,
    /// CI integration name [env: WHARF_CI_NAME].
    #[arg(long)]
    pub ci_name: Option<String>,
    /// Image reference, e.g. ghcr.io/acme/api:1.4.2 [env: WHARF_IMAGE, DOCKER_IMAGE_URL].
    #[arg(long)]
    pub image: Option<String>,
    /// Instead of an image, upload this file (WAR, JAR, ZIP…) into the control plane's
    /// registry and register it as a freestyle build (`wharf upload`) [env: WHARF_FILE].
    #[arg(long, value_name = "PATH", conflicts_with_all = ["image", "push"])]
    pub file: Option<String>,
    /// Route by this branch or tag instead of the detected one [env: WHARF_GIT_REF, GIT_REF].
    #[arg(long, value_name = "REF")]
    pub git_ref: Option<String>,
    /// Register straight into this environment [env: WHARF_ENVIRONMENT].
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Register straight into this release stream [env: WHARF_RELEASE_STREAM].
    #[arg(long, value_name = "STREAM")]
    pub release_stream: Option<String>,
    /// Id correlating the build with the CI run; defaults to the run id [env: WHARF_EXTERNAL_ID].
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Registry (artifactory) name known to the control plane [env: WHARF_REGISTRY].
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,
    /// Free text stored with the build [env: WHARF_DESCRIPTION].
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// For a pull request, route by its source (default) or target branch.
    #[arg(long, value_enum, default_value_t = RefFromArg::Source)]
    pub ref_from: RefFromArg,
    /// Fail (exit 6) when the build matches no routing rule instead of warning.
    #[arg(long)]
    pub require_route: bool,
    /// Send no provenance statement with the registration (in CI, wharf sends one built from
    /// the run's context whenever the image's digest is known).
    #[arg(long)]
    pub no_provenance: bool,
    /// Resolve and print what would be sent; send nothing that writes.
    #[arg(long)]
    pub dry_run: bool,
    /// Copy the image into the control plane's registry first, and register the copy.
    #[arg(long)]
    pub push: bool,
    /// With no token and no keyless login, warn and exit 0 instead of failing; on GitHub only
    /// where GitHub withholds secrets (forks, Dependabot)
    /// [env: WHARF_SKIP_WITHOUT_CREDENTIALS=true].
    #[arg(long)]
    pub skip_without_credentials: bool,
    /// Also append wharf's Markdown report of the outcome (or of the failure) to FILE, such as
    /// a job summary [env: WHARF_SUMMARY_FILE].
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
    #[command(flatten)]
    pub push_options: PushArgs,
}

/// How `--push` copies. Source registry credentials come from `WHARF_SOURCE_USERNAME` and
/// `WHARF_SOURCE_PASSWORD`, else from the Docker `config.json` (`$DOCKER_CONFIG` or
/// `~/.docker`); `--image` may also be `oci:DIR[:TAG]`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Push options (with --push, or wharf push)")]
pub struct PushArgs {
    /// The tag in the control plane's repository [default: the source's tag, else latest].
    #[arg(long)]
    pub tag: Option<String>,
    /// Copy only this platform of a multi-platform image, e.g. linux/arm64.
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<String>,
    /// Gzip the layers of a docker-archive: or docker-daemon: source on the way out (they
    /// arrive uncompressed); the outcome lists each layer's new digest.
    #[arg(long)]
    pub gzip_layers: bool,
    /// Blobs copied at once.
    #[arg(long, default_value_t = wharf_oci::DEFAULT_CONCURRENCY)]
    pub concurrency: usize,
    /// What that refers to the image to copy with it: `all` (signatures, SBOMs,
    /// attestations: referrers, `sha256-<hex>` tag indexes and cosign's `.sig`/`.att`/`.sbom`
    /// tags), `none`, or one or more artifactType values.
    #[arg(long, value_name = "all|none|TYPE", num_args = 1.., default_values_t = vec!["all".to_string()])]
    pub referrers: Vec<String>,
    /// Trust this CA bundle (PEM) for the registries.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Do not verify the registries' TLS certificates.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Speak plain HTTP to the registries (loopback registries always may).
    #[arg(long)]
    pub plain_http: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RefFromArg {
    Source,
    Target,
}

#[derive(Debug, Args)]
pub struct BuildsArgs {
    /// The project (Facets: blueprint) [required, or WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// The service, that is its CI integration [required, or WHARF_SERVICE].
    #[arg(long)]
    pub service: Option<String>,
    /// Only builds in this environment or release stream.
    #[arg(long, value_name = "NAME")]
    pub routed_to: Option<String>,
    /// Only builds with this external id (the registration and its promotions).
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Only builds no rule routed.
    #[arg(long, conflicts_with = "routed_to")]
    pub unclassified: bool,
    /// Only builds that were promoted into their stage.
    #[arg(long)]
    pub promoted: bool,
    /// At most this many builds, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[command(subcommand)]
    pub command: Option<BuildsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum BuildsCommand {
    /// One build, with the provenance recorded about its image (and whether an identity token
    /// verified it) and its image's signatures, SBOMs and attestations.
    #[command(after_help = "Example:\n  wharf builds show 1d5ae04f… --output json")]
    Show {
        /// The build's id (`wharf builds` lists them).
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The project (Facets: blueprint) [required, or WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// The service, that is its CI integration [required, or WHARF_SERVICE].
    #[arg(long)]
    pub service: Option<String>,
    /// The build to promote.
    #[arg(
        long,
        value_name = "ID",
        required_unless_present = "external_id",
        conflicts_with = "external_id"
    )]
    pub artifact_id: Option<String>,
    /// The newest build with this external id (usually the CI run id).
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,
    /// Keep promoting, one stage at a time, until the build reaches this stage.
    #[arg(long, value_name = "STAGE")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// Only this project's requests [env: WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    #[command(subcommand)]
    pub show: Option<ApprovalsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// One request, open or closed: the image and digest it would place, who approved, who may
    /// still approve.
    Show {
        /// The request's id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The request's id (`requestId` in `wharf promote --output json`).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The request's id.
    pub id: String,
    /// Why: kept on the request and in the audit trail.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The project (Facets: blueprint) [required, or WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// The service, that is its CI integration [required, or WHARF_SERVICE].
    #[arg(long)]
    pub service: Option<String>,
    /// The environment to point back.
    #[arg(long, value_name = "ENV")]
    pub environment: String,
    /// The build to point it at; none: the newest earlier build with another image.
    #[arg(long, value_name = "ARTIFACT_ID")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The project (Facets: blueprint) [required, or WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// The service, that is its CI integration [required, or WHARF_SERVICE].
    #[arg(long)]
    pub service: Option<String>,
    /// The environment that deploys the image from now on.
    #[arg(long, value_name = "ENV")]
    pub environment: String,
    /// The image, by digest (registry/repository@sha256:…) or tag.
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct StrategyArgs {
    /// The project (Facets: blueprint) [required, or WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// The service, that is its CI integration [required, or WHARF_SERVICE].
    #[arg(long)]
    pub service: Option<String>,
    /// Switch to this strategy; without it, show the current one.
    #[arg(long, value_name = "STRATEGY", value_parser = ["project", "service", "manual"])]
    pub set: Option<String>,
    /// With --set service: the registration type it keeps (default: the one it has).
    #[arg(long, value_name = "TYPE", requires = "set", value_parser = ["ENVIRONMENT", "RELEASE_STREAM"])]
    pub registration_type: Option<String>,
    /// With --set service: a branch rule, OPERATOR:VALUE=STAGE (OPERATOR is EQUALS,
    /// STARTS_WITH, ENDS_WITH or CONTAINS); repeat for several, lower first wins.
    #[arg(long, value_name = "RULE", requires = "set")]
    pub route: Vec<String>,
    /// With --set service: the promotion order, stages separated by commas.
    #[arg(long, value_name = "STAGES", requires = "set", value_delimiter = ',')]
    pub order: Option<Vec<String>>,
    /// Allow the registration type to change: its own rule and workflow are deleted first
    /// (builds stay where they are).
    #[arg(long, requires = "set")]
    pub reset: bool,
    /// Say what would change; change nothing.
    #[arg(long, requires = "set")]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The project (Facets: blueprint) [required, or WHARF_PROJECT].
    #[arg(long)]
    pub project: Option<String>,
    /// The environment whose build to show.
    #[arg(long, value_name = "ENV")]
    pub environment: String,
    /// The service (CI integration) whose build to resolve.
    #[arg(
        long,
        required_unless_present = "expression",
        conflicts_with = "expression"
    )]
    pub service: Option<String>,
    /// The expression a service's spec uses, e.g. '${blueprint.self.artifacts.api}'.
    #[arg(long)]
    pub expression: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only entries of this project.
    #[arg(long)]
    pub project: Option<String>,
    /// From this time: ISO-8601 (2026-11-23T10:00:00Z), a date (2026-11-23, UTC) or epoch
    /// milliseconds [default: 24 hours ago].
    #[arg(long, value_name = "TIME", value_parser = audit_time)]
    pub since: Option<String>,
    /// Until this time, in the same forms.
    #[arg(long, value_name = "TIME", value_parser = audit_time)]
    pub until: Option<String>,
    /// Only these entities (ARTIFACT, CI_RULE, CI_INTEGRATION, …); repeatable.
    #[arg(long)]
    pub entity: Vec<String>,
    /// Only these actions (ARTIFACT_PROMOTE, CI_RULE_UPDATE, …); repeatable.
    #[arg(long)]
    pub action: Vec<String>,
    /// Only what this user did.
    #[arg(long, value_name = "USER")]
    pub performed_by: Option<String>,
    /// Only entries about this target (a build id, a user, a stage, …).
    #[arg(long)]
    pub target: Option<String>,
    /// Only entries about this environment.
    #[arg(long, value_name = "ENV")]
    pub environment: Option<String>,
    /// Page number, from 0.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub page: u32,
    /// Entries per page, 1 to 1000.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = value_parser!(u32).range(1..=1000))]
    pub size: u32,
}

/// `--since` and `--until`: the forms the control plane reads, checked here so the error names
/// the flag; the value is sent as given.
fn audit_time(value: &str) -> Result<String, String> {
    match wharf_api::lenient::query_time(value) {
        Some(_) => Ok(value.trim().to_string()),
        None => Err(
            "not a time: use ISO-8601 (2026-11-23T10:00:00Z), a date (2026-11-23) or \
                     epoch milliseconds"
                .into(),
        ),
    }
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The project file, e.g. wharf.toml.
    pub file: PathBuf,
    /// Print every change the file would make (created, updated, removed) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CiContextArgs {
    /// For a pull request, show its source (default) or target branch as the ref.
    #[arg(long, value_enum, default_value_t = RefFromArg::Source)]
    pub ref_from: RefFromArg,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one (printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the server's state, created 0700 when missing: the SQLite store (unless
    /// --database) and the built-in registry's blobs (unless --blob-store). Not needed with
    /// both --database and --blob-store.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Keep the built-in registry's blobs in object storage: s3://BUCKET/PREFIX (credentials
    /// and region from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
    #[arg(
        long,
        value_name = "URL",
        env = "WHARF_BLOB_STORE",
        hide_env_values = true
    )]
    pub blob_store: Option<String>,
    /// The URL of an S3-compatible server for --blob-store (MinIO, Ceph, …).
    #[arg(
        long,
        value_name = "URL",
        env = "WHARF_BLOB_STORE_ENDPOINT",
        hide_env_values = true,
        requires = "blob_store"
    )]
    pub blob_store_endpoint: Option<String>,
    /// A PostgreSQL database instead of SQLite in --data (postgres://…), so several servers
    /// can share it.
    #[arg(
        long,
        value_name = "URL",
        env = "WHARF_DATABASE_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// When a SQLite commit is acknowledged: `full` once it is on disk (survives a power cut),
    /// `normal` once it is in the write-ahead log (survives the process being killed; a power
    /// cut may lose the last commits). Writes are grouped into shared commits either way.
    #[arg(long, value_name = "MODE", env = "WHARF_SQLITE_SYNCHRONOUS", default_value = "full",
        value_parser = ["full", "normal"], conflicts_with = "database")]
    pub sqlite_synchronous: String,
    /// A project file applied on start.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (and --tls-key); SIGHUP reloads both.
    #[arg(
        long,
        value_name = "FILE",
        env = "WHARF_TLS_CERT",
        hide_env_values = true,
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        value_name = "FILE",
        env = "WHARF_TLS_KEY",
        hide_env_values = true,
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Close a connection that takes longer to send a request's head (or sits idle between
    /// requests); e.g. 500ms, 30s, 5m.
    #[arg(long, value_name = "DURATION", env = "WHARF_HEADER_TIMEOUT", hide_env_values = true, default_value = "30s",
        value_parser = duration)]
    pub header_timeout: std::time::Duration,
    /// Fail a request whose body sends nothing for this long (per piece, not the whole body).
    #[arg(long, value_name = "DURATION", env = "WHARF_BODY_TIMEOUT", hide_env_values = true, default_value = "60s",
        value_parser = duration)]
    pub body_timeout: std::time::Duration,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", env = "WHARF_MAX_CONNECTIONS", hide_env_values = true, default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// On SIGTERM, requests in flight get this long to finish before they are dropped.
    #[arg(long, value_name = "DURATION", env = "WHARF_SHUTDOWN_TIMEOUT", hide_env_values = true, default_value = "30s",
        value_parser = duration)]
    pub shutdown_timeout: std::time::Duration,
    /// A name clients reach this server's registry by (`host[:port]`, as image URIs spell it),
    /// besides the loopback names of --listen; repeat it, or separate names with commas.
    /// Protected stages read a tag's digest from this server only for these names.
    #[arg(
        long,
        value_name = "HOST",
        env = "WHARF_REGISTRY_HOSTS",
        value_delimiter = ','
    )]
    pub registry_host: Vec<String>,
    /// The client's global flags, accepted here as everywhere but hidden: they mean nothing to
    /// a server.
    #[command(flatten)]
    pub client_flags: HiddenClientFlags,
}

/// [`GlobalArgs`] under the same ids, hidden: a subcommand's own argument keeps clap from
/// copying the global one (and its help) into it.
#[derive(Debug, Args)]
pub struct HiddenClientFlags {
    #[arg(long, hide = true)]
    control_plane: Option<String>,
    #[arg(long, hide = true)]
    token_file: Option<PathBuf>,
    #[arg(long, hide = true, value_enum, default_value_t = Output::Human)]
    output: Output,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once, on stdout, and never again.
    Create {
        /// A label for the token, e.g. the pipeline that uses it.
        #[arg(long)]
        name: Option<String>,
        /// Create it for another user (server admins only).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// The token stops working after this many days, 1 to 3650 [default: never].
        #[arg(long, value_name = "DAYS", value_parser = value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
    },
    /// List tokens (yours; an admin sees all, or one user's with --user). Never their values.
    List {
        /// Only this user's tokens (server admins).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
    /// Revoke a token by id; it stops working at once.
    Revoke {
        /// The token's id (`wharf token list` shows them).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Who holds which role on the project.
    List {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
    },
    /// Give USER ROLE on the project (admin, release-manager, ci, viewer, or a custom role).
    Set {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
        /// The user (it must exist: `wharf users create`).
        user: String,
        /// The role: admin, release-manager, ci, viewer, or a role a server admin defined.
        role: String,
    },
    /// Take USER's role on the project away; its approvals of pending requests lapse.
    Remove {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
        /// The member to remove.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// A project's events, oldest first: what a webhook is sent, for a poller.
    List {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
        /// Only events after this one (its `wharfseq`).
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        after: i64,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// A project's subscriptions ([[webhooks]] in wharf.toml), never their secrets.
    List {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
    },
    /// Deliveries, newest first: status, attempts, the last answer.
    Deliveries {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
        /// Only this subscription's.
        #[arg(long, value_name = "NAME")]
        webhook: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send a delivery again, with the same event id (project admins).
    Redeliver {
        /// The delivery's id (`wharf webhooks deliveries` lists them).
        delivery: String,
    },
    /// Send a `webhook.test` event to one subscription (project admins).
    Test {
        /// The project [env: WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
        /// The subscription's name.
        #[arg(long, value_name = "NAME")]
        webhook: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Which [[trust]] policy of the project the identity token in FILE would log in by, and
    /// why not when none would (project admins). Nothing is issued and the token is not used
    /// up.
    #[command(after_help = "Example:\n  wharf trust test --project shop --token ./id-token.jwt")]
    Test {
        /// The project [required, or WHARF_PROJECT].
        #[arg(long)]
        project: Option<String>,
        /// A file holding the identity token (never the token itself on the command line).
        #[arg(long, value_name = "FILE")]
        token: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Every user of the control plane.
    List,
    /// Create USER; give it a token with `wharf token create --user USER`.
    Create {
        /// The new user's name.
        user: String,
        /// Make it a server admin (it may do everything, on every project).
        #[arg(long)]
        admin: bool,
    },
}

/// Like [`duration`], and `0` is allowed (`wharf gc --grace`).
pub fn duration_or_zero(value: &str) -> Result<Duration, String> {
    wharf_api::duration::parse(value, true)
}

/// A duration flag, in the one grammar of every flag and query ([`wharf_api::duration`]).
pub fn duration(value: &str) -> Result<Duration, String> {
    wharf_api::duration::parse(value, false)
}

#[cfg(test)]
mod help_tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every flag and argument of every command says what it is, and every command but the
    /// hidden ones and the token, members and users groups shows an example.
    #[test]
    fn every_flag_has_a_description_and_each_verb_an_example() {
        let cli = Cli::command();
        let mut missing = Vec::new();
        let mut walk = vec![(String::from("wharf"), cli)];
        while let Some((path, command)) = walk.pop() {
            for arg in command.get_arguments() {
                let hidden =
                    arg.is_hide_set() || ["help", "version"].contains(&arg.get_id().as_str());
                if !hidden && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                walk.push((format!("{path} {}", sub.get_name()), sub.clone()));
            }
        }
        assert!(
            missing.is_empty(),
            "flags without a description: {missing:?}"
        );
        let cli = Cli::command();
        for verb in [
            "register", "push", "promote", "resolve", "builds", "rollback", "apply", "serve",
        ] {
            let sub = cli.find_subcommand(verb).unwrap();
            assert!(
                sub.get_after_help()
                    .is_some_and(|h| h.to_string().contains("wharf ")),
                "{verb} has no example"
            );
        }
    }
}
