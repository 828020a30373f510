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
    #[error("internal error: {0}")]
    Internal(String),
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
            Self::Internal(_) => "INTERNAL_ERROR",
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

impl From<wharf_store::Error> for Error {
    fn from(error: wharf_store::Error) -> Self {
        match error {
            wharf_store::Error::NotPostgres | wharf_store::Error::Connect(_) => {
                Self::BadRequest(error.to_string())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<wharf_api::UnknownValue> for Error {
    fn from(error: wharf_api::UnknownValue) -> Self {
        Self::BadRequest(error.to_string())
    }
}

/// Refuses an empty required text field, naming it.
pub fn require(field: &str, value: Option<&str>) -> Result<String> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(Error::bad_request(format!(
            "missing field `{field}`: it is required and must not be empty"
        ))),
    }
}

/// Refuses a name outside the documented rule: 1 to 128 letters, digits, `-`, `_` or `.`.
pub fn valid_name(field: &str, name: &str) -> Result<String> {
    let name = require(field, Some(name))?;
    let ok = name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ok {
        return Err(Error::bad_request(format!(
            "field `{field}` '{name}' is not a valid name: use 1 to 128 letters, digits, '-', '_' \
             or '.'"
        )));
    }
    Ok(name)
}
