//! Issues access tokens (auth-service, and tests of the other crates).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::claims::{ACCESS_TOKEN_TYPE, Claims, Role};
use crate::keys::{Algorithm, SigningKey};

/// What auth-service knows about a user when it mints an access token.
#[derive(Clone, Debug)]
pub struct AccessTokenInput {
    /// The user (`sub` and `user_id`).
    pub user_id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The tenant's slug.
    pub tenant_slug: String,
    /// The user's role in the tenant.
    pub role: Role,
    /// For display.
    pub email: String,
    /// For display.
    pub name: String,
    /// Whether the address is verified (`email_verified`).
    pub email_verified: bool,
    /// The refresh-token family (session) id, put in `sid`.
    pub session_id: Option<Uuid>,
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The claims could not be serialised (cannot happen for [`Claims`]).
    #[error("cannot serialise the claims")]
    Serialize(#[from] serde_json::Error),
    /// The system clock is before 1970.
    #[error("system clock is before the Unix epoch")]
    Clock,
}

struct Inner {
    key: SigningKey,
    issuer: String,
    audience: String,
    ttl: Duration,
    /// base64url of `{"alg":…,"typ":"JWT","kid":…}`, computed once.
    header_b64: String,
}

/// Signs access tokens with one key. Cheap to clone.
#[derive(Clone)]
pub struct Signer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.inner.key.kid())
            .field("algorithm", &self.inner.key.algorithm())
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .field("ttl", &self.inner.ttl)
            .finish()
    }
}

impl Signer {
    /// A signer issuing tokens with `iss = issuer`, `aud = audience`, valid for `ttl`.
    pub fn new(
        key: SigningKey,
        issuer: impl Into<String>,
        audience: impl Into<String>,
        ttl: Duration,
    ) -> Self {
        let header = serde_json::json!({
            "alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.kid(),
        });
        let header_b64 = URL_SAFE_NO_PAD.encode(header.to_string());
        Self {
            inner: Arc::new(Inner {
                key,
                issuer: issuer.into(),
                audience: audience.into(),
                ttl,
                header_b64,
            }),
        }
    }

    /// Mints an access token for `input`, valid from now for the signer's TTL.
    ///
    /// # Errors
    /// [`SignError::Clock`] if the clock is before 1970.
    pub fn issue(&self, input: &AccessTokenInput) -> Result<String, SignError> {
        self.issue_with_amr(input, &[])
    }

    /// [`Signer::issue`] with an `amr` claim (RFC 8176 values such as `pwd`, `otp`, `mfa`;
    /// none leaves the claim out).
    ///
    /// # Errors
    /// [`SignError::Clock`] if the clock is before 1970.
    pub fn issue_with_amr(
        &self,
        input: &AccessTokenInput,
        amr: &[&str],
    ) -> Result<String, SignError> {
        let now = i64::try_from(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| SignError::Clock)?
                .as_secs(),
        )
        .map_err(|_| SignError::Clock)?;
        let ttl = i64::try_from(self.inner.ttl.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            iss: self.inner.issuer.clone(),
            aud: self.inner.audience.clone(),
            exp: now.saturating_add(ttl),
            iat: now,
            nbf: now,
            jti: Uuid::new_v4().simple().to_string(),
            sub: input.user_id,
            user_id: input.user_id,
            token_type: ACCESS_TOKEN_TYPE.to_owned(),
            tenant_id: input.tenant_id,
            tenant_slug: input.tenant_slug.clone(),
            user_role: input.role,
            email: input.email.clone(),
            name: input.name.clone(),
            email_verified: input.email_verified,
            amr: amr.iter().map(|&a| a.to_owned()).collect(),
            sid: input.session_id,
        };
        self.issue_claims(&claims)
    }

    /// Signs `claims` exactly as given (tests use it to craft expired or odd tokens).
    ///
    /// # Errors
    /// [`SignError::Serialize`] if serialisation fails.
    pub fn issue_claims(&self, claims: &Claims) -> Result<String, SignError> {
        self.sign_payload(&serde_json::to_vec(claims)?)
    }

    /// Signs an arbitrary JSON payload with this signer's header (tests craft malformed claims
    /// with it, e.g. a string `exp`).
    ///
    /// # Errors
    /// [`SignError::Serialize`] if serialisation fails.
    pub fn issue_json(&self, payload: &serde_json::Value) -> Result<String, SignError> {
        self.sign_payload(&serde_json::to_vec(payload)?)
    }

    fn sign_payload(&self, payload: &[u8]) -> Result<String, SignError> {
        let mut token = String::with_capacity(self.inner.header_b64.len() + payload.len() * 2);
        token.push_str(&self.inner.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut token);
        let signature = self.inner.key.sign(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// The signing key's id.
    pub fn kid(&self) -> &str {
        self.inner.key.kid()
    }

    /// The signing key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.key.algorithm()
    }

    /// How long issued tokens live.
    pub fn ttl(&self) -> Duration {
        self.inner.ttl
    }

    /// The `iss` this signer writes.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The `aud` this signer writes.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    /// The signing key (to publish its verifying key).
    pub fn signing_key(&self) -> &SigningKey {
        &self.inner.key
    }
}
