//! A software authenticator for the passkey tests: a real P-256 key making real WebAuthn
//! answers (attestation "none", ES256 assertions signed over `authenticatorData ||
//! SHA-256(clientDataJSON)`), the way a browser with a platform authenticator does —
//! with knobs to answer for another origin, RP ID or user handle, and to go back in
//! its signature counter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// `PUBLIC_URL`'s origin in the tests (the default settings).
pub const ORIGIN: &str = "http://localhost:8000";
/// Its RP ID.
pub const RP_ID: &str = "localhost";

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url")
}

/// CBOR major type `major` with length/value `n`.
fn cbor_head(major: u8, n: usize) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | u8::try_from(n).unwrap()],
        24..=255 => vec![m | 24, u8::try_from(n).unwrap()],
        _ => {
            let n = u16::try_from(n).unwrap().to_be_bytes();
            vec![m | 25, n[0], n[1]]
        }
    }
}

fn cbor_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = cbor_head(2, data.len());
    out.extend_from_slice(data);
    out
}

fn cbor_text(s: &str) -> Vec<u8> {
    let mut out = cbor_head(3, s.len());
    out.extend_from_slice(s.as_bytes());
    out
}

/// What an answer claims, each overridable.
#[derive(Debug, Clone)]
pub struct Claims {
    pub origin: String,
    pub rp_id: String,
    /// `None`: the registered user's handle.
    pub user_handle: Option<Vec<u8>>,
    /// `None`: one more than the last answer's.
    pub counter: Option<u32>,
    /// User verified (the UV flag).
    pub verified: bool,
}

impl Default for Claims {
    fn default() -> Self {
        Self {
            origin: ORIGIN.to_owned(),
            rp_id: RP_ID.to_owned(),
            user_handle: None,
            counter: None,
            verified: true,
        }
    }
}

/// One discoverable credential on a software authenticator.
pub struct SoftKey {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub counter: u32,
}

impl SoftKey {
    pub fn new() -> Self {
        let mut id = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
        Self {
            key: SigningKey::random(&mut rand_core::OsRng),
            credential_id: id.to_vec(),
            user_handle: Vec::new(),
            counter: 0,
        }
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = VerifyingKey::from(&self.key).to_encoded_point(false);
        let mut out = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        out.extend(cbor_bytes(point.x().unwrap()));
        out.push(0x22);
        out.extend(cbor_bytes(point.y().unwrap()));
        out
    }

    fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .expect("a challenge");
        json!({
            "type": kind,
            "challenge": b64(&unb64(challenge)),
            "origin": origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn flags(verified: bool) -> u8 {
        // UP, and UV when verified.
        if verified { 0x05 } else { 0x01 }
    }

    /// The answer to `navigator.credentials.create(options)`.
    pub fn register(&mut self, options: &Value, claims: &Claims) -> Value {
        self.user_handle = unb64(
            options["publicKey"]["user"]["id"]
                .as_str()
                .expect("user.id"),
        );
        let client_data = Self::client_data("webauthn.create", options, &claims.origin);
        let mut auth_data = Sha256::digest(claims.rp_id.as_bytes()).to_vec();
        auth_data.push(Self::flags(claims.verified) | 0x40); // AT: attested credential data
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(
            &u16::try_from(self.credential_id.len())
                .unwrap()
                .to_be_bytes(),
        );
        auth_data.extend_from_slice(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xa3];
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.push(0xa0);
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
            "extensions": {},
        })
    }

    /// The answer to `navigator.credentials.get(options)`.
    pub fn assert(&mut self, options: &Value, claims: &Claims) -> Value {
        let counter = claims.counter.unwrap_or(self.counter + 1);
        self.counter = counter.max(self.counter);
        let client_data = Self::client_data("webauthn.get", options, &claims.origin);
        let mut auth_data = Sha256::digest(claims.rp_id.as_bytes()).to_vec();
        auth_data.push(Self::flags(claims.verified));
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let handle = claims
            .user_handle
            .clone()
            .unwrap_or_else(|| self.user_handle.clone());
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.to_der().as_bytes()),
                "userHandle": b64(&handle),
            },
            "extensions": {},
        })
    }
}
