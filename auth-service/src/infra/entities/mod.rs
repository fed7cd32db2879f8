//! SeaORM entities of auth-service (one module per table). Queries live beside the
//! domain code that uses them and take `&impl ConnectionTrait` so they run in transactions.

pub mod auth_event;
pub mod link_token;
pub mod mail_outbox;
pub mod mfa_challenge;
pub mod passkey;
pub mod passkey_challenge;
pub mod recovery_code;
pub mod refresh_family;
pub mod refresh_token;
pub mod signing_key;
pub mod tenant;
pub mod throttle_slot;
pub mod user;
pub mod user_totp;
