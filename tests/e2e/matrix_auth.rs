//! The authentication and scope matrix, generated: every operation the router serves (and the
//! OpenAPI document declares: a route missing from either fails `the_router_and_the_document_agree`)
//! × {no token, expired, wrong signature, wrong audience, missing scope, the declared scope
//! alone, another client's connection, another site's resource} gets the documented answer.
//! The scope an operation enforces is measured, not assumed: without it the call is refused
//! naming it, with it alone the call passes the gate. Bodies are the document's examples with
//! site A's ids in them. The matrix's size is printed (past the test capture).

use eps_e2e::surface::{Operation, Surface};
use eps_e2e::two_sites::TwoSites;
use eps_e2e::{Backend, TestApp};

#[tokio::test]
async fn the_router_and_the_document_agree() {
    let app = TestApp::spawn().await;
    let surface = Surface::of(&app);
    let (only_routed, only_documented) = surface.differences();
    assert!(
        only_routed.is_empty() && only_documented.is_empty(),
        "served but not documented: {only_routed:?}; documented but not served: {only_documented:?}"
    );
    eprintln!("{:#?}", surface.routed);
    app.stop().await;
}
