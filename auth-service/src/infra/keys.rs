//! The KeyStore: the current signing key plus previous verifying keys that stay in the
//! JWKS until they expire, so tokens signed just before a rotation keep verifying.
//!
//! Where keys live:
//! - EdDSA / ES256: the private key is the PKCS#8 PEM at `JWT_PRIVATE_KEY_FILE` (default
//!   `{DATA_DIR}/jwt-signing-key.pem`). When the default file is missing it is generated
//!   (mode 0600); an explicitly configured file that is missing is an error.
//! - Previous keys: `jwt-previous-keys.json` next to the private key file,
//!   `{"keys":[{"expires_at":"<RFC 3339>","jwk":{…public JWK…}}]}`. Expired entries are
//!   ignored on load and dropped on the next rotation. [`KeyStore::rotate`] (for a
//!   `keys rotate` command) moves the current public key there with an expiry and writes
//!   a new private key.
//! - HS512: the key is `JWT_SECRET`; nothing is published and nothing is stored.
//!
//! Without `SESSION_SECRET`, the session secret (CSRF cookie, refresh successors) is
//! derived from the current key's material ([`KeyStore::derive_secret`]), so replicas
//! that share the key agree without another setting or a writable data directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};
use shared_jwt::{Algorithm, KeySet, SigningKey, VerifyingKey};

use crate::config::Settings;

/// A retired key still accepted until `expires_at`.
#[derive(Clone)]
pub struct PreviousKey {
    /// The public key.
    pub key: VerifyingKey,
    /// When it leaves the JWKS.
    pub expires_at: DateTime<Utc>,
}

/// The current signing key and the still-valid previous verifying keys.
#[derive(Clone)]
pub struct KeyStore {
    current: SigningKey,
    previous: Vec<PreviousKey>,
    /// SHA-256 of the current key's material (PEM text or HS512 secret), for
    /// [`KeyStore::derive_secret`].
    seed: SecretSlice<u8>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("current", &self.current.kid())
            .field(
                "previous",
                &self
                    .previous
                    .iter()
                    .map(|p| p.key.kid().to_owned())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Serialize, Deserialize, Default)]
struct PreviousFile {
    keys: Vec<PreviousEntry>,
}

#[derive(Serialize, Deserialize)]
struct PreviousEntry {
    expires_at: DateTime<Utc>,
    jwk: serde_json::Value,
}

/// Where the previous public keys are kept.
#[must_use]
pub fn previous_keys_path(settings: &Settings) -> PathBuf {
    settings.jwt_private_key_file.parent().map_or_else(
        || PathBuf::from("jwt-previous-keys.json"),
        |dir| dir.join("jwt-previous-keys.json"),
    )
}

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

impl KeyStore {
    /// Loads (or, for the development default, generates) the keys.
    ///
    /// # Errors
    /// An unreadable or invalid key file, a missing configured key file, a bad secret.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let alg = settings.jwt_algorithm;
        if alg == Algorithm::HS512 {
            let secret = settings
                .jwt_secret
                .as_ref()
                .context("JWT_SECRET is required for HS512")?;
            let current = SigningKey::from_hs512_secret(secret.expose_secret().as_bytes())
                .map_err(|e| anyhow::anyhow!("JWT_SECRET: {e}"))?;
            return Ok(Self {
                current,
                previous: Vec::new(),
                seed: seed_of(secret.expose_secret().as_bytes()),
            });
        }
        let path = &settings.jwt_private_key_file;
        let (current, pem) = match std::fs::read_to_string(path) {
            Ok(pem) => (
                SigningKey::from_pkcs8_pem(&pem, alg)
                    .map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY_FILE {}: {e}", path.display()))?,
                pem,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && is_default_key_path(settings) => {
                let key = SigningKey::generate(alg)
                    .map_err(|e| anyhow::anyhow!("generating a key: {e}"))?;
                let pem = key
                    .to_pkcs8_pem()
                    .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
                write_private_file(path, pem.as_bytes())
                    .with_context(|| format!("writing the development key {}", path.display()))?;
                tracing::info!(path = %path.display(), kid = key.kid(), "generated a development signing key");
                (key, pem)
            }
            Err(e) => {
                return Err(e).with_context(|| format!("JWT_PRIVATE_KEY_FILE {}", path.display()));
            }
        };
        let previous = load_previous(&previous_keys_path(settings), alg)?;
        Ok(Self {
            current,
            previous,
            seed: seed_of(pem.trim().as_bytes()),
        })
    }

    /// A 32-byte secret for `purpose`, derived from the signing key's material with
    /// HMAC-SHA256 under a purpose label: every instance that shares the key derives the
    /// same value, no file is written, and nothing about the key can be learnt from it.
    /// It changes when the key is rotated.
    #[must_use]
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        crate::infra::crypto::hmac_sha256(
            self.seed.expose_secret(),
            &[b"auth-service derived secret", purpose.as_bytes()],
        )
    }

    /// The key that signs new tokens.
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.current
    }

    /// Current and unexpired previous verifying keys.
    #[must_use]
    pub fn key_set(&self) -> KeySet {
        let now = Utc::now();
        let mut set = KeySet::new();
        set.insert(self.current.verifying_key());
        for p in self.previous.iter().filter(|p| p.expires_at > now) {
            set.insert(p.key.clone());
        }
        set
    }

    /// The public JWKS document (empty `keys` for HS512).
    #[must_use]
    pub fn jwks(&self) -> serde_json::Value {
        self.key_set().to_jwks()
    }

    /// Retires the current key (kept verifiable for `keep_for`, which should exceed the
    /// access-token TTL plus the verifiers' leeway) and writes a new one. For a
    /// `keys rotate` command; running services pick the change up at their next start.
    ///
    /// # Errors
    /// HS512 (rotate `JWT_SECRET` instead), or an I/O or key failure.
    pub fn rotate(settings: &Settings, keep_for: Duration) -> anyhow::Result<Self> {
        let alg = settings.jwt_algorithm;
        anyhow::ensure!(
            alg != Algorithm::HS512,
            "HS512 keys are rotated by changing JWT_SECRET"
        );
        let old = Self::load(settings)?;
        let now = Utc::now();
        let mut entries: Vec<PreviousEntry> = old
            .previous
            .iter()
            .filter(|p| p.expires_at > now)
            .filter_map(|p| {
                p.key.to_jwk().map(|jwk| PreviousEntry {
                    expires_at: p.expires_at,
                    jwk,
                })
            })
            .collect();
        let jwk = old
            .current
            .verifying_key()
            .to_jwk()
            .context("the current key has no public JWK")?;
        entries.push(PreviousEntry {
            expires_at: now
                + chrono::Duration::from_std(keep_for).unwrap_or(chrono::Duration::days(1)),
            jwk,
        });
        let json = serde_json::to_vec_pretty(&PreviousFile { keys: entries })?;
        write_private_file(&previous_keys_path(settings), &json)?;
        let key =
            SigningKey::generate(alg).map_err(|e| anyhow::anyhow!("generating a key: {e}"))?;
        let pem = key
            .to_pkcs8_pem()
            .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
        write_private_file(&settings.jwt_private_key_file, pem.as_bytes())?;
        Self::load(settings)
    }
}

fn seed_of(material: &[u8]) -> SecretSlice<u8> {
    use sha2::Digest as _;
    SecretSlice::from(sha2::Sha256::digest(material).to_vec())
}

fn is_default_key_path(settings: &Settings) -> bool {
    settings.jwt_private_key_file == settings.data_dir.join("jwt-signing-key.pem")
}

fn load_previous(path: &Path, alg: Algorithm) -> anyhow::Result<Vec<PreviousKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let file: PreviousFile =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let now = Utc::now();
    Ok(file
        .keys
        .into_iter()
        .filter(|e| e.expires_at > now)
        .filter_map(|e| {
            VerifyingKey::from_jwk(&e.jwk).ok().map(|key| PreviousKey {
                key,
                expires_at: e.expires_at,
            })
        })
        .filter(|p| p.key.algorithm() == alg)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path) -> Settings {
        let mut s = Settings::from_lookup(|_| None).unwrap();
        s.data_dir = dir.to_path_buf();
        s.jwt_private_key_file = dir.join("jwt-signing-key.pem");
        s
    }

    #[test]
    fn development_key_is_generated_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let first = KeyStore::load(&s).unwrap();
        let second = KeyStore::load(&s).unwrap();
        assert_eq!(first.signing_key().kid(), second.signing_key().kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&s.jwt_private_key_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn derived_secrets_are_stable_per_key_and_differ_by_purpose_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let a = KeyStore::load(&s).unwrap();
        let b = KeyStore::load(&s).unwrap();
        assert_eq!(a.derive_secret("session"), b.derive_secret("session"));
        assert_ne!(a.derive_secret("session"), a.derive_secret("other"));
        let rotated = KeyStore::rotate(&s, Duration::from_secs(60)).unwrap();
        assert_ne!(a.derive_secret("session"), rotated.derive_secret("session"));
    }

    #[test]
    fn a_configured_key_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(dir.path());
        s.jwt_private_key_file = dir.path().join("elsewhere.pem");
        assert!(KeyStore::load(&s).is_err());
    }

    #[test]
    fn rotation_keeps_the_previous_key_in_the_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let old = KeyStore::load(&s).unwrap();
        let new = KeyStore::rotate(&s, Duration::from_secs(600)).unwrap();
        assert_ne!(old.signing_key().kid(), new.signing_key().kid());
        let set = new.key_set();
        assert!(set.get(old.signing_key().kid()).is_some());
        assert!(set.get(new.signing_key().kid()).is_some());
        assert_eq!(new.jwks()["keys"].as_array().unwrap().len(), 2);
    }
}
