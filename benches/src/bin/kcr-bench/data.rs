//! The seeded workload data: images of random (incompressible, never repeated) layers with their
//! config, manifest and digests, generated once and pushed identically to every server.

use bytes::Bytes;
use kcr_benches::{image_config, image_manifest, sha256_digest, BlobRef};
use rand::{RngCore, SeedableRng};

/// A blob and its digest.
#[derive(Clone)]
pub struct Blob {
    /// Content.
    pub bytes: Bytes,
    /// `sha256:<hex>`.
    pub digest: String,
}

impl Blob {
    /// Wraps bytes, computing their digest.
    pub fn new(bytes: Bytes) -> Blob {
        let digest = sha256_digest(&bytes);
        Blob { bytes, digest }
    }

    fn reference(&self) -> BlobRef {
        BlobRef {
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
        }
    }
}

/// One image: layers, config, manifest, and where it is pushed.
pub struct Image {
    /// OCI name: `project/repository/image` (kcr's addressing on a plain IP).
    pub name: String,
    /// Its tag.
    pub tag: String,
    /// Layers.
    pub layers: Vec<Blob>,
    /// Config blob.
    pub config: Blob,
    /// Manifest body.
    pub manifest: Bytes,
    /// Its digest.
    pub manifest_digest: String,
}

/// Random bytes from a seed.
pub fn random(seed: u64, len: usize) -> Bytes {
    let mut buf = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut buf);
    Bytes::from(buf)
}

/// `count` images named `{prefix}-{i}`, each with `layers` random layers of `layer_size` bytes.
/// Seeds derive from `seed` and `set` so that no two blobs of the whole run are equal.
pub fn images(
    seed: u64,
    set: u64,
    prefix: &str,
    count: usize,
    layers: usize,
    layer_size: usize,
) -> Vec<Image> {
    let make = |i: usize| {
        let blobs: Vec<Blob> = (0..layers)
            .map(|l| {
                let s = seed ^ (set << 48) ^ ((i as u64) << 16) ^ l as u64;
                Blob::new(random(s, layer_size))
            })
            .collect();
        image(format!("{prefix}-{i:04}"), "v1".into(), blobs)
    };
    // Two threads: hashing a gigabyte takes a while.
    let half = count / 2;
    std::thread::scope(|scope| {
        let first = scope.spawn(|| (0..half).map(make).collect::<Vec<_>>());
        let mut second: Vec<Image> = (half..count).map(make).collect();
        let mut all = first.join().unwrap_or_default();
        all.append(&mut second);
        all
    })
}

/// An image over the given layers.
pub fn image(name: String, tag: String, layers: Vec<Blob>) -> Image {
    let refs: Vec<BlobRef> = layers.iter().map(Blob::reference).collect();
    let config = Blob::new(Bytes::from(image_config(&refs)));
    let manifest = Bytes::from(image_manifest(&config.reference(), &refs));
    let manifest_digest = sha256_digest(&manifest);
    Image {
        name,
        tag,
        layers,
        config,
        manifest,
        manifest_digest,
    }
}

/// A large blob made of `repeats` copies of a random pool (streamed without holding it whole).
pub struct BigBlob {
    /// The repeated pool.
    pub pool: Bytes,
    /// How many times.
    pub repeats: usize,
    /// Digest of the whole.
    pub digest: String,
}

impl BigBlob {
    /// A blob of `repeats` x `pool_size` bytes.
    pub fn new(seed: u64, pool_size: usize, repeats: usize) -> BigBlob {
        use sha2::Digest as _;
        let pool = random(seed, pool_size);
        let mut h = sha2::Sha256::new();
        for _ in 0..repeats {
            h.update(&pool);
        }
        BigBlob {
            pool,
            repeats,
            digest: format!("sha256:{}", hex::encode(h.finalize())),
        }
    }

    /// Total size.
    pub fn size(&self) -> u64 {
        (self.pool.len() * self.repeats) as u64
    }
}
