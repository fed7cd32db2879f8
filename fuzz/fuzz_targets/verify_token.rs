//! shared-jwt's `Verifier::verify` on arbitrary input, three ways: the bytes as a token; three
//! arbitrary parts base64url-encoded and joined by dots (reaching the header and claims JSON
//! parsers); and an arbitrary claims payload under a valid header and a valid HS512
//! signature (reaching every claim check). It must never panic, and whatever it accepts
//! carries the configured issuer, audience and token type.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac as _};
use libfuzzer_sys::fuzz_target;
use sha2::Sha512;
use shared_jwt::{Algorithm, KeySet, SigningKey, Verifier, VerifierConfig};

const SECRET: &[u8] = b"fuzzing-secret-fuzzing-secret-fuzzing-secret-fuzzing-secret-0123";
const ISSUER: &str = "https://auth.example.test";
const AUDIENCE: &str = "example.test";

static KEY: LazyLock<SigningKey> =
    LazyLock::new(|| SigningKey::from_hs512_secret(SECRET).expect("a 64-byte secret"));

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let mut keys = KeySet::new();
    keys.insert(KEY.verifying_key());
    let mut config = VerifierConfig::new(Algorithm::HS512, ISSUER, AUDIENCE);
    config.cache_capacity = 0;
    Verifier::new(config, keys).expect("an HS512 verifier")
});

fn signed(payload: &[u8]) -> String {
    let header = format!(r#"{{"alg":"HS512","typ":"JWT","kid":"{}"}}"#, KEY.kid());
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha512>::new_from_slice(SECRET).expect("HMAC takes any key");
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = match mode % 3 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => rest
            .splitn(3, |&b| b == 0xff)
            .map(|part| URL_SAFE_NO_PAD.encode(part))
            .collect::<Vec<_>>()
            .join("."),
        _ => signed(rest),
    };
    if let Ok(claims) = VERIFIER.verify(&token) {
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.token_type, shared_jwt::ACCESS_TOKEN_TYPE);
        assert_eq!(claims.sub, claims.user_id);
    }
});
