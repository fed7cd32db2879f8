//! Property: whatever random tenants, users and operations do, no response ever contains
//! another tenant's data, and another tenant's ids always answer 404 (or 403 when the role
//! alone already forbids the action).

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared_jwt::Role;

use test_support::db_tests;

use crate::api::helpers::{Backend, Tenant, TestApp, User, today};

db_tests!(blocking; no_response_contains_another_tenants_data);

#[derive(Clone, Debug)]
enum Op {
    Create {
        user: usize,
        cents: u32,
    },
    Get {
        user: usize,
        target: usize,
    },
    Patch {
        user: usize,
        target: usize,
        cents: u32,
    },
    Delete {
        user: usize,
        target: usize,
    },
    Approve {
        user: usize,
        target: usize,
    },
    Reject {
        user: usize,
        target: usize,
    },
    List {
        user: usize,
    },
    Page {
        user: usize,
    },
}

const USERS: usize = 6; // two tenants × owner, member, viewer

fn op() -> impl Strategy<Value = Op> {
    let u = 0..USERS;
    let t = 0..16usize;
    prop_oneof![
        3 => (u.clone(), 1..100_000u32).prop_map(|(user, cents)| Op::Create { user, cents }),
        2 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Get { user, target }),
        1 => (u.clone(), t.clone(), 1..100_000u32).prop_map(|(user, target, cents)| Op::Patch { user, target, cents }),
        1 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Delete { user, target }),
        1 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Approve { user, target }),
        1 => (u.clone(), t.clone()).prop_map(|(user, target)| Op::Reject { user, target }),
        1 => u.clone().prop_map(|user| Op::List { user }),
        1 => u.prop_map(|user| Op::Page { user }),
    ]
}

struct World {
    users: Vec<User>,
    /// Per tenant index: its department id.
    departments: Vec<String>,
    /// (expense id, tenant index).
    expenses: Vec<(String, usize)>,
    /// Per tenant index: strings that only that tenant's data contains.
    secrets: Vec<Vec<String>>,
}

impl World {
    fn tenant_of(&self, user: usize) -> usize {
        user / 3
    }

    /// Fails when `body`, seen by a user of `tenant`, contains another tenant's data.
    fn check_body(&self, tenant: usize, body: &str, what: &str) -> Result<(), TestCaseError> {
        for (other, secrets) in self.secrets.iter().enumerate() {
            if other == tenant {
                continue;
            }
            for s in secrets {
                prop_assert!(
                    !body.contains(s.as_str()),
                    "{what}: tenant {tenant} saw {s:?} of tenant {other}"
                );
            }
        }
        Ok(())
    }
}

async fn setup(app: &TestApp) -> World {
    let mut users = Vec::new();
    let mut departments = Vec::new();
    let mut secrets = Vec::new();
    for _ in 0..2 {
        let slug = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let tenant = Tenant::new(&slug);
        let owner = app.user(&tenant, Role::Owner, &format!("Owner of {slug}"));
        let dept = app
            .department(&owner, &format!("Dept {slug}"), Some(("100", "EUR")))
            .await;
        secrets.push(vec![slug.clone(), tenant.id.to_string(), dept.clone()]);
        departments.push(dept);
        users.push(owner);
        users.push(app.user(&tenant, Role::Member, &format!("Member of {slug}")));
        users.push(app.user(&tenant, Role::Viewer, &format!("Viewer of {slug}")));
    }
    World {
        users,
        departments,
        expenses: Vec::new(),
        secrets,
    }
}

fn money(cents: u32) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

async fn apply(app: &TestApp, world: &mut World, op: &Op) -> Result<(), TestCaseError> {
    let (user_idx, target, method, path, body, min_role) = match op {
        Op::Create { user, cents } => {
            let tenant = world.tenant_of(*user);
            let slug = world.secrets[tenant][0].clone();
            let body = json!({
                "amount": money(*cents), "currency": "EUR", "description": format!("note {slug}"),
                "spent_on": today(), "department_id": world.departments[tenant],
            });
            let u = &world.users[*user];
            let res = app
                .api(Method::POST, "/api/v1/expenses/", Some(u), Some(body))
                .await;
            let status = res.status();
            let text = res.text().await.unwrap();
            world.check_body(tenant, &text, "create")?;
            if u.role.at_least(Role::Member) {
                prop_assert_eq!(status, StatusCode::CREATED, "{}", text);
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                let id = v["id"].as_str().unwrap().to_owned();
                world.secrets[tenant].push(id.clone());
                world.expenses.push((id, tenant));
            } else {
                prop_assert_eq!(status, StatusCode::FORBIDDEN);
            }
            return Ok(());
        }
        Op::List { user } => (
            *user,
            None,
            Method::GET,
            "/api/v1/expenses/?per_page=100".to_owned(),
            None,
            Role::Viewer,
        ),
        Op::Page { user } => (*user, None, Method::GET, "/".to_owned(), None, Role::Viewer),
        Op::Get { user, target } => (
            *user,
            Some(*target),
            Method::GET,
            String::new(),
            None,
            Role::Viewer,
        ),
        Op::Patch {
            user,
            target,
            cents,
        } => (
            *user,
            Some(*target),
            Method::PATCH,
            String::new(),
            Some(json!({"amount": money(*cents)})),
            Role::Member,
        ),
        Op::Delete { user, target } => (
            *user,
            Some(*target),
            Method::DELETE,
            String::new(),
            None,
            Role::Member,
        ),
        Op::Approve { user, target } => (
            *user,
            Some(*target),
            Method::POST,
            "/approve".into(),
            None,
            Role::Admin,
        ),
        Op::Reject { user, target } => (
            *user,
            Some(*target),
            Method::POST,
            "/reject".into(),
            Some(json!({"reason": "no"})),
            Role::Admin,
        ),
    };
    let tenant = world.tenant_of(user_idx);
    let user = &world.users[user_idx];
    let (path, foreign) = match target {
        None => (path, false),
        Some(_) if world.expenses.is_empty() => return Ok(()),
        Some(t) => {
            let (id, owner_tenant) = &world.expenses[t % world.expenses.len()];
            (
                format!("/api/v1/expenses/{id}{path}"),
                *owner_tenant != tenant,
            )
        }
    };
    let res = if path == "/" {
        app.get("/", Some(user)).await
    } else {
        app.api(method, &path, Some(user), body).await
    };
    let status = res.status();
    let text = res.text().await.unwrap();
    world.check_body(tenant, &text, &path)?;
    if foreign {
        if user.role.at_least(min_role) {
            prop_assert_eq!(status, StatusCode::NOT_FOUND, "{} {}", path, text);
        } else {
            prop_assert_eq!(status, StatusCode::FORBIDDEN, "{} {}", path, text);
        }
    }
    prop_assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{} {}",
        path,
        text
    );
    Ok(())
}

/// The property on `backend`, with a runtime of its own (proptest drives it synchronously).
fn no_response_contains_another_tenants_data(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::spawn(backend));
    // A modest number of cases so this runs in seconds; each case brings two fresh tenants.
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&proptest::collection::vec(op(), 1..30), |ops| {
        rt.block_on(async {
            let mut world = setup(&app).await;
            for op in &ops {
                apply(&app, &mut world, op).await?;
            }
            Ok(())
        })
    });
    rt.block_on(app.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
}
