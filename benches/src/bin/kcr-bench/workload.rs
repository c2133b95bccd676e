//! The workloads, each run the same way against each server: a fixed list of jobs spread over
//! concurrent workers, or concurrent workers looping for a fixed time. Each yields a [`Sample`]:
//! throughput, latency percentiles, the server's peak RSS and CPU time over the workload.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Method;
use rand::{Rng, SeedableRng};

use crate::client::{repeat_frames, Registry};
use crate::data::{self, BigBlob, Image};
use crate::servers::ServerProcess;
use crate::{Error, Result};

/// How big the run is.
#[derive(Debug, Clone)]
pub struct Sizes {
    /// Images of the large push (each variant).
    pub large_images: usize,
    /// Images of the small push.
    pub small_images: usize,
    /// Layers per image.
    pub layers: usize,
    /// Bytes per large layer.
    pub large_layer: usize,
    /// Bytes per small layer.
    pub small_layer: usize,
    /// PATCH size of the chunked variant.
    pub chunk: usize,
    /// Tags of the tag-listing image.
    pub tags: usize,
    /// Hot-metadata duration.
    pub hot_for: Duration,
    /// Tag-listing duration.
    pub list_for: Duration,
    /// Size of the big blob, in 4 MiB pieces.
    pub big_pieces: usize,
    /// Workers of the large pushes.
    pub push_workers: usize,
    /// Workers of the small push, the pulls and the metadata reads.
    pub workers: usize,
}

impl Sizes {
    /// The full workload of the issue.
    pub fn full() -> Sizes {
        Sizes {
            large_images: 50,
            small_images: 500,
            layers: 3,
            large_layer: 4 << 20,
            small_layer: 64 << 10,
            chunk: 1 << 20,
            tags: 1000,
            hot_for: Duration::from_secs(10),
            list_for: Duration::from_secs(5),
            big_pieces: 256,
            push_workers: 8,
            workers: 16,
        }
    }

    /// A smoke run.
    pub fn quick() -> Sizes {
        Sizes {
            large_images: 10,
            small_images: 60,
            tags: 100,
            hot_for: Duration::from_secs(2),
            list_for: Duration::from_secs(1),
            big_pieces: 32,
            ..Sizes::full()
        }
    }
}

/// Where the monolithic-upload probe pushes its blob.
pub const PROBE_NAME: &str = "bench/probe/probe";
/// Where the big blob goes.
pub const BIG_NAME: &str = "bench/big/blob";

/// Everything pushed and pulled, generated once.
pub struct Dataset {
    /// Large images pushed monolithically.
    pub large_mono: Vec<Image>,
    /// Large images pushed in chunks.
    pub large_chunked: Vec<Image>,
    /// Small images.
    pub small: Vec<Image>,
    /// The image that gets many tags.
    pub tagged: Image,
    /// The big blob.
    pub big: BigBlob,
}

impl Dataset {
    /// Generates the data of `sizes` from `seed`.
    pub fn generate(seed: u64, s: &Sizes) -> Dataset {
        let large =
            |set, prefix| data::images(seed, set, prefix, s.large_images, s.layers, s.large_layer);
        Dataset {
            large_mono: large(1, "bench/large/mono"),
            large_chunked: large(2, "bench/large/chunked"),
            small: data::images(
                seed,
                3,
                "bench/small/img",
                s.small_images,
                s.layers,
                s.small_layer,
            ),
            tagged: data::images(seed, 4, "bench/tags/many", 1, 1, 1024)
                .pop()
                .unwrap_or_else(|| data::image("bench/tags/many".into(), "v1".into(), Vec::new())),
            big: BigBlob::new(seed ^ 5, 4 << 20, s.big_pieces),
        }
    }

    /// Every OCI name the run pushes to (the probe's and the big blob's included).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.large_mono
            .iter()
            .chain(&self.large_chunked)
            .chain(&self.small)
            .chain([&self.tagged])
            .map(|i| i.name.as_str())
            .chain([PROBE_NAME, BIG_NAME])
    }
}

/// Which workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    /// 4 MiB layers, monolithic.
    PushLargeMono,
    /// 4 MiB layers in 1 MiB PATCHes.
    PushLargeChunked,
    /// 64 KiB layers.
    PushSmall,
    /// Pull of the monolithic large images.
    PullLarge,
    /// Pull of the small images.
    PullSmall,
    /// HEAD/GET manifests by tag and digest, tags lists.
    HotMetadata,
    /// PUT of one manifest under many tags.
    TagPush,
    /// Listing an image's many tags.
    ListTags,
    /// One big blob, streamed.
    PushBig,
}

impl Id {
    /// Every workload, in run order. The big blob goes first, on a freshly started server right
    /// after the disk was measured: on this class of machine (a VM whose page cache gets slower
    /// to fill once a few gigabytes have churned through it) a late big push measures the
    /// guest's memory, not the server or the disk, and the same holds for both servers.
    pub const ALL: [Id; 9] = [
        Id::PushBig,
        Id::PushLargeMono,
        Id::PushLargeChunked,
        Id::PushSmall,
        Id::PullLarge,
        Id::PullSmall,
        Id::HotMetadata,
        Id::TagPush,
        Id::ListTags,
    ];

    /// The workloads also measured with authentication on (the "Authentication cost" table):
    /// the ones made of many small requests, where a per-request cost would show.
    pub const AUTH: [Id; 2] = [Id::PullSmall, Id::HotMetadata];

    /// Its command-line name.
    pub fn key(self) -> &'static str {
        match self {
            Id::PushLargeMono => "push-large",
            Id::PushLargeChunked => "push-large-chunked",
            Id::PushSmall => "push-small",
            Id::PullLarge => "pull-large",
            Id::PullSmall => "pull-small",
            Id::HotMetadata => "hot-metadata",
            Id::TagPush => "tag-push",
            Id::ListTags => "list-tags",
            Id::PushBig => "push-big",
        }
    }

    /// The workload that must have run first (untimed when it was not selected).
    fn needs(self) -> Option<Id> {
        match self {
            Id::PullLarge => Some(Id::PushLargeMono),
            Id::PullSmall | Id::HotMetadata => Some(Id::PushSmall),
            Id::ListTags => Some(Id::TagPush),
            _ => None,
        }
    }

    /// Whether throughput counts bytes (MB/s) rather than operations.
    pub fn in_bytes(self) -> bool {
        matches!(
            self,
            Id::PushLargeMono | Id::PushLargeChunked | Id::PullLarge | Id::PushBig
        )
    }

    /// What one latency sample is.
    pub fn op(self) -> &'static str {
        match self {
            Id::PushLargeMono | Id::PushLargeChunked | Id::PushSmall => "image push",
            Id::PullLarge | Id::PullSmall => "image pull",
            Id::HotMetadata => "request",
            Id::TagPush => "manifest PUT",
            Id::ListTags => "full listing",
            Id::PushBig => "blob push",
        }
    }

    /// What it does, for the report.
    pub fn describe(self, s: &Sizes, mono: &str) -> String {
        let mib = |b: usize| b >> 20;
        let kib = |b: usize| b >> 10;
        match self {
            Id::PushLargeMono => format!(
                "push {} images x {} layers x {} MiB, monolithic ({mono}), {} workers",
                s.large_images, s.layers, mib(s.large_layer), s.push_workers
            ),
            Id::PushLargeChunked => format!(
                "push {} images x {} layers x {} MiB, chunked (POST, {} MiB PATCHes, PUT), {} workers",
                s.large_images, s.layers, mib(s.large_layer), mib(s.chunk), s.push_workers
            ),
            Id::PushSmall => format!(
                "push {} images x {} layers x {} KiB, monolithic ({mono}), {} workers",
                s.small_images, s.layers, kib(s.small_layer), s.workers
            ),
            Id::PullLarge => format!(
                "pull the {} large images (manifest by tag, then each blob, sha256-verified), {} workers",
                s.large_images, s.workers
            ),
            Id::PullSmall => format!(
                "pull the {} small images (sha256-verified), {} workers",
                s.small_images, s.workers
            ),
            Id::HotMetadata => format!(
                "HEAD/GET manifest by tag and by digest, tags list; {} clients for {} s",
                s.workers,
                s.hot_for.as_secs()
            ),
            Id::TagPush => format!(
                "PUT one manifest under {} tags, {} workers",
                s.tags, s.workers
            ),
            Id::ListTags => format!(
                "list all {} tags of one image (following Link), {} clients for {} s",
                s.tags,
                s.push_workers,
                s.list_for.as_secs()
            ),
            Id::PushBig => format!(
                "push one {} MiB blob (POST, one streamed PATCH, PUT)",
                s.big_pieces * 4
            ),
        }
    }
}

/// One workload's outcome on one server.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Operations completed.
    pub ops: u64,
    /// Bytes moved (payload).
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Latencies, sorted.
    pub latencies: Vec<Duration>,
    /// Server's peak RSS over the workload, KiB.
    pub peak_rss_kib: u64,
    /// Server CPU seconds over the workload.
    pub cpu_s: f64,
    /// Tokens the client fetched during the workload (token auth only).
    pub token_requests: u64,
}

impl Sample {
    /// Throughput in the workload's unit: MB/s (10^6) or operations per second.
    pub fn throughput(&self, id: Id) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        if id.in_bytes() {
            self.bytes as f64 / secs / 1e6
        } else {
            self.ops as f64 / secs
        }
    }

    /// A latency percentile in milliseconds.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1].as_secs_f64() * 1e3
    }
}

struct Measured {
    ops: u64,
    bytes: u64,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

type Task = tokio::task::JoinHandle<Result<(Vec<Duration>, u64)>>;

/// Longest any one operation may take before the run is declared stuck (a server that stops
/// answering fails the run instead of hanging it).
const OP_TIMEOUT: Duration = Duration::from_secs(120);

async fn bounded<Fut: Future<Output = Result<u64>>>(op: Fut) -> Result<u64> {
    match tokio::time::timeout(OP_TIMEOUT, op).await {
        Ok(r) => r,
        Err(_) => Err(format!("an operation took longer than {} s", OP_TIMEOUT.as_secs()).into()),
    }
}

async fn collect(start: Instant, tasks: Vec<Task>) -> Result<Measured> {
    let mut latencies = Vec::new();
    let mut bytes = 0;
    let mut first_error: Option<Error> = None;
    for t in tasks {
        match t.await {
            Ok(Ok((l, b))) => {
                latencies.extend(l);
                bytes += b;
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(Box::new(e));
            }
        }
    }
    let elapsed = start.elapsed();
    if let Some(e) = first_error {
        return Err(e);
    }
    latencies.sort();
    Ok(Measured {
        ops: latencies.len() as u64,
        bytes,
        elapsed,
        latencies,
    })
}

/// Runs `job(0..count)` on `workers` concurrent workers; each job returns its bytes.
async fn jobs<F, Fut>(count: usize, workers: usize, job: F) -> Result<Measured>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<u64>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tasks = (0..workers.clamp(1, count.max(1)))
        .map(|_| {
            let (next, failed, job) = (next.clone(), failed.clone(), job.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut bytes = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let t = Instant::now();
                    match bounded(job(i)).await {
                        Ok(b) => bytes += b,
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    latencies.push(t.elapsed());
                }
                Ok((latencies, bytes))
            })
        })
        .collect();
    collect(start, tasks).await
}

/// Runs `op(worker, iteration)` on `workers` concurrent workers until `duration` has passed.
async fn timed<F, Fut>(duration: Duration, workers: usize, op: F) -> Result<Measured>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<u64>> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + duration;
    let tasks = (0..workers)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut bytes = 0;
                let mut i = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    bytes += bounded(op(w, i)).await?;
                    latencies.push(t.elapsed());
                    i += 1;
                }
                Ok((latencies, bytes))
            })
        })
        .collect();
    collect(start, tasks).await
}

/// One server's run of the selected workloads.
pub struct Session {
    client: Registry,
    data: Arc<Dataset>,
    sizes: Sizes,
    done: Vec<Id>,
}

impl Session {
    /// A session on `client`.
    pub fn new(client: Registry, data: Arc<Dataset>, sizes: Sizes) -> Session {
        Session {
            client,
            data,
            sizes,
            done: Vec::new(),
        }
    }

    /// Runs `id` (after its prerequisite, untimed, when that has not run) and measures it.
    pub async fn run(&mut self, id: Id, server: &ServerProcess, ticks: f64) -> Result<Sample> {
        if let Some(need) = id.needs() {
            if !self.done.contains(&need) {
                self.measure(need).await?;
                self.done.push(need);
            }
        }
        // Every workload starts as a fresh client would: no token cached.
        self.client.auth().reset();
        server.reset_peak_rss();
        let cpu0 = server.cpu_ticks();
        let m = self.measure(id).await?;
        let cpu_s = (server.cpu_ticks().saturating_sub(cpu0)) as f64 / ticks;
        self.done.push(id);
        Ok(Sample {
            ops: m.ops,
            bytes: m.bytes,
            elapsed: m.elapsed,
            latencies: m.latencies,
            peak_rss_kib: server.peak_rss_kib(),
            cpu_s,
            token_requests: self.client.auth().token_fetches(),
        })
    }

    async fn measure(&self, id: Id) -> Result<Measured> {
        let c = self.client.clone();
        let d = self.data.clone();
        let s = self.sizes.clone();
        match id {
            Id::PushLargeMono => {
                jobs(d.large_mono.len(), s.push_workers, move |i| {
                    let (c, d) = (c.clone(), d.clone());
                    async move { c.push_image(&d.large_mono[i], None).await }
                })
                .await
            }
            Id::PushLargeChunked => {
                jobs(d.large_chunked.len(), s.push_workers, move |i| {
                    let (c, d) = (c.clone(), d.clone());
                    async move { c.push_image(&d.large_chunked[i], Some(s.chunk)).await }
                })
                .await
            }
            Id::PushSmall => {
                jobs(d.small.len(), s.workers, move |i| {
                    let (c, d) = (c.clone(), d.clone());
                    async move { c.push_image(&d.small[i], None).await }
                })
                .await
            }
            Id::PullLarge => {
                jobs(d.large_mono.len(), s.workers, move |i| {
                    let (c, d) = (c.clone(), d.clone());
                    async move { c.pull_image(&d.large_mono[i]).await }
                })
                .await
            }
            Id::PullSmall => {
                jobs(d.small.len(), s.workers, move |i| {
                    let (c, d) = (c.clone(), d.clone());
                    async move { c.pull_image(&d.small[i]).await }
                })
                .await
            }
            Id::HotMetadata => {
                // Each worker walks its own seeded random sequence of images; the five kinds of
                // request take turns.
                let rngs: Arc<Vec<std::sync::Mutex<rand::rngs::StdRng>>> = Arc::new(
                    (0..s.workers)
                        .map(|w| std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(w as u64)))
                        .collect(),
                );
                timed(s.hot_for, s.workers, move |w, i| {
                    let (c, d, rngs) = (c.clone(), d.clone(), rngs.clone());
                    async move {
                        let pick = rngs[w]
                            .lock()
                            .map(|mut r| r.gen_range(0..d.small.len()))
                            .unwrap_or(0);
                        let img = &d.small[pick];
                        let n = match i % 5 {
                            0 => c
                                .manifest(Method::HEAD, &img.name, &img.tag, img)
                                .await?
                                .len(),
                            1 => c
                                .manifest(Method::GET, &img.name, &img.tag, img)
                                .await?
                                .len(),
                            2 => c
                                .manifest(Method::HEAD, &img.name, &img.manifest_digest, img)
                                .await?
                                .len(),
                            3 => c
                                .manifest(Method::GET, &img.name, &img.manifest_digest, img)
                                .await?
                                .len(),
                            _ => {
                                if c.list_tags(&img.name).await? != 1 {
                                    return Err(
                                        "tags list of a one-tag image is not one tag".into()
                                    );
                                }
                                0
                            }
                        };
                        Ok(n as u64)
                    }
                })
                .await
            }
            Id::TagPush => {
                // The blobs first; the manifest is then pushed only under the numbered tags
                // (kcr allows 1,000 tags per image).
                let img = &d.tagged;
                for blob in img.layers.iter().chain([&img.config]) {
                    c.push_blob_monolithic(&img.name, blob).await?;
                }
                let tags = s.tags;
                jobs(tags, s.workers, move |i| {
                    let (c, d) = (c.clone(), d.clone());
                    async move {
                        let img = &d.tagged;
                        c.put_manifest(&img.name, &format!("t{i:05}"), &img.manifest)
                            .await?;
                        Ok(img.manifest.len() as u64)
                    }
                })
                .await
            }
            Id::ListTags => {
                let expected = s.tags;
                timed(s.list_for, s.push_workers, move |_, _| {
                    let (c, d) = (c.clone(), d.clone());
                    async move {
                        let n = c.list_tags(&d.tagged.name).await?;
                        if n != expected {
                            return Err(format!("listed {n} tags, expected {expected}").into());
                        }
                        Ok(0)
                    }
                })
                .await
            }
            Id::PushBig => {
                let start = Instant::now();
                let big = &d.big;
                let pool: Bytes = big.pool.clone();
                c.push_blob_streamed(
                    BIG_NAME,
                    &big.digest,
                    big.size(),
                    repeat_frames(pool, big.repeats),
                )
                .await?;
                let elapsed = start.elapsed();
                Ok(Measured {
                    ops: 1,
                    bytes: big.size(),
                    elapsed,
                    latencies: vec![elapsed],
                })
            }
        }
    }
}
