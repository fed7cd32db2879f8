//! Pruning (`auth-service prune`, and the same work every hour in the background): what
//! can never be used again, and what is past its retention, is deleted in bounded batches
//! (`DELETE … WHERE id IN (SELECT id … LIMIT n)`, each its own statement) so no run holds a
//! long lock:
//! - refresh tokens that expired (they can neither refresh nor reveal a reuse any more), and
//!   the tokens and families revoked more than [`REVOKED_RETENTION`] ago; families past
//!   their absolute expiry;
//! - throttle slots that left the window (failure counters and the locks they make);
//! - link tokens used or expired; pending second steps (`mfa_challenges`) and passkey
//!   ceremonies (`passkey_challenges`) used or expired;
//! - sent mail older than [`SENT_MAIL_RETENTION`];
//! - audit events older than `AUDIT_RETENTION` (default 90 days).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryFilter as _};
use serde::Serialize;

use crate::accounts::throttle::Throttle;
use crate::config::Settings;
use crate::infra::entities::{
    auth_event, link_token, mail_outbox, mfa_challenge, passkey_challenge, refresh_family,
    refresh_token,
};

/// Rows deleted per statement.
pub const BATCH: u64 = 500;
/// How long revoked sessions stay (the sessions page and investigations may look at them).
pub const REVOKED_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long delivered mail stays in `mail_outbox`.
pub const SENT_MAIL_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often the background task prunes.
pub const EVERY: Duration = Duration::from_secs(3600);

/// What one run deleted, by table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// `refresh_tokens` rows.
    pub refresh_tokens: u64,
    /// `refresh_families` rows.
    pub refresh_families: u64,
    /// `throttle_slots` rows.
    pub throttle_slots: u64,
    /// `link_tokens` rows.
    pub link_tokens: u64,
    /// `mail_outbox` rows.
    pub mail: u64,
    /// `auth_events` rows.
    pub audit_events: u64,
    /// `mfa_challenges` and `passkey_challenges` rows.
    pub challenges: u64,
}

fn ago(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d).map_or(DateTime::<Utc>::MIN_UTC, |d| now - d)
}

/// Deletes the rows of `E` matching `cond`, [`BATCH`] at a time, by primary key `id`.
async fn delete_batched<E, C>(
    db: &impl ConnectionTrait,
    id: C,
    cond: SimpleExpr,
) -> Result<u64, DbErr>
where
    E: EntityTrait,
    C: sea_orm::ColumnTrait + Copy,
{
    let mut total = 0;
    loop {
        let ids = Query::select()
            .column(id)
            .from(E::default())
            .and_where(cond.clone())
            .limit(BATCH)
            .to_owned();
        let deleted = E::delete_many()
            .filter(id.in_subquery(ids))
            .exec(db)
            .await?
            .rows_affected;
        total += deleted;
        if deleted < BATCH {
            return Ok(total);
        }
    }
}

/// Runs every pruning step as of `now`.
///
/// # Errors
/// A database failure (what earlier batches deleted stays deleted: each is complete).
pub async fn prune(
    db: &impl ConnectionTrait,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Pruned, DbErr> {
    let revoked_before = ago(now, REVOKED_RETENTION);
    let dead_families = Query::select()
        .column(refresh_family::Column::Id)
        .from(refresh_family::Entity)
        .and_where(
            Expr::col(refresh_family::Column::ExpiresAt)
                .lte(now)
                .or(Expr::col(refresh_family::Column::RevokedAt).lt(revoked_before)),
        )
        .to_owned();
    let refresh_tokens = delete_batched::<refresh_token::Entity, _>(
        db,
        refresh_token::Column::Id,
        Expr::col(refresh_token::Column::ExpiresAt)
            .lte(now)
            .or(Expr::col(refresh_token::Column::RevokedAt).lt(revoked_before))
            .or(Expr::col(refresh_token::Column::FamilyId).in_subquery(dead_families)),
    )
    .await?;
    let refresh_families = delete_batched::<refresh_family::Entity, _>(
        db,
        refresh_family::Column::Id,
        Expr::col(refresh_family::Column::ExpiresAt)
            .lte(now)
            .or(Expr::col(refresh_family::Column::RevokedAt).lt(revoked_before)),
    )
    .await?;
    let throttle_slots = Throttle::new(settings.throttle.clone()).prune(db).await?;
    let link_tokens = delete_batched::<link_token::Entity, _>(
        db,
        link_token::Column::Id,
        Expr::col(link_token::Column::UsedAt)
            .is_not_null()
            .or(Expr::col(link_token::Column::ExpiresAt).lte(now)),
    )
    .await?;
    let mail = delete_batched::<mail_outbox::Entity, _>(
        db,
        mail_outbox::Column::Id,
        Expr::col(mail_outbox::Column::SentAt).lt(ago(now, SENT_MAIL_RETENTION)),
    )
    .await?;
    let audit_events = delete_batched::<auth_event::Entity, _>(
        db,
        auth_event::Column::Id,
        Expr::col(auth_event::Column::CreatedAt).lt(ago(now, settings.audit_retention)),
    )
    .await?;
    let challenges = delete_batched::<mfa_challenge::Entity, _>(
        db,
        mfa_challenge::Column::Id,
        Expr::col(mfa_challenge::Column::UsedAt)
            .is_not_null()
            .or(Expr::col(mfa_challenge::Column::ExpiresAt).lte(now)),
    )
    .await?
        + delete_batched::<passkey_challenge::Entity, _>(
            db,
            passkey_challenge::Column::Id,
            Expr::col(passkey_challenge::Column::UsedAt)
                .is_not_null()
                .or(Expr::col(passkey_challenge::Column::ExpiresAt).lte(now)),
        )
        .await?;
    Ok(Pruned {
        refresh_tokens,
        refresh_families,
        throttle_slots,
        link_tokens,
        mail,
        audit_events,
        challenges,
    })
}

/// Prunes every [`EVERY`] (the first run one period after start) until the process ends;
/// a failed run is logged and retried at the next period.
pub async fn run_hourly(db: sea_orm::DatabaseConnection, settings: std::sync::Arc<Settings>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + EVERY, EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match prune(&db, &settings, Utc::now()).await {
            Ok(p) => tracing::info!(?p, "pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning failed; retried in an hour"),
        }
    }
}
