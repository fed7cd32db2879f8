//! The key-encryption key (`KEY_ENCRYPTION_KEY`): 32 bytes that encrypt the private signing
//! keys at rest with XChaCha20-Poly1305 (a fresh random 24-byte nonce per encryption, the
//! kid as associated data, so a ciphertext cannot be moved to another row).
//!
//! Where it comes from: `KEY_ENCRYPTION_KEY` (base64, standard or URL-safe alphabet); on the
//! embedded default (SQLite) without it, `{DATA_DIR}/key-encryption-key` (mode 0600),
//! generated on first start so `./scripts/dev` needs nothing; on PostgreSQL it is required.
//! It is never printed or logged.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};

use crate::config::Settings;

/// What a missing `KEY_ENCRYPTION_KEY` on PostgreSQL is told.
pub const REQUIRED: &str = "required with PostgreSQL (the signing keys in the database are encrypted with it): 32 random bytes in base64, e.g. `openssl rand -base64 32`, the same on every replica";

/// The generated development key's file name under `DATA_DIR`.
pub const FILE_NAME: &str = "key-encryption-key";

const NONCE_LEN: usize = 24;

/// Decodes a `KEY_ENCRYPTION_KEY` value: exactly 32 bytes in base64.
///
/// # Errors
/// A message for the setting's error line (never containing the value).
pub fn decode(value: &SecretString) -> Result<SecretSlice<u8>, String> {
    let text = value.expose_secret().trim();
    let bytes = STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| "expected 32 bytes in base64 (e.g. `openssl rand -base64 32`)".to_owned())?;
    if bytes.len() != 32 {
        return Err(format!(
            "expected 32 bytes in base64, got {} bytes (e.g. `openssl rand -base64 32`)",
            bytes.len()
        ));
    }
    Ok(SecretSlice::from(bytes))
}

/// The key-encryption key.
pub struct Kek {
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

/// The development key's path.
#[must_use]
pub fn dev_path(settings: &Settings) -> PathBuf {
    settings.data_dir.join(FILE_NAME)
}

impl Kek {
    /// From raw bytes (tests).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self {
            key: SecretSlice::from(bytes.to_vec()),
        }
    }

    /// `KEY_ENCRYPTION_KEY`, else (SQLite only) the development file, generated if missing.
    ///
    /// # Errors
    /// A malformed value, a missing one on PostgreSQL (the settings' one-line message), or an
    /// unreadable / unwritable development file.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        if let Some(value) = &settings.key_encryption_key {
            let key = decode(value)
                .map_err(|why| crate::config::ConfigError::new("KEY_ENCRYPTION_KEY", why))?;
            return Ok(Self { key });
        }
        if !settings.database_url.expose_secret().starts_with("sqlite:") {
            return Err(crate::config::ConfigError::new("KEY_ENCRYPTION_KEY", REQUIRED).into());
        }
        Self::development(&dev_path(settings))
    }

    fn development(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let key = decode(&SecretString::from(text))
                    .map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))?;
                Ok(Self { key })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                crate::infra::crypto::fill_random(&mut bytes);
                let mut text = STANDARD.encode(bytes);
                text.push('\n');
                super::write_private_file(path, text.as_bytes()).with_context(|| {
                    format!(
                        "writing the development key-encryption key {}",
                        path.display()
                    )
                })?;
                tracing::info!(path = %path.display(), "generated a development key-encryption key (set KEY_ENCRYPTION_KEY in production)");
                Ok(Self::from_bytes(bytes))
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        // `decode` guarantees 32 bytes, the only length `new_from_slice` checks for.
        #[allow(clippy::expect_used)]
        XChaCha20Poly1305::new_from_slice(self.key.expose_secret()).expect("a 32-byte key")
    }

    /// `nonce || ciphertext` of `plaintext`, bound to `kid`.
    ///
    /// # Errors
    /// Never in practice (the AEAD fails only on absurd lengths).
    pub fn encrypt(&self, kid: &str, plaintext: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::infra::crypto::fill_random(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encrypting the key {kid} failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The plaintext of [`Kek::encrypt`]'s output for `kid`.
    ///
    /// # Errors
    /// Another key-encryption key, another kid, or a damaged ciphertext.
    pub fn decrypt(&self, kid: &str, blob: &[u8]) -> anyhow::Result<SecretSlice<u8>> {
        let fail = || {
            anyhow::anyhow!(
                "the signing key {kid} cannot be decrypted: KEY_ENCRYPTION_KEY is not the one it was stored with"
            )
        };
        if blob.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        self.cipher()
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: kid.as_bytes(),
                },
            )
            .map(SecretSlice::from)
            .map_err(|_| fail())
    }

    /// A 32-byte secret for `purpose` derived with HMAC-SHA256 (the session secret when
    /// `SESSION_SECRET` is unset): the same on every replica, stable across key rotations,
    /// and revealing nothing about the key-encryption key.
    #[must_use]
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        crate::infra::crypto::hmac_sha256(
            self.key.expose_secret(),
            &[b"auth-service derived secret", purpose.as_bytes()],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_must_be_32_bytes_of_base64() {
        let ok = STANDARD.encode([7u8; 32]);
        assert!(decode(&SecretString::from(ok)).is_ok());
        assert!(decode(&SecretString::from(URL_SAFE_NO_PAD.encode([7u8; 32]))).is_ok());
        let short = decode(&SecretString::from(STANDARD.encode([7u8; 16]))).unwrap_err();
        assert!(short.contains("got 16 bytes"), "{short}");
        assert!(decode(&SecretString::from("not base64 at all!")).is_err());
    }

    #[test]
    fn ciphertexts_are_bound_to_the_key_and_the_kid() {
        let kek = Kek::from_bytes([1u8; 32]);
        let a = kek.encrypt("kid-a", b"secret pem").unwrap();
        let b = kek.encrypt("kid-a", b"secret pem").unwrap();
        assert_ne!(a, b, "fresh nonce each time");
        assert_eq!(
            kek.decrypt("kid-a", &a).unwrap().expose_secret(),
            b"secret pem"
        );
        assert!(kek.decrypt("kid-b", &a).is_err(), "moved to another row");
        assert!(Kek::from_bytes([2u8; 32]).decrypt("kid-a", &a).is_err());
        let mut damaged = a.clone();
        *damaged.last_mut().unwrap() ^= 1;
        assert!(kek.decrypt("kid-a", &damaged).is_err());
        assert!(format!("{kek:?}") == "Kek(..)");
    }

    #[test]
    fn the_development_key_is_generated_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(FILE_NAME);
        let first = Kek::development(&path).unwrap();
        let second = Kek::development(&path).unwrap();
        assert_eq!(first.derive_secret("x"), second.derive_secret("x"));
        assert_ne!(first.derive_secret("x"), first.derive_secret("y"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
