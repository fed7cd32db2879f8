//! Queries on refresh-token families outside rotation: revoking one, a user's or all,
//! and listing a user's live sign-ins for the account page.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::ActiveSession;
use crate::infra::entities::{refresh_token, tenant, user};

/// Revokes every token of a family.
///
/// # Errors
/// A database failure.
pub async fn revoke_family(
    db: &impl ConnectionTrait,
    family_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    Ok(refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Revokes one family of a user (the account page's button); false when it is not theirs.
///
/// # Errors
/// A database failure.
pub async fn revoke_user_family(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    family_id: Uuid,
) -> Result<bool, sea_orm::DbErr> {
    Ok(refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Revokes every family of a user (sign out everywhere).
///
/// # Errors
/// A database failure.
pub async fn revoke_all_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    revoke_all_for_user_except(db, user_id, None).await
}

/// Revokes every family of a user but `keep` (the session that changed the password).
///
/// # Errors
/// A database failure.
pub async fn revoke_all_for_user_except(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    keep: Option<Uuid>,
) -> Result<u64, sea_orm::DbErr> {
    let mut revoke = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        revoke = revoke.filter(refresh_token::Column::FamilyId.ne(keep));
    }
    Ok(revoke.exec(db).await?.rows_affected)
}

/// Revokes every family in a tenant (the tenant was deactivated).
///
/// # Errors
/// A database failure.
pub async fn revoke_all_in_tenant(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<u64, sea_orm::DbErr> {
    Ok(refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(refresh_token::Column::TenantId.eq(tenant_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
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
    Ok(
        (user.is_active && tenant.is_active && user.tenant_id == tenant.id)
            .then_some((user, tenant)),
    )
}
