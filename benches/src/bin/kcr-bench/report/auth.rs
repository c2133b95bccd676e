//! The "Authentication cost" part of the report: kcr with authentication on (token flow, Basic
//! credentials on every request) against kcr open, on the small-request workloads.

use std::fmt::Write as _;

use super::{fmt_num, fmt_spread, spread, Results, Spread};
use crate::servers::Kind;
use crate::workload::{Id, Sample};

/// The kcr variants compared, open first.
const VARIANTS: [Kind; 3] = [Kind::Kcr, Kind::KcrToken, Kind::KcrBasic];

/// The target of the issue: authentication costs at most this fraction of open-mode throughput.
const MAX_COST: f64 = 0.10;

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::KcrToken => "token (Docker token flow)",
        Kind::KcrBasic => "Basic (access key on every request)",
        _ => "none (`--insecure-open`)",
    }
}

/// A count's median, with its range when the rounds differ.
fn fmt_count(s: Option<Spread>) -> String {
    match s {
        None => "-".into(),
        Some(s) if s.min == s.max => format!("{:.0}", s.median),
        Some(s) => format!("{:.0} ({:.0}-{:.0})", s.median, s.min, s.max),
    }
}

impl Results {
    /// Workloads measured both open and with authentication.
    fn auth_ids(&self) -> Vec<Id> {
        Id::AUTH
            .into_iter()
            .filter(|id| {
                self.samples.contains_key(&(*id, Kind::Kcr))
                    && [Kind::KcrToken, Kind::KcrBasic]
                        .iter()
                        .any(|k| self.samples.contains_key(&(*id, *k)))
            })
            .collect()
    }

    /// Throughput with `kind` over open-mode throughput: the ratio of the medians, and the
    /// spread of the per-round ratios (each round's sessions paired).
    fn auth_ratio(&self, id: Id, kind: Kind) -> Option<(f64, Spread)> {
        let open = self.samples.get(&(id, Kind::Kcr))?;
        let auth = self.samples.get(&(id, kind))?;
        let of_medians = self.throughput(id, kind)?.median / self.throughput(id, Kind::Kcr)?.median;
        let per_round: Vec<f64> = open
            .iter()
            .zip(auth)
            .map(|(o, a)| a.throughput(id) / o.throughput(id))
            .collect();
        Some((of_medians, spread(&per_round)?))
    }

    /// The section, or nothing when no authenticated session ran.
    pub(super) fn auth_section(&self) -> String {
        let ids = self.auth_ids();
        if ids.is_empty() {
            return String::new();
        }
        let mut md = String::new();
        let _ = writeln!(md, "\n### Authentication cost\n");
        let _ = writeln!(
            md,
            "kcr-server with authentication on (its default, without `--insecure-open`), set up \
             untimed through `/api/v1` as `admin`: the project and repositories, then an access key \
             that the client signs in with. *token*: on a 401 the client GETs the challenge's realm \
             (`/v2/token`) with the access key (Basic) and the challenged scope, caches the token \
             per scope and sends it until 90% of its lifetime has passed; each workload starts with \
             no token cached, so token requests are inside the timed phase. *Basic*: the access key \
             as Basic credentials on every request. Open figures are those of the kcr sessions \
             above; the authenticated sessions run `push-small` (untimed) and then only these \
             workloads. Ratio: median with authentication over median open (per-round ratios in \
             parentheses). CPU: the server's user + system time per operation.\n"
        );
        let _ = writeln!(
            md,
            "| workload | authentication | throughput | / open | p50 (ms) | p95 (ms) | p99 (ms) | kcr CPU per op (µs) | tokens fetched |\n\
             | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        );
        for id in ids {
            for kind in VARIANTS {
                if !self.samples.contains_key(&(id, kind)) {
                    continue;
                }
                let pct = |q| {
                    spread(&self.values(id, kind, |s| s.percentile_ms(q)))
                        .map_or("-".into(), |v| fmt_num(v.median))
                };
                let ratio = match kind {
                    Kind::Kcr => "1.00x".to_owned(),
                    _ => self.auth_ratio(id, kind).map_or("-".into(), |(r, s)| {
                        if s.min == s.max {
                            format!("{r:.2}x")
                        } else {
                            format!("{r:.2}x ({:.2}-{:.2})", s.min, s.max)
                        }
                    }),
                };
                let cpu = spread(
                    &self.values(id, kind, |s: &Sample| s.cpu_s * 1e6 / (s.ops.max(1) as f64)),
                );
                let tokens = match kind {
                    Kind::KcrToken => {
                        fmt_count(spread(&self.values(id, kind, |s| s.token_requests as f64)))
                    }
                    _ => "-".into(),
                };
                let _ = writeln!(
                    md,
                    "| `{}` | {} | {} {} | {} | {} | {} | {} | {} | {} |",
                    id.key(),
                    describe(kind),
                    fmt_spread(self.throughput(id, kind)),
                    Self::unit(id),
                    ratio,
                    pct(0.5),
                    pct(0.95),
                    pct(0.99),
                    fmt_spread(cpu),
                    tokens
                );
            }
        }
        md
    }

    /// Target lines: authentication costs at most 10% of open-mode hot-metadata throughput.
    pub(super) fn auth_targets(&self) -> Vec<(String, String, Option<bool>)> {
        [Kind::KcrToken, Kind::KcrBasic]
            .into_iter()
            .filter_map(|kind| {
                let (r, s) = self.auth_ratio(Id::HotMetadata, kind)?;
                Some((
                    format!(
                        "hot metadata with {} auth >= {:.0}% of open-mode requests/s",
                        if kind == Kind::KcrToken {
                            "token"
                        } else {
                            "Basic"
                        },
                        (1.0 - MAX_COST) * 100.0
                    ),
                    format!(
                        "{:.0}% (rounds: {:.0}-{:.0}%)",
                        r * 100.0,
                        s.min * 100.0,
                        s.max * 100.0
                    ),
                    Some(r >= 1.0 - MAX_COST),
                ))
            })
            .collect()
    }
}
