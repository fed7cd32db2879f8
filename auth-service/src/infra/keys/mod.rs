//! The signing keys of access tokens, shared by every replica through the database.
//!
//! - [`store`]: the `signing_keys` rows — first key, import of `JWT_PRIVATE_KEY_FILE`,
//!   two-phase rotation (by hand and every `KEY_ROTATION_INTERVAL`), revocation — and the
//!   life of each key (pending → signing → retired → expired, or revoked).
//! - [`kek`]: `KEY_ENCRYPTION_KEY`, which encrypts the private keys at rest.
//! - [`KeyRing`]: what a running replica holds: the signers (the one whose `signs_from` is
//!   the newest past one signs), the published keys (the JWKS) and the verifier of its own
//!   tokens. It rereads the rows every `KEY_RELOAD_INTERVAL` (default 5 s), at once after
//!   its own changes, and before answering the JWKS; so a `keys rotate` or `keys revoke`
//!   run anywhere reaches every replica without a restart.
//! - HS512 (`JWT_SECRET`): nothing is stored, published or rotated; the ring is fixed.

pub mod kek;
mod life;
pub mod store;

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret as _, SecretSlice};
use shared_jwt::{
    AccessTokenInput, Algorithm, Claims, KeySet, Signer, SigningKey, Verifier, VerifierConfig,
    VerifyingKey,
};

use crate::config::Settings;
use kek::Kek;

/// Writes `contents` to `path` readable by the owner only, creating the parent directory.
///
/// # Errors
/// An I/O failure.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The keys as last read.
struct Snapshot {
    /// When the read that produced it began.
    started: Instant,
    /// Signing candidates (the signing key and the pending ones), by `signs_from`.
    signers: Vec<(DateTime<Utc>, Signer)>,
    /// The published keys (the JWKS).
    published: KeySet,
    /// Their kids, sorted (to notice a change).
    kids: Vec<String>,
    /// The next moment a key starts signing, for the background task's wake-up.
    next_switch: Option<DateTime<Utc>>,
}

enum Source {
    /// HS512: `JWT_SECRET`, nothing in the database.
    Fixed { seed: SecretSlice<u8> },
    /// Keys in the database.
    Database {
        db: DatabaseConnection,
        kek: Kek,
        settings: Arc<Settings>,
    },
}

struct Ring {
    source: Source,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Serialises reloads (and lets concurrent JWKS requests share one).
    reload: tokio::sync::Mutex<()>,
    verifier: Verifier,
}

/// The keys of a running replica. Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Ring>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let snap = self.snapshot();
        f.debug_struct("KeyRing")
            .field("published", &snap.kids)
            .field("signing", &self.signer().ok().map(|s| s.kid().to_owned()))
            .finish_non_exhaustive()
    }
}

/// No key signs (every key revoked and none created yet).
#[derive(Debug, thiserror::Error)]
#[error("no signing key is available")]
pub struct NoSigningKey;

fn verifier_config(settings: &Settings) -> VerifierConfig {
    let mut config = VerifierConfig::new(
        settings.jwt_algorithm,
        settings.jwt_issuer.clone(),
        settings.jwt_audience.clone(),
    );
    config.leeway = Duration::from_secs(5);
    config
}

fn signer_for(settings: &Settings, key: SigningKey) -> Signer {
    Signer::new(
        key,
        settings.jwt_issuer.clone(),
        settings.jwt_audience.clone(),
        settings.access_token_ttl,
    )
}

impl KeyRing {
    /// Opens the keys: for HS512 the secret; else the key-encryption key, the import of
    /// `JWT_PRIVATE_KEY_FILE`, a first key when none signs, and the first read.
    ///
    /// # Errors
    /// A bad or missing secret or key-encryption key, an unreadable key file, a key that does
    /// not decrypt, a database failure.
    pub async fn open(db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<Self> {
        let config = verifier_config(settings);
        if settings.jwt_algorithm == Algorithm::HS512 {
            let secret = settings
                .jwt_secret
                .as_ref()
                .context("JWT_SECRET is required for HS512")?;
            let key = SigningKey::from_hs512_secret(secret.expose_secret().as_bytes())
                .map_err(|e| anyhow::anyhow!("JWT_SECRET: {e}"))?;
            let mut published = KeySet::new();
            published.insert(key.verifying_key());
            let verifier = Verifier::new(config, published.clone())
                .map_err(|e| anyhow::anyhow!("verifier: {e}"))?;
            let snapshot = Snapshot {
                started: Instant::now(),
                signers: vec![(DateTime::<Utc>::MIN_UTC, signer_for(settings, key.clone()))],
                kids: vec![key.kid().to_owned()],
                published,
                next_switch: None,
            };
            use sha2::Digest as _;
            let seed =
                SecretSlice::from(sha2::Sha256::digest(secret.expose_secret().as_bytes()).to_vec());
            return Ok(Self::assemble(Source::Fixed { seed }, snapshot, verifier));
        }
        let kek = Kek::from_settings(settings)?;
        store::import_file(db, &kek, settings).await?;
        store::ensure_signing_key(db, &kek, settings).await?;
        let settings = Arc::new(settings.clone());
        let snapshot = read(db, &kek, &settings).await?;
        let verifier = Verifier::new(config, snapshot.published.clone())
            .map_err(|e| anyhow::anyhow!("verifier: {e}"))?;
        let source = Source::Database {
            db: db.clone(),
            kek,
            settings,
        };
        Ok(Self::assemble(source, snapshot, verifier))
    }

    fn assemble(source: Source, snapshot: Snapshot, verifier: Verifier) -> Self {
        Self {
            inner: Arc::new(Ring {
                source,
                snapshot: RwLock::new(Arc::new(snapshot)),
                reload: tokio::sync::Mutex::new(()),
                verifier,
            }),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.inner
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The signer of new tokens: the candidate with the newest `signs_from` that has passed
    /// (chosen at each call, so a pending key takes over on time without waiting for a reload).
    ///
    /// # Errors
    /// [`NoSigningKey`] when every key is revoked and no new one was read yet.
    pub fn signer(&self) -> Result<Signer, NoSigningKey> {
        let now = Utc::now();
        self.snapshot()
            .signers
            .iter()
            .rev()
            .find(|(from, _)| *from <= now)
            .map(|(_, s)| s.clone())
            .ok_or(NoSigningKey)
    }

    /// Verifies this service's own tokens with the published keys (kept up to date by
    /// every reload).
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The published verifying keys.
    #[must_use]
    pub fn key_set(&self) -> KeySet {
        self.snapshot().published.clone()
    }

    /// The JWKS document (empty `keys` for HS512).
    #[must_use]
    pub fn jwks(&self) -> serde_json::Value {
        self.snapshot().published.to_jwks()
    }

    /// A 32-byte secret for `purpose` (the session secret without `SESSION_SECRET`): derived
    /// from the key-encryption key, or for HS512 from `JWT_SECRET`; the same on every replica
    /// and unchanged by rotations.
    #[must_use]
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        match &self.inner.source {
            Source::Fixed { seed } => crate::infra::crypto::hmac_sha256(
                seed.expose_secret(),
                &[b"auth-service derived secret", purpose.as_bytes()],
            ),
            Source::Database { kek, .. } => kek.derive_secret(purpose),
        }
    }

    /// Encrypts a user secret at rest (the second factor's) with the key-encryption key's
    /// AEAD, bound to `aad`; with HS512 (no key-encryption key) under a key derived from
    /// `JWT_SECRET`.
    ///
    /// # Errors
    /// Never in practice.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        match &self.inner.source {
            Source::Fixed { .. } => {
                Kek::from_bytes(self.derive_secret("secrets at rest")).encrypt(aad, plaintext)
            }
            Source::Database { kek, .. } => kek.encrypt(aad, plaintext),
        }
    }

    /// The plaintext of [`KeyRing::seal`]'s output.
    ///
    /// # Errors
    /// Another key, another `aad`, or a damaged ciphertext.
    pub fn open_sealed(&self, aad: &str, blob: &[u8]) -> anyhow::Result<SecretSlice<u8>> {
        match &self.inner.source {
            Source::Fixed { .. } => {
                Kek::from_bytes(self.derive_secret("secrets at rest")).decrypt(aad, blob)
            }
            Source::Database { kek, .. } => kek.decrypt(aad, blob),
        }
    }

    /// Rereads the keys unless a read that began after `since` already finished (so a
    /// burst of callers shares one read).
    ///
    /// # Errors
    /// A database failure or a key that does not decrypt (the keys in hand are kept).
    pub async fn reload_since(&self, since: Instant) -> anyhow::Result<()> {
        let Source::Database { db, kek, settings } = &self.inner.source else {
            return Ok(());
        };
        let _guard = self.inner.reload.lock().await;
        if self.snapshot().started >= since {
            return Ok(());
        }
        let snapshot = read(db, kek, settings).await?;
        if snapshot.kids != self.snapshot().kids {
            tracing::info!(published = ?snapshot.kids, "signing keys changed");
            self.inner.verifier.replace_keys(snapshot.published.clone());
        }
        *self
            .inner
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
        Ok(())
    }

    /// Rereads the keys now.
    ///
    /// # Errors
    /// As [`KeyRing::reload_since`].
    pub async fn reload(&self) -> anyhow::Result<()> {
        self.reload_since(Instant::now()).await
    }

    /// Whether `kid` was revoked (read from the database, so a revocation made by the CLI
    /// or another replica counts at once). Always `false` for HS512.
    ///
    /// # Errors
    /// A database failure.
    pub async fn is_revoked(&self, kid: &str) -> Result<bool, sea_orm::DbErr> {
        match &self.inner.source {
            Source::Fixed { .. } => Ok(false),
            Source::Database { db, .. } => store::is_revoked(db, kid).await,
        }
    }

    /// One round of the background task: the automatic rotation when due, a new key when
    /// none signs (all revoked), then a reload. Returns how long to wait for the next round.
    async fn tick(&self) -> Duration {
        let Source::Database { db, kek, settings } = &self.inner.source else {
            return Duration::from_secs(3600);
        };
        let maintained = async {
            store::rotate_if_due(db, kek, settings).await?;
            store::ensure_signing_key(db, kek, settings).await?;
            self.reload().await
        };
        if let Err(e) = maintained.await {
            tracing::warn!(error = %format!("{e:#}"), "reloading the signing keys failed; keeping the keys in hand");
        }
        let mut wait = settings.key_reload_interval;
        if let Some(next) = self.snapshot().next_switch {
            let until = (next - Utc::now()).to_std().unwrap_or_default();
            wait = wait.min(until + Duration::from_millis(10));
        }
        wait
    }

    /// The background task of a replica: [`KeyRing::tick`] every `KEY_RELOAD_INTERVAL` (and
    /// when a pending key is due), until the process ends. Does nothing for HS512.
    pub async fn run(self) {
        if matches!(self.inner.source, Source::Fixed { .. }) {
            return;
        }
        loop {
            let wait = self.tick().await;
            tokio::time::sleep(wait).await;
        }
    }
}

/// Reads the rows of the configured algorithm and builds a snapshot.
async fn read(db: &DatabaseConnection, kek: &Kek, settings: &Settings) -> anyhow::Result<Snapshot> {
    let started = Instant::now();
    let rows = store::of_algorithm(db, settings.jwt_algorithm).await?;
    let now = Utc::now();
    let lives = store::lives(&rows, now, store::keep_after_retirement(settings));
    let mut published = KeySet::new();
    let mut signers = Vec::new();
    for life in lives.iter().filter(|l| l.state.is_published()) {
        if life.row.published_at > now {
            continue;
        }
        let jwk: serde_json::Value = serde_json::from_str(&life.row.public_jwk)
            .with_context(|| format!("key {}: invalid public JWK", life.row.kid))?;
        let key = VerifyingKey::from_jwk(&jwk)
            .map_err(|e| anyhow::anyhow!("key {}: {e}", life.row.kid))?;
        published.insert(key);
        if matches!(
            life.state,
            store::KeyState::Signing | store::KeyState::Pending
        ) {
            let key = store::signing_key_of(&life.row, kek)?;
            signers.push((life.row.signs_from, signer_for(settings, key)));
        }
    }
    signers.sort_by_key(|(from, _)| *from);
    let next_switch = signers
        .iter()
        .map(|(from, _)| *from)
        .find(|from| *from > now);
    let mut kids: Vec<String> = published.iter().map(|k| k.kid().to_owned()).collect();
    kids.sort();
    Ok(Snapshot {
        started,
        signers,
        published,
        kids,
        next_switch,
    })
}

/// The signer handle of the application state: mints with whichever key signs now.
#[derive(Clone, Debug)]
pub struct CurrentSigner(pub KeyRing);

impl CurrentSigner {
    /// Mints an access token with the current key.
    ///
    /// # Errors
    /// No key signs, or signing failed.
    pub fn issue(&self, input: &AccessTokenInput) -> anyhow::Result<String> {
        Ok(self.0.signer()?.issue(input)?)
    }

    /// [`CurrentSigner::issue`] with an `amr` claim.
    ///
    /// # Errors
    /// No key signs now, or signing failed.
    pub fn issue_with_amr(&self, input: &AccessTokenInput, amr: &[&str]) -> anyhow::Result<String> {
        Ok(self.0.signer()?.issue_with_amr(input, amr)?)
    }

    /// Signs `claims` as given with the current key (tests craft tokens with it).
    ///
    /// # Errors
    /// No key signs, or serialisation failed.
    pub fn issue_claims(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(self.0.signer()?.issue_claims(claims)?)
    }

    /// The current key's id (empty when none signs).
    #[must_use]
    pub fn kid(&self) -> String {
        self.0
            .signer()
            .map(|s| s.kid().to_owned())
            .unwrap_or_default()
    }
}
