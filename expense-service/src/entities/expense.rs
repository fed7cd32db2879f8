//! `expenses`: one claim for money spent, with its review.

use sea_orm::entity::prelude::*;

/// An expense row. `status` is one of `pending`, `approved`, `rejected` (a CHECK constraint).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "expenses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub owner_id: Uuid,
    /// Display-name snapshot from the token at creation time.
    pub owner_name: String,
    pub department_id: Uuid,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub spent_on: Date,
    /// `YYYY-MM` of `spent_on`, kept in step by the repository.
    pub spent_month: String,
    pub status: String,
    pub reviewer_id: Option<Uuid>,
    pub reviewer_name: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated through the ORM (the repository joins by hand, scoped).
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
