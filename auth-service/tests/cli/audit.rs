//! `auth-service audit list`, the real binary: the newest events, by organization and type.

use crate::cli::CliEnv;
use test_support::{Backend, db_tests};

db_tests!(audit_list_filters_by_tenant_and_type);

async fn audit_list_filters_by_tenant_and_type(b: Backend) {
    let env = CliEnv::new(b).await;
    for slug in ["acme", "globex"] {
        env.ok(&["tenant", "create", "--slug", slug, "--name", slug], "");
    }
    let all = env.json(&["audit", "list"], "");
    assert!(all.as_array().unwrap().len() >= 2, "{all}");
    let acme = env.json(
        &[
            "audit",
            "list",
            "--tenant",
            "acme",
            "--type",
            "tenant_created",
        ],
        "",
    );
    let acme = acme.as_array().unwrap();
    assert_eq!(acme.len(), 1, "{acme:?}");
    assert_eq!(acme[0]["type"], "tenant_created");
    let one = env.json(&["audit", "list", "--limit", "1"], "");
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert!(
        env.ok(&["audit", "list", "--tenant", "acme"], "")
            .contains("tenant_created")
    );
    assert!(
        env.refused(&["audit", "list", "--type", "nope"], "")
            .contains("nope")
    );
    assert!(
        env.refused(&["audit", "list", "--tenant", "nosuch"], "")
            .contains("nosuch")
    );
    env.refused(&["audit", "list", "--limit", "0"], "");
}
