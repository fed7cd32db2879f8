//! `auth-service user reset-mfa EMAIL [--tenant SLUG]`: the operator's recovery path for a
//! user who lost every second factor. It removes the authenticator app, the recovery codes
//! and the passkeys, ends every session of the user and is audited; bad input changes
//! nothing.

use std::time::Duration;

use auth_service::accounts::mfa;
use auth_service::accounts::sessions::Sessions;
use auth_service::entities::{auth_event, passkey, recovery_code, refresh_token, user_totp};
use auth_service::infra::audit::EventContext;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use shared_jwt::Role;
use uuid::Uuid;

use test_support::{Backend, db_tests};

use crate::cli::CliEnv;

db_tests!(reset_mfa_removes_every_factor_and_ends_the_sessions,);

async fn counts(db: &sea_orm::DatabaseConnection, user_id: Uuid) -> (u64, u64, u64, u64) {
    let totp = user_totp::Entity::find()
        .filter(user_totp::Column::UserId.eq(user_id))
        .count(db)
        .await
        .unwrap();
    let codes = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .count(db)
        .await
        .unwrap();
    let keys = passkey::Entity::find()
        .filter(passkey::Column::UserId.eq(user_id))
        .count(db)
        .await
        .unwrap();
    let live = refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .count(db)
        .await
        .unwrap();
    (totp, codes, keys, live)
}

async fn reset_mfa_removes_every_factor_and_ends_the_sessions(b: Backend) {
    let env = CliEnv::new(b).await;
    env.ok(&["migrate"], "");
    for slug in ["globex", "initech"] {
        env.ok(&["tenant", "create", "--slug", slug, "--name", slug], "");
    }
    let db = env.db().await;
    let mut users = Vec::new();
    for slug in ["globex", "initech"] {
        let t = auth_service::tenants::find_by_slug(&db, slug)
            .await
            .unwrap()
            .unwrap();
        for email in ["hank@globex.test", "only@globex.test"] {
            if slug == "initech" && email == "only@globex.test" {
                continue;
            }
            let u = auth_service::users::create_user(
                &db,
                t.id,
                email,
                "correct horse battery staple",
                "Hank",
                "Scorpio",
                Role::Admin,
            )
            .await
            .unwrap();
            users.push((t.clone(), u));
        }
    }
    let (globex, only) = users[1].clone();
    // Every kind of factor, and two sessions.
    user_totp::ActiveModel {
        user_id: Set(only.id),
        secret: Set(vec![1; 60]),
        enabled_at: Set(Some(Utc::now())),
        last_step: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&db)
    .await
    .unwrap();
    for i in 0..3 {
        recovery_code::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(only.id),
            code_hash: Set(format!("{i:064}")),
            created_at: Set(Utc::now()),
            used_at: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
    }
    for i in 0..2 {
        passkey::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(only.id),
            tenant_id: Set(globex.id),
            credential_id: Set(format!("cred-{i}")),
            passkey: Set("{}".to_owned()),
            name: Set(format!("key {i}")),
            created_at: Set(Utc::now()),
            last_used_at: Set(None),
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let sessions = Sessions::new(Duration::from_secs(3600), Duration::from_secs(5), &[7; 32]);
    for _ in 0..2 {
        sessions
            .start(&db, only.clone(), globex.clone(), &EventContext::default())
            .await
            .unwrap();
    }
    assert!(mfa::has_second_factor(&db, only.id).await.unwrap());
    assert_eq!(counts(&db, only.id).await, (1, 3, 2, 2));

    // Bad input: exit status 2, one clear line, nothing changed.
    let err = env.refused(&["user", "reset-mfa", "nobody@globex.test"], "");
    assert!(
        err.contains("no user nobody@globex.test in any organization"),
        "{err}"
    );
    let err = env.refused(&["user", "reset-mfa", "hank@globex.test"], "");
    assert!(
        err.contains(
            "has accounts in several organizations (globex, initech): name one with --tenant"
        ),
        "{err}"
    );
    let err = env.refused(
        &[
            "user",
            "reset-mfa",
            "only@globex.test",
            "--tenant",
            "initech",
        ],
        "",
    );
    assert!(
        err.contains("no user only@globex.test in organization initech"),
        "{err}"
    );
    let err = env.refused(
        &[
            "user",
            "reset-mfa",
            "only@globex.test",
            "--tenant",
            "nosuch",
        ],
        "",
    );
    assert!(
        err.contains("no organization with slug \"nosuch\""),
        "{err}"
    );
    assert_eq!(counts(&db, only.id).await, (1, 3, 2, 2));

    // The one account of the address, found without --tenant.
    let out = env.json(&["user", "reset-mfa", "Only@Globex.test"], "");
    assert_eq!(out["tenant_slug"], "globex");
    assert_eq!(out["totp_removed"], true);
    assert_eq!(out["recovery_codes_removed"], 3);
    assert_eq!(out["passkeys_removed"], 2);
    assert_eq!(out["revoked_refresh_tokens"], 2);
    assert_eq!(counts(&db, only.id).await, (0, 0, 0, 0));
    assert!(!mfa::has_second_factor(&db, only.id).await.unwrap());
    let event = auth_event::Entity::find()
        .filter(auth_event::Column::Kind.eq("mfa_reset"))
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.user_id, Some(only.id));
    assert_eq!(event.tenant_id, Some(globex.id));
    assert_eq!(event.user_agent.as_deref(), Some("auth-service CLI"));
    assert!(
        event.detail.as_deref().unwrap().starts_with(
            "reset by the operator: authenticator app removed, 3 recovery codes, 2 passkeys"
        ),
        "{event:?}"
    );

    // With --tenant, in text mode; nothing left to remove is not an error.
    let text = env.ok(
        &[
            "user",
            "reset-mfa",
            "hank@globex.test",
            "--tenant",
            "initech",
        ],
        "",
    );
    assert_eq!(
        text.trim(),
        "Second factors of hank@globex.test in initech removed: authenticator app none, 0 recovery codes, 0 passkeys; 0 refresh tokens revoked."
    );
    let events = auth_event::Entity::find()
        .filter(auth_event::Column::Kind.eq("mfa_reset"))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(events, 2);
}
