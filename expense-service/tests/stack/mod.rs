//! Both services together, as users and operators meet them: a real browser across
//! subdomains, and real nginx in front (test-support's two-service stack).
//! These run on SQLite: what they prove is the cookie flow across hosts and the proxy
//! configuration; each service's PostgreSQL behaviour is covered by its own tests.

mod browser;
mod journey_invite;
mod journey_passkey;
mod journey_reset;
mod nginx;

use test_support::stack::{HOME_TENANT, Ports, Stack, StackOptions};

/// The demo tenant (`auth-service demo`), whose host is expense-service's public URL.
pub const TENANT: &str = HOME_TENANT;

/// Both services with `TENANT_FROM_HOST`, the demo organization seeded as `auth-service demo`
/// does; returns the stack and the owner's e-mail and password as that command prints them.
/// `auth_env` overrides auth-service settings (e.g. the access token lifetime).
pub async fn demo_stack(
    ports: Option<Ports>,
    auth_env: &[(&str, &str)],
) -> (Stack, (String, String)) {
    let stack = Stack::start_with(StackOptions {
        tenant_from_host: true,
        ports,
        auth_env,
        ..StackOptions::default()
    })
    .await;
    let owner = stack.seed_demo().await;
    (stack, owner)
}
