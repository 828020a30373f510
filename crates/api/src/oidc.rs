//! *extension*: keyless CI login. A CI job trades the OIDC identity token its CI issued for a
//! short-lived wharf token scoped to one project (`POST /wharf/v1/oidc/token`, no
//! authentication: it is how a job gets one). Both tokens are secrets: `Debug` never shows them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where the exchange is served.
pub const OIDC_TOKEN_PATH: &str = "/wharf/v1/oidc/token";

/// The exchange's request: the project and the CI's identity token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct OidcTokenRequest {
    pub project: String,
    pub token: String,
}

impl fmt::Debug for OidcTokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcTokenRequest")
            .field("project", &self.project)
            .field("token", &"***")
            .finish()
    }
}

/// The exchange's answer: a wharf token for `username`, valid until `expires_at` (RFC 3339).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OidcTokenResponse {
    pub token: String,
    pub username: String,
    pub expires_at: String,
}

impl fmt::Debug for OidcTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcTokenResponse")
            .field("token", &"***")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_token() {
        let request = OidcTokenRequest {
            project: "shop".into(),
            token: "eyJ-SECRET".into(),
        };
        let response = OidcTokenResponse {
            token: "wharf_SECRET".into(),
            username: "oidc+shop+gh".into(),
            expires_at: "2030-01-01T00:00:00Z".into(),
        };
        let shown = format!("{request:?} {response:?} {request:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        let json = serde_json::to_value(&response).unwrap();
        assert!(json.get("expiresAt").is_some());
    }
}
