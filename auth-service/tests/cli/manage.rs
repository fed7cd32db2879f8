//! `migrate`, `tenant …`, `user …`, `demo`, and the start-up and input errors.

use auth_service::password::{Hasher, Verified};
use auth_service::users;
use secrecy::SecretString;

use test_support::{Backend, db_tests};

use crate::cli::CliEnv;

db_tests!(
    migrate_and_tenant_commands,
    user_commands_read_passwords_from_stdin_and_keep_the_rules,
    demo_is_idempotent_and_prints_the_documented_lines,
);

async fn password_is(env: &CliEnv, slug: &str, email: &str, password: &str) -> bool {
    let db = env.db().await;
    let t = auth_service::tenants::find_by_slug(&db, slug)
        .await
        .unwrap()
        .unwrap();
    let u = users::find_by_email(&db, t.id, email)
        .await
        .unwrap()
        .unwrap();
    let h = Hasher::new(1, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    h.verify(&SecretString::from(password), Some(&u.password_hash))
        .await
        .unwrap()
        != Verified::No
}

async fn migrate_and_tenant_commands(b: Backend) {
    let env = CliEnv::new(b).await;
    assert!(env.ok(&["migrate"], "").contains("Migrations applied."));
    let out = env.ok(
        &[
            "tenant",
            "create",
            "--slug",
            "globex",
            "--name",
            "Globex Corp",
            "--signup-policy",
            "open",
        ],
        "",
    );
    assert!(
        out.starts_with("Created organization globex (Globex Corp), id "),
        "{out}"
    );
    let err = env.refused(
        &["tenant", "create", "--slug", "globex", "--name", "Again"],
        "",
    );
    assert!(
        err.contains("an organization with slug \"globex\" already exists"),
        "{err}"
    );
    let err = env.refused(
        &["tenant", "create", "--slug", "Bad Slug", "--name", "X"],
        "",
    );
    assert!(err.contains("invalid slug"), "{err}");
    let err = env.refused(
        &[
            "tenant",
            "create",
            "--slug",
            "ok-slug",
            "--name",
            "X",
            "--signup-policy",
            "maybe",
        ],
        "",
    );
    assert!(
        err.contains("expected open, invite_only or domains:"),
        "{err}"
    );
    env.ok(
        &[
            "tenant",
            "create",
            "--slug",
            "initech",
            "--name",
            "Initech",
            "--max-users",
            "3",
        ],
        "",
    );

    let list = env.json(&["tenant", "list"], "");
    let slugs: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["globex", "initech"]);
    assert_eq!(list[0]["signup_policy"], "open");
    assert_eq!(list[1]["max_users"], 3);
    let text = env.ok(&["tenant", "list"], "");
    assert!(text.lines().next().unwrap().starts_with("SLUG"));
    assert!(text.contains("Globex Corp"));

    let disabled = env.json(&["tenant", "disable", "globex"], "");
    assert_eq!(disabled["is_active"], false);
    assert!(
        env.ok(&["tenant", "enable", "globex"], "")
            .starts_with("Enabled organization globex")
    );
    let err = env.refused(&["tenant", "disable", "nosuch"], "");
    assert!(
        err.contains("no organization with slug \"nosuch\""),
        "{err}"
    );
}

async fn user_commands_read_passwords_from_stdin_and_keep_the_rules(b: Backend) {
    let env = CliEnv::new(b).await;
    env.ok(
        &["tenant", "create", "--slug", "globex", "--name", "Globex"],
        "",
    );
    let create = |email: &'static str, role: &'static str| {
        [
            "user",
            "create",
            "--tenant",
            "globex",
            "--email",
            email,
            "--first-name",
            "Hank",
            "--last-name",
            "Scorpio",
            "--role",
            role,
        ]
    };
    let out = env.ok(
        &create("hank@globex.test", "owner"),
        "volcano lair password\n",
    );
    assert!(
        out.starts_with("Created hank@globex.test (owner) in globex"),
        "{out}"
    );
    assert!(password_is(&env, "globex", "hank@globex.test", "volcano lair password").await);
    let made = env.json(
        &create("homer@globex.test", "member"),
        "donuts are great friends\n",
    );
    assert_eq!(made["role"], "member");

    // Bad input: a common password, no password, a taken address, an unknown tenant,
    // a bad role, and a password in argv (there is no such option).
    let err = env.refused(&create("x@globex.test", "member"), "password\n");
    assert!(
        err.contains("password refused: This password is too common"),
        "{err}"
    );
    let err = env.refused(&create("x@globex.test", "member"), "");
    assert!(err.contains("no password given"), "{err}");
    let err = env.refused(
        &create("HANK@globex.test", "member"),
        "another fine password\n",
    );
    assert!(err.contains("already has an account"), "{err}");
    let err = env.refused(&["user", "list", "--tenant", "nosuch"], "");
    assert!(err.contains("no organization"), "{err}");
    let err = env.refused(
        &create("y@globex.test", "emperor"),
        "another fine password\n",
    );
    assert!(
        err.contains("expected owner, admin, member or viewer"),
        "{err}"
    );
    env.refused(
        &[
            "user",
            "create",
            "--tenant",
            "globex",
            "--email",
            "z@globex.test",
            "--first-name",
            "Z",
            "--last-name",
            "Z",
            "--password",
            "in argv",
        ],
        "",
    );

    let list = env.json(&["user", "list", "--tenant", "globex"], "");
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        env.ok(&["user", "list", "--tenant", "globex"], "")
            .contains("homer@globex.test")
    );

    // Roles, the last owner, deactivation.
    let err = env.refused(
        &[
            "user",
            "set-role",
            "--tenant",
            "globex",
            "--email",
            "hank@globex.test",
            "member",
        ],
        "",
    );
    assert!(err.contains("at least one active owner"), "{err}");
    let err = env.refused(
        &[
            "user",
            "disable",
            "--tenant",
            "globex",
            "--email",
            "hank@globex.test",
        ],
        "",
    );
    assert!(err.contains("at least one active owner"), "{err}");
    let changed = env.json(
        &[
            "user",
            "set-role",
            "--tenant",
            "globex",
            "--email",
            "homer@globex.test",
            "admin",
        ],
        "",
    );
    assert_eq!(changed["role"], "admin");
    let out = env.ok(
        &[
            "user",
            "disable",
            "--tenant",
            "globex",
            "--email",
            "homer@globex.test",
        ],
        "",
    );
    assert!(out.contains("disabled (sessions revoked)"), "{out}");
    let enabled = env.json(
        &[
            "user",
            "enable",
            "--tenant",
            "globex",
            "--email",
            "homer@globex.test",
        ],
        "",
    );
    assert_eq!(enabled["is_active"], true);

    // set-password: policy checked, new password works, old does not.
    let err = env.refused(
        &[
            "user",
            "set-password",
            "--tenant",
            "globex",
            "--email",
            "homer@globex.test",
        ],
        "short\n",
    );
    assert!(err.contains("Use at least 8 characters"), "{err}");
    let out = env.ok(
        &[
            "user",
            "set-password",
            "--tenant",
            "globex",
            "--email",
            "homer@globex.test",
        ],
        "a new donut password\n",
    );
    assert!(
        out.starts_with("Password of homer@globex.test in globex changed"),
        "{out}"
    );
    assert!(password_is(&env, "globex", "homer@globex.test", "a new donut password").await);
    assert!(
        !password_is(
            &env,
            "globex",
            "homer@globex.test",
            "donuts are great friends"
        )
        .await
    );
    let err = env.refused(
        &[
            "user",
            "set-password",
            "--tenant",
            "globex",
            "--email",
            "nobody@globex.test",
        ],
        "whatever it is\n",
    );
    assert!(err.contains("no user nobody@globex.test"), "{err}");
}

async fn demo_is_idempotent_and_prints_the_documented_lines(b: Backend) {
    let env = CliEnv::new(b).await;
    let expected = "Demo organization: acme (Acme Inc.)\n  owner   owner@acme.test / acme-owner-demo-pass\n  member  member@acme.test / acme-member-demo-pass\n";
    assert_eq!(env.ok(&["demo"], ""), expected);
    // Someone changed a password and demoted the owner: demo repairs both.
    env.ok(
        &[
            "user",
            "set-password",
            "--tenant",
            "acme",
            "--email",
            "member@acme.test",
        ],
        "something else entirely\n",
    );
    assert_eq!(env.ok(&["demo"], ""), expected);
    assert!(password_is(&env, "acme", "owner@acme.test", "acme-owner-demo-pass").await);
    assert!(password_is(&env, "acme", "member@acme.test", "acme-member-demo-pass").await);
    let json = env.json(&["demo"], "");
    assert_eq!(json["tenant_slug"], "acme");
    assert_eq!(json["created"], false);
    assert_eq!(json["accounts"].as_array().unwrap().len(), 2);
    let users = env.json(&["user", "list", "--tenant", "acme"], "");
    assert_eq!(users.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_settings_and_bad_arguments_exit_with_status_2() {
    let mut env = CliEnv::new(Backend::Sqlite).await;
    let err = env.refused(&["nonsense"], "");
    assert!(err.contains("unrecognized subcommand"), "{err}");
    env.set("DATABASE_URL", "mysql://db/auth");
    let err = env.refused(&["tenant", "list"], "");
    assert!(err.contains("DATABASE_URL"), "{err}");
    assert!(!err.contains("mysql://db/auth"), "{err}");
}
