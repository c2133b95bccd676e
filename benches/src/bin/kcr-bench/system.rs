//! The machine's own limits, measured in the same run: fsync'd write bandwidth of the disk the
//! data directories live on (`dd ... conv=fsync`), `openssl speed -evp sha256`, and kcr's own
//! hasher on the same block size.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::Result;

/// nproc, memory and CPU model.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let sha_ni = cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.contains(" sha_ni"));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!(
        "{cpus} CPUs ({model}{}), {:.1} GiB memory, Linux {}",
        if sha_ni { ", SHA-NI" } else { "" },
        mem_kib as f64 / (1024.0 * 1024.0),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    )
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Flushes the page cache's dirty data and pending discards of every filesystem (`sync`), so a
/// measurement does not pay for what came before it.
pub fn settle_disk() {
    let _ = Command::new("sync").status();
}

/// The better of two back-to-back `dd` runs of 1 GiB. The first run after a server's data
/// directory was deleted fills the page cache from memory the guest has handed back to its host
/// (virtio balloon free-page reporting), which can take longer than the disk does; the second
/// reuses the memory the first one freed and measures the disk.
pub fn dd_fsync_best_of_two(dir: &Path) -> Result<f64> {
    let first = dd_fsync(dir, 256)?;
    let second = dd_fsync(dir, 256)?;
    Ok(first.max(second))
}

/// Bytes per second of `dd if=/dev/zero of=<dir>/dd.test bs=4M count=<count> conv=fsync`.
pub fn dd_fsync(dir: &Path, count: u32) -> Result<f64> {
    let file = dir.join("dd.test");
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", file.display()))
        .arg("bs=4M")
        .arg(format!("count={count}"))
        .arg("conv=fsync")
        .output()?;
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stderr);
    // "1073741824 bytes (1.1 GB, 1.0 GiB) copied, 0.79 s, 1.4 GB/s"
    let line = text
        .lines()
        .find(|l| l.contains("copied"))
        .ok_or_else(|| format!("unexpected dd output: {text}"))?;
    let bytes: f64 = line
        .split_whitespace()
        .next()
        .and_then(|b| b.parse().ok())
        .ok_or("dd: no byte count")?;
    let secs: f64 = line
        .split(", ")
        .find(|p| p.ends_with(" s"))
        .and_then(|p| p.trim_end_matches(" s").trim().parse().ok())
        .ok_or("dd: no duration")?;
    Ok(bytes / secs)
}

/// Bytes per second of `openssl speed -evp sha256` at 16384-byte blocks.
pub fn openssl_sha256(seconds: u32) -> Result<f64> {
    let out = Command::new("openssl")
        .args([
            "speed", "-mr", "-evp", "sha256", "-bytes", "16384", "-seconds",
        ])
        .arg(seconds.to_string())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // Machine-readable result line: "+F:<n>:sha256:<bytes per second>".
    text.lines()
        .find_map(|l| l.strip_prefix("+F:"))
        .and_then(|l| l.rsplit(':').next()?.parse().ok())
        .ok_or_else(|| format!("unexpected openssl output: {text}").into())
}

/// Bytes per second of kcr's `DigestHasher` fed 16384-byte blocks (as openssl is).
pub fn kcr_sha256(total: usize) -> f64 {
    let block = crate::data::random(7, 16384);
    let rounds = total / block.len();
    let start = Instant::now();
    let mut h = kcr_core::DigestHasher::new(kcr_core::Algorithm::Sha256);
    for _ in 0..rounds {
        h.update(&block);
    }
    let d = h.finish();
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(d);
    (rounds * block.len()) as f64 / secs
}
