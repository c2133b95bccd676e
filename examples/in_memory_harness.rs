//! Embeds kcr in a test harness: an in-memory registry served on a free loopback port, an image
//! pushed and pulled back with the `oci-client` crate, digests checked, then a clean shutdown.
//!
//! Run with `cargo run -p kcr-examples --example in_memory_harness`; it exits non-zero when a
//! digest does not round-trip.

use std::error::Error;
use std::net::SocketAddr;

use kcr_core::{Registry, RegistryConfig};
use kcr_server::{AppState, Server};
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // 1. A registry on in-memory stores, served by a background task on a free port.
    let registry = Registry::in_memory(RegistryConfig::default());
    let server = Server::bind(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        AppState::new(registry),
    )
    .await?
    .spawn()?;
    println!("kcr listening on {}", server.addr);

    // 2. An image: a config and two layers.
    let layers = vec![
        ImageLayer::oci_v1(b"first layer bytes".to_vec(), None),
        ImageLayer::oci_v1(vec![7u8; 64 * 1024], None),
    ];
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(&l.data)).collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
    });
    let config = Config::oci_v1(serde_json::to_vec(&config)?, None);

    // 3. Push and pull it with a real OCI client over plain HTTP.
    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let auth = RegistryAuth::Anonymous;
    let image: Reference = format!("{}/demo/apps/hello:v1", server.addr).parse()?;
    let pushed = client
        .push(&image, &layers, config.clone(), &auth, None)
        .await?;
    println!("pushed   {}", pushed.manifest_url);
    let pulled = client
        .pull(
            &image,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await?;
    let manifest_digest = pulled.digest.clone().unwrap_or_default();
    println!("pulled   manifest {manifest_digest}");

    // 4. Check every digest.
    if !pushed.manifest_url.ends_with(&manifest_digest) {
        return Err(format!("manifest digest {manifest_digest} is not the pushed one").into());
    }
    if sha256(&pulled.config.data) != sha256(&config.data) {
        return Err("config bytes differ".into());
    }
    println!("config   {}", sha256(&pulled.config.data));
    let mut sent: Vec<String> = layers.iter().map(|l| sha256(&l.data)).collect();
    // `pull` returns layers as their downloads finish, so compare as sets.
    let mut got: Vec<String> = pulled.layers.iter().map(|l| sha256(&l.data)).collect();
    sent.sort();
    got.sort();
    if sent != got {
        return Err(format!("layers differ: sent {sent:?}, pulled {got:?}").into());
    }
    for digest in &got {
        println!("layer    {digest}");
    }

    // 5. Stop serving; in-flight requests finish first.
    server.shutdown().await?;
    println!("ok: every digest round-tripped");
    Ok(())
}
