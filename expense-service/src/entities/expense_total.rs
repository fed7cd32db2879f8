//! `expense_totals`: per tenant, department, month, currency and status, how many expenses
//! there are and the sum of their amounts. Kept in step with `expenses` by the repository, in
//! the same transaction as each write (see `repo::expenses`).

use sea_orm::entity::prelude::*;

/// One group's count and sum. A group whose count fell to zero keeps its row, with zeros.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "expense_totals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub department_id: Uuid,
    /// `YYYY-MM`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub spent_month: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub status: String,
    pub row_count: i64,
    pub amount_minor: i64,
}

/// No relations are navigated through the ORM.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
