//! Test images for the real clients: a busybox root filesystem tarball, and a one-image OCI layout written by hand.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::app::sha256;
use crate::server::find_tool;

enum Entry<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
}

/// A ustar archive owned by root with a fixed mtime.
fn tarball(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let (name, mode, size, kind, link, data): (String, u32, usize, u8, &str, &[u8]) =
            match entry {
                Entry::Dir(p) => (format!("{p}/"), 0o755, 0, b'5', "", &[]),
                Entry::File(p, d, m) => ((*p).to_owned(), *m, d.len(), b'0', "", d),
                Entry::Symlink(p, t) => ((*p).to_owned(), 0o777, 0, b'2', t, &[]),
            };
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], u64::from(mode));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size as u64);
        octal(&mut h[136..148], 1_700_000_000);
        h[148..156].fill(b' ');
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        octal(&mut h[148..155], u64::from(sum));
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn octal(field: &mut [u8], value: u64) {
    let text = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

/// `data` as gzip of stored deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let mut blocks = data.chunks(0xffff).peekable();
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A root filesystem with the static busybox, at `dir/rootfs.tar`.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let bin = [PathBuf::from("/bin/busybox")]
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| find_tool("busybox"))
        .expect("busybox is installed");
    let busybox = std::fs::read(bin).expect("read busybox");
    let tar = tarball(&[
        Entry::Dir("bin"),
        Entry::File("bin/busybox", &busybox, 0o755),
        Entry::Symlink("bin/sh", "busybox"),
        Entry::Dir("etc"),
        Entry::File("etc/kcr-auth", b"built by kcr's auth tests\n", 0o644),
    ]);
    let path = dir.join("rootfs.tar");
    std::fs::write(&path, tar).expect("write rootfs.tar");
    path
}

/// An OCI image layout at `dir/name` with one image tagged `v1`: a gzip layer of a few files
/// (content depends on `seed`) and its config. Returns the layout and the manifest digest.
pub fn oci_layout(dir: &Path, name: &str, seed: &str) -> (PathBuf, String) {
    let payload = format!("content of {seed}\n").repeat(2000);
    let tar = tarball(&[
        Entry::Dir("data"),
        Entry::File("data/seed.txt", payload.as_bytes(), 0o644),
    ]);
    let layer = gzip_stored(&tar);
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["/bin/sh"] },
        "rootfs": { "type": "layers", "diff_ids": [sha256(&tar)] },
    }))
    .expect("json");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len() },
        "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&layer), "size": layer.len() }],
    }))
    .expect("json");
    let layout = dir.join(name);
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).expect("mkdir");
    for b in [&layer, &config, &manifest] {
        std::fs::write(blobs.join(sha256(b).trim_start_matches("sha256:")), b).expect("write blob");
    }
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(&manifest),
            "size": manifest.len(),
            "annotations": { "org.opencontainers.image.ref.name": "v1" }
        }]
    });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).expect("json"),
    )
    .expect("index.json");
    (layout, sha256(&manifest))
}

/// A layout's blobs, `(digest, bytes)` sorted.
pub fn layout_blobs(layout: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("read blobs")
        .map(|e| {
            let e = e.expect("entry");
            (
                format!("sha256:{}", e.file_name().to_string_lossy()),
                std::fs::read(e.path()).expect("read blob"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The manifest digest a layout's `index.json` holds for `tag`.
pub fn layout_digest(layout: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("json");
    index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .unwrap_or_else(|| panic!("{tag} not in {}", layout.display()))
        .to_owned()
}

/// Asserts two layouts hold the same blobs, byte for byte, each hashing to its name.
#[track_caller]
pub fn assert_same_blobs(sent: &Path, got: &Path) {
    let (a, b) = (layout_blobs(sent), layout_blobs(got));
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(d, _)| d.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "the same blobs");
    for ((d, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{d} differs after the round trip");
        assert_eq!(&sha256(y), d);
    }
}
