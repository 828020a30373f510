//! The control plane's one error type; the HTTP layer turns it into `{"message","code"}` and a
//! status.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A request body that stalled past the body timeout.
    #[error("{0}")]
    RequestTimeout(String),
    /// A registration that asked to be routed (`requireRoute`) matched no rule.
    #[error("{0}")]
    NotRouted(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The database cannot be reached or is restarting: nothing was done; try again.
    #[error("{0}")]
    Unavailable(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            Self::NotRouted(_) => "NOT_ROUTED",
            Self::RequestTimeout(_) => "REQUEST_TIMEOUT",
            Self::Internal(_) => "INTERNAL_ERROR",
            Self::Unavailable(_) => "UNAVAILABLE",
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
}

impl From<wharf_api::UnknownValue> for Error {
    fn from(error: wharf_api::UnknownValue) -> Self {
        Self::BadRequest(error.to_string())
    }
}
