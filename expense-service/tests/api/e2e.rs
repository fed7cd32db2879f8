//! Placeholder until auth-service can sign users in; see the report.
