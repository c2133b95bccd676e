//! Tags list and catalog: lexical order, `n`/`last` pagination with `Link` headers, unknown images.

use axum::http::StatusCode;

use crate::harness::{random_image, string_list, Flavor, TestApp};
use crate::support::in_process::Resp;

const NAME: &str = "acme/tools/cli";

/// The target of a `Link: <...>; rel="next"` header.
fn next_link(resp: &Resp) -> Option<String> {
    let link = resp.header("link")?;
    let (target, rel) = link.split_once(';').expect("Link has a rel");
    assert_eq!(rel.trim(), "rel=\"next\"", "{link}");
    Some(
        target
            .trim()
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .expect("Link target in <>")
            .to_owned(),
    )
}

async fn app_with_tags(tags: &[&str]) -> TestApp {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, tags[0]).await;
    for tag in &tags[1..] {
        app.push_manifest(NAME, tag, &image.manifest).await;
    }
    app
}

/// Follows `Link` headers from `first`, returning every page's items under `key`.
async fn follow(app: &TestApp, first: &str, key: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut uri = Some(first.to_owned());
    while let Some(u) = uri {
        let resp = app.get(&u).await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(resp.header("content-type"), Some("application/json"));
        pages.push(string_list(&resp.json()[key]));
        uri = next_link(&resp);
        assert!(pages.len() < 100, "pagination does not end");
    }
    pages
}

#[tokio::test]
async fn tags_are_listed_in_lexical_order() {
    let tags = [
        "v10",
        "v2",
        "latest",
        "Latest",
        "1.0",
        "_internal",
        "v1.0-rc1",
        "v1.0",
    ];
    let app = app_with_tags(&tags).await;
    let resp = app.get(&format!("/v2/{NAME}/tags/list")).await;
    resp.assert_status(StatusCode::OK);
    let body = resp.json();
    assert_eq!(body["name"], NAME);
    let mut expected: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(string_list(&body["tags"]), expected);
    assert!(resp.header("link").is_none());
}

#[tokio::test]
async fn tags_paginate_with_n_last_and_link() {
    let tags = ["e", "a", "d", "b", "c"];
    let app = app_with_tags(&tags).await;
    let resp = app.get(&format!("/v2/{NAME}/tags/list?n=2")).await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(string_list(&resp.json()["tags"]), vec!["a", "b"]);
    assert_eq!(
        resp.header("link"),
        Some(format!("</v2/{NAME}/tags/list?n=2&last=b>; rel=\"next\"").as_str())
    );
    let pages = follow(&app, &format!("/v2/{NAME}/tags/list?n=2"), "tags").await;
    assert_eq!(
        pages,
        vec![vec!["a", "b"], vec!["c", "d"], vec!["e"]]
            .into_iter()
            .map(|p| p.into_iter().map(String::from).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    // `last` alone: everything after it, no Link.
    let resp = app.get(&format!("/v2/{NAME}/tags/list?last=b")).await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(string_list(&resp.json()["tags"]), vec!["c", "d", "e"]);
    assert!(resp.header("link").is_none());
    // `last` need not be a tag that exists.
    let resp = app.get(&format!("/v2/{NAME}/tags/list?n=1&last=bb")).await;
    assert_eq!(string_list(&resp.json()["tags"]), vec!["c"]);
    // A page exactly reaching the end has no Link.
    let resp = app.get(&format!("/v2/{NAME}/tags/list?n=5")).await;
    assert_eq!(string_list(&resp.json()["tags"]).len(), 5);
    assert!(resp.header("link").is_none());
    // Past the end: an empty page.
    let resp = app.get(&format!("/v2/{NAME}/tags/list?n=2&last=e")).await;
    resp.assert_status(StatusCode::OK);
    assert!(string_list(&resp.json()["tags"]).is_empty());
    assert!(resp.header("link").is_none());
}

#[tokio::test]
async fn a_malformed_page_size_is_refused() {
    let app = app_with_tags(&["a"]).await;
    let resp = app.get(&format!("/v2/{NAME}/tags/list?n=-1")).await;
    resp.assert_status(StatusCode::BAD_REQUEST);
    let resp = app.get("/v2/_catalog?n=many").await;
    resp.assert_status(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tags_of_an_unknown_image_are_name_unknown() {
    let app = app_with_tags(&["a"]).await;
    app.get("/v2/acme/tools/missing/tags/list")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
    app.get("/v2/nobody/none/nothing/tags/list")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
}

#[tokio::test]
async fn catalog_is_lexical_and_paginates_with_link() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    let names = [
        "zeta/r/img",
        "acme/web/b",
        "acme/web/a/deep/path",
        "acme/api/server",
        "beta/r/img",
    ];
    for name in names {
        app.push_image(name, &image, "v1").await;
    }
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();

    let resp = app.get("/v2/_catalog").await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(string_list(&resp.json()["repositories"]), expected);
    assert!(resp.header("link").is_none());

    let resp = app.get("/v2/_catalog?n=2").await;
    assert_eq!(
        resp.header("link"),
        Some(format!("</v2/_catalog?n=2&last={}>; rel=\"next\"", expected[1]).as_str())
    );
    let pages = follow(&app, "/v2/_catalog?n=2", "repositories").await;
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(|p| p.len() <= 2));
    assert_eq!(pages.concat(), expected);

    let resp = app.get(&format!("/v2/_catalog?last={}", expected[2])).await;
    assert_eq!(
        string_list(&resp.json()["repositories"]),
        expected[3..].to_vec()
    );
}

#[tokio::test]
async fn catalog_on_a_project_host_paginates_in_that_project() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    for name in [
        "team-a/web/a",
        "team-a/web/b",
        "team-a/web/c",
        "team-b/web/a",
    ] {
        app.push_image(name, &image, "v1").await;
    }
    let host = "team-a.kr-central-2.kcr.dev";
    let mut pages = Vec::new();
    let mut uri = Some("/v2/_catalog?n=2".to_owned());
    while let Some(u) = uri {
        let resp = app
            .request(axum::http::Method::GET, &u)
            .header("host", host)
            .send()
            .await;
        resp.assert_status(StatusCode::OK);
        pages.push(string_list(&resp.json()["repositories"]));
        uri = next_link(&resp);
    }
    assert_eq!(
        pages,
        vec![
            vec!["web/a".to_owned(), "web/b".to_owned()],
            vec!["web/c".to_owned()]
        ]
    );
}
