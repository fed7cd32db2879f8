//! Expenses: amount in integer minor units plus ISO 4217 currency, a review workflow, and the
//! owner's id and display-name snapshot (there is no user table here: identity comes from the
//! verified access token).

use sea_orm_migration::prelude::*;

use crate::m20261123_000001_create_departments::Departments;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Expenses {
    Table,
    Id,
    TenantId,
    OwnerId,
    OwnerName,
    DepartmentId,
    AmountMinor,
    Currency,
    Description,
    SpentOn,
    SpentMonth,
    Status,
    ReviewerId,
    ReviewerName,
    ReviewedAt,
    Reason,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Expenses::Table)
                    .col(ColumnDef::new(Expenses::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Expenses::TenantId).uuid().not_null())
                    .col(ColumnDef::new(Expenses::OwnerId).uuid().not_null())
                    .col(
                        ColumnDef::new(Expenses::OwnerName)
                            .string_len(200)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Expenses::DepartmentId).uuid().not_null())
                    .col(
                        ColumnDef::new(Expenses::AmountMinor)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Expenses::Currency).char_len(3).not_null())
                    .col(
                        ColumnDef::new(Expenses::Description)
                            .string_len(500)
                            .not_null(),
                    )
                    .col(ColumnDef::new(Expenses::SpentOn).date().not_null())
                    // "YYYY-MM", derived from spent_on on every write: grouping by month is then
                    // the same portable GROUP BY on SQLite and PostgreSQL.
                    .col(ColumnDef::new(Expenses::SpentMonth).char_len(7).not_null())
                    .col(ColumnDef::new(Expenses::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Expenses::ReviewerId).uuid().null())
                    .col(
                        ColumnDef::new(Expenses::ReviewerName)
                            .string_len(200)
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Expenses::ReviewedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Expenses::Reason).string_len(500).null())
                    .col(
                        ColumnDef::new(Expenses::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Expenses::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // The last line of defence behind the validation in code.
                    .check(Expr::cust(
                        "amount_minor > 0 AND amount_minor < 1000000000000",
                    ))
                    .check(Expr::cust("status IN ('pending', 'approved', 'rejected')"))
                    // Same-tenant department, enforced by the database.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_expenses_department_same_tenant")
                            .from(
                                Expenses::Table,
                                (Expenses::TenantId, Expenses::DepartmentId),
                            )
                            .to(Departments::Table, (Departments::TenantId, Departments::Id))
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_expenses_tenant_created")
                    .table(Expenses::Table)
                    .col(Expenses::TenantId)
                    .col(Expenses::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_expenses_tenant_department_month")
                    .table(Expenses::Table)
                    .col(Expenses::TenantId)
                    .col(Expenses::DepartmentId)
                    .col(Expenses::SpentMonth)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Expenses::Table).to_owned())
            .await
    }
}
