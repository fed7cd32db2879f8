//! `auth-service tenant set SLUG [--name N] [--signup-policy P] [--max-users N]`: the
//! operator changes an organization's settings under the same rules as its owners
//! (the limit never below the current number of users), audited.

use auth_service::entities::auth_event;
use auth_service::tenants::SignupPolicy;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use shared_jwt::Role;

use test_support::{Backend, db_tests};

use crate::cli::CliEnv;

db_tests!(tenant_set_changes_name_policy_and_limit,);

async fn tenant_set_changes_name_policy_and_limit(b: Backend) {
    let env = CliEnv::new(b).await;
    env.ok(&["migrate"], "");
    env.ok(
        &["tenant", "create", "--slug", "globex", "--name", "Globex"],
        "",
    );
    let db = env.db().await;
    let t = auth_service::tenants::find_by_slug(&db, "globex")
        .await
        .unwrap()
        .unwrap();
    for email in ["a@globex.test", "b@globex.test"] {
        auth_service::users::create_user(
            &db,
            t.id,
            email,
            "correct horse battery staple",
            "A",
            "B",
            Role::Member,
        )
        .await
        .unwrap();
    }

    let out = env.json(
        &[
            "tenant",
            "set",
            "globex",
            "--name",
            "Globex Corporation",
            "--signup-policy",
            "domains:globex.test,globex.org",
            "--max-users",
            "2",
        ],
        "",
    );
    assert_eq!(out["name"], "Globex Corporation");
    assert_eq!(out["signup_policy"], "domains:globex.test,globex.org");
    assert_eq!(out["max_users"], 2);
    assert_eq!(out["users"], 2);
    let text = env.ok(&["tenant", "set", "globex", "--signup-policy", "open"], "");
    assert!(
        text.starts_with("Updated organization globex (Globex Corporation)"),
        "{text}"
    );
    let t = auth_service::tenants::find_by_slug(&db, "globex")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.signup_policy, SignupPolicy::Open);
    assert_eq!(t.max_users, 2);

    // Bad input: exit status 2, one clear line, nothing changed.
    for (args, says) in [
        (vec!["--max-users", "1"], "already has 2 users"),
        (vec!["--max-users", "0"], "from 1 to"),
        (
            vec!["--signup-policy", "domains:"],
            "expected open, invite_only",
        ),
        (vec!["--name", "  "], "may not be blank"),
        (vec![], "nothing to change"),
    ] {
        let mut a = vec!["tenant", "set", "globex"];
        a.extend(args);
        let err = env.refused(&a, "");
        assert!(err.contains(says), "{a:?}: {err}");
    }
    let err = env.refused(&["tenant", "set", "nosuch", "--max-users", "5"], "");
    assert!(
        err.contains("no organization with slug \"nosuch\""),
        "{err}"
    );
    let t = auth_service::tenants::find_by_slug(&db, "globex")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.max_users, t.name.as_str()), (2, "Globex Corporation"));
    let events = auth_event::Entity::find()
        .filter(auth_event::Column::Kind.eq("tenant_updated"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(events, 2);
}
