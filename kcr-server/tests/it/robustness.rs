//! Random requests (methods, hostile paths, headers, bodies) never get a 5xx or wedge the app.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::harness::{random_image, Flavor, TestApp, TestImage};
use crate::support::in_process::HOST;
use crate::support::sha256;

/// The image random requests aim at.
const NAME: &str = "fuzz/repo/img";
/// The same content under a name random paths cannot spell, read back after every case.
const PROBE: &str = "probe/stable/image";

/// The error codes of the OCI distribution spec; nothing else may reach a client.
const OCI_CODES: [&str; 14] = [
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
];

/// One random request.
#[derive(Debug, Clone)]
struct Fuzz {
    method: Method,
    path: String,
    query: Option<String>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        4 => Just(Method::GET),
        2 => Just(Method::HEAD),
        3 => Just(Method::PUT),
        2 => Just(Method::POST),
        2 => Just(Method::PATCH),
        2 => Just(Method::DELETE),
        1 => Just(Method::OPTIONS),
        1 => Just(Method::from_bytes(b"BREW").unwrap()),
    ]
}

/// Path segments: API keywords, names and digests that exist, and hostile text.
fn segment(known: &'static [String]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "v2", "manifests", "blobs", "uploads", "tags", "list", "referrers", "_catalog",
            "fuzz", "repo", "img", "latest", "v1", "", "..", ".", "%", "%2e%2e", "%2F", "%00",
            "%ff%fe", "sha256", "md5:abc", "sha256:", "sha512:00", "é", "名前", "🦀", "a b",
            "UPPER", "-x", "x-", "a__b", "a...b", "?", "#", ";", "=",
        ])
        .prop_map(str::to_owned),
        2 => prop::sample::select(known),
        1 => "[a-z0-9._-]{1,12}",
        1 => "\\PC{1,8}",
        1 => (1usize..400).prop_map(|n| "a".repeat(n)),
    ]
}

fn known_values(image: &TestImage, upload_id: &str) -> &'static [String] {
    let values = vec![
        image.manifest.digest.clone(),
        sha256(&image.config),
        sha256(&image.layers[0]),
        upload_id.to_owned(),
        "fuzz/repo/img".to_owned(),
        "0123456789abcdef0123456789abcdef".to_owned(),
    ];
    Box::leak(values.into_boxed_slice())
}

fn header() -> impl Strategy<Value = (&'static str, String)> {
    let value = prop_oneof![
        prop::sample::select(vec![
            "bytes=0-10",
            "bytes=-5",
            "bytes=5-",
            "bytes=10-0",
            "bytes=0-1,4-5",
            "bytes=-0",
            "0-10",
            "bytes 0-9/*",
            "bytes=99999999999999999999-",
            "-",
            "*/*",
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            "application/json; charset=utf-8",
            "text/plain",
            "",
            "0",
            "18446744073709551616",
            "team-a.kr-central-2.kcr.dev",
            "x.y.kcr.dev:99999",
            "[::1]:5000",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,40}",
    ];
    (
        prop::sample::select(vec![
            "range",
            "content-range",
            "content-type",
            "accept",
            "host",
            "docker-upload-uuid",
            "x-random",
        ]),
        value,
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => Just(Vec::new()),
        2 => prop::collection::vec(any::<u8>(), 0..256),
        1 => prop::sample::select(vec![
            "{}", "null", "[]", "{\"schemaVersion\":2}", "{\"schemaVersion\":1}",
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"digest\":\"sha256:zz\",\"size\":-1}]}",
            "{\"schemaVersion\":2,\"config\":{\"digest\":\"md5:00\",\"size\":1},\"layers\":[]}",
            "{\"schemaVersion\":2,\"config\":null,\"layers\":null,\"manifests\":null}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

/// A path under `/v2/`: either random segments, or a name followed by a real endpoint shape
/// whose parts are random.
fn path(known: &'static [String]) -> impl Strategy<Value = String> {
    let name = prop_oneof![
        3 => Just(NAME.to_owned()),
        1 => prop::sample::select(vec!["fuzz/repo", "fuzz", "fuzz/repo/img/deeper", "probe2/stable/image"])
            .prop_map(str::to_owned),
        2 => prop::collection::vec(segment(known), 1..5).prop_map(|s| s.join("/")),
    ];
    let endpoint = prop_oneof![
        segment(known).prop_map(|r| format!("manifests/{r}")),
        segment(known).prop_map(|d| format!("blobs/{d}")),
        Just("blobs/uploads/".to_owned()),
        segment(known).prop_map(|id| format!("blobs/uploads/{id}")),
        Just("tags/list".to_owned()),
        segment(known).prop_map(|d| format!("referrers/{d}")),
    ];
    prop_oneof![
        1 => prop::collection::vec(segment(known), 0..8).prop_map(|s| s.join("/")),
        1 => Just("_catalog".to_owned()),
        4 => (name, endpoint).prop_map(|(n, e)| format!("{n}/{e}")),
    ]
    .prop_map(|p| format!("/v2/{p}"))
}

/// A query: the parameters the API reads, with random values, or random text.
fn query(known: &'static [String]) -> impl Strategy<Value = Option<String>> {
    let key = prop::sample::select(vec![
        "digest",
        "mount",
        "from",
        "tag",
        "n",
        "last",
        "artifactType",
    ]);
    let value = prop_oneof![
        segment(known),
        "[0-9]{1,3}",
        Just("-1".to_owned()),
        Just("99999999999999999999999".to_owned()),
    ];
    prop_oneof![
        1 => Just(None),
        1 => "[ -~]{0,40}".prop_map(Some),
        3 => prop::collection::vec((key, value), 1..4).prop_map(|pairs| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
        }),
    ]
}

fn fuzz(known: &'static [String]) -> impl Strategy<Value = Fuzz> {
    (
        method(),
        path(known),
        query(known),
        prop::collection::vec(header(), 0..4),
        body(),
    )
        .prop_map(|(method, path, query, headers, body)| Fuzz {
            method,
            path,
            query,
            headers,
            body,
        })
}

/// Percent-encodes what a request URI cannot carry raw (spaces, non-ASCII, `#`...), leaving
/// hostile but legal text like `%`, `..` and `;` as it is.
fn uri_text(s: &str, query: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let raw = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/%".contains(&b)
            || (query && b == b'?');
        if raw {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn request(f: &Fuzz) -> Option<Request<Body>> {
    let mut uri = uri_text(&f.path, false);
    if let Some(q) = &f.query {
        uri.push('?');
        uri.push_str(&uri_text(q, true));
    }
    let mut builder = Request::builder().method(f.method.clone()).uri(uri);
    let mut has_host = false;
    for (k, v) in &f.headers {
        has_host |= *k == "host";
        builder = builder.header(*k, v.as_str());
    }
    if !has_host {
        builder = builder.header("host", HOST);
    }
    builder.body(Body::from(f.body.clone())).ok()
}

/// Requests a well-behaved client makes; they must keep working whatever came before.
async fn still_serves(app: &TestApp, image: &TestImage) -> Result<(), TestCaseError> {
    let resp = app.get("/v2/").await;
    prop_assert_eq!(resp.status, StatusCode::OK);
    let resp = app.get(&format!("/v2/{PROBE}/manifests/stable")).await;
    prop_assert_eq!(resp.status, StatusCode::OK);
    prop_assert_eq!(resp.body.as_ref(), image.manifest.body.as_slice());
    let layer = sha256(&image.layers[0]);
    let resp = app.get(&format!("/v2/{PROBE}/blobs/{layer}")).await;
    prop_assert_eq!(resp.status, StatusCode::OK);
    prop_assert_eq!(resp.body.as_ref(), image.layers[0].as_slice());
    let resp = app
        .request(Method::POST, &format!("/v2/{PROBE}/blobs/uploads/"))
        .send()
        .await;
    prop_assert_eq!(resp.status, StatusCode::ACCEPTED);
    Ok(())
}

#[test]
fn random_requests_never_fail_the_server() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    let upload_id = rt.block_on(async {
        app.push_image(NAME, &image, "latest").await;
        app.push_image(PROBE, &image, "stable").await;
        let location = app.start_upload(NAME).await;
        location.rsplit('/').next().unwrap().to_owned()
    });
    let known = known_values(&image, &upload_id);

    // 256 cases by default; `PROPTEST_CASES=100000` for a longer hunt.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(256);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let sent = std::cell::Cell::new(0u32);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u32>::new());
    runner
        .run(&fuzz(known), |f| {
            let Some(req) = request(&f) else {
                return Ok(());
            };
            sent.set(sent.get() + 1);
            rt.block_on(async {
                let resp = app.send(req).await;
                *statuses
                    .borrow_mut()
                    .entry(resp.status.as_u16())
                    .or_default() += 1;
                prop_assert!(
                    !resp.status.is_server_error(),
                    "{:?} answered {}: {}",
                    f,
                    resp.status,
                    String::from_utf8_lossy(&resp.body)
                );
                if resp.status.is_client_error() && f.method != Method::HEAD {
                    // Refusals carry an OCI error body (a 416 on a blob range carries none).
                    if !resp.body.is_empty() {
                        let body: serde_json::Value =
                            serde_json::from_slice(&resp.body).map_err(|e| {
                                TestCaseError::fail(format!("{f:?}: error body is not JSON: {e}"))
                            })?;
                        let code = body["errors"][0]["code"].as_str().unwrap_or_default();
                        prop_assert!(
                            OCI_CODES.contains(&code),
                            "{:?}: not an OCI code: {}",
                            f,
                            body
                        );
                    }
                }
                still_serves(&app, &image).await
            })
        })
        .unwrap();
    // The generator must mostly produce requests the server sees, of many kinds.
    assert!(
        sent.get() >= cases * 3 / 4,
        "only {} of {cases} cases were sendable",
        sent.get()
    );
    eprintln!("robustness statuses: {:?}", statuses.borrow());
    assert!(
        statuses.borrow().len() >= 4,
        "too little variety: {:?}",
        statuses.borrow()
    );
}
