//! The referrers API: subjects, artifact types, the `artifactType` filter and the fallback tag index.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{
    random_image, sha512, Flavor, TestApp, TestImage, TestManifest, OCI_INDEX, OCI_MANIFEST,
};
use crate::support::in_process::Resp;
use crate::support::sha256;

const NAME: &str = "acme/apps/api";
const SBOM: &str = "application/vnd.example.sbom.v1+json";
const SIGNATURE: &str = "application/vnd.example.signature.v1";
/// The media type of the OCI empty descriptor.
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";
/// The OCI empty descriptor's content, `{}`.
const EMPTY_JSON: &[u8] = b"{}";

/// An artifact manifest whose `subject` is `subject`: `artifactType` set and the empty config, or
/// (with `artifact_type` `None`) a config whose media type serves as the artifact type.
fn artifact(
    subject: Option<&TestManifest>,
    artifact_type: Option<&str>,
    config_type: &str,
    layer: &[u8],
    note: &str,
) -> TestManifest {
    let config_blob: &[u8] = if config_type == EMPTY_CONFIG {
        EMPTY_JSON
    } else {
        layer
    };
    let mut value = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": config_type, "digest": sha256(config_blob), "size": config_blob.len() },
        "layers": [ { "mediaType": "application/octet-stream", "digest": sha256(layer), "size": layer.len() } ],
        "annotations": { "org.example.note": note },
    });
    if let Some(t) = artifact_type {
        value["artifactType"] = json!(t);
    }
    if let Some(s) = subject {
        value["subject"] = s.descriptor();
    }
    TestManifest::from_json(&value, OCI_MANIFEST)
}

/// An artifact manifest with `artifactType` set and the empty config.
fn typed_artifact(
    subject: Option<&TestManifest>,
    artifact_type: &str,
    layer: &[u8],
    note: &str,
) -> TestManifest {
    artifact(subject, Some(artifact_type), EMPTY_CONFIG, layer, note)
}

/// An image pushed under `v1` with the blobs artifacts use already uploaded.
async fn setup(app: &TestApp) -> (TestImage, Vec<u8>) {
    let image = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, "v1").await;
    let layer = b"artifact payload".to_vec();
    app.push_blob(NAME, &layer).await;
    app.push_blob(NAME, EMPTY_JSON).await;
    (image, layer)
}

async fn referrers(app: &TestApp, uri: &str) -> (Resp, Vec<Value>) {
    let resp = app.get(uri).await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(resp.header("content-type"), Some(OCI_INDEX));
    let body = resp.json();
    assert_eq!(body["schemaVersion"], 2);
    assert_eq!(body["mediaType"], OCI_INDEX);
    let manifests = body["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("manifests must be an array: {body}"))
        .clone();
    (resp, manifests)
}

fn digests(list: &[Value]) -> Vec<String> {
    let mut d: Vec<String> = list
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .collect();
    d.sort();
    d
}

#[tokio::test]
async fn pushing_a_manifest_with_a_subject_answers_oci_subject() {
    let app = TestApp::new();
    let (image, layer) = setup(&app).await;
    let sig = typed_artifact(Some(&image.manifest), SIGNATURE, &layer, "sig");
    let resp = app.push_manifest(NAME, &sig.digest, &sig).await;
    assert_eq!(
        resp.header("oci-subject"),
        Some(image.manifest.digest.as_str())
    );
    // Without a subject there is no such header.
    let plain = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &plain, "plain").await;
    let resp = app.put_manifest(NAME, "plain", &plain.manifest).await;
    assert!(resp.header("oci-subject").is_none());
}

#[tokio::test]
async fn a_dangling_subject_is_accepted() {
    let app = TestApp::new();
    let (_, layer) = setup(&app).await;
    let never_pushed = random_image(Flavor::Oci, 1).manifest;
    let sig = typed_artifact(Some(&never_pushed), SIGNATURE, &layer, "dangling");
    let resp = app.push_manifest(NAME, &sig.digest, &sig).await;
    assert_eq!(
        resp.header("oci-subject"),
        Some(never_pushed.digest.as_str())
    );
    let (_, list) = referrers(
        &app,
        &format!("/v2/{NAME}/referrers/{}", never_pushed.digest),
    )
    .await;
    assert_eq!(digests(&list), vec![sig.digest.clone()]);
}

#[tokio::test]
async fn referrers_are_listed_with_artifact_types_and_annotations() {
    let app = TestApp::new();
    let (image, layer) = setup(&app).await;
    let sig = typed_artifact(Some(&image.manifest), SIGNATURE, &layer, "sig");
    // No artifactType: the config media type is the artifact type.
    app.push_blob(NAME, &layer).await;
    let sbom = artifact(Some(&image.manifest), None, SBOM, &layer, "sbom");
    // An index can refer to a subject as well.
    let index_value = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.example.bundle",
        "manifests": [ sig.descriptor() ],
        "subject": image.manifest.descriptor(),
        "annotations": { "org.example.note": "bundle" },
    });
    let bundle = TestManifest::from_json(&index_value, OCI_INDEX);
    for m in [&sig, &sbom, &bundle] {
        let resp = app.push_manifest(NAME, &m.digest, m).await;
        assert_eq!(
            resp.header("oci-subject"),
            Some(image.manifest.digest.as_str())
        );
    }
    let (resp, list) = referrers(
        &app,
        &format!("/v2/{NAME}/referrers/{}", image.manifest.digest),
    )
    .await;
    assert!(resp.header("oci-filters-applied").is_none());
    let mut expected = vec![
        sig.digest.clone(),
        sbom.digest.clone(),
        bundle.digest.clone(),
    ];
    expected.sort();
    assert_eq!(digests(&list), expected);
    for entry in &list {
        let d = entry["digest"].as_str().unwrap();
        let (m, artifact_type, note) = if d == sig.digest {
            (&sig, SIGNATURE, "sig")
        } else if d == sbom.digest {
            (&sbom, SBOM, "sbom")
        } else {
            (&bundle, "application/vnd.example.bundle", "bundle")
        };
        assert_eq!(entry["mediaType"], m.media_type.as_str());
        assert_eq!(entry["size"], m.body.len());
        assert_eq!(entry["artifactType"], artifact_type);
        assert_eq!(entry["annotations"]["org.example.note"], note);
    }
}

#[tokio::test]
async fn artifact_type_filter_is_applied_and_announced() {
    let app = TestApp::new();
    let (image, layer) = setup(&app).await;
    let sig1 = typed_artifact(Some(&image.manifest), SIGNATURE, &layer, "one");
    let sig2 = typed_artifact(Some(&image.manifest), SIGNATURE, &layer, "two");
    let sbom = typed_artifact(Some(&image.manifest), SBOM, &layer, "sbom");
    for m in [&sig1, &sig2, &sbom] {
        app.push_manifest(NAME, &m.digest, m).await;
    }
    let base = format!("/v2/{NAME}/referrers/{}", image.manifest.digest);
    let (resp, list) = referrers(&app, &format!("{base}?artifactType={SIGNATURE}")).await;
    assert_eq!(resp.header("oci-filters-applied"), Some("artifactType"));
    let mut expected = vec![sig1.digest.clone(), sig2.digest.clone()];
    expected.sort();
    assert_eq!(digests(&list), expected);
    assert!(list.iter().all(|m| m["artifactType"] == SIGNATURE));

    let (resp, list) = referrers(&app, &format!("{base}?artifactType=application/x-none")).await;
    assert_eq!(resp.header("oci-filters-applied"), Some("artifactType"));
    assert!(list.is_empty());

    let (resp, list) = referrers(&app, &base).await;
    assert!(resp.header("oci-filters-applied").is_none());
    assert_eq!(list.len(), 3);
}

#[tokio::test]
async fn unknown_subject_gives_an_empty_index_not_404() {
    let app = TestApp::new();
    let (_, _) = setup(&app).await;
    let unknown = sha256(b"nothing refers to this");
    let (_, list) = referrers(&app, &format!("/v2/{NAME}/referrers/{unknown}")).await;
    assert!(list.is_empty());
}

#[tokio::test]
async fn referrers_recorded_only_in_the_fallback_tag_are_listed() {
    let app = TestApp::new();
    let (image, layer) = setup(&app).await;
    // A client without referrers-API support pushes the artifact with no subject the registry
    // could index, and records it in the `sha256-<hex>` tag's index instead.
    let sig = typed_artifact(None, SIGNATURE, &layer, "fallback");
    app.push_manifest(NAME, &sig.digest, &sig).await;
    // And one through the API, to check the two sources merge.
    let sbom = typed_artifact(Some(&image.manifest), SBOM, &layer, "api");
    app.push_manifest(NAME, &sbom.digest, &sbom).await;

    let mut entry = sig.descriptor();
    entry["artifactType"] = json!(SIGNATURE);
    entry["annotations"] = json!({ "org.example.note": "fallback" });
    let mut api_entry = sbom.descriptor();
    api_entry["artifactType"] = json!(SBOM);
    let fallback = TestManifest::from_json(
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry, api_entry] }),
        OCI_INDEX,
    );
    let hex = image.manifest.digest.strip_prefix("sha256:").unwrap();
    app.push_manifest(NAME, &format!("sha256-{hex}"), &fallback)
        .await;

    let base = format!("/v2/{NAME}/referrers/{}", image.manifest.digest);
    let (_, list) = referrers(&app, &base).await;
    let mut expected = vec![sig.digest.clone(), sbom.digest.clone()];
    expected.sort();
    assert_eq!(digests(&list), expected, "each referrer listed once");
    let fallback_entry = list
        .iter()
        .find(|m| m["digest"] == sig.digest.as_str())
        .unwrap();
    assert_eq!(fallback_entry["artifactType"], SIGNATURE);
    assert_eq!(fallback_entry["size"], sig.body.len());
    assert_eq!(
        fallback_entry["annotations"]["org.example.note"],
        "fallback"
    );

    let (resp, list) = referrers(&app, &format!("{base}?artifactType={SIGNATURE}")).await;
    assert_eq!(resp.header("oci-filters-applied"), Some("artifactType"));
    assert_eq!(digests(&list), vec![sig.digest.clone()]);
}

#[tokio::test]
async fn a_sha512_subject_uses_the_truncated_fallback_tag() {
    let app = TestApp::new();
    let (_, layer) = setup(&app).await;
    let sig = typed_artifact(None, SIGNATURE, &layer, "sha512");
    app.push_manifest(NAME, &sig.digest, &sig).await;
    let mut entry = sig.descriptor();
    entry["artifactType"] = json!(SIGNATURE);
    let fallback = TestManifest::from_json(
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry] }),
        OCI_INDEX,
    );
    // OCI 1.1 referrers tag schema: `<alg>-<encoded truncated to 64 characters>`.
    let subject = sha512(b"a sha512 subject");
    let hex = subject.strip_prefix("sha512:").unwrap();
    app.push_manifest(NAME, &format!("sha512-{}", &hex[..64]), &fallback)
        .await;
    let (_, list) = referrers(&app, &format!("/v2/{NAME}/referrers/{subject}")).await;
    assert_eq!(digests(&list), vec![sig.digest.clone()]);
}

#[tokio::test]
async fn a_deleted_referrer_is_no_longer_listed() {
    let app = TestApp::new();
    let (image, layer) = setup(&app).await;
    let sig = typed_artifact(Some(&image.manifest), SIGNATURE, &layer, "gone");
    app.push_manifest(NAME, &sig.digest, &sig).await;
    let base = format!("/v2/{NAME}/referrers/{}", image.manifest.digest);
    assert_eq!(referrers(&app, &base).await.1.len(), 1);
    app.delete(&format!("/v2/{NAME}/manifests/{}", sig.digest))
        .await
        .assert_status(StatusCode::ACCEPTED);
    assert!(referrers(&app, &base).await.1.is_empty());
}

#[tokio::test]
async fn referrers_with_a_malformed_digest_are_digest_invalid() {
    let app = TestApp::new();
    let (_, _) = setup(&app).await;
    app.get(&format!("/v2/{NAME}/referrers/sha256:nothex"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}
