//! `mail_outbox`: the durable queue of outgoing mail. A message is inserted in the
//! transaction of the change it reports (so it exists exactly when the change
//! committed), and delivered afterwards by the mail worker (`crate::mail`), which
//! retries with backoff and marks `sent_at`.

use sea_orm::entity::prelude::*;

/// One queued message.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// One address (`To:`).
    pub recipient: String,
    pub subject: String,
    /// The plain-text part (always present).
    pub body_text: String,
    /// The optional HTML part.
    pub body_html: Option<String>,
    pub created_at: DateTimeUtc,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Not delivered before this time (backoff after a failure).
    pub next_attempt_at: DateTimeUtc,
    /// Delivered (or written to the development outbox).
    pub sent_at: Option<DateTimeUtc>,
    /// The last failure, for operators (never a secret: SMTP errors name no password).
    pub last_error: Option<String>,
}

/// No navigable relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
