//! Verify and issue SSO access tokens.
