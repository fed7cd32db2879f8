//! The password-guessing limits as slot rows (`throttle_slots`) instead of failure rows
//! and escalating locks: a bucket (one per account and client address, one per account,
//! one per address) holds at most N slots; an attempt claims one before the password is
//! checked, with one conditional statement. Drops `login_failures` and `login_locks`,
//! which nothing reads any more (their counts expire within 15 minutes anyway).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ThrottleSlots {
    Table,
    Bucket,
    Slot,
    Account,
    UsedAtMs,
    Claim,
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
}

#[derive(DeriveIden)]
enum LoginLocks {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ThrottleSlots::Table)
                    .col(
                        ColumnDef::new(ThrottleSlots::Bucket)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(ColumnDef::new(ThrottleSlots::Slot).integer().not_null())
                    .col(ColumnDef::new(ThrottleSlots::Account).string_len(64).null())
                    // Unix milliseconds: compared as numbers on both databases.
                    .col(
                        ColumnDef::new(ThrottleSlots::UsedAtMs)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(ThrottleSlots::Claim).uuid().null())
                    .primary_key(
                        Index::create()
                            .col(ThrottleSlots::Bucket)
                            .col(ThrottleSlots::Slot),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_throttle_slots_account")
                    .table(ThrottleSlots::Table)
                    .col(ThrottleSlots::Account)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_throttle_slots_used_at")
                    .table(ThrottleSlots::Table)
                    .col(ThrottleSlots::UsedAtMs)
                    .to_owned(),
            )
            .await?;
        for table in [
            LoginLocks::Table.into_iden(),
            LoginFailures::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(ThrottleSlots::Table)
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        // The tables of the initial migration, empty.
        crate::m20261123_000001_initial::create_login_throttle_tables(manager).await
    }
}
