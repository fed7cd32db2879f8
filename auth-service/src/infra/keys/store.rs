//! The signing keys in the database (`signing_keys`): creating the first key, importing
//! `JWT_PRIVATE_KEY_FILE`, two-phase rotation (by hand and automatic) and revocation. The
//! life of each key is derived from the rows (`life`, re-exported here).
//!
//! Concurrency: every new key takes `seq` = the newest key's + 1, and `seq` is unique, so
//! when two replicas (or a replica and the CLI) create a key at the same moment exactly one
//! insert wins; the automatic rotation and the first key simply accept the other's key.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait as _,
    QueryOrder as _, TransactionTrait as _,
};
use secrecy::ExposeSecret as _;
use serde::Serialize;
use shared_jwt::{Algorithm, SigningKey};

use super::kek::Kek;
use super::life::as_chrono;
pub use super::life::{KeyLife, KeyState, activation_delay, keep_after_retirement, lives};
use crate::config::Settings;
use crate::infra::entities::signing_key::{self, Entity as SigningKeys, Model};

/// Every key (all algorithms), oldest first.
///
/// # Errors
/// A database failure.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Model>, DbErr> {
    SigningKeys::find()
        .order_by_asc(signing_key::Column::Seq)
        .all(db)
        .await
}

/// The keys of `alg`, oldest first.
///
/// # Errors
/// A database failure.
pub async fn of_algorithm(db: &impl ConnectionTrait, alg: Algorithm) -> Result<Vec<Model>, DbErr> {
    Ok(all(db)
        .await?
        .into_iter()
        .filter(|r| r.algorithm == alg.as_str())
        .collect())
}

/// One read of the table: the rows of one algorithm, and the `seq` a key inserted on the
/// strength of this read must take (so that a decision made on a stale read loses the insert).
struct Read {
    rows: Vec<Model>,
    next_seq: i64,
}

async fn read(db: &impl ConnectionTrait, alg: Algorithm) -> Result<Read, DbErr> {
    let every = all(db).await?;
    let next_seq = every.last().map_or(1, |r| r.seq + 1);
    Ok(Read {
        rows: every
            .into_iter()
            .filter(|r| r.algorithm == alg.as_str())
            .collect(),
        next_seq,
    })
}

/// Decrypts a row's private key.
///
/// # Errors
/// Another key-encryption key, a damaged row, or an algorithm this build does not know.
pub fn signing_key_of(row: &Model, kek: &Kek) -> anyhow::Result<SigningKey> {
    let alg: Algorithm = row
        .algorithm
        .parse()
        .map_err(|_| anyhow::anyhow!("key {}: unknown algorithm {}", row.kid, row.algorithm))?;
    let pem = kek.decrypt(&row.kid, &row.private_key)?;
    let pem = std::str::from_utf8(pem.expose_secret())
        .map_err(|_| anyhow::anyhow!("key {}: not a PEM document", row.kid))?;
    let key = SigningKey::from_pkcs8_pem(pem, alg)
        .map_err(|e| anyhow::anyhow!("key {}: {e}", row.kid))?;
    anyhow::ensure!(
        key.kid() == row.kid,
        "key {}: the stored private key does not match its kid",
        row.kid
    );
    Ok(key)
}

/// Inserts `key` as `seq` (the [`Read::next_seq`] the decision was made on); `Ok(None)` when
/// another writer took that `seq` (or inserted the same kid) first.
async fn insert(
    db: &impl ConnectionTrait,
    kek: &Kek,
    key: &SigningKey,
    seq: i64,
    origin: &str,
    published_at: DateTime<Utc>,
    signs_from: DateTime<Utc>,
) -> anyhow::Result<Option<Model>> {
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| anyhow::anyhow!("encoding the key: {e}"))?;
    let jwk = key
        .verifying_key()
        .to_jwk()
        .ok_or_else(|| anyhow::anyhow!("the key has no public JWK"))?;
    let row = signing_key::ActiveModel {
        kid: Set(key.kid().to_owned()),
        seq: Set(seq),
        algorithm: Set(key.algorithm().as_str().to_owned()),
        public_jwk: Set(jwk.to_string()),
        private_key: Set(kek.encrypt(key.kid(), pem.as_bytes())?),
        origin: Set(origin.to_owned()),
        created_at: Set(Utc::now()),
        published_at: Set(published_at),
        signs_from: Set(signs_from),
        revoked_at: Set(None),
    };
    match row.insert(db).await {
        Ok(model) => Ok(Some(model)),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn generate(alg: Algorithm) -> anyhow::Result<SigningKey> {
    SigningKey::generate(alg).map_err(|e| anyhow::anyhow!("generating a key: {e}"))
}

/// Makes sure a key signs now: when none does (an empty table on first start, or every key
/// revoked), a new one is created that signs at once. Returns the key created, if any.
///
/// # Errors
/// A database or key failure.
pub async fn ensure_signing_key(
    db: &impl ConnectionTrait,
    kek: &Kek,
    settings: &Settings,
) -> anyhow::Result<Option<Model>> {
    let alg = settings.jwt_algorithm;
    for _ in 0..5 {
        let Read { rows, next_seq } = read(db, alg).await?;
        let now = Utc::now();
        if lives(&rows, now, keep_after_retirement(settings))
            .iter()
            .any(|l| l.state == KeyState::Signing)
        {
            return Ok(None);
        }
        let origin = if rows.is_empty() {
            "generated"
        } else {
            "replacement"
        };
        if let Some(model) = insert(db, kek, &generate(alg)?, next_seq, origin, now, now).await? {
            tracing::info!(kid = %model.kid, origin, "created a signing key");
            return Ok(Some(model));
        }
    }
    anyhow::bail!("could not create a signing key: other writers kept taking its place")
}

/// Imports the key at `JWT_PRIVATE_KEY_FILE` when the file exists (idempotent by kid): it
/// signs at once when no other key signs, else after the two-phase delay. A missing file at
/// the default path (`{DATA_DIR}/jwt-signing-key.pem`) is fine; a missing configured one is
/// an error.
///
/// # Errors
/// An unreadable or invalid file, a missing configured file, a database failure.
pub async fn import_file(
    db: &impl ConnectionTrait,
    kek: &Kek,
    settings: &Settings,
) -> anyhow::Result<Option<Model>> {
    let alg = settings.jwt_algorithm;
    let path = &settings.jwt_private_key_file;
    let pem = match std::fs::read_to_string(path) {
        Ok(pem) => pem,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && *path == settings.data_dir.join("jwt-signing-key.pem") =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "JWT_PRIVATE_KEY_FILE {}: {e}",
                path.display()
            ));
        }
    };
    let key = SigningKey::from_pkcs8_pem(&pem, alg)
        .map_err(|e| anyhow::anyhow!("JWT_PRIVATE_KEY_FILE {}: {e}", path.display()))?;
    for _ in 0..5 {
        let Read { rows, next_seq } = read(db, alg).await?;
        if let Some(row) = all(db).await?.into_iter().find(|r| r.kid == key.kid()) {
            if row.revoked_at.is_some() {
                tracing::warn!(kid = %row.kid, path = %path.display(), "JWT_PRIVATE_KEY_FILE holds a revoked key: it is not used");
            }
            return Ok(None);
        }
        let now = Utc::now();
        let someone_signs = lives(&rows, now, keep_after_retirement(settings))
            .iter()
            .any(|l| l.state == KeyState::Signing);
        let signs_from = if someone_signs {
            now + as_chrono(activation_delay(settings))
        } else {
            now
        };
        if let Some(model) = insert(db, kek, &key, next_seq, "file", now, signs_from).await? {
            tracing::info!(kid = %model.kid, path = %path.display(), "imported the signing key file");
            return Ok(Some(model));
        }
    }
    anyhow::bail!(
        "could not import {}: other writers kept taking its place",
        path.display()
    )
}

/// Two-phase rotation now: a new key, published at once, signing after
/// [`activation_delay`]. The current key retires then and stays published for
/// [`keep_after_retirement`].
///
/// # Errors
/// A database or key failure.
pub async fn rotate(
    db: &impl ConnectionTrait,
    kek: &Kek,
    settings: &Settings,
    origin: &str,
) -> anyhow::Result<Model> {
    for _ in 0..5 {
        let next_seq = read(db, settings.jwt_algorithm).await?.next_seq;
        let now = Utc::now();
        let signs_from = now + as_chrono(activation_delay(settings));
        if let Some(model) = insert(
            db,
            kek,
            &generate(settings.jwt_algorithm)?,
            next_seq,
            origin,
            now,
            signs_from,
        )
        .await?
        {
            tracing::info!(kid = %model.kid, signs_from = %model.signs_from, origin, "rotated the signing key");
            return Ok(model);
        }
    }
    anyhow::bail!("could not rotate: other writers kept creating keys at the same moment")
}

/// The automatic rotation: when the newest key (not revoked) was published at least
/// `KEY_ROTATION_INTERVAL` ago, [`rotate`] once. With several replicas, the one whose insert
/// wins rotates; the others find the new key and do nothing.
///
/// # Errors
/// A database or key failure.
pub async fn rotate_if_due(
    db: &impl ConnectionTrait,
    kek: &Kek,
    settings: &Settings,
) -> anyhow::Result<Option<Model>> {
    // The decision and the seq come from one read: a replica deciding on a read taken before
    // another's rotation tries that rotation's seq again and loses.
    let Read { rows, next_seq } = read(db, settings.jwt_algorithm).await?;
    let Some(newest) = rows
        .iter()
        .filter(|r| r.revoked_at.is_none())
        .max_by_key(|r| r.seq)
    else {
        return Ok(None);
    };
    let due = newest.published_at + as_chrono(settings.key_rotation_interval);
    if Utc::now() < due {
        return Ok(None);
    }
    let now = Utc::now();
    let signs_from = now + as_chrono(activation_delay(settings));
    // One attempt only: losing the race means another replica rotated.
    let model = insert(
        db,
        kek,
        &generate(settings.jwt_algorithm)?,
        next_seq,
        "automatic",
        now,
        signs_from,
    )
    .await?;
    if let Some(m) = &model {
        tracing::info!(kid = %m.kid, signs_from = %m.signs_from, "rotated the signing key automatically");
    }
    Ok(model)
}

/// What [`revoke`] did.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Revoked {
    /// A key that was not signing (pending or retired) is out.
    Revoked {
        /// The revoked key.
        kid: String,
    },
    /// The signing key is out; a pending key (already published) signs from now on.
    Promoted {
        /// The revoked key.
        kid: String,
        /// The key that signs now.
        signing_kid: String,
    },
    /// The signing key is out; a new key signs from now on (verifiers fetch it on its first
    /// unknown `kid`).
    Replaced {
        /// The revoked key.
        kid: String,
        /// The key that signs now.
        signing_kid: String,
    },
}

/// Why [`revoke`] refused.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// No such kid.
    #[error("no signing key with kid {0}")]
    NotFound(String),
    /// Already revoked.
    #[error("the key {0} is already revoked")]
    AlreadyRevoked(String),
    /// A database or key failure.
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<DbErr> for RevokeError {
    fn from(e: DbErr) -> Self {
        Self::Failed(e.into())
    }
}

/// Revokes `kid` (a compromise): out of the JWKS and refused at once. When it was the
/// signing key, the newest pending key takes over at once, or else a new key is created
/// that signs at once. One transaction: never a revoked signing key without a successor.
///
/// # Errors
/// An unknown or already revoked kid, a database or key failure.
pub async fn revoke(
    db: &sea_orm::DatabaseConnection,
    kek: &Kek,
    settings: &Settings,
    kid: &str,
) -> Result<Revoked, RevokeError> {
    let txn = db.begin().await?;
    let Some(row) = SigningKeys::find_by_id(kid.to_owned()).one(&txn).await? else {
        return Err(RevokeError::NotFound(kid.to_owned()));
    };
    if row.revoked_at.is_some() {
        return Err(RevokeError::AlreadyRevoked(kid.to_owned()));
    }
    let alg = settings.jwt_algorithm;
    let now = Utc::now();
    let Read { rows, next_seq } = read(&txn, alg).await?;
    let lives = lives(&rows, now, keep_after_retirement(settings));
    let was_signing = lives
        .iter()
        .any(|l| l.row.kid == kid && l.state == KeyState::Signing);
    let mut revoked: signing_key::ActiveModel = row.into();
    revoked.revoked_at = Set(Some(now));
    revoked.update(&txn).await?;
    let outcome = if !was_signing {
        Revoked::Revoked {
            kid: kid.to_owned(),
        }
    } else if let Some(pending) = lives
        .iter()
        .filter(|l| l.state == KeyState::Pending && l.row.kid != kid)
        .max_by_key(|l| (l.row.signs_from, l.row.seq))
    {
        let signing_kid = pending.row.kid.clone();
        let mut promoted: signing_key::ActiveModel = pending.row.clone().into();
        promoted.signs_from = Set(now);
        promoted.update(&txn).await?;
        Revoked::Promoted {
            kid: kid.to_owned(),
            signing_kid,
        }
    } else {
        let model = insert(
            &txn,
            kek,
            &generate(alg)?,
            next_seq,
            "replacement",
            now,
            now,
        )
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!("another key was created at the same moment; run the command again")
        })?;
        Revoked::Replaced {
            kid: kid.to_owned(),
            signing_kid: model.kid,
        }
    };
    txn.commit().await?;
    tracing::warn!(kid, "signing key revoked");
    Ok(outcome)
}

/// Whether `kid` is revoked (a primary-key lookup, for refusing its tokens at once).
///
/// # Errors
/// A database failure.
pub async fn is_revoked(db: &impl ConnectionTrait, kid: &str) -> Result<bool, DbErr> {
    Ok(SigningKeys::find_by_id(kid.to_owned())
        .one(db)
        .await?
        .is_some_and(|r| r.revoked_at.is_some()))
}
