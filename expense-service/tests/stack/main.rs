//! Both services together, as users and operators meet them: a real browser across
//! subdomains, and real nginx in front. One test binary (see `support` for the stack).
//! These run on SQLite: what they prove is the cookie flow across hosts and the proxy
//! configuration; each service's PostgreSQL behaviour is covered by its own suite.

mod browser;
mod nginx;
mod support;
