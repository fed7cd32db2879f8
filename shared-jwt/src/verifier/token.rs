//! Splitting a compact JWS and reading its protected header, before any key is touched.
//!
//! Everything here is cheap and strict: size and alphabet first (no allocation), then exactly
//! three non-empty parts, then a header whose members have the right JSON types and that names
//! no key of its own (`jwk`, `jku`, `x5u`, `x5c`, ...) and no critical extension.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::VerifyError;

/// Tokens longer than this are refused before any parsing (ours are well under 1 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The three parts of a compact JWS.
pub(crate) struct Parts<'a> {
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'a str,
    pub header: &'a str,
    pub payload: &'a str,
    pub signature: &'a str,
}

/// Size, alphabet and shape checks (no allocation).
pub(crate) fn split(token: &str) -> Result<Parts<'_>, VerifyError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(VerifyError::TooLarge);
    }
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        // Also catches the JSON serialisation (`{"payload": …}`), padding and whitespace.
        return Err(VerifyError::Malformed);
    }
    let mut it = token.splitn(3, '.');
    let (Some(header), Some(payload), Some(signature)) = (it.next(), it.next(), it.next()) else {
        return Err(VerifyError::Malformed);
    };
    if signature.contains('.') || header.is_empty() || payload.is_empty() {
        return Err(VerifyError::Malformed);
    }
    if signature.is_empty() {
        return Err(VerifyError::BadSignature);
    }
    Ok(Parts {
        signing_input: &token[..header.len() + 1 + payload.len()],
        header,
        payload,
        signature,
    })
}

/// The protected header. Members a verifier must never act on are captured only to refuse them.
#[derive(Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub typ: Option<String>,
    #[serde(default)]
    jwk: Option<IgnoredAny>,
    #[serde(default)]
    jku: Option<IgnoredAny>,
    #[serde(default)]
    x5u: Option<IgnoredAny>,
    #[serde(default)]
    x5c: Option<IgnoredAny>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
    #[serde(default)]
    b64: Option<IgnoredAny>,
    #[serde(default)]
    zip: Option<IgnoredAny>,
    #[serde(default)]
    enc: Option<IgnoredAny>,
}

impl Header {
    /// Decodes and checks the header part.
    pub fn parse(b64: &str) -> Result<Header, VerifyError> {
        let json = URL_SAFE_NO_PAD
            .decode(b64)
            .map_err(|_| VerifyError::Malformed)?;
        // serde_json refuses duplicate members of a struct, so `{"alg":"EdDSA","alg":"none"}`
        // cannot mean different things to different parsers.
        let header: Header = serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed)?;
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(VerifyError::ForbiddenHeader);
        }
        // `crit` names extensions we do not implement (RFC 7515 §4.1.11 says reject); `b64`
        // (RFC 7797), `zip` and `enc` (JWE) change what the bytes mean.
        if header.crit.is_some()
            || header.b64.is_some()
            || header.zip.is_some()
            || header.enc.is_some()
        {
            return Err(VerifyError::Malformed);
        }
        if let Some(typ) = &header.typ
            && !typ.eq_ignore_ascii_case("JWT")
        {
            return Err(VerifyError::Malformed);
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn split_refuses_bad_shapes() {
        assert!(matches!(split(""), Err(VerifyError::Malformed)));
        assert!(matches!(split("a.b"), Err(VerifyError::Malformed)));
        assert!(matches!(split("a.b.c.d"), Err(VerifyError::Malformed)));
        assert!(matches!(split(".b.c"), Err(VerifyError::Malformed)));
        assert!(matches!(split("a..c"), Err(VerifyError::Malformed)));
        assert!(matches!(split("a.b."), Err(VerifyError::BadSignature)));
        assert!(matches!(split("a.b.c="), Err(VerifyError::Malformed)));
        assert!(matches!(split("a.b+.c"), Err(VerifyError::Malformed)));
        assert!(matches!(
            split(&"a".repeat(MAX_TOKEN_BYTES + 1)),
            Err(VerifyError::TooLarge)
        ));
        let p = split("hh.pp.ss").unwrap();
        assert_eq!(
            (p.signing_input, p.header, p.payload, p.signature),
            ("hh.pp", "hh", "pp", "ss")
        );
    }

    #[test]
    fn header_refuses_injected_keys_and_extensions() {
        for h in [
            r#"{"alg":"EdDSA","kid":"k","jwk":{"kty":"OKP"}}"#,
            r#"{"alg":"EdDSA","kid":"k","jku":"https://evil.example/jwks"}"#,
            r#"{"alg":"EdDSA","kid":"k","x5u":"https://evil.example/c"}"#,
            r#"{"alg":"EdDSA","kid":"k","x5c":["AAAA"]}"#,
        ] {
            assert!(
                matches!(Header::parse(&b64(h)), Err(VerifyError::ForbiddenHeader)),
                "{h}"
            );
        }
        for h in [
            r#"{"alg":"EdDSA","kid":"k","crit":["exp"]}"#,
            r#"{"alg":"EdDSA","kid":"k","b64":false}"#,
            r#"{"alg":"EdDSA","alg":"none","kid":"k"}"#,
            r#"{"alg":"EdDSA","kid":7}"#,
            r#"{"alg":"EdDSA","kid":"k","typ":"at+jwt+evil"}"#,
            r#"{"kid":"k"}"#,
            "not json",
        ] {
            assert!(
                matches!(Header::parse(&b64(h)), Err(VerifyError::Malformed)),
                "{h}"
            );
        }
        let ok = Header::parse(&b64(r#"{"alg":"EdDSA","kid":"k","typ":"JWT","x":1}"#)).unwrap();
        assert_eq!((ok.alg.as_str(), ok.kid.as_deref()), ("EdDSA", Some("k")));
    }
}
