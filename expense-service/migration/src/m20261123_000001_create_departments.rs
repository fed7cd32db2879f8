//! Departments: a tenant's cost centres, with an optional monthly budget.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Departments {
    Table,
    Id,
    TenantId,
    Name,
    MonthlyBudgetMinor,
    BudgetCurrency,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Departments::Table)
                    .col(ColumnDef::new(Departments::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Departments::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Departments::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Departments::MonthlyBudgetMinor).big_integer().null())
                    .col(ColumnDef::new(Departments::BudgetCurrency).char_len(3).null())
                    .col(
                        ColumnDef::new(Departments::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // A budget is an amount *and* a currency, or neither.
                    .check(Expr::cust(
                        "(monthly_budget_minor IS NULL) = (budget_currency IS NULL)",
                    ))
                    .check(Expr::cust(
                        "monthly_budget_minor IS NULL OR (monthly_budget_minor > 0 AND monthly_budget_minor < 1000000000000)",
                    ))
                    .to_owned(),
            )
            .await?;
        // The name is unique per tenant (the constraint name maps to a field error).
        manager
            .create_index(
                Index::create()
                    .name("uq_departments_tenant_name")
                    .table(Departments::Table)
                    .col(Departments::TenantId)
                    .col(Departments::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Target of the expenses' composite foreign key: an expense can only point at a
        // department of its own tenant, enforced by the database itself.
        manager
            .create_index(
                Index::create()
                    .name("uq_departments_tenant_id_id")
                    .table(Departments::Table)
                    .col(Departments::TenantId)
                    .col(Departments::Id)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Departments::Table).to_owned())
            .await
    }
}
