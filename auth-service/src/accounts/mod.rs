//! The use cases of auth-service and every rule they hold, shared by both front ends
//! (the pages in [`crate::web`], the JSON API in [`crate::api`]) and the CLI:
//!
//! - [`access`]: is this access token still a signed-in user; mint one for a session;
//! - [`signin`]: password sign-in (throttle, dummy hash, one answer, audit), password
//!   re-checks, refresh rotation with its reuse audit;
//! - [`signout`]: end one sign-in, every sign-in, or one listed session;
//! - [`signup`]: the sign-up fields' rules and the enumeration-safe sign-up;
//! - [`profile`]: a user's own names and password;
//! - [`mfa`]: the second factor (authenticator app, recovery codes, the pending step);
//! - [`links`]: the single-use tokens mailed as links (reset, verification, invitation);
//! - [`recovery`]: password reset by e-mail; [`verification`]: address verification
//!   and address change by e-mail;
//! - [`admin`]: owners, admins and the operator administering users and tenants;
//! - [`invitations`]: inviting an address with a role, revoking, accepting;
//! - [`organization`]: a tenant's settings (name, sign-up policy, user limit);
//! - [`users`], [`tenants`], [`sessions`], [`throttle`]: the records and stores below them.
//!
//! Nothing here reads HTTP: handlers translate requests into these calls and their
//! outcomes into pages or JSON.

pub mod access;
pub mod admin;
pub mod audit_log;
pub mod invitations;
pub mod links;
pub mod mfa;
pub mod organization;
pub mod passkeys;
pub mod profile;
pub mod prune;
pub mod recovery;
pub mod sessions;
pub mod signin;
pub mod signout;
pub mod signup;
pub mod tenants;
pub mod throttle;
pub mod users;
pub mod verification;
