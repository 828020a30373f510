//! A browser-like client of the web UI (`/ui/`) for the Rust-level UI tests: it keeps the
//! session cookie, reads the CSRF token out of each page's forms, follows no redirect by
//! itself (so each `Set-Cookie` and `Location` can be checked), and asserts that no personal
//! token ever appears in a page it reads.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use wharf_http::encode;

pub struct Ui {
    pub http: reqwest::Client,
    pub base: String,
    /// `name=value` of the session cookie, once signed in.
    pub session: Option<String>,
    /// Secrets that must never show up in a page.
    pub secrets: Vec<String>,
}

/// A page's answer.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

/// The value of the first `name="csrf" value="…"` hidden field of a page.
pub fn csrf_of(page: &str) -> Option<String> {
    let at = page.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let rest = &page[at..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Ui {
    pub fn new(base: String, secrets: &[&str]) -> Self {
        wharf_http::install_tls_provider();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base,
            session: None,
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
        }
    }

    async fn answer(&self, response: reqwest::Response) -> Answer {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let body = response.text().await.unwrap();
        for secret in &self.secrets {
            assert!(
                !body.contains(secret.as_str()),
                "a token leaked into a page:\n{body}"
            );
            if let Some(location) = &location {
                assert!(
                    !location.contains(secret.as_str()),
                    "a token leaked into a URL"
                );
            }
        }
        Answer {
            status,
            location,
            set_cookies,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(session) = &self.session {
            request = request.header(COOKIE, session);
        }
        self.answer(request.send().await.unwrap()).await
    }

    /// POSTs a form (with the session cookie, and `cookie` besides when given).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> Answer {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let cookies: Vec<&str> = self.session.as_deref().into_iter().chain(cookie).collect();
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies.join("; "));
        }
        self.answer(request.send().await.unwrap()).await
    }

    /// Signs in through the sign-in form; answers the sign-in POST's answer.
    pub async fn sign_in(&mut self, username: &str, token: &str) -> Answer {
        let form = self.get("/ui/login").await;
        assert_eq!(form.status, StatusCode::OK);
        let login_cookie = form
            .set_cookies
            .iter()
            .find(|c| c.starts_with("wharf_login="))
            .expect("the sign-in form sets its CSRF cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = csrf_of(&form.body).expect("the sign-in form carries a CSRF token");
        let answer = self
            .post(
                "/ui/login",
                &[("csrf", &csrf), ("username", username), ("token", token)],
                Some(&login_cookie),
            )
            .await;
        if let Some(cookie) = answer
            .set_cookies
            .iter()
            .find(|c| c.starts_with("wharf_session=") && !c.starts_with("wharf_session=;"))
        {
            self.session = Some(cookie.split(';').next().unwrap().to_string());
        }
        answer
    }

    /// The CSRF token of the session, read from a page's forms.
    pub async fn csrf(&self) -> String {
        let page = self.get("/ui/projects").await;
        csrf_of(&page.body).expect("a signed-in page carries the session's CSRF token")
    }
}
