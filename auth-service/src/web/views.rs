//! askama page structs (`XxxPage`) and the HTML reply builder that every route uses:
//! status, body, cookies and redirects in one place.

use askama::Template;
use axum::response::{IntoResponse, Response};
use cookie::Cookie;
use http::{HeaderMap, HeaderValue, StatusCode, header};

/// The sign-in form.
#[derive(Template, Debug, Default)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// Whether the last attempt failed (marks the fields invalid).
    pub failed: bool,
    /// The password was right but the address must be confirmed first (offers a resend).
    pub unverified: bool,
    /// CSRF form token.
    pub csrf_token: String,
    /// Validated `next`.
    pub next: String,
    /// `?next=…` for links to the sibling form, or empty.
    pub next_query: String,
    /// Organization slug typed or pre-filled.
    pub tenant: String,
    /// Email typed.
    pub email: String,
    /// Offer "Sign in with a passkey" (passkeys work on this server).
    pub passkeys: bool,
}

/// Per-field messages of the sign-up form.
#[derive(Debug, Default, Clone)]
pub struct RegisterErrors {
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Confirmation.
    pub password_confirm: Option<String>,
    /// Existing organization.
    pub organization: Option<String>,
    /// New organization.
    pub new_organization: Option<String>,
}

impl RegisterErrors {
    /// Whether any field has a message.
    #[must_use]
    pub fn any(&self) -> bool {
        [
            &self.first_name,
            &self.last_name,
            &self.email,
            &self.password,
            &self.password_confirm,
            &self.organization,
            &self.new_organization,
        ]
        .iter()
        .any(|e| e.is_some())
    }
}

/// The sign-up form.
#[derive(Template, Debug, Default)]
#[template(path = "auth/register.html")]
pub struct RegisterPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// Field messages.
    pub field_errors: RegisterErrors,
    /// CSRF form token.
    pub csrf_token: String,
    /// Validated `next`.
    pub next: String,
    /// `?next=…` for links to the sibling form, or empty.
    pub next_query: String,
    /// Typed values (never the passwords).
    pub first_name: String,
    /// Typed value.
    pub last_name: String,
    /// Typed value.
    pub email: String,
    /// Typed value.
    pub organization: String,
    /// Typed value.
    pub new_organization: String,
}

/// The sign-out confirmation.
#[derive(Template, Debug, Default)]
#[template(path = "auth/logout.html")]
pub struct LogoutPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// CSRF form token.
    pub csrf_token: String,
    /// Validated `next`.
    pub next: String,
}

/// One row of the sessions table.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// Family id.
    pub family_id: String,
    /// Browser and system, named for a person ("Chrome 131 on Linux").
    pub device: String,
    /// The raw `User-Agent` (shown as a tooltip).
    pub user_agent: String,
    /// Address.
    pub ip: String,
    /// Formatted time.
    pub signed_in_at: String,
    /// Formatted time.
    pub last_used_at: String,
    /// Whether it is the session of this request.
    pub current: bool,
}

/// Messages of the account page's change-password form.
#[derive(Debug, Default, Clone)]
pub struct PasswordErrors {
    /// Current password.
    pub current: Option<String>,
    /// New password.
    pub new: Option<String>,
    /// Confirmation.
    pub confirm: Option<String>,
}

/// Messages of the account page's change-email form.
#[derive(Debug, Default, Clone)]
pub struct EmailErrors {
    /// Current password.
    pub password: Option<String>,
    /// New address.
    pub email: Option<String>,
}

/// What the account page's forms say when it is shown again after one was sent.
#[derive(Debug, Default)]
pub struct AccountForms {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// A confirmation.
    pub notice: Option<String>,
    /// The change-password form's messages.
    pub password: PasswordErrors,
    /// The change-email form's messages.
    pub email: EmailErrors,
    /// The new address typed.
    pub new_email: String,
}

/// The signed-in account.
#[derive(Template, Debug, Default)]
#[template(path = "auth/account.html")]
pub struct AccountPage {
    /// Form-level messages.
    pub errors: Vec<String>,
    /// A confirmation.
    pub notice: Option<String>,
    /// The change-password form's messages.
    pub password_errors: PasswordErrors,
    /// The change-email form's messages.
    pub email_errors: EmailErrors,
    /// The new address typed.
    pub new_email: String,
    /// Whether the current address is confirmed.
    pub email_verified: bool,
    /// CSRF form token.
    pub csrf_token: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Organization name.
    pub tenant_name: String,
    /// Organization slug.
    pub tenant_slug: String,
    /// Role.
    pub role: String,
    /// Live sessions.
    pub sessions: Vec<SessionRow>,
}

/// After a sign-up that must confirm its address before signing in.
#[derive(Template, Debug)]
#[template(path = "auth/check_mail.html")]
pub struct CheckMailPage {
    /// What happened and what to do.
    pub message: &'static str,
}

/// An error page.
#[derive(Template, Debug)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    /// Heading.
    pub title: String,
    /// What happened and what to do.
    pub message: String,
    /// The request id, for support.
    pub request_id: Option<String>,
}

/// A response under construction.
#[derive(Debug)]
pub struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    /// An HTML page.
    #[must_use]
    pub fn page(status: StatusCode, page: &impl Template) -> Self {
        match page.render() {
            Ok(body) => {
                let mut headers = HeaderMap::new();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                Self {
                    status,
                    headers,
                    body,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "template rendering failed");
                let mut headers = HeaderMap::new();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    headers,
                    body: "Internal error".to_owned(),
                }
            }
        }
    }

    /// `303 See Other` to `location` (already validated by the caller).
    #[must_use]
    pub fn see_other(location: &str) -> Self {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(location) {
            headers.insert(header::LOCATION, v);
        } else {
            headers.insert(header::LOCATION, HeaderValue::from_static("/"));
        }
        Self {
            status: StatusCode::SEE_OTHER,
            headers,
            body: String::new(),
        }
    }

    /// Adds a `Set-Cookie`.
    #[must_use]
    pub fn cookie(mut self, cookie: &Cookie<'_>) -> Self {
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            self.headers.append(header::SET_COOKIE, v);
        }
        self
    }

    /// Adds a `Set-Cookie` when there is one.
    #[must_use]
    pub fn maybe_cookie(self, cookie: Option<&Cookie<'_>>) -> Self {
        match cookie {
            Some(c) => self.cookie(c),
            None => self,
        }
    }

    /// Sets a header.
    #[must_use]
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        (self.status, self.headers, self.body).into_response()
    }
}

/// `?next=<encoded>` for a link, or empty when `next` is the root.
#[must_use]
pub fn next_query(next: &str) -> String {
    if next == "/" {
        String::new()
    } else {
        format!(
            "?{}",
            serde_urlencoded::to_string([("next", next)]).unwrap_or_default()
        )
    }
}
