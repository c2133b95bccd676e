//! The markdown report: machine limits, throughput with ratios and targets, latency percentiles,
//! server resources, the cost of authentication. Medians over rounds, with the min-max spread.

mod auth;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::servers::Kind;
use crate::workload::{Id, Sample, Sizes};

/// Everything a run measured.
pub struct Results {
    /// When (UTC).
    pub date: String,
    /// The machine.
    pub machine: String,
    /// The command that reproduces the run.
    pub command: String,
    /// Rounds run.
    pub rounds: usize,
    /// Server order of each round.
    pub orders: Vec<String>,
    /// Workload sizes.
    pub sizes: Sizes,
    /// Monolithic upload mode per server.
    pub monolithic: BTreeMap<Kind, String>,
    /// `dd conv=fsync` bandwidths, bytes/s, measured right before each session of each server
    /// (in round order).
    pub dd: BTreeMap<Kind, Vec<f64>>,
    /// `openssl speed -evp sha256` at 16 KiB, bytes/s.
    pub openssl: Option<f64>,
    /// kcr's hasher at 16 KiB, bytes/s.
    pub kcr_hash: f64,
    /// Samples per workload and server, one per round.
    pub samples: BTreeMap<(Id, Kind), Vec<Sample>>,
    /// Servers measured.
    pub servers: Vec<Kind>,
}

/// Median, min and max.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

/// The spread of `values` (`None` when empty).
pub fn spread(values: &[f64]) -> Option<Spread> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Spread {
        median,
        min: v[0],
        max: v[n - 1],
    })
}

fn fmt_num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn fmt_spread(s: Option<Spread>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.min == s.max => fmt_num(s.median),
        Some(s) => format!(
            "{} ({}-{})",
            fmt_num(s.median),
            fmt_num(s.min),
            fmt_num(s.max)
        ),
    }
}

impl Results {
    fn values(&self, id: Id, kind: Kind, f: impl Fn(&Sample) -> f64) -> Vec<f64> {
        self.samples
            .get(&(id, kind))
            .map(|v| v.iter().map(f).collect())
            .unwrap_or_default()
    }

    fn throughput(&self, id: Id, kind: Kind) -> Option<Spread> {
        spread(&self.values(id, kind, |s| s.throughput(id)))
    }

    fn ratio(&self, id: Id) -> Option<f64> {
        let k = self.throughput(id, Kind::Kcr)?.median;
        let d = self.throughput(id, Kind::Distribution)?.median;
        (d > 0.0).then(|| k / d)
    }

    fn p99(&self, id: Id, kind: Kind) -> Option<f64> {
        spread(&self.values(id, kind, |s| s.percentile_ms(0.99))).map(|s| s.median)
    }

    fn peak_rss_mib(&self, id: Id, kind: Kind) -> Option<f64> {
        self.values(id, kind, |s| s.peak_rss_kib as f64 / 1024.0)
            .into_iter()
            .reduce(f64::max)
    }

    fn dd_all(&self) -> Vec<f64> {
        self.dd.values().flatten().map(|b| b / 1e6).collect()
    }

    /// kcr's throughput over the dd measured right before the same session, per round.
    fn paired_dd_fraction(&self, id: Id) -> Option<Spread> {
        let dd = self.dd.get(&Kind::Kcr)?;
        let fractions: Vec<f64> = self
            .samples
            .get(&(id, Kind::Kcr))?
            .iter()
            .zip(dd)
            .map(|(s, d)| s.throughput(id) * 1e6 / d)
            .collect();
        spread(&fractions)
    }

    /// Informational: the big-blob push against one SHA-256 stream (openssl, same run). One blob
    /// is hashed in order, so it cannot be pushed faster than that, whatever the disk does.
    fn hash_bound_line(&self) -> Option<(String, String, Option<bool>)> {
        let openssl_mb = self.openssl? / 1e6;
        let push = self.throughput(Id::PushBig, Kind::Kcr)?;
        Some((
            format!(
                "(for reading the line above) big-blob push over one SHA-256 stream, openssl's \
                 {} MB/s: a blob is hashed in order, so this bounds its push",
                fmt_num(openssl_mb)
            ),
            format!(
                "{:.0}% ({:.0}-{:.0}%)",
                push.median / openssl_mb * 100.0,
                push.min / openssl_mb * 100.0,
                push.max / openssl_mb * 100.0
            ),
            None,
        ))
    }

    fn ids(&self) -> Vec<Id> {
        Id::ALL
            .into_iter()
            .filter(|id| {
                self.servers
                    .iter()
                    .any(|k| self.samples.contains_key(&(*id, *k)))
            })
            .collect()
    }

    fn unit(id: Id) -> &'static str {
        match id {
            _ if id.in_bytes() => "MB/s",
            Id::PushSmall | Id::PullSmall => "images/s",
            Id::ListTags => "listings/s",
            _ => "requests/s",
        }
    }

    /// Target lines: (target, measured, met).
    fn targets(&self) -> Vec<(String, String, Option<bool>)> {
        let mut out = Vec::new();
        let ratio_line = |id: Id, min: f64, what: &str| {
            let r = self.ratio(id);
            (
                format!("{what} >= {min}x Distribution"),
                r.map_or("-".into(), |r| format!("{r:.2}x")),
                r.map(|r| r >= min),
            )
        };
        let dd = spread(&self.dd_all());
        for (id, what) in [
            (Id::PushLargeMono, "4 MiB-layer push (monolithic)"),
            (Id::PushBig, "big-blob push"),
        ] {
            if let (Some(f), Some(dd)) = (self.paired_dd_fraction(id), dd) {
                out.push((
                    format!(
                        "{what} >= 90% of the disk's fsync'd write bandwidth (dd right before each \
                         kcr session; all dd runs: {} MB/s)",
                        fmt_spread(Some(dd))
                    ),
                    format!(
                        "{:.0}% ({:.0}-{:.0}%)",
                        f.median * 100.0,
                        f.min * 100.0,
                        f.max * 100.0
                    ),
                    Some(f.median >= 0.9),
                ));
            }
            if id == Id::PushBig {
                out.extend(self.hash_bound_line());
            }
            out.push(ratio_line(id, 1.0, what));
        }
        out.push(ratio_line(
            Id::PushLargeChunked,
            1.0,
            "4 MiB-layer push (chunked)",
        ));
        out.push(ratio_line(Id::PushSmall, 2.0, "64 KiB-layer push"));
        out.push(ratio_line(Id::PullLarge, 1.5, "pull, 4 MiB layers"));
        out.push(ratio_line(Id::PullSmall, 1.5, "pull, 64 KiB layers"));
        out.push(ratio_line(Id::HotMetadata, 3.0, "hot metadata requests/s"));
        out.extend(self.auth_targets());
        if let (Some(k), Some(d)) = (
            self.p99(Id::HotMetadata, Kind::Kcr),
            self.p99(Id::HotMetadata, Kind::Distribution),
        ) {
            out.push((
                "hot metadata p99 lower than Distribution's".into(),
                format!("{} ms vs {} ms", fmt_num(k), fmt_num(d)),
                Some(k < d),
            ));
        }
        if let Some(o) = self.openssl {
            let frac = self.kcr_hash / o;
            out.push((
                format!(
                    "blob hashing >= 80% of openssl sha256 ({} MB/s)",
                    fmt_num(o / 1e6)
                ),
                format!(
                    "{:.0}% ({} MB/s)",
                    frac * 100.0,
                    fmt_num(self.kcr_hash / 1e6)
                ),
                Some(frac >= 0.8),
            ));
        }
        for (id, what) in [
            (Id::PushBig, "while the big blob is pushed"),
            (Id::PullLarge, "while 16 clients pull 4 MiB layers"),
            (Id::PullSmall, "while 16 clients pull 64 KiB layers"),
        ] {
            if let Some(r) = self.peak_rss_mib(id, Kind::Kcr) {
                out.push((
                    format!("kcr peak RSS < 100 MiB {what}"),
                    format!("{} MiB", fmt_num(r)),
                    Some(r < 100.0),
                ));
            }
        }
        out
    }

    /// The report, as markdown.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let s = &self.sizes;
        let _ = writeln!(md, "Measured {} on {}.\n", self.date, self.machine);
        let _ = writeln!(md, "Command: `{}`\n", self.command);
        let _ = writeln!(
            md,
            "{} round(s); each round starts every server afresh (new data directory) and runs every \
             workload on it, servers in alternating order ({}). Before each server starts, `sync` \
             settles the disk and `dd` measures it (best of two). Figures are medians over the rounds with the \
             min-max spread in parentheses. Client and servers share the machine's CPUs.\n",
            self.rounds,
            self.orders.join("; ")
        );

        let _ = writeln!(md, "### Machine limits (same run)\n");
        let _ = writeln!(md, "| measure | value |\n| --- | --- |");
        let dd = self.dd_all();
        let _ = writeln!(
            md,
            "| disk write bandwidth, `dd if=/dev/zero bs=4M count=256 conv=fsync` (MB/s; best of two back-to-back runs, {} times) | {} |",
            dd.len(),
            fmt_spread(spread(&dd))
        );
        for (kind, v) in &self.dd {
            let mb: Vec<f64> = v.iter().map(|b| b / 1e6).collect();
            let _ = writeln!(
                md,
                "| ... measured right before the {} sessions | {} |",
                kind.label(),
                fmt_spread(spread(&mb))
            );
        }
        let _ = writeln!(
            md,
            "| `openssl speed -evp sha256`, 16384-byte blocks (MB/s) | {} |",
            self.openssl.map_or("-".into(), |o| fmt_num(o / 1e6))
        );
        let _ = writeln!(
            md,
            "| kcr `DigestHasher` (sha2), 16384-byte updates (MB/s) | {} |\n",
            fmt_num(self.kcr_hash / 1e6)
        );

        let _ = writeln!(md, "### Throughput\n");
        let _ = writeln!(
            md,
            "| workload | unit | kcr | Distribution | kcr / Distribution |\n| --- | --- | --- | --- | --- |"
        );
        let mono = |k: Kind| self.monolithic.get(&k).cloned().unwrap_or_default();
        for id in self.ids() {
            let desc = id.describe(s, &mono(Kind::Kcr)).replace(
                &format!("({})", mono(Kind::Kcr)),
                &format!(
                    "(kcr: {}; Distribution: {})",
                    mono(Kind::Kcr),
                    mono(Kind::Distribution)
                ),
            );
            let _ = writeln!(
                md,
                "| `{}`: {} | {} | {} | {} | {} |",
                id.key(),
                desc,
                Self::unit(id),
                fmt_spread(self.throughput(id, Kind::Kcr)),
                fmt_spread(self.throughput(id, Kind::Distribution)),
                self.ratio(id).map_or("-".into(), |r| format!("{r:.2}x"))
            );
        }

        let _ = writeln!(md, "\n### Latency (ms; medians over rounds)\n");
        let _ = writeln!(
            md,
            "| workload | one sample is | kcr p50 | kcr p95 | kcr p99 | Distribution p50 | Distribution p95 | Distribution p99 |\n| --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for id in self.ids() {
            let mut row = format!("| `{}` | {} |", id.key(), id.op());
            for kind in [Kind::Kcr, Kind::Distribution] {
                for q in [0.5, 0.95, 0.99] {
                    let v = spread(&self.values(id, kind, |x| x.percentile_ms(q)));
                    let _ = write!(row, " {} |", v.map_or("-".into(), |v| fmt_num(v.median)));
                }
            }
            let _ = writeln!(md, "{row}");
        }

        let _ = writeln!(
            md,
            "\n### Server resources (peak RSS: highest over rounds; CPU: median)\n"
        );
        let _ = writeln!(
            md,
            "| workload | kcr peak RSS (MiB) | Distribution peak RSS (MiB) | kcr CPU (s) | Distribution CPU (s) |\n| --- | --- | --- | --- | --- |"
        );
        for id in self.ids() {
            let rss = |k| self.peak_rss_mib(id, k).map_or("-".into(), fmt_num);
            let cpu = |k| fmt_spread(spread(&self.values(id, k, |x| x.cpu_s)));
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} |",
                id.key(),
                rss(Kind::Kcr),
                rss(Kind::Distribution),
                cpu(Kind::Kcr),
                cpu(Kind::Distribution)
            );
        }

        md.push_str(&self.auth_section());

        let _ = writeln!(md, "\n### Targets\n");
        let _ = writeln!(md, "| target | measured | met |\n| --- | --- | --- |");
        for (target, measured, met) in self.targets() {
            let met = match met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            };
            let _ = writeln!(md, "| {target} | {measured} | {met} |");
        }
        md
    }
}
