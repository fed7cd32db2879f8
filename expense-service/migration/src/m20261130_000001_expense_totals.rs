//! Incrementally maintained totals, so that the expense list costs the same whatever the size
//! of the tenant (issue 13).
//!
//! `expense_totals` holds, per tenant, department, month, currency and status, the number of
//! expenses and the sum of their amounts. The repository updates it in the same transaction
//! as every write to `expenses` (create, edit, delete, approve, reject); the list's count and
//! its budget totals read this table instead of scanning the tenant's expenses. A row whose
//! count drops to zero stays (with zeros) and is ignored by readers.
//!
//! Also: an index matching the list's order (`spent_on DESC, created_at DESC, id DESC`), so a
//! page reads its 20 rows instead of sorting the tenant.
//!
//! The backfill aggregates the existing rows. On PostgreSQL `expenses` has `FORCE ROW LEVEL
//! SECURITY`, which would hide every row from a table owner that is not a superuser: the
//! migration lifts `FORCE` for the backfill and puts it back, inside the migration's
//! transaction. The new table gets the same tenant policy as the others.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ExpenseTotals {
    Table,
    TenantId,
    DepartmentId,
    SpentMonth,
    Currency,
    Status,
    RowCount,
    AmountMinor,
}

#[derive(DeriveIden)]
enum Expenses {
    Table,
    TenantId,
    SpentOn,
    CreatedAt,
    Id,
}

const BACKFILL: &str = "INSERT INTO expense_totals \
     (tenant_id, department_id, spent_month, currency, status, row_count, amount_minor) \
     SELECT tenant_id, department_id, spent_month, currency, status, \
            COUNT(*), CAST(SUM(amount_minor) AS BIGINT) \
     FROM expenses GROUP BY tenant_id, department_id, spent_month, currency, status";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too (sea-orm's default there is none): the table, the
    /// index and the backfill land together or not at all.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ExpenseTotals::Table)
                    .col(ColumnDef::new(ExpenseTotals::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(ExpenseTotals::DepartmentId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExpenseTotals::SpentMonth)
                            .char_len(7)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExpenseTotals::Currency)
                            .char_len(3)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExpenseTotals::Status)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ExpenseTotals::RowCount)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(ExpenseTotals::AmountMinor)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .primary_key(
                        Index::create()
                            .col(ExpenseTotals::TenantId)
                            .col(ExpenseTotals::DepartmentId)
                            .col(ExpenseTotals::SpentMonth)
                            .col(ExpenseTotals::Currency)
                            .col(ExpenseTotals::Status),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_expenses_tenant_list_order")
                    .table(Expenses::Table)
                    .col(Expenses::TenantId)
                    .col(Expenses::SpentOn)
                    .col(Expenses::CreatedAt)
                    .col(Expenses::Id)
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            conn.execute_unprepared(&format!(
                "ALTER TABLE expenses NO FORCE ROW LEVEL SECURITY; \
                 {BACKFILL}; \
                 ALTER TABLE expenses FORCE ROW LEVEL SECURITY; \
                 ALTER TABLE expense_totals ENABLE ROW LEVEL SECURITY; \
                 ALTER TABLE expense_totals FORCE ROW LEVEL SECURITY; \
                 CREATE POLICY expense_totals_tenant_isolation ON expense_totals \
                   USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) \
                   WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid);"
            ))
            .await?;
        } else {
            conn.execute_unprepared(BACKFILL).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_expenses_tenant_list_order")
                    .table(Expenses::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(ExpenseTotals::Table).to_owned())
            .await
    }
}
