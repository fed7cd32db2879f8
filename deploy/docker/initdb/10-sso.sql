-- Databases and roles for the compose stack (development passwords only).
CREATE ROLE sso_auth LOGIN PASSWORD 'sso_auth';
CREATE DATABASE sso_auth OWNER sso_auth;
-- expense-service: the owner runs migrations; the app role does not own the tables,
-- so FORCE ROW LEVEL SECURITY applies to it.
CREATE ROLE expense_owner LOGIN PASSWORD 'expense_owner';
CREATE ROLE expense_app LOGIN PASSWORD 'expense_app';
CREATE DATABASE sso_expenses OWNER expense_owner;
