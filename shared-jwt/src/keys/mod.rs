//! Signing and verifying keys: EdDSA (Ed25519, the default), ES256 (P-256) and HS512.
//!
//! Every key carries exactly one [`Algorithm`] and a `kid`: the RFC 7638 JWK thumbprint for
//! public keys, and for HS512 a non-reversible id derived from the secret (a truncated SHA-256
//! of the domain-separated secret), so that the `kid` never leaks the secret.

mod set;
mod verifying;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256, Sha512};

pub use set::KeySet;
pub use verifying::VerifyingKey;

/// The minimum HS512 secret length in bytes (the hash's block-size half; RFC 7518 §3.2 asks
/// for at least the output size, 64 bytes for SHA-512).
pub const MIN_HS512_SECRET_LEN: usize = 64;

/// The signature algorithms this crate speaks. The verifier pins one by configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// Ed25519 signatures (RFC 8037). The default.
    #[default]
    EdDSA,
    /// ECDSA on P-256 with SHA-256 (RFC 7518 §3.4).
    ES256,
    /// HMAC with SHA-512 and a shared secret of at least 64 bytes.
    HS512,
}

impl Algorithm {
    /// The JOSE name: `"EdDSA"`, `"ES256"` or `"HS512"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::ES256 => "ES256",
            Algorithm::HS512 => "HS512",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    /// Parses exactly `EdDSA`, `ES256` or `HS512` (case-sensitive, as in a JWS header).
    ///
    /// # Errors
    /// [`KeyError::UnsupportedAlgorithm`] for anything else, `none` included.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "EdDSA" => Ok(Algorithm::EdDSA),
            "ES256" => Ok(Algorithm::ES256),
            "HS512" => Ok(Algorithm::HS512),
            _ => Err(KeyError::UnsupportedAlgorithm),
        }
    }
}

/// Why a key could not be created, loaded, exported or fetched.
///
/// Messages never contain key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The algorithm name is not one of `EdDSA`, `ES256`, `HS512`.
    #[error("unsupported algorithm (expected EdDSA, ES256 or HS512)")]
    UnsupportedAlgorithm,
    /// The HS512 secret is shorter than 64 bytes.
    #[error("the HS512 secret must be at least {MIN_HS512_SECRET_LEN} bytes long")]
    SecretTooShort,
    /// The operation makes no sense for this algorithm (e.g. generating or exporting HS512).
    #[error("operation not available for {0}")]
    NotAvailable(Algorithm),
    /// A PEM document could not be parsed as a key of the requested algorithm.
    #[error("invalid {0} key: {1}")]
    InvalidPem(Algorithm, &'static str),
    /// A JWK or JWKS document was unusable.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),
    /// No key of the configured algorithm is available.
    #[error("no usable {0} verifying key")]
    NoUsableKey(Algorithm),
    /// Fetching the JWKS failed.
    #[error("JWKS fetch from {url} failed: {reason}")]
    Fetch {
        /// The JWKS URL (configuration, not a secret).
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// Private key material.
#[derive(Clone)]
enum SigningMaterial {
    Ed25519(ed25519_dalek::SigningKey),
    Es256(p256::ecdsa::SigningKey),
    Hs512(Arc<SecretSlice<u8>>),
}

/// A private signing key with its `kid` and its single algorithm.
///
/// `Debug` prints the kid and algorithm only.
#[derive(Clone)]
pub struct SigningKey {
    material: SigningMaterial,
    kid: String,
    algorithm: Algorithm,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a fresh key with the operating system's randomness (pure Rust).
    ///
    /// # Errors
    /// [`KeyError::NotAvailable`] for HS512: a shared secret is configured, not generated.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        let mut rng = rand_core::OsRng;
        let material = match alg {
            Algorithm::EdDSA => {
                SigningMaterial::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng))
            }
            Algorithm::ES256 => SigningMaterial::Es256(p256::ecdsa::SigningKey::random(&mut rng)),
            Algorithm::HS512 => return Err(KeyError::NotAvailable(alg)),
        };
        Ok(Self::from_material(material))
    }

    /// Loads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`, v1 or v2).
    ///
    /// # Errors
    /// [`KeyError::InvalidPem`] when the document is not a key of `alg`;
    /// [`KeyError::NotAvailable`] for HS512.
    pub fn from_pkcs8_pem(pem: &str, alg: Algorithm) -> Result<Self, KeyError> {
        let material = match alg {
            Algorithm::EdDSA => SigningMaterial::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                    .map_err(|_| KeyError::InvalidPem(alg, "not a PKCS#8 Ed25519 private key"))?,
            ),
            Algorithm::ES256 => SigningMaterial::Es256(
                p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
                    .map_err(|_| KeyError::InvalidPem(alg, "not a PKCS#8 P-256 private key"))?,
            ),
            Algorithm::HS512 => return Err(KeyError::NotAvailable(alg)),
        };
        Ok(Self::from_material(material))
    }

    /// Wraps a shared HS512 secret.
    ///
    /// # Errors
    /// [`KeyError::SecretTooShort`] when `secret` has fewer than 64 bytes.
    pub fn from_hs512_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HS512_SECRET_LEN {
            return Err(KeyError::SecretTooShort);
        }
        Ok(Self::from_material(SigningMaterial::Hs512(Arc::new(
            SecretSlice::from(secret.to_vec()),
        ))))
    }

    /// Exports the private key as PKCS#8 v1 PEM (`-----BEGIN PRIVATE KEY-----`, what
    /// `openssl genpkey` writes and OpenSSL 3 and Python's `cryptography` read). For Ed25519
    /// the public key is deliberately left out: the v2 form with it (ed25519-dalek's default)
    /// is refused by OpenSSL 3.0 ("unsupported").
    ///
    /// # Errors
    /// [`KeyError::NotAvailable`] for HS512; [`KeyError::InvalidPem`] if encoding fails.
    pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
        let le = p256::pkcs8::LineEnding::LF;
        let pem = match &self.material {
            SigningMaterial::Ed25519(k) => ed25519_dalek::pkcs8::KeypairBytes {
                secret_key: k.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(le)
            .map_err(|_| KeyError::InvalidPem(self.algorithm, "cannot encode"))?,
            SigningMaterial::Es256(k) => {
                use p256::pkcs8::EncodePrivateKey as _;
                k.to_pkcs8_pem(le)
                    .map_err(|_| KeyError::InvalidPem(self.algorithm, "cannot encode"))?
            }
            SigningMaterial::Hs512(_) => return Err(KeyError::NotAvailable(self.algorithm)),
        };
        Ok(pem.to_string())
    }

    /// The key id put in the `kid` header of every token this key signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's only algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The matching verifying key (for HS512: the same secret, never published in a JWKS).
    pub fn verifying_key(&self) -> VerifyingKey {
        match &self.material {
            SigningMaterial::Ed25519(k) => VerifyingKey::ed25519(k.verifying_key(), None),
            SigningMaterial::Es256(k) => VerifyingKey::es256(*k.verifying_key(), None),
            SigningMaterial::Hs512(secret) => VerifyingKey::hs512(secret.clone()),
        }
    }

    /// Signs the JWS signing input (`base64url(header).base64url(payload)`).
    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.material {
            SigningMaterial::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(message).to_bytes().to_vec()
            }
            SigningMaterial::Es256(k) => {
                use p256::ecdsa::signature::Signer as _;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            SigningMaterial::Hs512(secret) => {
                let mut mac = hmac_sha512(secret.expose_secret());
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn from_material(material: SigningMaterial) -> Self {
        let (kid, algorithm) = match &material {
            SigningMaterial::Ed25519(k) => (
                VerifyingKey::ed25519(k.verifying_key(), None)
                    .kid()
                    .to_owned(),
                Algorithm::EdDSA,
            ),
            SigningMaterial::Es256(k) => (
                VerifyingKey::es256(*k.verifying_key(), None)
                    .kid()
                    .to_owned(),
                Algorithm::ES256,
            ),
            SigningMaterial::Hs512(secret) => (hs512_kid(secret.expose_secret()), Algorithm::HS512),
        };
        Self {
            material,
            kid,
            algorithm,
        }
    }
}

/// A keyed HMAC-SHA512. HMAC accepts keys of any length, so this cannot fail.
pub(crate) fn hmac_sha512(secret: &[u8]) -> Hmac<Sha512> {
    #[allow(clippy::expect_used)]
    // `new_from_slice` only fails for fixed-key-size MACs; HMAC takes any key length.
    Hmac::<Sha512>::new_from_slice(secret).expect("HMAC accepts any key length")
}

/// `hs512-` + base64url(SHA-256("shared-jwt hs512 kid v1\0" || secret))[..16 bytes]: stable for
/// one secret, distinct between secrets, and useless for recovering the secret.
pub(crate) fn hs512_kid(secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"shared-jwt hs512 kid v1\0");
    h.update(secret);
    let digest = h.finalize();
    format!("hs512-{}", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_exactly() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS512] {
            assert_eq!(alg.to_string().parse::<Algorithm>().unwrap(), alg);
        }
        for bad in ["none", "eddsa", "HS256", "RS256", ""] {
            assert!(bad.parse::<Algorithm>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pem_round_trip_keeps_the_kid() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = SigningKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem().unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            let again = SigningKey::from_pkcs8_pem(&pem, alg).unwrap();
            assert_eq!(again.kid(), key.kid());
            assert_eq!(again.algorithm(), alg);
            assert_eq!(key.verifying_key().kid(), key.kid());
        }
    }

    #[test]
    fn private_keys_are_written_as_pkcs8_v1_and_public_keys_as_spki() {
        use base64::engine::general_purpose::STANDARD;
        let der = |pem: &str| {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            STANDARD.decode(body).unwrap()
        };
        let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let pem = ed.to_pkcs8_pem().unwrap();
        // v1 (RFC 8410): SEQUENCE { version 0, AlgorithmIdentifier, OCTET STRING } = 48 bytes;
        // the v2 form with the public key (what OpenSSL 3.0 refuses) is 83.
        let bytes = der(&pem);
        assert_eq!(bytes.len(), 48);
        assert_eq!(&bytes[2..5], &[0x02, 0x01, 0x00], "version 0 (v1)");
        for key in [ed, SigningKey::generate(Algorithm::ES256).unwrap()] {
            let public = key.verifying_key().to_public_pem().unwrap();
            assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
            let back = VerifyingKey::from_public_pem(&public, key.algorithm()).unwrap();
            assert_eq!(back.kid(), key.kid());
        }
        let hs = SigningKey::from_hs512_secret(&[b'k'; 64]).unwrap();
        assert!(hs.verifying_key().to_public_pem().is_none());
    }

    #[test]
    fn pem_of_the_other_algorithm_is_refused() {
        let ed = SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .to_pkcs8_pem()
            .unwrap();
        let ec = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .to_pkcs8_pem()
            .unwrap();
        assert!(SigningKey::from_pkcs8_pem(&ed, Algorithm::ES256).is_err());
        assert!(SigningKey::from_pkcs8_pem(&ec, Algorithm::EdDSA).is_err());
        assert!(SigningKey::from_pkcs8_pem("garbage", Algorithm::EdDSA).is_err());
        assert!(SigningKey::from_pkcs8_pem(&ed, Algorithm::HS512).is_err());
    }

    #[test]
    fn hs512_needs_64_bytes_and_its_kid_hides_the_secret() {
        assert!(matches!(
            SigningKey::from_hs512_secret(&[7u8; 63]),
            Err(KeyError::SecretTooShort)
        ));
        let secret = [b'k'; 64];
        let key = SigningKey::from_hs512_secret(&secret).unwrap();
        assert_eq!(key.algorithm(), Algorithm::HS512);
        assert!(key.kid().starts_with("hs512-"));
        assert!(!key.kid().contains("kkkk"));
        assert_ne!(
            key.kid(),
            SigningKey::from_hs512_secret(&[b'j'; 64]).unwrap().kid()
        );
        assert!(!format!("{key:?}").contains("kkkk"));
        assert!(key.to_pkcs8_pem().is_err());
        assert!(SigningKey::generate(Algorithm::HS512).is_err());
        assert!(key.verifying_key().to_jwk().is_none());
    }
}
