//! Why a token was refused: one public message for every reason, a stable kind for logs.

/// Why a token was refused. Every variant displays the same public message; use
/// [`VerifyError::kind`] for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("invalid or expired token")]
pub enum VerifyError {
    /// Not a compact JWS of base64url parts, or an unparsable header.
    Malformed,
    /// Longer than [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES).
    TooLarge,
    /// The header names a key this verifier does not have.
    UnknownKid,
    /// The header has no `kid`.
    MissingKid,
    /// The header's `alg` is not the configured algorithm (`none` included).
    AlgorithmMismatch,
    /// The header carries its own key or key URL (`jwk`, `jku`, `x5u`, `x5c`).
    ForbiddenHeader,
    /// The signature does not verify (or is empty or truncated).
    BadSignature,
    /// `exp` (plus leeway) has passed.
    Expired,
    /// `nbf` or `iat` is in the future (beyond leeway).
    NotYetValid,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` is not the configured audience.
    WrongAudience,
    /// `token_type` is not `"access"`.
    WrongTokenType,
    /// `sub` and `user_id` differ.
    SubjectMismatch,
    /// A required claim is missing or has the wrong JSON type.
    InvalidClaims,
}

impl VerifyError {
    /// A short stable name for logs and metrics, e.g. `"expired"`.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Malformed => "malformed",
            VerifyError::TooLarge => "too_large",
            VerifyError::UnknownKid => "unknown_kid",
            VerifyError::MissingKid => "missing_kid",
            VerifyError::AlgorithmMismatch => "algorithm_mismatch",
            VerifyError::ForbiddenHeader => "forbidden_header",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Expired => "expired",
            VerifyError::NotYetValid => "not_yet_valid",
            VerifyError::WrongIssuer => "wrong_issuer",
            VerifyError::WrongAudience => "wrong_audience",
            VerifyError::WrongTokenType => "wrong_token_type",
            VerifyError::SubjectMismatch => "subject_mismatch",
            VerifyError::InvalidClaims => "invalid_claims",
        }
    }
}
