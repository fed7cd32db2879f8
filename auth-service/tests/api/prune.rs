//! Pruning: exactly what can never be used again or is past its retention goes; nothing
//! within its retention does. Rows are seeded directly, then `prune` runs (the library call
//! and the `auth-service prune` binary share it).

use std::collections::BTreeSet;

use auth_service::accounts::prune::{Pruned, prune};
use auth_service::entities::link_token::{self, LinkKind};
use auth_service::entities::{
    auth_event, mail_outbox, passkey_challenge, refresh_family, refresh_token, throttle_slot,
};
use auth_service::infra::audit::AuditEvent;
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set};
use uuid::Uuid;

use crate::api::helpers::{Backend, TestApp};
use test_support::db_tests;

db_tests!(prune_removes_exactly_what_is_past_retention);

async fn family(
    app: &TestApp,
    user: Uuid,
    tenant: Uuid,
    expires: i64,
    revoked: Option<i64>,
) -> Uuid {
    let now = Utc::now();
    let id = Uuid::new_v4();
    refresh_family::ActiveModel {
        id: Set(id),
        user_id: Set(user),
        tenant_id: Set(tenant),
        created_at: Set(now - Duration::days(20)),
        expires_at: Set(now + Duration::hours(expires)),
        last_used_at: Set(now - Duration::days(1)),
        revoked_at: Set(revoked.map(|h| now + Duration::hours(h))),
        amr: Set("pwd".to_owned()),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

async fn token(
    app: &TestApp,
    fam: Uuid,
    user: Uuid,
    tenant: Uuid,
    expires: i64,
    fam_expires: i64,
    revoked: Option<i64>,
) -> Uuid {
    let now = Utc::now();
    let id = Uuid::new_v4();
    refresh_token::ActiveModel {
        id: Set(id),
        family_id: Set(fam),
        user_id: Set(user),
        tenant_id: Set(tenant),
        token_hash: Set(id.simple().to_string()),
        created_at: Set(now - Duration::days(20)),
        expires_at: Set(now + Duration::hours(expires)),
        family_created_at: Set(now - Duration::days(20)),
        family_expires_at: Set(now + Duration::hours(fam_expires)),
        rotated_at: Set(None),
        successor_id: Set(None),
        revoked_at: Set(revoked.map(|h| now + Duration::hours(h))),
        user_agent: Set(None),
        ip: Set(None),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    id
}

macro_rules! ids {
    ($app:expr, $entity:path) => {{
        use $entity as e;
        e::Entity::find()
            .all(&$app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect::<BTreeSet<Uuid>>()
    }};
}

async fn prune_removes_exactly_what_is_past_retention(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (t, u) = app.acme().await;
    let (tid, uid) = (t.id, u.id);
    let db = &app.state.db;
    let week = 24 * 7;

    // Sessions: expired family, long-revoked family, recently revoked family, live family.
    let expired_f = family(&app, uid, tid, -1, None).await;
    let old_revoked_f = family(&app, uid, tid, 100, Some(-week - 1)).await;
    let new_revoked_f = family(&app, uid, tid, 100, Some(-week + 1)).await;
    let live_f = family(&app, uid, tid, 100, None).await;
    let gone_tokens = [
        token(&app, expired_f, uid, tid, -1, -1, None).await,
        token(&app, old_revoked_f, uid, tid, 10, 100, None).await,
        token(&app, live_f, uid, tid, -1, 100, None).await,
        token(&app, live_f, uid, tid, 10, 100, Some(-week - 1)).await,
    ];
    let kept_tokens = [
        token(&app, new_revoked_f, uid, tid, 10, 100, None).await,
        token(&app, live_f, uid, tid, 10, 100, None).await,
        token(&app, live_f, uid, tid, 10, 100, Some(-week + 1)).await,
    ];

    // Throttle slots: one out of the window, one inside.
    let window_ms = i64::try_from(app.state.settings.throttle.window.as_millis()).unwrap();
    let now_ms = Utc::now().timestamp_millis();
    for (bucket, used) in [
        ("old", now_ms - window_ms - 60_000),
        ("new", now_ms - window_ms + 60_000),
    ] {
        throttle_slot::ActiveModel {
            bucket: Set(bucket.to_owned()),
            slot: Set(0),
            account: Set(None),
            used_at_ms: Set(used),
            claim: Set(None),
        }
        .insert(db)
        .await
        .unwrap();
    }

    // Links: used, expired, live.
    let now = Utc::now();
    let mut links = Vec::new();
    for (expires, used) in [(10, Some(-1)), (-1, None), (10, None)] {
        let id = Uuid::new_v4();
        link_token::ActiveModel {
            id: Set(id),
            kind: Set(LinkKind::PasswordReset),
            token_hash: Set(id.simple().to_string()),
            tenant_id: Set(tid),
            user_id: Set(Some(uid)),
            email: Set("ada@acme.test".into()),
            email_normalized: Set("ada@acme.test".into()),
            role: Set(None),
            created_by: Set(None),
            created_at: Set(now - Duration::hours(2)),
            expires_at: Set(now + Duration::minutes(expires)),
            used_at: Set(used.map(|m| now + Duration::minutes(m))),
        }
        .insert(db)
        .await
        .unwrap();
        links.push(id);
    }

    // Mail: sent 8 days ago, sent 6 days ago, never sent (still retried or given up).
    let mut mails = Vec::new();
    for sent in [Some(-8), Some(-6), None] {
        let id = Uuid::new_v4();
        mail_outbox::ActiveModel {
            id: Set(id),
            recipient: Set("ada@acme.test".into()),
            subject: Set("s".into()),
            body_text: Set("b".into()),
            body_html: Set(None),
            created_at: Set(now - Duration::days(9)),
            attempts: Set(1),
            next_attempt_at: Set(now),
            sent_at: Set(sent.map(|d| now + Duration::days(d))),
            last_error: Set(None),
        }
        .insert(db)
        .await
        .unwrap();
        mails.push(id);
    }

    // Audit: 91 and 89 days old (AUDIT_RETENTION defaults to 90 days).
    let mut events = Vec::new();
    for days in [91, 89] {
        let id = Uuid::new_v4();
        auth_event::ActiveModel {
            id: Set(id),
            kind: Set(AuditEvent::LoginSuccess),
            tenant_id: Set(Some(tid)),
            user_id: Set(Some(uid)),
            ip: Set(None),
            user_agent: Set(None),
            created_at: Set(now - Duration::days(days)),
            detail: Set(None),
        }
        .insert(db)
        .await
        .unwrap();
        events.push(id);
    }

    // Passkey ceremonies: one expired, one used, one live.
    let mut live_challenge = None;
    for (expires, used) in [(-1, false), (300, true), (300, false)] {
        let id = Uuid::new_v4();
        passkey_challenge::ActiveModel {
            id: Set(id),
            token_hash: Set(id.simple().to_string()),
            purpose: Set("login".to_owned()),
            user_id: Set(None),
            tenant_id: Set(None),
            state: Set("{}".to_owned()),
            created_at: Set(Utc::now()),
            expires_at: Set(Utc::now() + Duration::seconds(expires)),
            used_at: Set(used.then(Utc::now)),
        }
        .insert(db)
        .await
        .unwrap();
        if expires > 0 && !used {
            live_challenge = Some(id);
        }
    }

    let before_tokens = ids!(app, refresh_token);
    let before_events = ids!(app, auth_event);
    let pruned = prune(db, &app.state.settings, Utc::now()).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            refresh_tokens: 4,
            refresh_families: 2,
            throttle_slots: 1,
            link_tokens: 2,
            mail: 1,
            audit_events: 1,
            challenges: 2,
        }
    );
    let left: Vec<Uuid> = passkey_challenge::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec![live_challenge.unwrap()]);
    let tokens = ids!(app, refresh_token);
    for id in gone_tokens {
        assert!(before_tokens.contains(&(id)) && !tokens.contains(&(id)));
    }
    for id in kept_tokens {
        assert!(tokens.contains(&(id)));
    }
    let families = ids!(app, refresh_family);
    assert!(!families.contains(&(expired_f)) && !families.contains(&(old_revoked_f)));
    assert!(families.contains(&(new_revoked_f)) && families.contains(&(live_f)));
    let slots: Vec<_> = throttle_slot::Entity::find().all(db).await.unwrap();
    assert_eq!(
        slots.iter().map(|s| s.bucket.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    assert_eq!(
        link_token::Entity::find()
            .all(db)
            .await
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        [links[2]]
    );
    let mut kept_mail: Vec<_> = mail_outbox::Entity::find()
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    kept_mail.sort();
    let mut want = vec![mails[1], mails[2]];
    want.sort();
    assert_eq!(kept_mail, want);
    let events_now = ids!(app, auth_event);
    assert!(before_events.contains(&(events[0])) && !events_now.contains(&(events[0])));
    assert!(events_now.contains(&(events[1])));

    // A second run finds nothing more.
    let again = prune(db, &app.state.settings, Utc::now()).await.unwrap();
    assert_eq!(again, Pruned::default());
}
