//! Every failure of a registration, each with its documented exit code (`docs/cli.md`).

/// Exit codes; `docs/cli.md` documents them and tests pin them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const INTERNAL: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const AUTH: i32 = 3;
    pub const NOT_FOUND: i32 = 4;
    pub const CONFLICT: i32 = 5;
    pub const NOT_ROUTED: i32 = 6;
    pub const UNAVAILABLE: i32 = 7;
    pub const REJECTED: i32 = 8;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A missing or invalid setting; the message names the flag and the variable.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Ci(#[from] wharf_ci::CiError),
    /// 401 or 403 from the control plane.
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The build matched no routing rule and `--require-route` was given.
    #[error("{0}")]
    NotRouted(String),
    /// The control plane could not be reached, or kept failing, after every retry.
    #[error("{0}")]
    Unavailable(String),
    /// The control plane refused the request (400, 413, other 4xx).
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Usage(_) | Self::Ci(_) => exit::USAGE,
            Self::Auth(_) => exit::AUTH,
            Self::NotFound(_) => exit::NOT_FOUND,
            Self::Conflict(_) => exit::CONFLICT,
            Self::NotRouted(_) => exit::NOT_ROUTED,
            Self::Unavailable(_) => exit::UNAVAILABLE,
            Self::Rejected(_) => exit::REJECTED,
            Self::Internal(_) => exit::INTERNAL,
        }
    }

    /// A short machine-readable name, for JSON error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Usage(_) | Self::Ci(_) => "usage",
            Self::Auth(_) => "auth",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::NotRouted(_) => "not_routed",
            Self::Unavailable(_) => "unavailable",
            Self::Rejected(_) => "rejected",
            Self::Internal(_) => "internal",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
