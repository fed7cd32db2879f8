//! Public (or, for HS512, shared) verifying keys and their JWK form (RFC 7517, RFC 8037).

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::DecodePublicKey;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

use super::{Algorithm, KeyError, hmac_sha512, hs512_kid};

/// The longest `kid` accepted from a JWK: ids are short; a huge one is an attack or a bug.
const MAX_KID_LEN: usize = 128;

enum Material {
    Ed25519 {
        key: ed25519_dalek::VerifyingKey,
        /// aws-lc (through jsonwebtoken) verifies Ed25519 faster than dalek; see the README.
        decoding: jsonwebtoken::DecodingKey,
    },
    Es256 {
        key: p256::ecdsa::VerifyingKey,
        decoding: jsonwebtoken::DecodingKey,
    },
    Hs512 {
        secret: Arc<SecretSlice<u8>>,
        /// Pre-keyed: cloning skips hashing the key on every verification.
        mac: Hmac<Sha512>,
    },
}

struct Inner {
    kid: String,
    algorithm: Algorithm,
    material: Material,
}

/// A key that checks signatures: an Ed25519 or P-256 public key, or an HS512 secret.
///
/// Cheap to clone. `Debug` prints the kid and algorithm only.
#[derive(Clone)]
pub struct VerifyingKey {
    inner: Arc<Inner>,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.inner.kid)
            .field("algorithm", &self.inner.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// The key id that tokens name in their `kid` header.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The key's only algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.inner.algorithm
    }

    /// Loads an SPKI public key PEM (`-----BEGIN PUBLIC KEY-----`), as in `JWT_PUBLIC_KEY_FILE`.
    /// The kid is the RFC 7638 thumbprint.
    ///
    /// # Errors
    /// [`KeyError::InvalidPem`] when the document is not a public key of `alg`;
    /// [`KeyError::NotAvailable`] for HS512 (a secret has no public form).
    pub fn from_public_pem(pem: &str, alg: Algorithm) -> Result<Self, KeyError> {
        match alg {
            Algorithm::EdDSA => ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
                .map(|k| Self::ed25519(k, None))
                .map_err(|_| KeyError::InvalidPem(alg, "not an SPKI Ed25519 public key")),
            Algorithm::ES256 => p256::ecdsa::VerifyingKey::from_public_key_pem(pem)
                .map(|k| Self::es256(k, None))
                .map_err(|_| KeyError::InvalidPem(alg, "not an SPKI P-256 public key")),
            Algorithm::HS512 => Err(KeyError::NotAvailable(alg)),
        }
    }

    /// The SPKI public key PEM (`-----BEGIN PUBLIC KEY-----`, what `openssl pkey -pubout`
    /// writes and [`VerifyingKey::from_public_pem`] reads); `None` for HS512.
    pub fn to_public_pem(&self) -> Option<String> {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let le = ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF;
        match &self.inner.material {
            Material::Ed25519 { key, .. } => key.to_public_key_pem(le).ok(),
            Material::Es256 { key, .. } => {
                use p256::pkcs8::EncodePublicKey as _;
                p256::PublicKey::from(key)
                    .to_public_key_pem(p256::pkcs8::LineEnding::LF)
                    .ok()
            }
            Material::Hs512 { .. } => None,
        }
    }

    /// The public JWK (`kty`, `crv`, `x`[, `y`], `kid`, `alg`, `use: "sig"`); `None` for HS512,
    /// whose secret is never published.
    pub fn to_jwk(&self) -> Option<Value> {
        let mut jwk = self.public_members()?;
        if let Some(map) = jwk.as_object_mut() {
            map.insert("kid".into(), Value::String(self.inner.kid.clone()));
            map.insert(
                "alg".into(),
                Value::String(self.inner.algorithm.as_str().into()),
            );
            map.insert("use".into(), Value::String("sig".into()));
        }
        Some(jwk)
    }

    /// The RFC 7638 thumbprint (base64url SHA-256 of the required members in lexicographic
    /// order); `None` for HS512.
    pub fn thumbprint(&self) -> Option<String> {
        self.public_members().map(|m| thumbprint_of(&m))
    }

    /// Reads a public JWK: `OKP`/`Ed25519` or `EC`/`P-256`. The JWK's `kid` is kept when present
    /// (tokens name it), else the thumbprint is used.
    ///
    /// # Errors
    /// [`KeyError::InvalidJwk`] for symmetric (`oct`) keys, private members (`d`), a `use` other
    /// than `sig`, an `alg` that does not match the key type, or malformed coordinates.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let bad = |why: &str| KeyError::InvalidJwk(why.to_owned());
        let obj = jwk.as_object().ok_or_else(|| bad("not a JSON object"))?;
        let text = |name: &str| obj.get(name).and_then(Value::as_str);
        if obj.contains_key("d") {
            return Err(bad("contains private key material"));
        }
        if let Some(u) = obj.get("use")
            && u.as_str() != Some("sig")
        {
            return Err(bad("use is not sig"));
        }
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_LEN => Some(k.clone()),
            Some(_) => return Err(bad("kid must be a short non-empty string")),
        };
        let alg = text("alg");
        let coordinate = |name: &str| -> Result<[u8; 32], KeyError> {
            let b64 = text(name).ok_or_else(|| bad("missing coordinate"))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(b64)
                .map_err(|_| bad("coordinate is not base64url"))?;
            <[u8; 32]>::try_from(bytes.as_slice())
                .map_err(|_| bad("coordinate has the wrong length"))
        };
        match (text("kty"), text("crv")) {
            (Some("OKP"), Some("Ed25519")) => {
                if !matches!(alg, None | Some("EdDSA") | Some("Ed25519")) {
                    return Err(bad("alg does not match an Ed25519 key"));
                }
                let key = ed25519_dalek::VerifyingKey::from_bytes(&coordinate("x")?)
                    .map_err(|_| bad("not an Ed25519 point"))?;
                Ok(Self::ed25519(key, kid))
            }
            (Some("EC"), Some("P-256")) => {
                if !matches!(alg, None | Some("ES256")) {
                    return Err(bad("alg does not match a P-256 key"));
                }
                let mut sec1 = [0u8; 65];
                sec1[0] = 0x04;
                sec1[1..33].copy_from_slice(&coordinate("x")?);
                sec1[33..].copy_from_slice(&coordinate("y")?);
                let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map_err(|_| bad("not a P-256 point"))?;
                Ok(Self::es256(key, kid))
            }
            (Some("oct"), _) => Err(bad("symmetric keys are never accepted from a JWK")),
            _ => Err(bad(
                "unsupported kty/crv (expected OKP/Ed25519 or EC/P-256)",
            )),
        }
    }

    pub(crate) fn ed25519(key: ed25519_dalek::VerifyingKey, kid: Option<String>) -> Self {
        let decoding = jsonwebtoken::DecodingKey::from_ed_der(key.as_bytes());
        Self::build(kid, Algorithm::EdDSA, Material::Ed25519 { key, decoding })
    }

    pub(crate) fn es256(key: p256::ecdsa::VerifyingKey, kid: Option<String>) -> Self {
        let point = key.to_encoded_point(false);
        let decoding = jsonwebtoken::DecodingKey::from_ec_der(point.as_bytes());
        Self::build(kid, Algorithm::ES256, Material::Es256 { key, decoding })
    }

    pub(crate) fn hs512(secret: Arc<SecretSlice<u8>>) -> Self {
        let kid = hs512_kid(secret.expose_secret());
        let mac = hmac_sha512(secret.expose_secret());
        Self {
            inner: Arc::new(Inner {
                kid,
                algorithm: Algorithm::HS512,
                material: Material::Hs512 { secret, mac },
            }),
        }
    }

    fn build(kid: Option<String>, algorithm: Algorithm, material: Material) -> Self {
        let mut key = Self {
            inner: Arc::new(Inner {
                kid: String::new(),
                algorithm,
                material,
            }),
        };
        let kid = kid.or_else(|| key.thumbprint()).unwrap_or_default();
        if let Some(inner) = Arc::get_mut(&mut key.inner) {
            inner.kid = kid;
        }
        key
    }

    /// The members RFC 7638 hashes, in lexicographic order.
    fn public_members(&self) -> Option<Value> {
        match &self.inner.material {
            Material::Ed25519 { key, .. } => Some(json!({
                "crv": "Ed25519", "kty": "OKP", "x": URL_SAFE_NO_PAD.encode(key.as_bytes()),
            })),
            Material::Es256 { key, .. } => {
                let point = key.to_encoded_point(false);
                let (x, y) = (point.x()?, point.y()?);
                Some(json!({
                    "crv": "P-256", "kty": "EC",
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                }))
            }
            Material::Hs512 { .. } => None,
        }
    }

    /// Checks `signature` (base64url, as in the token) over `message`. Constant time for HS512.
    pub(crate) fn verify_signature(&self, message: &[u8], signature_b64: &str) -> bool {
        match &self.inner.material {
            Material::Ed25519 { decoding, .. } => {
                // Ed25519 signatures are 64 bytes = 86 base64url characters.
                signature_b64.len() == 86
                    && jsonwebtoken::crypto::verify(
                        signature_b64,
                        message,
                        decoding,
                        jsonwebtoken::Algorithm::EdDSA,
                    )
                    .unwrap_or(false)
            }
            Material::Es256 { decoding, .. } => {
                // Fixed-size r||s (64 bytes); DER signatures are not JWS.
                signature_b64.len() == 86
                    && jsonwebtoken::crypto::verify(
                        signature_b64,
                        message,
                        decoding,
                        jsonwebtoken::Algorithm::ES256,
                    )
                    .unwrap_or(false)
            }
            Material::Hs512 { mac, .. } => {
                let Ok(signature) = URL_SAFE_NO_PAD.decode(signature_b64) else {
                    return false;
                };
                let mut mac = mac.clone();
                mac.update(message);
                signature.len() == 64 && mac.verify_slice(&signature).is_ok()
            }
        }
    }

    /// The Ed25519 public key, for callers that verify with ed25519-dalek directly (benches).
    pub fn ed25519_public_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        match &self.inner.material {
            Material::Ed25519 { key, .. } => Some(*key),
            _ => None,
        }
    }

    /// Whether two keys hold the same material (used to decide if a JWKS refresh removed keys).
    pub(crate) fn same_material(&self, other: &VerifyingKey) -> bool {
        match (&self.inner.material, &other.inner.material) {
            (Material::Ed25519 { key: a, .. }, Material::Ed25519 { key: b, .. }) => a == b,
            (Material::Es256 { key: a, .. }, Material::Es256 { key: b, .. }) => a == b,
            (Material::Hs512 { secret: a, .. }, Material::Hs512 { secret: b, .. }) => {
                use subtle::ConstantTimeEq as _;
                bool::from(a.expose_secret().ct_eq(b.expose_secret()))
            }
            _ => false,
        }
    }
}

fn thumbprint_of(members: &Value) -> String {
    // serde_json's map is ordered (BTreeMap) and `to_string` is compact: exactly RFC 7638's form.
    let canonical = members.to_string();
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    #[test]
    fn rfc8037_thumbprint_example() {
        // RFC 8037 appendix A.3.
        let jwk = json!({"crv":"Ed25519","kty":"OKP",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let key = VerifyingKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(key.thumbprint().unwrap(), key.kid());
    }

    #[test]
    fn jwk_round_trip_for_public_keys() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = SigningKey::generate(alg).unwrap().verifying_key();
            let jwk = key.to_jwk().unwrap();
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(jwk["use"], "sig");
            assert!(jwk.get("d").is_none());
            let back = VerifyingKey::from_jwk(&jwk).unwrap();
            assert_eq!(back.kid(), key.kid());
            assert_eq!(back.algorithm(), alg);
            assert!(back.same_material(&key));
        }
    }

    #[test]
    fn unusable_jwks_are_refused() {
        let ed = SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key();
        let good = ed.to_jwk().unwrap();
        let with = |k: &str, v: Value| {
            let mut j = good.clone();
            j[k] = v;
            j
        };
        for bad in [
            with("d", json!("AAAA")),
            with("use", json!("enc")),
            with("alg", json!("ES256")),
            with("alg", json!("none")),
            with("kid", json!(7)),
            with("kid", json!("")),
            with("x", json!("short")),
            with("crv", json!("Ed448")),
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!("not an object"),
        ] {
            assert!(VerifyingKey::from_jwk(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn public_pem_loads_with_the_thumbprint_kid() {
        use ed25519_dalek::pkcs8::EncodePublicKey as _;
        let signing = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let public = signing.verifying_key().ed25519_public_key().unwrap();
        let pem = public
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let key = VerifyingKey::from_public_pem(&pem, Algorithm::EdDSA).unwrap();
        assert_eq!(key.kid(), signing.kid());
        assert!(VerifyingKey::from_public_pem(&pem, Algorithm::ES256).is_err());
        assert!(VerifyingKey::from_public_pem(&pem, Algorithm::HS512).is_err());
    }
}
