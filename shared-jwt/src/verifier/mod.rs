//! Verifies access tokens locally: the algorithm is pinned by configuration, keys are chosen
//! by `kid` among keys of that algorithm only, and every claim the contract requires is checked.
//!
//! Order of checks (cheapest and least trusting first): size and alphabet; the verified-token
//! cache; header (`alg` equal to the configured one, `kid` present, no embedded key); key by
//! `kid`; signature; then claims (typed), `iss`, `aud`, `token_type`, `sub == user_id`, `exp`,
//! `nbf`/`iat`.

mod cache;
mod error;
mod jwks;
mod token;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;

use crate::claims::{ACCESS_TOKEN_TYPE, Claims};
use crate::keys::{Algorithm, KeyError, KeySet};
use cache::TokenCache;
pub use error::VerifyError;
use jwks::JwksFetcher;
pub use jwks::JwksOptions;
pub use token::MAX_TOKEN_BYTES;

/// The largest clock leeway the contract allows.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Prometheus counter (`metrics` crate) of verified-token cache lookups, by `result`
/// (`hit`, `miss`); recorded by whatever recorder the embedding service installed.
pub const TOKEN_CACHE: &str = "jwt_token_cache_lookups_total";
/// Prometheus counter of JWKS fetches, by `result` (`ok`, `error`).
pub const JWKS_FETCHES: &str = "jwt_jwks_fetches_total";

/// The default size of the verified-token cache.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// What a verifier requires of every token.
#[derive(Clone, Debug)]
pub struct VerifierConfig {
    /// The only algorithm accepted; the token's `alg` must equal it exactly.
    pub algorithm: Algorithm,
    /// The required `iss`.
    pub issuer: String,
    /// The required `aud` (a single string).
    pub audience: String,
    /// Clock leeway for `exp`/`nbf`; clamped to at most 60 s.
    pub leeway: Duration,
    /// How many verified tokens to remember (0 turns the cache off).
    pub cache_capacity: usize,
}

impl VerifierConfig {
    /// A config with a 30 s leeway and the default cache (10 000 tokens).
    pub fn new(
        algorithm: Algorithm,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            algorithm,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(30),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }
}

/// Where a verifier's keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// Fixed keys (a public key file, or the HS512 secret).
    Static(KeySet),
    /// A JWKS URL, fetched at start-up, refreshed in the background as its `max-age` says,
    /// and refetched at once (rate-limited) on an unknown `kid`.
    Jwks {
        /// The JWKS document's URL.
        url: Url,
        /// Timeout of one fetch.
        http_timeout: Duration,
    },
}

struct Refresh {
    fetcher: JwksFetcher,
    options: JwksOptions,
    /// When the last fetch was attempted (successful or not); also serialises fetches.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    /// How many fetches were attempted (start-up included), for tests and metrics.
    fetches: AtomicU64,
}

struct Inner {
    config: VerifierConfig,
    leeway: i64,
    keys: RwLock<Arc<KeySet>>,
    /// Bumped on every key change that may remove a key; cache entries of older generations
    /// are dead.
    generation: AtomicU64,
    cache: Option<TokenCache>,
    refresh: Option<Refresh>,
}

/// Verifies access tokens. Cheap to clone (an `Arc` inside); build it once at start-up.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.inner.config)
            .field("keys", &self.current_keys().len())
            .field(
                "jwks",
                &self
                    .inner
                    .refresh
                    .as_ref()
                    .map(|r| r.fetcher.url().as_str()),
            )
            .finish()
    }
}

impl Verifier {
    /// A verifier over fixed keys; keys of other algorithms than the configured one are dropped.
    ///
    /// # Errors
    /// [`KeyError::NoUsableKey`] when no key of the configured algorithm is left.
    pub fn new(config: VerifierConfig, keys: KeySet) -> Result<Self, KeyError> {
        let keys = keys.only(config.algorithm);
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey(config.algorithm));
        }
        Ok(Self::build(config, keys, None))
    }

    /// Fetches the JWKS at `url` now (5 s timeout), refreshes it in the background when the
    /// answer's `Cache-Control: max-age` has passed (clamped to 2 s – 1 h; 5 min without one),
    /// and refetches it at once on an unknown `kid`, at most every 5 s. Keys the JWKS no
    /// longer lists are dropped, with the tokens they verified.
    ///
    /// The background task lives as long as a clone of the verifier does (it holds a weak
    /// reference); it needs a tokio runtime, which this `async fn` already runs on.
    ///
    /// # Errors
    /// [`KeyError::Fetch`] when the JWKS is unreachable or invalid, [`KeyError::NoUsableKey`]
    /// when it holds no key of the configured algorithm.
    pub async fn from_jwks_url(config: VerifierConfig, url: Url) -> Result<Self, KeyError> {
        Self::from_jwks_url_with(config, url, JwksOptions::default()).await
    }

    /// [`Verifier::from_jwks_url`] with explicit timeout and refetch interval.
    ///
    /// # Errors
    /// As [`Verifier::from_jwks_url`].
    pub async fn from_jwks_url_with(
        config: VerifierConfig,
        url: Url,
        options: JwksOptions,
    ) -> Result<Self, KeyError> {
        if config.algorithm == Algorithm::HS512 {
            // A JWKS never carries the shared secret.
            return Err(KeyError::NotAvailable(Algorithm::HS512));
        }
        let fetcher = JwksFetcher::new(url, options.http_timeout)?;
        let fetched = fetcher.fetch().await?;
        let keys = fetched.keys.only(config.algorithm);
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey(config.algorithm));
        }
        let first_period = options.refresh_period(fetched.max_age);
        let background = options.background_refresh;
        let refresh = Refresh {
            fetcher,
            options,
            last_attempt: tokio::sync::Mutex::new(Some(Instant::now())),
            fetches: AtomicU64::new(1),
        };
        let verifier = Self::build(config, keys, Some(refresh));
        if background {
            spawn_background_refresh(Arc::downgrade(&verifier.inner), first_period);
        }
        Ok(verifier)
    }

    fn build(mut config: VerifierConfig, keys: KeySet, refresh: Option<Refresh>) -> Self {
        config.leeway = config.leeway.min(MAX_LEEWAY);
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(60);
        Self {
            inner: Arc::new(Inner {
                cache: TokenCache::new(config.cache_capacity),
                config,
                leeway,
                keys: RwLock::new(Arc::new(keys)),
                generation: AtomicU64::new(0),
                refresh,
            }),
        }
    }

    /// The configuration in force (leeway already clamped).
    pub fn config(&self) -> &VerifierConfig {
        &self.inner.config
    }

    /// The keys in force.
    pub fn current_keys(&self) -> Arc<KeySet> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the keys (rotation driven by the host application). Keys of other algorithms are
    /// dropped. When a key in force is not in `keys`, the verified-token cache is cleared, so
    /// tokens of a removed key fail at once; adding keys keeps the cache.
    pub fn replace_keys(&self, keys: KeySet) {
        let keys = keys.only(self.inner.config.algorithm);
        let removed_some = !self.current_keys().is_subset_of(&keys);
        self.install_keys(keys, removed_some);
    }

    fn install_keys(&self, keys: KeySet, clear_cache: bool) {
        let mut slot = self
            .inner
            .keys
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *slot = Arc::new(keys);
        if clear_cache {
            // Bump before clearing: a verification that started under the old keys carries
            // the old generation and its insert is ignored by later lookups.
            self.inner.generation.fetch_add(1, Ordering::SeqCst);
            if let Some(cache) = &self.inner.cache {
                cache.clear();
            }
        }
    }

    /// Verifies `token` synchronously against the keys in hand (no I/O).
    ///
    /// The claims are shared with the verified-token cache (a hit copies nothing); they
    /// dereference to [`Claims`], and `Arc::unwrap_or_clone` gives an owned copy.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first check that failed.
    pub fn verify(&self, token: &str) -> Result<Arc<Claims>, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let now = now_secs();
        let inner = &*self.inner;
        let generation = inner.generation.load(Ordering::SeqCst);
        // Only fully verified tokens are ever inserted, so an exact hit needs no re-parsing.
        let cache_key = inner
            .cache
            .as_ref()
            .map(|cache| (cache, TokenCache::key(token)));
        if let Some((cache, key)) = &cache_key
            && let Some(claims) = cache.get(key, now, inner.leeway, generation)
        {
            metrics::counter!(TOKEN_CACHE, "result" => "hit").increment(1);
            return Ok(claims);
        }
        if cache_key.is_some() {
            metrics::counter!(TOKEN_CACHE, "result" => "miss").increment(1);
        }
        let parts = token::split(token)?;
        let claims = Arc::new(self.verify_uncached(&parts, now)?);
        if let Some((cache, key)) = cache_key {
            cache.insert(key, Arc::clone(&claims), generation, now, inner.leeway);
        }
        Ok(claims)
    }

    fn verify_uncached(&self, parts: &token::Parts<'_>, now: i64) -> Result<Claims, VerifyError> {
        let config = &self.inner.config;
        let header = token::Header::parse(parts.header)?;
        if header.alg != config.algorithm.as_str() {
            return Err(VerifyError::AlgorithmMismatch);
        }
        let kid = header.kid.ok_or(VerifyError::MissingKid)?;
        let key = self
            .current_keys()
            .get(&kid)
            .cloned()
            .ok_or(VerifyError::UnknownKid)?;
        if key.algorithm() != config.algorithm {
            // Unreachable through the public API (sets are filtered), kept as a second lock.
            return Err(VerifyError::AlgorithmMismatch);
        }
        if !key.verify_signature(parts.signing_input.as_bytes(), parts.signature) {
            return Err(VerifyError::BadSignature);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(parts.payload)
            .map_err(|_| VerifyError::Malformed)?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|_| VerifyError::InvalidClaims)?;
        self.check_claims(&claims, now)?;
        Ok(claims)
    }

    fn check_claims(&self, claims: &Claims, now: i64) -> Result<(), VerifyError> {
        let config = &self.inner.config;
        let leeway = self.inner.leeway;
        if claims.iss != config.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        if claims.aud != config.audience {
            return Err(VerifyError::WrongAudience);
        }
        if claims.token_type != ACCESS_TOKEN_TYPE {
            return Err(VerifyError::WrongTokenType);
        }
        if claims.sub != claims.user_id {
            return Err(VerifyError::SubjectMismatch);
        }
        if now > claims.exp.saturating_add(leeway) {
            return Err(VerifyError::Expired);
        }
        if claims.nbf > now.saturating_add(leeway) || claims.iat > now.saturating_add(leeway) {
            return Err(VerifyError::NotYetValid);
        }
        Ok(())
    }

    /// [`Verifier::verify`], and on an unknown `kid` one JWKS refetch if the last fetch is at
    /// least the refetch interval (5 s by default) old, then a second verification. Concurrent
    /// callers share one fetch. Without a JWKS source this is `verify`.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub async fn verify_or_refresh(&self, token: &str) -> Result<Arc<Claims>, VerifyError> {
        match self.verify(token) {
            Err(VerifyError::UnknownKid) if self.inner.refresh.is_some() => {
                self.refresh_if_due().await;
                self.verify(token)
            }
            other => other,
        }
    }

    /// Fetches the JWKS now if the rate limit allows; returns whether a fetch happened.
    async fn refresh_if_due(&self) -> bool {
        let Some(refresh) = &self.inner.refresh else {
            return false;
        };
        let mut last = refresh.last_attempt.lock().await;
        if last.is_some_and(|t| t.elapsed() < refresh.options.min_refresh_interval) {
            return false;
        }
        *last = Some(Instant::now());
        self.fetch_and_install(refresh).await;
        true
    }

    /// The background refresh: fetches now (serialised with the unknown-`kid` refetches)
    /// and returns how long to wait before the next one.
    async fn background_refresh(&self) -> Duration {
        let Some(refresh) = &self.inner.refresh else {
            return Duration::MAX;
        };
        let mut last = refresh.last_attempt.lock().await;
        *last = Some(Instant::now());
        match self.fetch_and_install(refresh).await {
            Some(max_age) => refresh.options.refresh_period(max_age),
            None => refresh
                .options
                .retry_after_failure
                .min(refresh.options.refresh_period(None))
                .max(refresh.options.refresh_floor),
        }
    }

    /// One fetch; on success installs the keys (clearing the token cache when a key went
    /// away) and returns the answer's `max-age`. A failure or an answer without a usable key
    /// keeps the keys in hand.
    async fn fetch_and_install(&self, refresh: &Refresh) -> Option<Option<Duration>> {
        refresh.fetches.fetch_add(1, Ordering::SeqCst);
        match refresh.fetcher.fetch().await {
            Ok(fetched) => {
                let keys = fetched.keys.only(self.inner.config.algorithm);
                if keys.is_empty() {
                    tracing::warn!(url = %refresh.fetcher.url(), "JWKS holds no usable key; keeping the old keys");
                    return None;
                }
                let current = self.current_keys();
                let removed_some = !current.is_subset_of(&keys);
                let added_some = !keys.is_subset_of(&current);
                if removed_some || added_some {
                    tracing::info!(keys = keys.len(), removed_some, "JWKS refreshed");
                    self.install_keys(keys, removed_some);
                }
                Some(fetched.max_age)
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWKS refresh failed; keeping the old keys");
                None
            }
        }
    }

    /// How many JWKS fetches this verifier attempted (start-up, background and unknown-`kid`
    /// refetches); 0 without a JWKS source.
    pub fn jwks_fetches(&self) -> u64 {
        self.inner
            .refresh
            .as_ref()
            .map_or(0, |r| r.fetches.load(Ordering::SeqCst))
    }

    /// How many verified tokens the cache holds (for metrics and tests).
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, TokenCache::len)
    }
}

/// Refreshes the JWKS of the verifier behind `weak` after `first`, then as each answer's
/// `max-age` says, until the last clone of the verifier is dropped.
fn spawn_background_refresh(weak: Weak<Inner>, first: Duration) {
    tokio::spawn(async move {
        let mut delay = first;
        loop {
            tokio::time::sleep(delay).await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            delay = Verifier { inner }.background_refresh().await;
        }
    });
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
