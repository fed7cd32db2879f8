//! A browser of the two-service stack: its own cookie jar, and the steps a user takes on
//! both services (sign up, sign in, same-origin API calls).

use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use super::{PASSWORD, Stack};
use crate::http::{hidden_value, location, urlencode};

/// One browser: a cookie-keeping client that does not follow redirects by itself.
pub struct Browser {
    pub client: Client,
    /// The cookie jar (tests inspect and replace cookies).
    pub jar: Arc<Jar>,
}

impl Browser {
    pub(super) fn new(client: Client, jar: Arc<Jar>) -> Self {
        Self { client, jar }
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.expect("GET")
    }

    /// Follows 303s from `url` (at most 5) and returns the final response and URL.
    pub async fn follow(&self, url: &str) -> (reqwest::Response, String) {
        let mut url = url.to_owned();
        for _ in 0..5 {
            let res = self.get(&url).await;
            if res.status() != StatusCode::SEE_OTHER {
                return (res, url);
            }
            let next = location(&res);
            url = if next.starts_with('/') {
                let base = reqwest::Url::parse(&url).expect("an absolute URL");
                base.join(&next).expect("a relative URL").to_string()
            } else {
                next
            };
        }
        panic!("redirect loop from {url}");
    }

    pub async fn post_form(
        &self,
        url: &str,
        origin: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(url)
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("a form"))
            .send()
            .await
            .expect("POST")
    }

    /// The CSRF token of the form at `url`.
    async fn form_csrf(&self, url: &str) -> String {
        let html = self.get(url).await.text().await.expect("a page");
        hidden_value(&html, "csrf_token").unwrap_or_else(|| panic!("no csrf_token in {html}"))
    }

    /// Signs up on auth-service creating `organization`, coming from `next`.
    pub async fn sign_up(
        &self,
        stack: &Stack,
        next: &str,
        first: &str,
        email: &str,
        organization: &str,
    ) -> reqwest::Response {
        let form = stack.auth_url(&format!("/register?next={}", urlencode(next)));
        let csrf = self.form_csrf(&form).await;
        self.post_form(
            &stack.auth_url("/register"),
            &stack.auth_url(""),
            &[
                ("csrf_token", &csrf),
                ("first_name", first),
                ("last_name", "Test"),
                ("email", email),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("organization", ""),
                ("new_organization", organization),
                ("next", next),
            ],
        )
        .await
    }

    /// Signs in on auth-service with [`PASSWORD`], coming from `next`.
    pub async fn sign_in(
        &self,
        stack: &Stack,
        next: &str,
        tenant: &str,
        email: &str,
    ) -> reqwest::Response {
        let form = stack.auth_url(&format!("/login?next={}", urlencode(next)));
        let csrf = self.form_csrf(&form).await;
        self.post_form(
            &stack.auth_url("/login"),
            &stack.auth_url(""),
            &[
                ("csrf_token", &csrf),
                ("tenant", tenant),
                ("email", email),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await
    }

    /// `GET /api/v1/me` with the cookie.
    pub async fn me(&self, stack: &Stack, host: &str) -> Value {
        let res = self.get(&stack.exp_url(host, "/api/v1/me")).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("JSON")
    }

    /// A cookie-authenticated API call the way a same-origin script makes it.
    pub async fn api(
        &self,
        stack: &Stack,
        host: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let csrf = self.me(stack, host).await["csrf_token"]
            .as_str()
            .expect("a csrf_token")
            .to_owned();
        let mut req = self
            .client
            .request(method, stack.exp_url(host, path))
            .header("x-csrf-token", csrf)
            .header("origin", stack.exp_url(host, ""));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("API call")
    }
}
