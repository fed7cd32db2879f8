//! Fetching a JWKS over HTTP: bounded in time and size, and rate-limited by the caller.

use std::time::Duration;

use url::Url;

use crate::keys::{KeyError, KeySet};

/// A JWKS larger than this is refused (a real one is a few hundred bytes per key).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How keys are fetched and how often a refetch may happen.
#[derive(Clone, Debug)]
pub struct JwksOptions {
    /// Whole-request timeout (connect, send, read). Default 5 s.
    pub http_timeout: Duration,
    /// The minimum time between two fetches (the start-up fetch included); an unknown `kid`
    /// seen sooner is rejected without a fetch. Default 30 s.
    pub min_refresh_interval: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            http_timeout: Duration::from_secs(5),
            min_refresh_interval: Duration::from_secs(30),
        }
    }
}

pub(crate) struct JwksFetcher {
    url: Url,
    client: reqwest::Client,
}

impl JwksFetcher {
    pub fn new(url: Url, http_timeout: Duration) -> Result<Self, KeyError> {
        let client = reqwest::Client::builder()
            .timeout(http_timeout)
            .connect_timeout(http_timeout)
            // The URL is configuration; a redirect would move trust somewhere unconfigured.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KeyError::Fetch {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(Self { url, client })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub async fn fetch(&self) -> Result<KeySet, KeyError> {
        let result = self.fetch_once().await;
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!(super::JWKS_FETCHES, "result" => label).increment(1);
        result
    }

    async fn fetch_once(&self) -> Result<KeySet, KeyError> {
        let fail = |reason: String| KeyError::Fetch {
            url: self.url.to_string(),
            reason,
        };
        let mut response = self
            .client
            .get(self.url.clone())
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("status {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(fail("response too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let text = std::str::from_utf8(&body).map_err(|_| fail("not UTF-8".into()))?;
        KeySet::from_jwks(text).map_err(|e| fail(e.to_string()))
    }
}
