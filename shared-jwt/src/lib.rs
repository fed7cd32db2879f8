//! Verify and issue the SSO access tokens locally.
//!
//! auth-service signs short-lived access tokens ([`Signer`]); every sibling service verifies
//! them on each request without calling auth-service ([`Verifier`]), from a cookie set on the
//! parent domain or an `Authorization: Bearer` header. This crate holds everything both sides
//! share: the [`Claims`] of the contract, [`SigningKey`]s and [`VerifyingKey`]s (EdDSA by
//! default, ES256, HS512) with their JWKS form, the [`CookieSettings`], the [`Csrf`] helpers,
//! the [`AuthSettings`] read from the environment, and the axum integration ([`AuthLayer`],
//! [`CurrentUser`], [`RequireRole`], [`SessionCsrf`], [`AuthRejection`] and the HTML-or-JSON
//! rule [`axum::wants_html`]).
//!
//! Security properties, each covered by a test in `tests/`:
//! - the algorithm comes from configuration, never from the token (`alg: none` and algorithm
//!   confusion are refused), and a key is picked by `kid` among keys of that algorithm only;
//! - `exp`, `iss`, `aud` and `token_type == "access"` are required, `nbf` is checked, the
//!   leeway is at most 60 s, claims of the wrong JSON type are refused, `sub == user_id`;
//! - header keys (`jwk`, `jku`, `x5u`, `x5c`) are refused, never used; tokens over 8 KiB or
//!   with characters outside base64url and `.` are refused before any parsing;
//! - every failure has the same public message ([`VerifyError::kind`] tells logs why);
//! - verified tokens are cached (bounded, `exp` honoured at lookup time, cleared when keys are
//!   replaced), which makes an authenticated request cost about as much as an anonymous one.
//!
//! # Embedding in an axum service
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use shared_jwt::{AuthContext, AuthLayer, AuthSettings, CurrentUser};
//!
//! async fn me(CurrentUser(claims): CurrentUser) -> String {
//!     format!("{} ({}) in {}", claims.name, claims.user_role, claims.tenant_slug)
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // AUTH_URL, PUBLIC_URL, COOKIE_DOMAIN, JWT_ALGORITHM, JWKS_URL, ... (see the README).
//!     let settings = AuthSettings::from_env()?;
//!     // Fetches the JWKS now, refreshes it as its max-age says, refetches on an unknown `kid`.
//!     let auth = AuthContext::from_settings(settings).await?;
//!     let app = Router::new()
//!         .route("/", get(me))
//!         .layer(AuthLayer::new(auth));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8001").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

pub mod axum;
pub mod claims;
pub mod config;
pub mod cookies;
pub mod csrf;
pub mod keys;
pub mod signer;
pub mod verifier;

pub use crate::axum::{
    AtLeastAdmin, AtLeastMember, AtLeastOwner, AuthContext, AuthLayer, AuthRejection, AuthService,
    CurrentUser, MinRole, RenderRejection, RequireRole, ResolvedAuth, SessionCsrf, TokenSource,
};
pub use claims::{ACCESS_TOKEN_TYPE, Claims, Role};
pub use config::{AuthSettings, ConfigError, TokenSettings, Vars};
pub use cookies::CookieSettings;
pub use csrf::{CSRF_FIELD, CSRF_HEADER, Csrf, CsrfError, check_origin, is_unsafe_method};
pub use keys::{Algorithm, KeyError, KeySet, SigningKey, VerifyingKey};
pub use signer::{AccessTokenInput, SignError, Signer};
pub use verifier::{
    JwksOptions, KeySource, MAX_TOKEN_BYTES, Verifier, VerifierConfig, VerifyError,
};

/// Re-exported so that embedders build cookies with the same version.
pub use cookie;
/// Re-exported for [`AuthSettings::csrf_secret`].
pub use secrecy::SecretString;
