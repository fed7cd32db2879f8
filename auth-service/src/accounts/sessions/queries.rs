//! Queries on refresh-token families outside rotation: revoking one, a user's or a
//! tenant's (each marks the families first, then their tokens: see `revoke_families`),
//! and listing a user's live sign-ins for the account page.

use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::ActiveSession;
use crate::infra::entities::{refresh_family, refresh_token, tenant, user};

/// Revokes the families matching `families` (a condition on `refresh_families`), then
/// every token of them; returns the number of token rows revoked.
///
/// The order is the point: marking a family takes the row lock that a rotation takes
/// first (see [`super::Sessions::refresh`]), so this waits for a rotation in flight and
/// any later rotation sees the mark. The tokens are revoked by a second statement, whose
/// snapshot (READ COMMITTED on PostgreSQL) includes every successor inserted by the
/// rotations it waited for; an UPDATE of the tokens alone would miss them. Call it in a
/// transaction when both must stand or fall together.
pub(super) async fn revoke_families(
    db: &impl ConnectionTrait,
    families: Condition,
) -> Result<(u64, u64), sea_orm::DbErr> {
    let now = Utc::now();
    let marked = refresh_family::Entity::update_many()
        .col_expr(refresh_family::Column::RevokedAt, Expr::value(now))
        .filter(families.clone())
        .filter(refresh_family::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    let tokens = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(
            refresh_token::Column::FamilyId.in_subquery(
                Query::select()
                    .column(refresh_family::Column::Id)
                    .from(refresh_family::Entity)
                    .cond_where(families)
                    .to_owned(),
            ),
        )
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    Ok((marked, tokens))
}

/// Revokes a family and every token of it; returns the number of token rows revoked.
///
/// # Errors
/// A database failure.
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    let only = Condition::all().add(refresh_family::Column::Id.eq(family_id));
    Ok(revoke_families(db, only).await?.1)
}

/// Revokes one family of a user (the account page's button); false when it is not theirs
/// or already revoked.
///
/// # Errors
/// A database failure.
pub async fn revoke_user_family(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    let theirs = Condition::all()
        .add(refresh_family::Column::Id.eq(family_id))
        .add(refresh_family::Column::UserId.eq(user_id));
    Ok(revoke_families(db, theirs).await?.0 > 0)
}

/// Revokes every family of a user (sign out everywhere, deactivation); returns the
/// number of token rows revoked.
///
/// # Errors
/// A database failure.
pub async fn revoke_all_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    revoke_all_for_user_except(db, user_id, None).await
}

/// Revokes every family of a user but `keep` (the session that changed the password);
/// returns the number of token rows revoked.
///
/// # Errors
/// A database failure.
pub async fn revoke_all_for_user_except(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, sea_orm::DbErr> {
    let mut theirs = Condition::all().add(refresh_family::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        theirs = theirs.add(refresh_family::Column::Id.ne(keep));
    }
    Ok(revoke_families(db, theirs).await?.1)
}

/// Revokes every family in a tenant (the tenant was deactivated); returns the number of
/// token rows revoked.
///
/// # Errors
/// A database failure.
pub async fn revoke_all_in_tenant(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    let theirs = Condition::all().add(refresh_family::Column::TenantId.eq(tenant_id));
    Ok(revoke_families(db, theirs).await?.1)
}

/// The user's live sign-ins, newest first: one per family, from its current token.
///
/// # Errors
/// A database failure.
pub async fn list_active(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Vec<ActiveSession>, sea_orm::DbErr> {
    let now = Utc::now();
    let heads = refresh_token::Entity::find()
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::ExpiresAt.gt(now))
        .order_by_desc(refresh_token::Column::FamilyCreatedAt)
        .all(db)
        .await?;
    Ok(heads
        .into_iter()
        .map(|t| ActiveSession {
            family_id: t.family_id,
            signed_in_at: t.family_created_at,
            last_used_at: t.created_at,
            expires_at: t.family_expires_at,
            user_agent: t.user_agent,
            ip: t.ip,
        })
        .collect())
}

/// The user and tenant when both are active.
pub(super) async fn load_active(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<Option<(user::Model, tenant::Model)>, sea_orm::DbErr> {
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    let Some(tenant) = tenant::Entity::find_by_id(tenant_id).one(db).await? else {
        return Ok(None);
    };
    Ok((user.is_active
            && tenant.is_active
            && user.tenant_id == tenant.id
            // An account that must verify its address first gets no token (refresh included).
            && !user.awaits_verification())
    .then_some((user, tenant)))
}
