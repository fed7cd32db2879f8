//! SeaORM entities. Queries live in `crate::repo`, always behind a `TenantScope`.

pub mod department;
pub mod expense;
pub mod expense_total;
