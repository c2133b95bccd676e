//! The `oci-client` crate against the real binary: image push and pull, a multi-platform index,
//! and an artifact with `subject` listed through the referrers API.

use std::collections::BTreeMap;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageData, ImageLayer};
use oci_client::manifest::{
    ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest, OciManifest, Platform,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde_json::json;

use crate::support::images::{media, tarball, Bytes64, TarEntry};
use crate::support::server_process::KcrServer;
use crate::support::sha256;

const ARTIFACT_TYPE: &str = "application/vnd.kcr.test.sbom+json";
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

fn client() -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    })
}

fn reference(server: &KcrServer, repo: &str, tag: &str) -> Reference {
    format!("{}/{repo}:{tag}", server.host())
        .parse()
        .expect("valid reference")
}

/// A config and `n` tar layers of different sizes for `arch`.
fn image(n: usize, arch: &str, seed: u64) -> (Config, Vec<ImageLayer>) {
    let mut random = Bytes64::new(seed);
    let layers: Vec<ImageLayer> = (0..n)
        .map(|i| {
            let content = random.take(10_000 + i * 300_000);
            let name = format!("data-{i}.bin");
            ImageLayer::oci_v1(tarball(&[TarEntry::File(&name, &content, 0o644)]), None)
        })
        .collect();
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(&l.data)).collect();
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = Config::oci_v1(serde_json::to_vec(&config).expect("json"), None);
    (config, layers)
}

/// The pulled manifest lists the sent layers in order, and the pulled layer bytes are the sent
/// ones (`pull` downloads concurrently and returns the layers in completion order).
fn assert_same_layers(sent: &[ImageLayer], pulled: &ImageData) {
    let sent_digests: Vec<String> = sent.iter().map(|l| sha256(&l.data)).collect();
    let manifest = pulled.manifest.as_ref().expect("pulled manifest");
    let listed: Vec<String> = manifest.layers.iter().map(|d| d.digest.clone()).collect();
    assert_eq!(listed, sent_digests, "manifest layers");
    let mut got: Vec<String> = pulled.layers.iter().map(|l| sha256(&l.data)).collect();
    let mut want = sent_digests;
    got.sort();
    want.sort();
    assert_eq!(got, want, "pulled layer bytes");
}

/// The digest at the end of a pullable manifest URL.
fn url_digest(url: &str) -> &str {
    url.rsplit_once('/').map_or(url, |(_, d)| d)
}

#[tokio::test]
async fn push_and_pull_image() {
    let server = KcrServer::start_open();
    let client = client();
    let auth = RegistryAuth::Anonymous;
    let image_ref = reference(&server, "p/r/app", "v1");
    let (config, layers) = image(3, "amd64", 1);
    let pushed = client
        .push(&image_ref, &layers, config.clone(), &auth, None)
        .await
        .expect("push");
    let manifest_digest = url_digest(&pushed.manifest_url).to_owned();
    assert!(
        manifest_digest.starts_with("sha256:"),
        "{}",
        pushed.manifest_url
    );

    let pulled = client
        .pull(&image_ref, &auth, vec![media::LAYER_TAR])
        .await
        .expect("pull");
    assert_eq!(pulled.digest.as_deref(), Some(manifest_digest.as_str()));
    assert_eq!(pulled.config.data, config.data, "config bytes");
    assert_same_layers(&layers, &pulled);
    // The manifest bytes served are the ones pushed: their sha256 is the digest.
    let (raw, digest) = client
        .pull_manifest_raw(&image_ref, &auth, &[media::MANIFEST])
        .await
        .expect("pull raw manifest");
    assert_eq!(digest, manifest_digest);
    assert_eq!(sha256(&raw), manifest_digest);
    let tags = client
        .list_tags(&image_ref, &auth, None, None)
        .await
        .expect("tags");
    assert_eq!(tags.tags, vec!["v1".to_owned()]);
}

#[tokio::test]
async fn push_multi_platform_index() {
    let server = KcrServer::start_open();
    let client = client();
    let auth = RegistryAuth::Anonymous;
    let mut entries = Vec::new();
    let mut expected_layers = BTreeMap::new();
    for (seed, arch) in [(10, "amd64"), (20, "arm64")] {
        let (config, layers) = image(2, arch, seed);
        let per_arch = reference(&server, "p/r/multi", arch);
        let pushed = client
            .push(&per_arch, &layers, config, &auth, None)
            .await
            .expect("push platform image");
        let (raw, digest) = client
            .pull_manifest_raw(&per_arch, &auth, &[media::MANIFEST])
            .await
            .expect("pull platform manifest");
        assert_eq!(digest, url_digest(&pushed.manifest_url));
        expected_layers.insert(arch, layers);
        entries.push(ImageIndexEntry {
            media_type: media::MANIFEST.into(),
            digest,
            size: raw.len() as i64,
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                os_version: None,
                os_features: None,
                variant: None,
                features: None,
            }),
            annotations: None,
            artifact_type: None,
        });
    }
    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(media::INDEX.into()),
        manifests: entries.clone(),
        artifact_type: None,
        annotations: None,
    };
    let index_ref = reference(&server, "p/r/multi", "latest");
    let url = client
        .push_manifest_list(&index_ref, &auth, index)
        .await
        .expect("push index");
    let (raw, digest) = client
        .pull_manifest_raw(&index_ref, &auth, &[media::INDEX])
        .await
        .expect("pull index");
    assert_eq!(digest, url_digest(&url));
    assert_eq!(sha256(&raw), digest);
    match client.pull_manifest(&index_ref, &auth).await.expect("pull") {
        (OciManifest::ImageIndex(i), _) => {
            let digests =
                |m: &[ImageIndexEntry]| m.iter().map(|e| e.digest.clone()).collect::<Vec<_>>();
            assert_eq!(digests(&i.manifests), digests(&entries));
        }
        (other, _) => panic!("expected an index, got {other:?}"),
    }
    // Pulling through the index with a platform resolver picks each platform's own layers.
    for arch in ["amd64", "arm64"] {
        let wanted = entries
            .iter()
            .find(|e| {
                e.platform
                    .as_ref()
                    .is_some_and(|p| p.architecture.to_string() == arch)
            })
            .map(|e| e.digest.clone())
            .expect("entry");
        let resolver = move |m: &[ImageIndexEntry]| {
            m.iter()
                .find(|e| e.digest == wanted)
                .map(|e| e.digest.clone())
        };
        let platform_client = Client::new(ClientConfig {
            protocol: ClientProtocol::Http,
            platform_resolver: Some(Box::new(resolver)),
            ..ClientConfig::default()
        });
        let pulled = platform_client
            .pull(&index_ref, &auth, vec![media::LAYER_TAR])
            .await
            .expect("pull through index");
        assert_same_layers(&expected_layers[arch], &pulled);
    }
}

#[tokio::test]
async fn artifact_with_subject_is_listed_as_referrer() {
    let server = KcrServer::start_open();
    let client = client();
    let auth = RegistryAuth::Anonymous;
    let subject_ref = reference(&server, "p/r/signed", "v1");
    let (config, layers) = image(1, "amd64", 30);
    let pushed = client
        .push(&subject_ref, &layers, config, &auth, None)
        .await
        .expect("push subject");
    let (subject_raw, subject_digest) = client
        .pull_manifest_raw(&subject_ref, &auth, &[media::MANIFEST])
        .await
        .expect("pull subject");
    assert_eq!(subject_digest, url_digest(&pushed.manifest_url));

    // An artifact: the empty config, one JSON layer, artifactType and subject.
    let empty = b"{}".to_vec();
    let sbom = br#"{"packages":["busybox"]}"#.to_vec();
    let empty_digest = sha256(&empty);
    let sbom_digest = sha256(&sbom);
    let artifact_ref = reference(&server, "p/r/signed", "sbom");
    client
        .push_blob(&artifact_ref, empty.clone(), &empty_digest)
        .await
        .expect("push empty config");
    client
        .push_blob(&artifact_ref, sbom.clone(), &sbom_digest)
        .await
        .expect("push sbom");
    let artifact = OciImageManifest {
        schema_version: 2,
        media_type: Some(media::MANIFEST.into()),
        config: OciDescriptor {
            media_type: EMPTY_CONFIG.into(),
            digest: empty_digest,
            size: empty.len() as i64,
            ..OciDescriptor::default()
        },
        layers: vec![OciDescriptor {
            media_type: "application/spdx+json".into(),
            digest: sbom_digest,
            size: sbom.len() as i64,
            ..OciDescriptor::default()
        }],
        subject: Some(OciDescriptor {
            media_type: media::MANIFEST.into(),
            digest: subject_digest.clone(),
            size: subject_raw.len() as i64,
            ..OciDescriptor::default()
        }),
        artifact_type: Some(ARTIFACT_TYPE.into()),
        annotations: Some(BTreeMap::from([(
            "org.opencontainers.image.created".to_owned(),
            "2024-01-01T00:00:00Z".to_owned(),
        )])),
    };
    let url = client
        .push_manifest(&artifact_ref, &OciManifest::Image(artifact))
        .await
        .expect("push artifact");
    let artifact_digest = url_digest(&url).to_owned();

    let by_digest: Reference = format!("{}/p/r/signed@{subject_digest}", server.host())
        .parse()
        .expect("digest reference");
    for filter in [None, Some(ARTIFACT_TYPE)] {
        let referrers = client
            .pull_referrers(&by_digest, filter)
            .await
            .expect("referrers");
        assert_eq!(
            referrers.manifests.len(),
            1,
            "filter {filter:?}: {referrers:?}"
        );
        let entry = &referrers.manifests[0];
        assert_eq!(entry.digest, artifact_digest);
        assert_eq!(entry.media_type, media::MANIFEST);
        assert_eq!(entry.artifact_type.as_deref(), Some(ARTIFACT_TYPE));
        assert!(entry
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key("org.opencontainers.image.created")));
    }
    let none = client
        .pull_referrers(&by_digest, Some("application/vnd.example.other"))
        .await
        .expect("filtered referrers");
    assert!(none.manifests.is_empty(), "{none:?}");
}
