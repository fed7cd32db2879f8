//! Fetching a JWKS over HTTP: bounded in time and size, rate-limited by the caller, and
//! reading the answer's `Cache-Control: max-age` that drives the background refresh.

use std::time::Duration;

use url::Url;

use crate::keys::{KeyError, KeySet};

/// A JWKS larger than this is refused (a real one is a few hundred bytes per key).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How keys are fetched, how often they are refreshed, and how often an unknown `kid` may
/// cause a refetch.
#[derive(Clone, Debug)]
pub struct JwksOptions {
    /// Whole-request timeout (connect, send, read). Default 5 s.
    pub http_timeout: Duration,
    /// The minimum time between two fetches caused by an unknown `kid` (the start-up and
    /// background fetches count as fetches too); an unknown `kid` seen sooner is rejected
    /// without a fetch, so a flood of random `kid`s costs at most one fetch per interval.
    /// Default 5 s.
    pub min_refresh_interval: Duration,
    /// Refresh the JWKS in the background when the last answer's `Cache-Control: max-age`
    /// has passed (clamped to `[refresh_floor, refresh_ceiling]`). Default on.
    pub background_refresh: bool,
    /// The shortest background refresh period, whatever `max-age` says (also used for
    /// `max-age=0`, `no-cache` and `no-store`). Default 2 s.
    pub refresh_floor: Duration,
    /// The longest background refresh period, whatever `max-age` says. Default 1 h.
    pub refresh_ceiling: Duration,
    /// The period when the answer has no `max-age`. Default 5 min (auth-service's
    /// default `JWKS_MAX_AGE`).
    pub default_refresh: Duration,
    /// After a failed background fetch, the next try comes after at most this long (the
    /// keys in hand are kept meanwhile). Default 30 s.
    pub retry_after_failure: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        Self {
            http_timeout: Duration::from_secs(5),
            min_refresh_interval: Duration::from_secs(5),
            background_refresh: true,
            refresh_floor: Duration::from_secs(2),
            refresh_ceiling: Duration::from_secs(3600),
            default_refresh: Duration::from_secs(300),
            retry_after_failure: Duration::from_secs(30),
        }
    }
}

impl JwksOptions {
    /// The background refresh period for an answer with this `max-age` (`None`: absent).
    pub fn refresh_period(&self, max_age: Option<Duration>) -> Duration {
        let floor = self.refresh_floor;
        let ceiling = self.refresh_ceiling.max(floor);
        max_age
            .unwrap_or(self.default_refresh)
            .clamp(floor, ceiling)
    }
}

/// One fetched JWKS.
pub(crate) struct Fetched {
    pub keys: KeySet,
    /// The answer's `Cache-Control: max-age` (zero for `no-cache`/`no-store`).
    pub max_age: Option<Duration>,
}

/// `max-age` of a `Cache-Control` value: `Some(0)` for `no-cache`/`no-store`, `None` when
/// absent or unparsable.
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(Duration::ZERO);
        }
        if let Some(value) = lower.strip_prefix("max-age=") {
            found = value
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    found
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

    pub async fn fetch(&self) -> Result<Fetched, KeyError> {
        let result = self.fetch_once().await;
        let label = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!(super::JWKS_FETCHES, "result" => label).increment(1);
        result
    }

    async fn fetch_once(&self) -> Result<Fetched, KeyError> {
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
        let max_age = response
            .headers()
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
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
        let keys = KeySet::from_jwks(text).map_err(|e| fail(e.to_string()))?;
        Ok(Fetched { keys, max_age })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_from_cache_control() {
        let s = Duration::from_secs;
        assert_eq!(max_age("public, max-age=300"), Some(s(300)));
        assert_eq!(max_age("Max-Age=2, public"), Some(s(2)));
        assert_eq!(max_age("no-store"), Some(s(0)));
        assert_eq!(max_age("public, max-age=60, no-cache"), Some(s(0)));
        assert_eq!(max_age("public"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn the_period_is_clamped() {
        let o = JwksOptions::default();
        let s = Duration::from_secs;
        assert_eq!(o.refresh_period(Some(s(300))), s(300));
        assert_eq!(o.refresh_period(Some(s(0))), o.refresh_floor);
        assert_eq!(o.refresh_period(Some(s(86_400))), o.refresh_ceiling);
        assert_eq!(o.refresh_period(None), s(300));
    }
}
