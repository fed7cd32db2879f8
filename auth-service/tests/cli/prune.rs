//! `auth-service prune`, the real binary: runs every step and reports what it deleted.

use crate::cli::CliEnv;
use test_support::{Backend, db_tests};

db_tests!(prune_command_reports_per_table);

async fn prune_command_reports_per_table(b: Backend) {
    let env = CliEnv::new(b).await;
    let out = env.json(&["prune"], "");
    for field in [
        "refresh_tokens",
        "refresh_families",
        "throttle_slots",
        "link_tokens",
        "mail",
        "audit_events",
        "challenges",
    ] {
        assert_eq!(out[field], 0, "{field}: {out}");
    }
    assert!(
        env.ok(&["prune"], "")
            .starts_with("Pruned: 0 refresh tokens")
    );
    let mut bad = CliEnv::new(b).await;
    bad.set("AUDIT_RETENTION", "0");
    assert!(bad.refused(&["prune"], "").contains("AUDIT_RETENTION"));
}
