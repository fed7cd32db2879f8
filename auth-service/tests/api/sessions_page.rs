//! The account page names each session by browser and system ("Chrome 131 on Linux"),
//! keeping the raw `User-Agent` as a tooltip (escaped: it is attacker-chosen text).

use crate::api::helpers::*;
use test_support::db_tests;

db_tests!(sessions_are_named_by_browser_and_system_with_the_raw_agent_as_tooltip,);

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 <b>x</b>";

async fn sessions_are_named_by_browser_and_system_with_the_raw_agent_as_tooltip(b: Backend) {
    let mut app = TestApp::spawn(b).await;
    app.client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(CHROME)
        .build()
        .unwrap();
    app.acme().await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    let page = app.get("/").await.text().await.unwrap();
    assert!(page.contains(">Chrome 131 on Linux</span>"), "{page}");
    assert!(
        page.contains("title=\"Mozilla/5.0 (X11; Linux x86_64)"),
        "the raw agent is kept as a tooltip: {page}"
    );
    assert!(!page.contains("<b>x</b>"), "the raw agent is escaped");
}
