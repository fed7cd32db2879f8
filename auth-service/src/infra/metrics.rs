//! The auth-service's own Prometheus series (recorded with the `metrics` macros into
//! service-kit's recorder; `GET /metrics` renders them beside the request series).

use std::time::Duration;

/// Sign-in attempts by `outcome`: `success`, `failure`, `throttled`, `unverified` (right password, address not yet verified), `second_factor` (right password, a code is asked), `setup_required` (right password, the tenant requires a second factor), `error`.
pub const SIGN_INS: &str = "auth_sign_ins_total";
/// Requests refused by a limit, by `limit` (`sign_in_lock` for the account/address
/// throttle, else the rate limit: `sign_in`, `sign_up`, `refresh`, …).
pub const THROTTLED: &str = "auth_throttled_requests_total";
/// Password hashes waiting for an argon2 slot (gauge).
pub const HASH_QUEUE: &str = "auth_password_hash_queue_depth";
/// Time spent waiting for an argon2 slot (histogram, seconds), by `result`
/// (`acquired`, `busy`).
pub const HASH_WAIT: &str = "auth_password_hash_wait_seconds";
/// Refresh tokens rotated.
pub const REFRESH_ROTATIONS: &str = "auth_refresh_rotations_total";
/// Rotated refresh tokens replayed after the grace (their family revoked).
pub const REFRESH_REUSE: &str = "auth_refresh_reuse_detections_total";

/// Counts a sign-in attempt's outcome.
pub fn sign_in(outcome: &'static str) {
    metrics::counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// Counts a request refused by `limit`.
pub fn throttled(limit: &'static str) {
    metrics::counter!(THROTTLED, "limit" => limit).increment(1);
}

/// One more (`+1.0`) or one fewer (`-1.0`) hash waiting for a slot.
pub fn hash_queue(delta: f64) {
    metrics::gauge!(HASH_QUEUE).increment(delta);
}

/// Records how long a hash waited for its slot.
pub fn hash_wait(waited: Duration, acquired: bool) {
    let result = if acquired { "acquired" } else { "busy" };
    metrics::histogram!(HASH_WAIT, "result" => result).record(waited.as_secs_f64());
}

/// Counts a refresh rotation.
pub fn refresh_rotated() {
    metrics::counter!(REFRESH_ROTATIONS).increment(1);
}

/// Counts a detected refresh-token reuse.
pub fn refresh_reused() {
    metrics::counter!(REFRESH_REUSE).increment(1);
}
