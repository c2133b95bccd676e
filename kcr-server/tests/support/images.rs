//! Test images: tarballs, a busybox root filesystem, a multi-layer OCI layout built with umoci,
//! one-image and multi-arch OCI image layouts written by hand, reading layouts back; plus
//! deterministic bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::support::peers::{find_tool, run};
use crate::support::sha256;

/// A fast deterministic byte generator (splitmix64), so tests can produce data of any size
/// without holding it.
pub struct Bytes64(u64);

impl Bytes64 {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Bytes64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fills `buf`.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// `n` fresh bytes.
    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }
}

/// One member of a tarball.
pub enum TarEntry<'a> {
    /// A directory (path without trailing slash).
    Dir(&'a str),
    /// A regular file with its mode.
    File(&'a str, &'a [u8], u32),
    /// A symbolic link to a target.
    Symlink(&'a str, &'a str),
}

/// A POSIX ustar archive of `entries`, owned by root, with a fixed mtime (deterministic bytes).
pub fn tarball(entries: &[TarEntry<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in entries {
        let (header, data) = match *entry {
            TarEntry::Dir(p) => (ustar_header(&format!("{p}/"), 0o755, 0, b'5', ""), &[][..]),
            TarEntry::File(p, d, m) => (ustar_header(p, m, d.len(), b'0', ""), d),
            TarEntry::Symlink(p, t) => (ustar_header(p, 0o777, 0, b'2', t), &[][..]),
        };
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    // Two zero blocks end the archive.
    out.resize(out.len() + 1024, 0);
    out
}

/// One ustar header block.
fn ustar_header(name: &str, mode: u32, size: usize, kind: u8, link: &str) -> [u8; 512] {
    assert!(
        name.len() < 100 && link.len() < 100,
        "names stay short here"
    );
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size as u64);
    octal(&mut h[136..148], 1_700_000_000);
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // The checksum is taken with its own field as spaces.
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    h
}

/// Writes `value` as zero-padded octal with a terminating NUL into `field`.
fn octal(field: &mut [u8], value: u64) {
    let text = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(text.as_bytes());
}

/// `data` as a gzip member of stored (uncompressed) deflate blocks: valid gzip that any reader
/// accepts, made without a compression library.
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    let mut blocks = data.chunks(0xffff).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: test data is small.
fn crc32(data: &[u8]) -> u32 {
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
    !crc
}

/// The static busybox binary (Debian's busybox-static installs it as `/bin/busybox`).
pub fn busybox() -> Vec<u8> {
    let path = [PathBuf::from("/bin/busybox")]
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| find_tool("busybox"))
        .expect("busybox is installed");
    let binary = std::fs::read(&path).expect("read busybox");
    assert!(
        !elf_has_interpreter(&binary),
        "{} is dynamically linked and cannot run in an empty image: install busybox-static",
        path.display()
    );
    binary
}

/// Whether a 64-bit little-endian ELF file names a program interpreter (`PT_INTERP`), i.e. is
/// dynamically linked.
fn elf_has_interpreter(elf: &[u8]) -> bool {
    let read = |at: usize, n: usize| -> u64 {
        elf.get(at..at + n).map_or(0, |b| {
            b.iter().rev().fold(0, |v, &x| (v << 8) | u64::from(x))
        })
    };
    if elf.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (phoff, phentsize, phnum) = (read(0x20, 8), read(0x36, 2), read(0x38, 2));
    (0..phnum).any(|i| read((phoff + i * phentsize) as usize, 4) == 3)
}

/// A root filesystem tarball with `/bin/busybox` and a `/bin/sh` symlink, written to
/// `dir/rootfs.tar`.
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let busybox = busybox();
    let tar = tarball(&[
        TarEntry::Dir("bin"),
        TarEntry::File("bin/busybox", &busybox, 0o755),
        TarEntry::Symlink("bin/sh", "busybox"),
        TarEntry::Dir("etc"),
        TarEntry::File("etc/kcr-test", b"built by kcr's tests\n", 0o644),
        TarEntry::Dir("tmp"),
    ]);
    let path = dir.join("rootfs.tar");
    std::fs::write(&path, tar).expect("write rootfs.tar");
    path
}

/// An OCI image layout at `dir/layout` whose tag `v1` has three layers, each made by umoci
/// (unpack --rootless, add files, repack): busybox, a text file, and 256 KiB of data.
pub fn umoci_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("layout");
    let image = format!("{}:v1", layout.display());
    run(Command::new("umoci")
        .arg("init")
        .arg("--layout")
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    let busybox = busybox();
    let mut random = Bytes64::new(7);
    let data = random.take(256 * 1024);
    let steps: [&dyn Fn(&Path); 3] = [
        &|root| {
            std::fs::create_dir_all(root.join("bin")).expect("mkdir bin");
            std::fs::write(root.join("bin/busybox"), &busybox).expect("write busybox");
            set_mode(&root.join("bin/busybox"), 0o755);
            std::os::unix::fs::symlink("busybox", root.join("bin/sh")).expect("symlink sh");
        },
        &|root| {
            std::fs::create_dir_all(root.join("etc")).expect("mkdir etc");
            std::fs::write(root.join("etc/motd"), "layer two\n").expect("write motd");
        },
        &|root| {
            std::fs::create_dir_all(root.join("srv")).expect("mkdir srv");
            std::fs::write(root.join("srv/data.bin"), &data).expect("write data");
        },
    ];
    for (i, step) in steps.iter().enumerate() {
        let bundle = dir.join(format!("bundle-{i}"));
        run(Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle));
        step(&bundle.join("rootfs"));
        run(Command::new("umoci")
            .args(["repack", "--image", &image])
            .arg(&bundle));
        std::fs::remove_dir_all(&bundle).expect("remove bundle");
    }
    run(Command::new("umoci").args(["config", "--image", &image, "--config.cmd", "/bin/sh"]));
    run(Command::new("umoci").args(["gc", "--layout"]).arg(&layout));
    layout
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Media types used by the hand-written layouts and images.
pub mod media {
    /// OCI image manifest.
    pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Uncompressed layer.
    pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
    /// Gzip-compressed layer.
    pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
}

/// A blob with its descriptor fields.
pub struct Blob {
    /// Its bytes.
    pub data: Vec<u8>,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Media type.
    pub media_type: &'static str,
}

impl Blob {
    /// A blob of `data`.
    pub fn new(media_type: &'static str, data: Vec<u8>) -> Blob {
        Blob {
            digest: sha256(&data),
            data,
            media_type,
        }
    }

    /// Its OCI descriptor.
    pub fn descriptor(&self) -> serde_json::Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.data.len() })
    }
}

/// One platform's image: gzip tar layers (gzip, so that skopeo copies them as they are instead of
/// compressing them), a config naming their diff ids, and the manifest over both.
pub struct PlatformImage {
    /// The config blob.
    pub config: Blob,
    /// The layer blobs.
    pub layers: Vec<Blob>,
    /// The manifest blob.
    pub manifest: Blob,
    /// `(os, architecture)`.
    pub platform: (&'static str, &'static str),
}

impl PlatformImage {
    /// An image for `os/arch` with `layers` small random layers (deterministic per `seed`).
    pub fn new(os: &'static str, arch: &'static str, layers: usize, seed: u64) -> PlatformImage {
        let mut random = Bytes64::new(seed);
        let tars: Vec<Vec<u8>> = (0..layers)
            .map(|i| {
                let content = random.take(4096 + i * 1000);
                let name = format!("layer-{i}-{arch}.bin");
                tarball(&[TarEntry::File(&name, &content, 0o644)])
            })
            .collect();
        let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
        let layers: Vec<Blob> = tars
            .iter()
            .map(|t| Blob::new(media::LAYER_GZIP, gzip_stored(t)))
            .collect();
        let config = json!({
            "architecture": arch,
            "os": os,
            "config": { "Cmd": ["/bin/sh"] },
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        });
        let config = Blob::new(media::CONFIG, serde_json::to_vec(&config).expect("json"));
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::MANIFEST,
            "config": config.descriptor(),
            "layers": layers.iter().map(Blob::descriptor).collect::<Vec<_>>(),
        });
        let manifest = Blob::new(
            media::MANIFEST,
            serde_json::to_vec(&manifest).expect("json"),
        );
        PlatformImage {
            config,
            layers,
            manifest,
            platform: (os, arch),
        }
    }

    /// Its entry in an image index.
    pub fn index_entry(&self) -> serde_json::Value {
        let mut d = self.manifest.descriptor();
        d["platform"] = json!({ "os": self.platform.0, "architecture": self.platform.1 });
        d
    }

    /// Its layers, config and manifest.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        self.layers.iter().chain([&self.config, &self.manifest])
    }

    /// Writes it as an OCI image layout at `dir/image` with the manifest tagged `tag`.
    pub fn write_layout(&self, dir: &Path, tag: &str) -> PathBuf {
        write_layout(&dir.join("image"), self.blobs(), &self.manifest, tag)
    }
}

/// A multi-arch image: linux/amd64 and linux/arm64 images under one OCI image index.
pub struct MultiArch {
    /// The platform images.
    pub images: Vec<PlatformImage>,
    /// The image index blob.
    pub index: Blob,
}

impl MultiArch {
    /// Two platforms with two layers each.
    pub fn new(seed: u64) -> MultiArch {
        let images = vec![
            PlatformImage::new("linux", "amd64", 2, seed),
            PlatformImage::new("linux", "arm64", 2, seed + 1),
        ];
        let index = json!({
            "schemaVersion": 2,
            "mediaType": media::INDEX,
            "manifests": images.iter().map(PlatformImage::index_entry).collect::<Vec<_>>(),
        });
        let index = Blob::new(media::INDEX, serde_json::to_vec(&index).expect("json"));
        MultiArch { images, index }
    }

    /// Writes it as an OCI image layout at `dir/multi` with the index tagged `tag`.
    pub fn write_layout(&self, dir: &Path, tag: &str) -> PathBuf {
        let blobs = self
            .images
            .iter()
            .flat_map(PlatformImage::blobs)
            .chain([&self.index]);
        write_layout(&dir.join("multi"), blobs, &self.index, tag)
    }
}

/// Writes an OCI image layout at `layout` holding `blobs`, with `top` (a manifest or an index
/// among them) tagged `tag`.
pub fn write_layout<'a>(
    layout: &Path,
    blobs: impl IntoIterator<Item = &'a Blob>,
    top: &Blob,
    tag: &str,
) -> PathBuf {
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).expect("mkdir blobs");
    for blob in blobs {
        let hex = blob.digest.trim_start_matches("sha256:");
        std::fs::write(dir.join(hex), &blob.data).expect("write blob");
    }
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write oci-layout");
    let mut entry = top.descriptor();
    entry["annotations"] = json!({ "org.opencontainers.image.ref.name": tag });
    let index_json = json!({ "schemaVersion": 2, "manifests": [entry] });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index_json).expect("json"),
    )
    .expect("write index.json");
    layout.to_owned()
}

/// An OCI layout's blobs: `(digest, bytes)` sorted by digest.
pub fn layout_blobs(layout: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("read blobs")
        .map(|e| {
            let e = e.expect("dir entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (
                format!("sha256:{name}"),
                std::fs::read(e.path()).expect("read blob"),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The descriptor `index.json` of a layout holds for `tag`.
pub fn layout_ref(layout: &Path, tag: &str) -> serde_json::Value {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .cloned()
        .unwrap_or_else(|| panic!("{tag} not in {}", layout.display()))
}

/// The manifest digest a layout's `index.json` holds for `tag`.
pub fn layout_digest(layout: &Path, tag: &str) -> String {
    layout_ref(layout, tag)["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no digest for {tag} in {}", layout.display()))
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
