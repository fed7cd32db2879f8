//! Request ids (`X-Request-Id`): the one a request brought, else a new random UUID
//! ([`FastUuid`]), and [`current_request_id`] for error pages inside the request.

use http::HeaderValue;
use rand::RngCore as _;
use tower_http::request_id::{MakeRequestId, RequestId};

tokio::task_local! {
    pub(crate) static REQUEST_ID: String;
}

/// The id of the request being handled (`X-Request-Id`), when called inside one.
#[must_use]
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The request's `X-Request-Id` (set by the stack before anything reads it), or `-`.
pub(crate) fn request_id_of<B>(req: &http::Request<B>) -> &str {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

/// Makes a UUID v4 from the thread's cryptographically secure generator (`rand`'s
/// `ThreadRng`: ChaCha12 seeded, and reseeded every 64 KiB, from the operating system), so a
/// request costs no system call, unlike `Uuid::new_v4()`. As unguessable and as unique as a
/// v4 drawn from the system.
#[derive(Clone, Copy, Debug, Default)]
pub struct FastUuid;

impl FastUuid {
    /// A new id, hyphenated lowercase (36 characters).
    #[must_use]
    pub fn new_id() -> HeaderValue {
        let mut bytes = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut bytes);
        let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid.hyphenated().encode_lower(&mut text);
        // A hyphenated UUID is ASCII hex digits and hyphens: always a header value.
        HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("-"))
    }
}

impl MakeRequestId for FastUuid {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        Some(RequestId::new(Self::new_id()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_distinct_v4_uuids() {
        let ids: HashSet<String> = (0..1000)
            .map(|_| FastUuid::new_id().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(10) {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id.len(), 36, "{id}");
        }
    }
}
