//! The JSON API for single-page apps and scripts, under `/api/v1/` (djoser/simplejwt
//! shape; see CONTRACT.md "auth-service: JSON API"). One implementation, two front
//! ends: the handlers here parse JSON and call the same domain functions as the HTML
//! pages ([`crate::accounts::signin`], [`crate::accounts::signup`], [`crate::accounts::admin`], [`crate::accounts::sessions`]).
//!
//! The router is built from one table, [`Endpoint::ALL`]; the OpenAPI document
//! (`GET /api/v1/openapi.json`) is checked against that table by a test. Every answer is
//! JSON, unknown paths and wrong methods included; CORS applies to these routes only.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cors;
pub mod invitations;
pub mod jwt;
pub mod recovery;
pub mod users;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};
use http::{HeaderValue, Method, header};

use crate::config::Settings;
use crate::error::AppError;
use crate::state::AppState;

/// Where the API is mounted.
pub const PREFIX: &str = "/api/v1";

/// The OpenAPI 3.1 document, hand-written.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// Every API operation: the single list the router is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST auth/users/`.
    UsersCreate,
    /// `GET auth/users/`.
    UsersList,
    /// `GET auth/users/me/`.
    MeGet,
    /// `PATCH auth/users/me/`.
    MePatch,
    /// `POST auth/users/set_password/`.
    SetPassword,
    /// `PATCH auth/users/{id}/`.
    UserPatch,
    /// `POST auth/jwt/create/`.
    JwtCreate,
    /// `POST auth/jwt/refresh/`.
    JwtRefresh,
    /// `POST auth/jwt/verify/`.
    JwtVerify,
    /// `POST auth/jwt/revoke/`.
    JwtRevoke,
    /// `GET openapi.json`.
    OpenApi,
    /// `GET auth/invitations/`.
    InvitationsList,
    /// `POST auth/invitations/`.
    InvitationsCreate,
    /// `DELETE auth/invitations/{id}/`.
    InvitationDelete,
    /// `POST auth/invitations/accept/`.
    InvitationAccept,
    // Account lifecycle by e-mail (r11-reset).
    /// `POST auth/users/reset_password/`.
    ResetPassword,
    /// `POST auth/users/reset_password_confirm/`.
    ResetPasswordConfirm,
    /// `POST auth/users/activation/`.
    Activation,
    /// `POST auth/users/resend_activation/`.
    ResendActivation,
    /// `GET auth/audit/`.
    AuditList,
    // Second factor (r15-mfa).
    /// `POST auth/jwt/create/mfa/`.
    JwtCreateMfa,
}

impl Endpoint {
    /// All operations.
    pub const ALL: [Self; 21] = [
        Self::UsersCreate,
        Self::UsersList,
        Self::MeGet,
        Self::MePatch,
        Self::SetPassword,
        Self::UserPatch,
        Self::JwtCreate,
        Self::JwtRefresh,
        Self::JwtVerify,
        Self::JwtRevoke,
        Self::OpenApi,
        Self::InvitationsList,
        Self::InvitationsCreate,
        Self::InvitationDelete,
        Self::InvitationAccept,
        Self::ResetPassword,
        Self::ResetPasswordConfirm,
        Self::Activation,
        Self::ResendActivation,
        Self::AuditList,
        Self::JwtCreateMfa,
    ];

    /// The HTTP method.
    #[must_use]
    pub fn method(self) -> Method {
        match self {
            Self::UsersList
            | Self::MeGet
            | Self::OpenApi
            | Self::InvitationsList
            | Self::AuditList => Method::GET,
            Self::InvitationDelete => Method::DELETE,
            Self::MePatch | Self::UserPatch => Method::PATCH,
            Self::UsersCreate
            | Self::SetPassword
            | Self::JwtCreate
            | Self::JwtRefresh
            | Self::JwtVerify
            | Self::JwtRevoke
            | Self::InvitationsCreate
            | Self::InvitationAccept => Method::POST,
            Self::ResetPassword
            | Self::ResetPasswordConfirm
            | Self::Activation
            | Self::ResendActivation => Method::POST,
            Self::JwtCreateMfa => Method::POST,
        }
    }

    /// The path below [`PREFIX`] (axum and OpenAPI share the `{param}` syntax).
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Self::UsersCreate | Self::UsersList => "/auth/users/",
            Self::MeGet | Self::MePatch => "/auth/users/me/",
            Self::SetPassword => "/auth/users/set_password/",
            Self::UserPatch => "/auth/users/{id}/",
            Self::JwtCreate => "/auth/jwt/create/",
            Self::JwtRefresh => "/auth/jwt/refresh/",
            Self::JwtVerify => "/auth/jwt/verify/",
            Self::JwtRevoke => "/auth/jwt/revoke/",
            Self::OpenApi => "/openapi.json",
            Self::InvitationsList | Self::InvitationsCreate => "/auth/invitations/",
            Self::InvitationDelete => "/auth/invitations/{id}/",
            Self::InvitationAccept => "/auth/invitations/accept/",
            Self::ResetPassword => "/auth/users/reset_password/",
            Self::ResetPasswordConfirm => "/auth/users/reset_password_confirm/",
            Self::Activation => "/auth/users/activation/",
            Self::ResendActivation => "/auth/users/resend_activation/",
            Self::AuditList => "/auth/audit/",
            Self::JwtCreateMfa => "/auth/jwt/create/mfa/",
        }
    }

    /// The full path, as in the OpenAPI document.
    #[must_use]
    pub fn full_path(self) -> String {
        format!("{PREFIX}{}", self.path())
    }

    fn handler(self) -> MethodRouter<AppState> {
        match self {
            Self::UsersCreate => post(users::create),
            Self::UsersList => get(admin::list),
            Self::MeGet => get(users::me),
            Self::MePatch => patch(users::patch_me),
            Self::SetPassword => post(users::set_password),
            Self::UserPatch => patch(admin::update),
            Self::JwtCreate => post(jwt::create),
            Self::JwtRefresh => post(jwt::refresh),
            Self::JwtVerify => post(jwt::verify),
            Self::JwtRevoke => post(jwt::revoke),
            Self::OpenApi => get(openapi),
            Self::InvitationsList => get(invitations::list),
            Self::InvitationsCreate => post(invitations::create),
            Self::InvitationDelete => delete(invitations::delete),
            Self::InvitationAccept => post(invitations::accept),
            Self::ResetPassword => post(recovery::reset_password),
            Self::ResetPasswordConfirm => post(recovery::reset_password_confirm),
            Self::Activation => post(recovery::activation),
            Self::ResendActivation => post(recovery::resend_activation),
            Self::AuditList => get(audit::list),
            Self::JwtCreateMfa => post(jwt::create_mfa),
        }
    }
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI_JSON,
    )
        .into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound
}

async fn method_not_allowed(method: Method) -> AppError {
    AppError::MethodNotAllowed(method)
}

/// The API routes, mounted at [`PREFIX`], with their own JSON fallbacks and the CORS layer.
pub fn router(settings: &Settings) -> Router<AppState> {
    let api = Endpoint::ALL
        .iter()
        .fold(Router::new(), |r, e| r.route(e.path(), e.handler()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(cors::layer(cors::OriginPolicy::from_settings(settings)));
    Router::new().nest(PREFIX, api)
}
