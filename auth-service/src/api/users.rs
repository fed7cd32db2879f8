//! `POST users/` (sign up), `GET`/`PATCH users/me/`, `POST users/set_password/`. The
//! fields' rules, enumeration resistance, hashing, throttling and audit are the use
//! cases' ([`signup`], [`profile`]); this module maps typed JSON bodies in and
//! representations out.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use super::auth::ApiUser;
use super::body::JsonBody;
use crate::accounts::profile::{self, PasswordChange, PasswordField};
use crate::accounts::signup::{self, JOIN_REFUSED, SignUp, SignupField, SignupFields, TargetField};
use crate::accounts::users;
use crate::error::{AppError, FieldErrors};
use crate::infra::entities::{tenant, user};
use crate::request::Meta;
use crate::request::rate_limit::{PasswordChanges, RateLimited, SignUps};
use crate::state::AppState;

/// The public representation of a user.
#[must_use]
pub fn user_json(user: &user::Model, tenant: &tenant::Model) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "is_active": user.is_active,
        "email_verified": user.email_verified,
        "tenant_id": tenant.id,
        "tenant_slug": tenant.slug,
        "date_joined": user.created_at,
        "last_login": user.last_login_at,
    })
}

/// `POST users/`'s body, read field by field (presence and JSON types); the values'
/// rules are [`SignupFields::parse`]'s.
#[derive(Debug, Default)]
pub struct SignupBody {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    tenant_slug: Option<String>,
    organization_name: Option<String>,
    joining: bool,
}

impl SignupBody {
    /// Reads the body; presence problems go to `errors`.
    #[must_use]
    pub fn parse(body: &JsonBody, errors: &mut FieldErrors) -> Self {
        let mut b = Self {
            first_name: body.raw("first_name", errors),
            last_name: body.raw("last_name", errors),
            email: body.string("email", errors),
            password: body.raw("password", errors),
            ..Self::default()
        };
        match (
            body.present("tenant_slug"),
            body.present("organization_name"),
        ) {
            (true, false) => {
                b.joining = true;
                b.tenant_slug = body.string("tenant_slug", errors);
            }
            (false, true) => b.organization_name = body.string("organization_name", errors),
            _ => errors.add(
                "non_field_errors",
                "Give either tenant_slug (to join an organization) or organization_name (to create one).",
            ),
        }
        b
    }

    fn fields(&self) -> SignupFields<'_> {
        SignupFields {
            first_name: self.first_name.as_deref(),
            last_name: self.last_name.as_deref(),
            email: self.email.as_deref(),
            password: self.password.as_deref(),
            target: match (&self.tenant_slug, &self.organization_name) {
                (Some(s), _) => Some(TargetField::Join(s)),
                (None, Some(n)) => Some(TargetField::Create(n)),
                (None, None) => None,
            },
        }
    }

    fn target_field(&self) -> &'static str {
        if self.joining {
            "tenant_slug"
        } else {
            "organization_name"
        }
    }
}

/// `POST users/`: join an organization (`tenant_slug`) or create one (`organization_name`).
pub async fn create(
    _: RateLimited<SignUps>,
    State(state): State<AppState>,
    meta: Meta,
    body: JsonBody,
) -> Result<Response, AppError> {
    let mut errors = FieldErrors::default();
    let body = SignupBody::parse(&body, &mut errors);
    let input = match body.fields().parse() {
        Ok(input) if errors.is_empty() => input,
        Ok(_) => return Err(AppError::Fields(errors)),
        Err(problems) => {
            for (field, message) in problems {
                let name = match field {
                    SignupField::FirstName => "first_name",
                    SignupField::LastName => "last_name",
                    SignupField::Email => "email",
                    SignupField::Password => "password",
                    SignupField::Join => "tenant_slug",
                    SignupField::Create => "organization_name",
                };
                errors.add(name, message);
            }
            return Err(AppError::Fields(errors));
        }
    };
    match signup::sign_up(&state, input, &meta.event_context()).await? {
        SignUp::Created { user, tenant } => {
            Ok((StatusCode::CREATED, Json(user_json(&user, &tenant))).into_response())
        }
        SignUp::Refused => Err(AppError::Fields(FieldErrors::single(
            body.target_field(),
            JOIN_REFUSED,
        ))),
    }
}

/// `GET users/me/`.
pub async fn me(me: ApiUser) -> Json<Value> {
    Json(user_json(&me.user, &me.tenant))
}

/// `PATCH users/me/`'s body: the names to change (`None` = unchanged).
#[derive(Debug)]
pub struct NamesBody {
    first_name: Option<String>,
    last_name: Option<String>,
}

impl NamesBody {
    /// Reads and checks the names (other fields are read-only and ignored).
    ///
    /// # Errors
    /// [`AppError::Fields`].
    pub fn parse(body: &JsonBody) -> Result<Self, AppError> {
        let mut errors = FieldErrors::default();
        let mut name = |field: &str| {
            body.opt_string(field, &mut errors)
                .and_then(|v| users::parse_name(&v).map_err(|e| errors.add(field, e)).ok())
        };
        let first_name = name("first_name");
        let last_name = name("last_name");
        errors.into_result()?;
        Ok(Self {
            first_name,
            last_name,
        })
    }
}

/// `PATCH users/me/`: `first_name` and/or `last_name`.
pub async fn patch_me(
    State(state): State<AppState>,
    meta: Meta,
    ApiUser(me): ApiUser,
    body: JsonBody,
) -> Result<Json<Value>, AppError> {
    let NamesBody {
        first_name,
        last_name,
    } = NamesBody::parse(&body)?;
    let ctx = meta.event_context();
    let user = profile::update_names(&state.db, me.user, first_name, last_name, &ctx).await?;
    Ok(Json(user_json(&user, &me.tenant)))
}

/// `POST users/set_password/`: `204`; every other session of the user is revoked.
pub async fn set_password(
    _: RateLimited<PasswordChanges>,
    State(state): State<AppState>,
    meta: Meta,
    me: ApiUser,
    body: JsonBody,
) -> Result<StatusCode, AppError> {
    let mut errors = FieldErrors::default();
    let current = body.raw("current_password", &mut errors);
    let new = body.raw("new_password", &mut errors);
    let ctx = meta.event_context();
    let change = profile::change_password(
        &state,
        &me,
        current.as_deref(),
        new.as_deref(),
        meta.ip,
        &ctx,
    )
    .await?;
    match change {
        // Both fields were present, so `errors` is empty.
        PasswordChange::Changed => Ok(StatusCode::NO_CONTENT),
        PasswordChange::Throttled(t) => Err(AppError::Throttled(t)),
        PasswordChange::Refused(problems) => {
            for (field, message) in problems {
                let name = match field {
                    PasswordField::Current => "current_password",
                    PasswordField::New => "new_password",
                };
                errors.add(name, message);
            }
            Err(AppError::Fields(errors))
        }
    }
}
