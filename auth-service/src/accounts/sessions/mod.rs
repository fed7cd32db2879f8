//! Refresh-token families (one per sign-in, the access token's `sid`).
//!
//! Tokens are 256-bit random strings; only their SHA-256 is stored. Every use rotates:
//! the presented token is marked `rotated_at` and a successor is inserted. The successor
//! is *derived*, not random: `base64url(HMAC-SHA256(session secret, "refresh-successor",
//! predecessor))`. So when the same rotated token comes back within the grace (two tabs
//! refreshing at once) the server can hand out the very same successor again without
//! storing any token, encrypted or not; an attacker who holds a token still cannot
//! compute its successor without the server secret. After the grace, a rotated token is
//! a replay: the whole family is revoked. A family ends `REFRESH_TOKEN_TTL` after the
//! sign-in, however often it is refreshed; an inactive user or tenant cannot refresh, nor
//! can a sign-in without a second factor (`amr` without `mfa`) of a user the tenant policy
//! `mfa_required` covers (turned on after that sign-in).
//!
//! Rotation and revocation serialize on the family's row (`refresh_families`). The
//! rotation's first statement locks it — an UPDATE of the live (`revoked_at IS NULL`)
//! family of the presented token, so on SQLite the transaction starts with its write and
//! on PostgreSQL it holds the row lock — and only then reads and rotates the token.
//! Every revocation marks the family first and revokes its tokens afterwards (see
//! `queries`): it waits for a rotation in flight and then revokes the successor that
//! rotation inserted, and a rotation that comes later finds the family revoked. Without
//! the family row, an UPDATE of all of a user's tokens under READ COMMITTED misses a
//! successor inserted by a rotation that commits while the UPDATE runs, and the thief
//! keeps a live token after "sign out everywhere" has returned.
//!
//! Inside the family, the conditional UPDATE of the token (`WHERE rotated_at IS NULL`)
//! decides which of two parallel refreshes rotates; the other one gets the same
//! successor within the grace.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use secrecy::{ExposeSecret, SecretSlice};
use uuid::Uuid;

use crate::infra::audit::EventContext;
use crate::infra::crypto::{b64url, hmac_sha256, random_token, sha256_hex};
use crate::infra::entities::{refresh_family, refresh_token, tenant, user};

mod queries;

pub use queries::{
    list_active, revoke_all_for_user, revoke_all_for_user_except, revoke_all_in_tenant,
    revoke_family, revoke_user_family,
};
use queries::{load_active, revoke_families};

/// A signed-in user with its tenant and session (family).
#[derive(Clone, Debug)]
pub struct Session {
    /// The account.
    pub user: user::Model,
    /// Its tenant.
    pub tenant: tenant::Model,
    /// The refresh family (`sid`).
    pub family_id: Uuid,
    /// The refresh token to set in the cookie.
    pub refresh_token: String,
    /// How the sign-in was authenticated (RFC 8176, space-separated): the tokens' `amr`.
    pub amr: String,
}

/// What presenting a refresh token led to.
#[derive(Debug)]
pub enum Refreshed {
    /// A fresh (or, within the grace, the same) successor.
    Ok(Box<Session>),
    /// Unknown, expired, revoked, or its user or tenant is inactive.
    Invalid,
    /// The tenant policy (`mfa_required`) covers the user and this sign-in was not
    /// authenticated with a second factor (its `amr` lacks `mfa`): nothing was rotated;
    /// the user must sign in again (and set a factor up when they have none).
    SecondFactorRequired,
    /// A rotated token replayed after the grace; its family is now revoked.
    Reused {
        /// The revoked family.
        family_id: Uuid,
        /// Its user.
        user_id: Uuid,
        /// Its tenant.
        tenant_id: Uuid,
    },
}

/// One active sign-in, for the account page.
#[derive(Clone, Debug)]
pub struct ActiveSession {
    /// Family id (the revoke button's target).
    pub family_id: Uuid,
    /// When the user signed in.
    pub signed_in_at: DateTime<Utc>,
    /// When it was last refreshed.
    pub last_used_at: DateTime<Utc>,
    /// When the sign-in ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// The browser, as it said.
    pub user_agent: Option<String>,
    /// The client address.
    pub ip: Option<String>,
}

/// The refresh-token store.
#[derive(Clone)]
pub struct Sessions {
    ttl: Duration,
    grace: Duration,
    successor_key: SecretSlice<u8>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// `SELECT family_id FROM refresh_tokens WHERE token_hash = hash`.
fn family_of(hash: &str) -> SelectStatement {
    Query::select()
        .column(refresh_token::Column::FamilyId)
        .from(refresh_token::Entity)
        .and_where(refresh_token::Column::TokenHash.eq(hash))
        .to_owned()
}

fn chrono_dur(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl Sessions {
    /// A store issuing families of `ttl`, with `grace` for parallel refreshes; the
    /// successor key is derived from the session secret.
    #[must_use]
    pub fn new(ttl: Duration, grace: Duration, session_secret: &[u8]) -> Self {
        let key = hmac_sha256(session_secret, &[b"auth-service refresh-successor key"]);
        Self {
            ttl,
            grace,
            successor_key: SecretSlice::from(key.to_vec()),
        }
    }

    fn successor_of(&self, token: &str) -> String {
        b64url(&hmac_sha256(
            self.successor_key.expose_secret(),
            &[b"refresh-successor", token.as_bytes()],
        ))
    }

    /// Starts a new family for a user who just proved their password.
    ///
    /// # Errors
    /// A database failure.
    pub async fn start(
        &self,
        db: &impl ConnectionTrait,
        user: user::Model,
        tenant: tenant::Model,
        ctx: &EventContext,
    ) -> Result<Session, sea_orm::DbErr> {
        self.start_with_amr(db, user, tenant, ctx, "pwd").await
    }

    /// [`Sessions::start`] for a sign-in authenticated by `amr` (RFC 8176 values,
    /// space-separated, e.g. `"pwd otp mfa"`), which every access token of it carries.
    ///
    /// # Errors
    /// A database failure.
    pub async fn start_with_amr(
        &self,
        db: &impl ConnectionTrait,
        user: user::Model,
        tenant: tenant::Model,
        ctx: &EventContext,
        amr: &str,
    ) -> Result<Session, sea_orm::DbErr> {
        let now = Utc::now();
        let token = random_token();
        let family_id = Uuid::new_v4();
        let end = now + chrono_dur(self.ttl);
        refresh_family::ActiveModel {
            id: Set(family_id),
            user_id: Set(user.id),
            tenant_id: Set(tenant.id),
            created_at: Set(now),
            expires_at: Set(end),
            last_used_at: Set(now),
            revoked_at: Set(None),
            amr: Set(amr.to_owned()),
        }
        .insert(db)
        .await?;
        refresh_token::ActiveModel {
            id: Set(Uuid::new_v4()),
            family_id: Set(family_id),
            user_id: Set(user.id),
            tenant_id: Set(tenant.id),
            token_hash: Set(sha256_hex(token.as_bytes())),
            created_at: Set(now),
            expires_at: Set(end),
            family_created_at: Set(now),
            family_expires_at: Set(end),
            rotated_at: Set(None),
            successor_id: Set(None),
            revoked_at: Set(None),
            user_agent: Set(ctx.user_agent.clone()),
            ip: Set(ctx.ip.clone()),
        }
        .insert(db)
        .await?;
        Ok(Session {
            user,
            tenant,
            family_id,
            refresh_token: token,
            amr: amr.to_owned(),
        })
    }

    /// Rotates `token` (see the module docs).
    ///
    /// # Errors
    /// A database failure.
    pub async fn refresh(
        &self,
        db: &DatabaseConnection,
        token: &str,
        ctx: &EventContext,
    ) -> Result<Refreshed, sea_orm::DbErr> {
        // Refuse absurd input before touching the database.
        if token.is_empty() || token.len() > 128 {
            return Ok(Refreshed::Invalid);
        }
        let now = Utc::now();
        let hash = sha256_hex(token.as_bytes());
        let successor = self.successor_of(token);
        let successor_id = Uuid::new_v4();
        let txn = db.begin().await?;
        // The family first (module docs): unknown token or revoked family, nothing to do.
        let family_live = refresh_family::Entity::update_many()
            .col_expr(refresh_family::Column::LastUsedAt, Expr::value(now))
            .filter(refresh_family::Column::Id.in_subquery(family_of(&hash)))
            .filter(refresh_family::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !family_live {
            return Ok(Refreshed::Invalid);
        }
        let won = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .col_expr(
                refresh_token::Column::SuccessorId,
                Expr::value(successor_id),
            )
            .filter(refresh_token::Column::TokenHash.eq(hash.clone()))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .filter(refresh_token::Column::FamilyExpiresAt.gt(now))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        let Some(row) = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(&txn)
            .await?
        else {
            return Ok(Refreshed::Invalid);
        };
        let Some((user, tenant)) = load_active(&txn, row.user_id, row.tenant_id).await? else {
            revoke_family(&txn, row.family_id).await?;
            txn.commit().await?;
            return Ok(Refreshed::Invalid);
        };
        let amr = refresh_family::Entity::find_by_id(row.family_id)
            .one(&txn)
            .await?
            .map_or_else(|| "pwd".to_owned(), |f| f.amr);
        if tenant.mfa_required.covers(user.role) && !amr.split_whitespace().any(|v| v == "mfa") {
            // Dropping the transaction rolls the rotation back: nothing changes.
            return Ok(Refreshed::SecondFactorRequired);
        }
        if won {
            let expires = (now + chrono_dur(self.ttl)).min(row.family_expires_at);
            refresh_token::ActiveModel {
                id: Set(successor_id),
                family_id: Set(row.family_id),
                user_id: Set(row.user_id),
                tenant_id: Set(row.tenant_id),
                token_hash: Set(sha256_hex(successor.as_bytes())),
                created_at: Set(now),
                expires_at: Set(expires),
                family_created_at: Set(row.family_created_at),
                family_expires_at: Set(row.family_expires_at),
                rotated_at: Set(None),
                successor_id: Set(None),
                revoked_at: Set(None),
                user_agent: Set(ctx.user_agent.clone()),
                ip: Set(ctx.ip.clone()),
            }
            .insert(&txn)
            .await?;
            txn.commit().await?;
            crate::infra::metrics::refresh_rotated();
            return Ok(Refreshed::Ok(Box::new(Session {
                user,
                tenant,
                family_id: row.family_id,
                refresh_token: successor,
                amr,
            })));
        }
        if row.revoked_at.is_some() || row.family_expires_at <= now || row.expires_at <= now {
            return Ok(Refreshed::Invalid);
        }
        let Some(rotated_at) = row.rotated_at else {
            return Ok(Refreshed::Invalid);
        };
        if now - rotated_at <= chrono_dur(self.grace) {
            // Parallel tabs: hand out the same successor, if it is still alive.
            let alive = match row.successor_id {
                Some(id) => refresh_token::Entity::find_by_id(id)
                    .one(&txn)
                    .await?
                    .is_some_and(|s| {
                        s.revoked_at.is_none()
                            && s.expires_at > now
                            && crate::infra::crypto::ct_eq(
                                s.token_hash.as_bytes(),
                                sha256_hex(successor.as_bytes()).as_bytes(),
                            )
                    }),
                None => false,
            };
            return Ok(if alive {
                Refreshed::Ok(Box::new(Session {
                    user,
                    tenant,
                    family_id: row.family_id,
                    refresh_token: successor,
                    amr,
                }))
            } else {
                Refreshed::Invalid
            });
        }
        revoke_family(&txn, row.family_id).await?;
        txn.commit().await?;
        crate::infra::metrics::refresh_reused();
        Ok(Refreshed::Reused {
            family_id: row.family_id,
            user_id: row.user_id,
            tenant_id: row.tenant_id,
        })
    }

    /// Revokes the family of `token` (sign-out); returns the family's row when found.
    ///
    /// # Errors
    /// A database failure.
    pub async fn revoke_by_token(
        &self,
        db: &impl ConnectionTrait,
        token: &str,
    ) -> Result<Option<refresh_token::Model>, sea_orm::DbErr> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let hash = sha256_hex(token.as_bytes());
        // The write first (a SQLite transaction must start with it), then the read.
        let of_token =
            Condition::all().add(refresh_family::Column::Id.in_subquery(family_of(&hash)));
        revoke_families(db, of_token).await?;
        refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(db)
            .await
    }

    /// The user and tenant of a live family (not revoked, not expired), if any; used to
    /// check that an access token's `sid` was not signed out.
    ///
    /// # Errors
    /// A database failure.
    pub async fn family_is_active(
        &self,
        db: &impl ConnectionTrait,
        family_id: Uuid,
    ) -> Result<bool, sea_orm::DbErr> {
        let now = Utc::now();
        Ok(refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .filter(refresh_token::Column::RotatedAt.is_null())
            .filter(refresh_token::Column::ExpiresAt.gt(now))
            .one(db)
            .await?
            .is_some())
    }
}
