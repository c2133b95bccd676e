//! Image URIs: the text users paste into `docker pull`, parsed into validated parts and rendered
//! back canonically.
//!
//! Two forms exist:
//!
//! - **kcr form** (virtual-host addressing, production):
//!   `[https://]{project}.{region}.{domain}/{repository}/{image}[:{tag}][@{digest}]`. The project
//!   is the first DNS label of the host, the region the second, the rest is the configured domain
//!   ([`DEFAULT_DOMAIN`] unless [`ImageUri::parse_with_domain`] is given another).
//! - **plain form** (path addressing, local and test setups):
//!   `[https://|http://]{host}[:{port}]/{project}/{repository}/{image}[:{tag}][@{digest}]` where
//!   the host is `localhost`, an IPv4 address, a bracketed IPv6 address such as `[::1]`, or any
//!   other hostname outside the configured domain.
//!
//! # Host classification
//!
//! Hostnames are case-insensitive (they are lowercased), and every hostname label must match
//! `[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`, with at most 253 characters in all and a last label that
//! is not all digits (so `1.2.3.256` is a bad IPv4 address, not a hostname). Then, with `D` the
//! configured domain:
//!
//! 1. A bracketed IPv6 address or an IPv4 address is a plain host.
//! 2. A hostname equal to `D` or ending in `.D` is *under the domain*. It must be exactly
//!    `{project}.{region}.D` (two labels before `D`) **and** carry no port; it is then the kcr form.
//!    Any other host under the domain (`D` itself, `team-a.D`, `a.b.c.D`, `p.r.D:443`) is rejected
//!    with [`UriParseError::BadKcrHost`] rather than read as a plain host, because a path-addressed
//!    URI on kcr's own domain is always a mistake (typically a forgotten region).
//! 3. Every other hostname (with or without a port) is a plain host, whose project comes from the
//!    first path segment.
//!
//! `http://` is accepted for plain hosts only; kcr hosts are served over https.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::digest::{Digest, DigestError};
use crate::names::{
    ImageName, ImagePath, NameError, ProjectId, Reference, RegionId, RepositoryName, Tag,
};

/// The domain [`ImageUri`]'s `FromStr` recognises kcr hosts under.
pub const DEFAULT_DOMAIN: &str = "kcr.dev";

/// Longest hostname accepted (RFC 1035).
const MAX_HOSTNAME_LEN: usize = 253;

/// Longest hostname label accepted (RFC 1035).
const MAX_LABEL_LEN: usize = 63;

/// Where an image URI points: a kcr host naming project and region, or a plain host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UriHost {
    /// `{project}.{region}.{domain}`, served over https on the default port.
    Kcr {
        /// The project: the host's first label.
        project: ProjectId,
        /// The region: the host's second label.
        region: RegionId,
        /// The domain after the region, lowercase (for example `kcr.dev`).
        domain: String,
    },
    /// Any other host; the project comes from the path.
    Plain {
        /// The host in canonical text: a lowercase hostname, an IPv4 address, or an IPv6 address
        /// in brackets in its compressed form (`[::1]`).
        host: String,
        /// The port, if one was given.
        port: Option<u16>,
    },
}

impl fmt::Display for UriHost {
    /// The authority: `{project}.{region}.{domain}` or `{host}[:{port}]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UriHost::Kcr {
                project,
                region,
                domain,
            } => write!(f, "{project}.{region}.{domain}"),
            UriHost::Plain { host, port } => {
                f.write_str(host)?;
                if let Some(port) = port {
                    write!(f, ":{port}")?;
                }
                Ok(())
            }
        }
    }
}

/// A parsed image URI: host, image path, and an optional tag and digest.
///
/// For the kcr form the project of [`image`](ImageUri::image) equals the host's project; values
/// produced by parsing always keep that invariant, and [`Display`](fmt::Display) renders the
/// canonical form (kcr form with `https://`, plain form without a scheme), so
/// `ImageUri::parse_with_domain(&x.to_string(), d) == Ok(x)` for every parsed `x` (with
/// `d` = [`DEFAULT_DOMAIN`] that is `x.to_string().parse() == Ok(x)`). See the
/// [module documentation](self) for how hosts are classified.
///
/// ```
/// use kcr_core::{ImageUri, UriHost};
///
/// let uri: ImageUri = "team-a.kr-central-2.kcr.dev/web/frontend/nginx:1.25".parse().unwrap();
/// assert_eq!(uri.project().as_str(), "team-a");
/// assert!(matches!(&uri.host, UriHost::Kcr { region, .. } if region.as_str() == "kr-central-2"));
/// assert_eq!(uri.image.repository().as_str(), "web");
/// assert_eq!(uri.image.image().as_str(), "frontend/nginx");
/// assert_eq!(uri.tag.as_ref().map(|t| t.as_str()), Some("1.25"));
/// assert_eq!(
///     uri.to_string(),
///     "https://team-a.kr-central-2.kcr.dev/web/frontend/nginx:1.25"
/// );
///
/// // Path addressing on a plain host; the project is the first path segment.
/// let local: ImageUri = "http://localhost:5000/team-a/web/nginx".parse().unwrap();
/// assert_eq!(local.host, UriHost::Plain { host: "localhost".into(), port: Some(5000) });
/// assert_eq!(local.to_string(), "localhost:5000/team-a/web/nginx");
///
/// // Other deployments configure their domain.
/// let custom = ImageUri::parse_with_domain("p.r.kcr.example.com/repo/img", "kcr.example.com");
/// assert!(matches!(custom.unwrap().host, UriHost::Kcr { .. }));
///
/// // Only a repository, no image: rejected with a reason.
/// assert_eq!(
///     "https://team-a.kr-central-2.kcr.dev/web".parse::<ImageUri>(),
///     Err(kcr_core::UriParseError::MissingImage)
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageUri {
    /// The host the image is served from.
    pub host: UriHost,
    /// Project, repository and image.
    pub image: ImagePath,
    /// The tag after `:`, if any.
    pub tag: Option<Tag>,
    /// The digest after `@`, if any.
    pub digest: Option<Digest>,
}

/// Why an image URI was rejected. Checks run left to right (scheme, host, port, path structure,
/// names, tag, digest) and the first failing rule is reported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriParseError {
    /// The input is empty.
    #[error("image URI is empty")]
    Empty,
    /// A scheme other than `https://` or `http://`.
    #[error("unsupported scheme {0:?} (use https:// or, for plain hosts, http://)")]
    UnsupportedScheme(String),
    /// `http://` in front of a kcr host, which is served over https only.
    #[error("kcr host {0:?} is served over https only")]
    InsecureKcrHost(String),
    /// Nothing between the scheme (or the start) and the first `/`.
    #[error("image URI has no host")]
    MissingHost,
    /// The host is not a hostname, an IPv4 address or a bracketed IPv6 address.
    #[error("invalid host {0:?}")]
    BadHost(String),
    /// The port is not a number from 1 to 65535.
    #[error("invalid port {0:?}")]
    BadPort(String),
    /// The host is under the kcr domain but is not `{project}.{region}.{domain}` without a port.
    #[error("host {0:?} is under the kcr domain but is not {{project}}.{{region}}.{{domain}} without a port")]
    BadKcrHost(String),
    /// The domain given to [`ImageUri::parse_with_domain`] is not a hostname of two or more labels.
    #[error("invalid kcr domain {0:?}: expected a hostname of at least two labels")]
    BadDomain(String),
    /// No path after the host.
    #[error("image URI has no path after the host")]
    MissingPath,
    /// The image path ends with `/`.
    #[error("image path ends with '/'")]
    TrailingSlash,
    /// The image path has an empty segment (`//`).
    #[error("image path has an empty segment")]
    EmptySegment,
    /// A plain-host URI names only a project: `{host}/{project}`.
    #[error("image path names only a project; expected {{project}}/{{repository}}/{{image}}")]
    MissingRepository,
    /// Only a repository is given, no image inside it.
    #[error("image path names only a repository; expected {{repository}}/{{image}}")]
    MissingImage,
    /// The project, repository, image name or whole path breaks the naming rules.
    #[error("invalid name: {0}")]
    Name(NameError),
    /// The tag breaks the tag grammar.
    #[error("invalid tag: {0}")]
    Tag(NameError),
    /// The digest is malformed or uses an unsupported algorithm.
    #[error("invalid digest: {0}")]
    Digest(DigestError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Https,
    Http,
}

impl ImageUri {
    /// Parses an image URI, recognising kcr hosts under `domain` (for example `kcr.example.com`)
    /// instead of [`DEFAULT_DOMAIN`]. `domain` is case-insensitive and must be a hostname of at
    /// least two labels, else [`UriParseError::BadDomain`].
    pub fn parse_with_domain(s: &str, domain: &str) -> Result<Self, UriParseError> {
        let domain = normalize_domain(domain)?;
        if s.is_empty() {
            return Err(UriParseError::Empty);
        }
        let (scheme, rest) = split_scheme(s)?;
        if rest.is_empty() {
            return Err(UriParseError::MissingHost);
        }
        let Some((authority, path)) = rest.split_once('/') else {
            return Err(UriParseError::MissingPath);
        };
        if authority.is_empty() {
            return Err(UriParseError::MissingHost);
        }
        let host = classify_host(authority, &domain)?;
        if scheme == Some(Scheme::Http) && matches!(host, UriHost::Kcr { .. }) {
            return Err(UriParseError::InsecureKcrHost(authority.to_owned()));
        }

        // Path components and tags contain neither '@' nor ':', so the first of each separates.
        let (name_and_tag, digest) = match path.split_once('@') {
            Some((before, digest)) => (before, Some(digest)),
            None => (path, None),
        };
        let (name, tag) = match name_and_tag.split_once(':') {
            Some((name, tag)) => (name, Some(tag)),
            None => (name_and_tag, None),
        };
        if name.is_empty() {
            return Err(UriParseError::MissingPath);
        }
        if name.ends_with('/') {
            return Err(UriParseError::TrailingSlash);
        }
        if name.split('/').any(str::is_empty) {
            return Err(UriParseError::EmptySegment);
        }

        // In the kcr form the project is the host's first label; in the plain form the first
        // path segment. Structure is checked before any name is validated.
        let (project, rest) = match &host {
            UriHost::Kcr { project, .. } => (project.as_str(), name),
            UriHost::Plain { .. } => name
                .split_once('/')
                .ok_or(UriParseError::MissingRepository)?,
        };
        let (repository, image) = rest.split_once('/').ok_or(UriParseError::MissingImage)?;
        let project: ProjectId = project.parse().map_err(UriParseError::Name)?;
        let repository: RepositoryName = repository.parse().map_err(UriParseError::Name)?;
        let image: ImageName = image.parse().map_err(UriParseError::Name)?;
        let image = ImagePath::new(project, repository, image).map_err(UriParseError::Name)?;

        let tag = tag
            .map(|t| t.parse::<Tag>().map_err(UriParseError::Tag))
            .transpose()?;
        let digest = digest
            .map(|d| d.parse::<Digest>().map_err(UriParseError::Digest))
            .transpose()?;

        Ok(ImageUri {
            host,
            image,
            tag,
            digest,
        })
    }

    /// The project: from the host in the kcr form, from the path in the plain form.
    pub fn project(&self) -> &ProjectId {
        self.image.project()
    }

    /// What to fetch the manifest by: the digest if one was given (it pins the content even when
    /// a tag is present too), else the tag, else `None` (clients then usually mean `latest`).
    pub fn reference(&self) -> Option<Reference> {
        match (&self.digest, &self.tag) {
            (Some(d), _) => Some(Reference::Digest(d.clone())),
            (None, Some(t)) => Some(Reference::Tag(t.clone())),
            (None, None) => None,
        }
    }
}

impl FromStr for ImageUri {
    type Err = UriParseError;

    /// Parses with kcr hosts recognised under [`DEFAULT_DOMAIN`].
    fn from_str(s: &str) -> Result<Self, UriParseError> {
        ImageUri::parse_with_domain(s, DEFAULT_DOMAIN)
    }
}

impl fmt::Display for ImageUri {
    /// The canonical form: `https://{project}.{region}.{domain}/{repository}/{image}` or
    /// `{host}[:{port}]/{project}/{repository}/{image}`, then `:{tag}` and `@{digest}` if present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            UriHost::Kcr { .. } => write!(
                f,
                "https://{}/{}/{}",
                self.host,
                self.image.repository(),
                self.image.image()
            )?,
            UriHost::Plain { .. } => write!(f, "{}/{}", self.host, self.image)?,
        }
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Splits off `scheme://` when the text before the first `://` has no `/` (so a `://` deeper in the
/// path is left to the path rules).
fn split_scheme(s: &str) -> Result<(Option<Scheme>, &str), UriParseError> {
    if let Some(i) = s.find("://") {
        let scheme = &s[..i];
        if !scheme.contains('/') {
            let parsed = if scheme.eq_ignore_ascii_case("https") {
                Scheme::Https
            } else if scheme.eq_ignore_ascii_case("http") {
                Scheme::Http
            } else {
                return Err(UriParseError::UnsupportedScheme(scheme.to_owned()));
            };
            return Ok((Some(parsed), &s[i + 3..]));
        }
    }
    Ok((None, s))
}

/// Validates and lowercases the configured domain.
fn normalize_domain(domain: &str) -> Result<String, UriParseError> {
    if !is_hostname(domain) || !domain.contains('.') {
        return Err(UriParseError::BadDomain(domain.to_owned()));
    }
    Ok(domain.to_ascii_lowercase())
}

/// `{host}[:{port}]` to a [`UriHost`], following the classification rule of the module docs.
/// `domain` is already validated and lowercase.
fn classify_host(authority: &str, domain: &str) -> Result<UriHost, UriParseError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inside, after)) = bracketed.split_once(']') else {
            return Err(UriParseError::BadHost(authority.to_owned()));
        };
        let ip: Ipv6Addr = inside
            .parse()
            .map_err(|_| UriParseError::BadHost(authority.to_owned()))?;
        let port = if after.is_empty() {
            None
        } else if let Some(port) = after.strip_prefix(':') {
            Some(parse_port(port)?)
        } else {
            return Err(UriParseError::BadHost(authority.to_owned()));
        };
        return Ok(UriHost::Plain {
            host: format!("[{ip}]"),
            port,
        });
    }

    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        let port = port.map(parse_port).transpose()?;
        return Ok(UriHost::Plain {
            host: ip.to_string(),
            port,
        });
    }
    if !is_hostname(host) {
        return Err(UriParseError::BadHost(host.to_owned()));
    }
    let port = port.map(parse_port).transpose()?;
    let host = host.to_ascii_lowercase();

    let under_domain = host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|prefix| prefix.ends_with('.'));
    if !under_domain {
        return Ok(UriHost::Plain { host, port });
    }
    let labels = host
        .strip_suffix(domain)
        .and_then(|prefix| prefix.strip_suffix('.'))
        .and_then(|prefix| prefix.split_once('.'))
        .filter(|(_, region)| !region.contains('.'));
    match (labels, port) {
        (Some((project, region)), None) => Ok(UriHost::Kcr {
            project: project.parse().map_err(UriParseError::Name)?,
            region: region.parse().map_err(UriParseError::Name)?,
            domain: domain.to_owned(),
        }),
        _ => Err(UriParseError::BadKcrHost(authority.to_owned())),
    }
}

/// A decimal port from 1 to 65535 (digits only: no sign, no spaces).
fn parse_port(s: &str) -> Result<u16, UriParseError> {
    let bad = || UriParseError::BadPort(s.to_owned());
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(port) => Ok(port),
    }
}

/// A DNS hostname: dot-separated labels of ASCII letters, digits and inner `-`, 1 to 63 characters
/// each, at most 253 in all, and a last label that is not all digits (that would be an IP address).
fn is_hostname(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_HOSTNAME_LEN {
        return false;
    }
    let labels_ok = s.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.len() <= MAX_LABEL_LEN
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    });
    let last_is_numeric = s
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|c| c.is_ascii_digit()));
    labels_ok && !last_is_numeric
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Algorithm;
    use proptest::prelude::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn digest() -> Digest {
        Digest::new(Algorithm::Sha256, HEX).unwrap()
    }

    fn path(project: &str, repository: &str, image: &str) -> ImagePath {
        ImagePath::new(
            project.parse().unwrap(),
            repository.parse().unwrap(),
            image.parse().unwrap(),
        )
        .unwrap()
    }

    fn kcr(project: &str, region: &str, domain: &str) -> UriHost {
        UriHost::Kcr {
            project: project.parse().unwrap(),
            region: region.parse().unwrap(),
            domain: domain.to_owned(),
        }
    }

    fn plain(host: &str, port: Option<u16>) -> UriHost {
        UriHost::Plain {
            host: host.to_owned(),
            port,
        }
    }

    fn tag(t: &str) -> Option<Tag> {
        Some(t.parse().unwrap())
    }

    #[test]
    fn valid_uris() {
        let d = digest();
        let cases: Vec<(String, ImageUri, &str)> = vec![
            (
                "https://team-a.kr-central-2.kcr.dev/web/frontend/nginx:1.25".into(),
                ImageUri {
                    host: kcr("team-a", "kr-central-2", "kcr.dev"),
                    image: path("team-a", "web", "frontend/nginx"),
                    tag: tag("1.25"),
                    digest: None,
                },
                "https://team-a.kr-central-2.kcr.dev/web/frontend/nginx:1.25",
            ),
            (
                "team-a.kr-central-2.kcr.dev/web/nginx".into(),
                ImageUri {
                    host: kcr("team-a", "kr-central-2", "kcr.dev"),
                    image: path("team-a", "web", "nginx"),
                    tag: None,
                    digest: None,
                },
                "https://team-a.kr-central-2.kcr.dev/web/nginx",
            ),
            (
                format!("HTTPS://Team-A.KR.Kcr.Dev/web/nginx:Latest@sha256:{HEX}"),
                ImageUri {
                    host: kcr("team-a", "kr", "kcr.dev"),
                    image: path("team-a", "web", "nginx"),
                    tag: tag("Latest"),
                    digest: Some(d.clone()),
                },
                "",
            ),
            (
                format!("127.0.0.1:5000/p/r/img@sha256:{HEX}"),
                ImageUri {
                    host: plain("127.0.0.1", Some(5000)),
                    image: path("p", "r", "img"),
                    tag: None,
                    digest: Some(d.clone()),
                },
                "",
            ),
            (
                format!("localhost:5000/p/r/a/b/c:tag@sha256:{HEX}"),
                ImageUri {
                    host: plain("localhost", Some(5000)),
                    image: path("p", "r", "a/b/c"),
                    tag: tag("tag"),
                    digest: Some(d.clone()),
                },
                "",
            ),
            (
                "[::1]:5000/p/r/i".into(),
                ImageUri {
                    host: plain("[::1]", Some(5000)),
                    image: path("p", "r", "i"),
                    tag: None,
                    digest: None,
                },
                "",
            ),
            (
                "http://[0:0:0:0:0:0:0:1]/p/r/i".into(),
                ImageUri {
                    host: plain("[::1]", None),
                    image: path("p", "r", "i"),
                    tag: None,
                    digest: None,
                },
                "[::1]/p/r/i",
            ),
            (
                "http://localhost/team-a/web/nginx:v1".into(),
                ImageUri {
                    host: plain("localhost", None),
                    image: path("team-a", "web", "nginx"),
                    tag: tag("v1"),
                    digest: None,
                },
                "localhost/team-a/web/nginx:v1",
            ),
            (
                "https://Registry.Example.COM:443/p/r.x/i__j-k".into(),
                ImageUri {
                    host: plain("registry.example.com", Some(443)),
                    image: path("p", "r.x", "i__j-k"),
                    tag: None,
                    digest: None,
                },
                "registry.example.com:443/p/r.x/i__j-k",
            ),
            (
                // Subdomains of other domains are plain hosts.
                "team-a.kr.kcr.dev.example.org/p/r/i".into(),
                ImageUri {
                    host: plain("team-a.kr.kcr.dev.example.org", None),
                    image: path("p", "r", "i"),
                    tag: None,
                    digest: None,
                },
                "",
            ),
            (
                // A single-label non-localhost host is a plain host too.
                "registry:5000/p/r/i".into(),
                ImageUri {
                    host: plain("registry", Some(5000)),
                    image: path("p", "r", "i"),
                    tag: None,
                    digest: None,
                },
                "",
            ),
            (
                "123.456.kcr.dev/r/i".into(),
                ImageUri {
                    host: kcr("123", "456", "kcr.dev"),
                    image: path("123", "r", "i"),
                    tag: None,
                    digest: None,
                },
                "https://123.456.kcr.dev/r/i",
            ),
        ];
        for (input, expected, canonical) in cases {
            let parsed: ImageUri = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed, expected, "{input}");
            let shown = parsed.to_string();
            if !canonical.is_empty() {
                assert_eq!(shown, canonical, "{input}");
            }
            assert_eq!(shown.parse::<ImageUri>(), Ok(parsed), "{input} -> {shown}");
        }
    }

    #[test]
    fn custom_domain() {
        let uri = ImageUri::parse_with_domain("p.r.KCR.example.com/repo/img:t", "kcr.Example.com")
            .unwrap();
        assert_eq!(uri.host, kcr("p", "r", "kcr.example.com"));
        assert_eq!(uri.to_string(), "https://p.r.kcr.example.com/repo/img:t");
        assert_eq!(
            ImageUri::parse_with_domain(&uri.to_string(), "kcr.example.com"),
            Ok(uri)
        );
        // Under a custom domain, kcr.dev hosts are plain hosts (path addressed).
        let other =
            ImageUri::parse_with_domain("p.r.kcr.dev/proj/repo/img", "kcr.example.com").unwrap();
        assert_eq!(other.host, plain("p.r.kcr.dev", None));
        assert_eq!(other.project().as_str(), "proj");
        for bad in [
            "",
            "kcr",
            "-kcr.dev",
            "kcr..dev",
            "kcr.dev.",
            "10.0.0.1",
            "kcr_x.dev",
        ] {
            assert_eq!(
                ImageUri::parse_with_domain("localhost/p/r/i", bad),
                Err(UriParseError::BadDomain(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reference_prefers_digest() {
        let uri: ImageUri = format!("localhost/p/r/i:t@sha256:{HEX}").parse().unwrap();
        assert_eq!(uri.reference(), Some(Reference::Digest(digest())));
        let uri: ImageUri = "localhost/p/r/i:t".parse().unwrap();
        assert_eq!(uri.reference(), Some(Reference::Tag("t".parse().unwrap())));
        let uri: ImageUri = "localhost/p/r/i".parse().unwrap();
        assert_eq!(uri.reference(), None);
    }

    fn name_err(s: &str) -> NameError {
        match s.split_once('=') {
            Some(("project", v)) => v.parse::<ProjectId>().unwrap_err(),
            Some(("repository", v)) => v.parse::<RepositoryName>().unwrap_err(),
            Some(("image", v)) => v.parse::<ImageName>().unwrap_err(),
            Some(("tag", v)) => v.parse::<Tag>().unwrap_err(),
            _ => unreachable!("{s}"),
        }
    }

    fn digest_err(s: &str) -> DigestError {
        s.parse::<Digest>().unwrap_err()
    }

    #[test]
    fn invalid_uris() {
        use UriParseError as E;
        let long_image = "a".repeat(252);
        let cases: Vec<(String, E)> = vec![
            ("".into(), E::Empty),
            (
                "ftp://localhost/p/r/i".into(),
                E::UnsupportedScheme("ftp".into()),
            ),
            (
                "oci://localhost/p/r/i".into(),
                E::UnsupportedScheme("oci".into()),
            ),
            ("://localhost/p/r/i".into(), E::UnsupportedScheme("".into())),
            ("https://".into(), E::MissingHost),
            ("https:///p/r/i".into(), E::MissingHost),
            ("/p/r/i".into(), E::MissingHost),
            ("localhost".into(), E::MissingPath),
            ("nginx:latest".into(), E::MissingPath),
            ("localhost/".into(), E::MissingPath),
            ("localhost:5000/:tag".into(), E::MissingPath),
            (
                "http://team-a.kr.kcr.dev/web/nginx".into(),
                E::InsecureKcrHost("team-a.kr.kcr.dev".into()),
            ),
            (
                "user@localhost/p/r/i".into(),
                E::BadHost("user@localhost".into()),
            ),
            ("local_host/p/r/i".into(), E::BadHost("local_host".into())),
            ("-host/p/r/i".into(), E::BadHost("-host".into())),
            ("host-/p/r/i".into(), E::BadHost("host-".into())),
            ("a..b/p/r/i".into(), E::BadHost("a..b".into())),
            (
                "example.com./p/r/i".into(),
                E::BadHost("example.com.".into()),
            ),
            ("1.2.3.256/p/r/i".into(), E::BadHost("1.2.3.256".into())),
            ("1.2.3/p/r/i".into(), E::BadHost("1.2.3".into())),
            (
                format!("{}.com/p/r/i", "a".repeat(64)),
                E::BadHost(format!("{}.com", "a".repeat(64))),
            ),
            ("::1/p/r/i".into(), E::BadHost("".into())),
            ("[::1/p/r/i".into(), E::BadHost("[::1".into())),
            ("[::g]/p/r/i".into(), E::BadHost("[::g]".into())),
            ("[127.0.0.1]/p/r/i".into(), E::BadHost("[127.0.0.1]".into())),
            ("[::1]x/p/r/i".into(), E::BadHost("[::1]x".into())),
            (
                "[fe80::1%eth0]/p/r/i".into(),
                E::BadHost("[fe80::1%eth0]".into()),
            ),
            ("héllo/p/r/i".into(), E::BadHost("héllo".into())),
            (" localhost/p/r/i".into(), E::BadHost(" localhost".into())),
            ("localhost:/p/r/i".into(), E::BadPort("".into())),
            ("localhost:0/p/r/i".into(), E::BadPort("0".into())),
            ("localhost:65536/p/r/i".into(), E::BadPort("65536".into())),
            ("localhost:+80/p/r/i".into(), E::BadPort("+80".into())),
            ("localhost:80:80/p/r/i".into(), E::BadPort("80:80".into())),
            ("127.0.0.1:x/p/r/i".into(), E::BadPort("x".into())),
            ("[::1]:99999/p/r/i".into(), E::BadPort("99999".into())),
            ("[::1]:/p/r/i".into(), E::BadPort("".into())),
            ("kcr.dev/p/r/i".into(), E::BadKcrHost("kcr.dev".into())),
            (
                "team-a.kcr.dev/web/nginx".into(),
                E::BadKcrHost("team-a.kcr.dev".into()),
            ),
            (
                "a.b.c.kcr.dev/web/nginx".into(),
                E::BadKcrHost("a.b.c.kcr.dev".into()),
            ),
            (
                "team-a.kr.kcr.dev:443/web/nginx".into(),
                E::BadKcrHost("team-a.kr.kcr.dev:443".into()),
            ),
            ("localhost/p/r/i/".into(), E::TrailingSlash),
            ("localhost/p/".into(), E::TrailingSlash),
            ("localhost/p/r/i/:tag".into(), E::TrailingSlash),
            ("team-a.kr.kcr.dev/web/".into(), E::TrailingSlash),
            ("localhost//p/r/i".into(), E::EmptySegment),
            ("localhost/p//r/i".into(), E::EmptySegment),
            ("localhost/p/r//i".into(), E::EmptySegment),
            ("localhost/p".into(), E::MissingRepository),
            ("localhost/p:tag".into(), E::MissingRepository),
            ("localhost/p/r".into(), E::MissingImage),
            ("localhost/p/r:tag".into(), E::MissingImage),
            ("team-a.kr.kcr.dev/web".into(), E::MissingImage),
            (
                format!("team-a.kr.kcr.dev/web@sha256:{HEX}"),
                E::MissingImage,
            ),
            (
                "localhost/Proj/r/i".into(),
                E::Name(name_err("project=Proj")),
            ),
            ("localhost/-p/r/i".into(), E::Name(name_err("project=-p"))),
            (
                "localhost/p/Repo/i".into(),
                E::Name(name_err("repository=Repo")),
            ),
            ("localhost/p/r/Img".into(), E::Name(name_err("image=Img"))),
            ("localhost/p/r/a..b".into(), E::Name(name_err("image=a..b"))),
            (
                "team-a.kr.kcr.dev/web/ngi nx".into(),
                E::Name(name_err("image=ngi nx")),
            ),
            (
                "localhost/p/r/i?x=1".into(),
                E::Name(name_err("image=i?x=1")),
            ),
            ("localhost/p/r/x://y".into(), E::Tag(name_err("tag=//y"))),
            (
                format!("localhost/p/r/{long_image}"),
                E::Name(NameError::TooLong {
                    what: "image path",
                    name: format!("p/r/{long_image}"),
                    max: crate::names::MAX_IMAGE_PATH_LEN,
                }),
            ),
            ("localhost/p/r/i:".into(), E::Tag(name_err("tag="))),
            ("localhost/p/r/i:.x".into(), E::Tag(name_err("tag=.x"))),
            ("localhost/p/r/i:a:b".into(), E::Tag(name_err("tag=a:b"))),
            ("localhost/p/r/i:a/b".into(), E::Tag(name_err("tag=a/b"))),
            (
                format!("localhost/p/r/i:{}", "t".repeat(129)),
                E::Tag(name_err(&format!("tag={}", "t".repeat(129)))),
            ),
            ("localhost/p/r/i@".into(), E::Digest(digest_err(""))),
            (
                "localhost/p/r/i@sha256".into(),
                E::Digest(digest_err("sha256")),
            ),
            (
                "localhost/p/r/i@md5:abc".into(),
                E::Digest(digest_err("md5:abc")),
            ),
            (
                "localhost/p/r/i@sha256:abc".into(),
                E::Digest(digest_err("sha256:abc")),
            ),
            (
                format!("localhost/p/r/i@sha256:{}", HEX.to_uppercase()),
                E::Digest(digest_err(&format!("sha256:{}", HEX.to_uppercase()))),
            ),
            (
                format!("localhost/p/r/i@sha256:{HEX}@x"),
                E::Digest(digest_err(&format!("sha256:{HEX}@x"))),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(input.parse::<ImageUri>(), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn errors_render_a_reason() {
        let e = "team-a.kcr.dev/web/nginx".parse::<ImageUri>().unwrap_err();
        assert!(e.to_string().contains("{project}.{region}.{domain}"), "{e}");
    }

    // ----- property tests -----

    fn dns_label() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?",
            1 => "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?",
        ]
    }

    fn path_component() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,6}((\\.|_|__|-{1,3})[a-z0-9]{1,6}){0,3}"
    }

    fn image_name() -> impl Strategy<Value = String> {
        proptest::collection::vec(path_component(), 1..5).prop_map(|c| c.join("/"))
    }

    fn image_path() -> impl Strategy<Value = ImagePath> {
        (dns_label(), path_component(), image_name())
            .prop_filter_map("image path too long", |(p, r, i)| {
                ImagePath::new(p.parse().ok()?, r.parse().ok()?, i.parse().ok()?).ok()
            })
    }

    fn opt_tag() -> impl Strategy<Value = Option<Tag>> {
        proptest::option::of(
            "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}".prop_map(|t| t.parse::<Tag>().unwrap()),
        )
    }

    fn opt_digest() -> impl Strategy<Value = Option<Digest>> {
        proptest::option::of(prop_oneof![
            "[0-9a-f]{64}".prop_map(|h| Digest::new(Algorithm::Sha256, &h).unwrap()),
            "[0-9a-f]{128}".prop_map(|h| Digest::new(Algorithm::Sha512, &h).unwrap()),
        ])
    }

    fn domain() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(DEFAULT_DOMAIN.to_owned()),
            proptest::collection::vec(dns_label(), 1..3).prop_map(|labels| format!(
                "{}.{}",
                labels.join("."),
                "example"
            )),
        ]
    }

    fn hostname() -> impl Strategy<Value = String> {
        (
            proptest::collection::vec(dns_label(), 0..3),
            "[a-z]([a-z0-9-]{0,8}[a-z0-9])?",
        )
            .prop_map(|(mut labels, last)| {
                labels.push(last);
                labels.join(".")
            })
    }

    fn plain_host(domain: String) -> impl Strategy<Value = UriHost> {
        let host = prop_oneof![
            Just("localhost".to_owned()),
            any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", Ipv6Addr::from(s))),
            hostname(),
        ];
        (host, proptest::option::of(1u16..))
            .prop_filter("host under the kcr domain", move |(h, _)| {
                h != &domain && !h.ends_with(&format!(".{domain}"))
            })
            .prop_map(|(host, port)| UriHost::Plain { host, port })
    }

    /// A valid URI with the domain it was built for.
    fn image_uri() -> impl Strategy<Value = (ImageUri, String)> {
        domain().prop_flat_map(|domain| {
            let kcr_uri = (image_path(), dns_label(), Just(domain.clone()))
                .prop_map(|(image, region, domain)| {
                    let host = UriHost::Kcr {
                        project: image.project().clone(),
                        region: region.parse().unwrap(),
                        domain,
                    };
                    (host, image)
                })
                .prop_filter("hostname too long", |(host, _)| {
                    host.to_string().len() <= MAX_HOSTNAME_LEN
                });
            let plain_uri = (plain_host(domain.clone()), image_path());
            (
                prop_oneof![kcr_uri, plain_uri],
                opt_tag(),
                opt_digest(),
                Just(domain),
            )
                .prop_map(|((host, image), tag, digest, domain)| {
                    (
                        ImageUri {
                            host,
                            image,
                            tag,
                            digest,
                        },
                        domain,
                    )
                })
        })
    }

    /// Characters that exercise every branch of the parser.
    const URI_CHARS: &str = "[a-zA-Z0-9:/@.\\[\\]_-]{0,60}";

    proptest! {
        #[test]
        fn display_parse_round_trip((uri, domain) in image_uri()) {
            let s = uri.to_string();
            prop_assert_eq!(ImageUri::parse_with_domain(&s, &domain), Ok(uri.clone()));
            if domain == DEFAULT_DOMAIN {
                prop_assert_eq!(s.parse::<ImageUri>(), Ok(uri.clone()));
            }
            // Plain hosts also accept an explicit scheme, which canonical output omits.
            if let UriHost::Plain { .. } = uri.host {
                for scheme in ["http://", "https://"] {
                    let with = format!("{scheme}{s}");
                    prop_assert_eq!(ImageUri::parse_with_domain(&with, &domain), Ok(uri.clone()));
                }
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(s in ".{0,200}") {
            if let Ok(uri) = s.parse::<ImageUri>() {
                prop_assert_eq!(uri.to_string().parse::<ImageUri>(), Ok(uri));
            }
        }

        #[test]
        fn uri_like_strings_never_panic(s in URI_CHARS, d in "[a-zA-Z0-9.-]{0,12}") {
            if let Ok(uri) = s.parse::<ImageUri>() {
                prop_assert_eq!(uri.to_string().parse::<ImageUri>(), Ok(uri));
            }
            if let Ok(uri) = ImageUri::parse_with_domain(&s, &d) {
                prop_assert_eq!(ImageUri::parse_with_domain(&uri.to_string(), &d), Ok(uri));
            }
        }

        #[test]
        fn mutated_uris_never_panic(
            (uri, domain) in image_uri(),
            at in any::<prop::sample::Index>(),
            c in any::<char>(),
            delete in any::<bool>(),
        ) {
            let mut s = uri.to_string();
            let i = at.index(s.len() + 1);
            // Canonical URIs are ASCII, so every index is a char boundary.
            if delete && i < s.len() {
                s.remove(i);
            } else {
                s.insert(i, c);
            }
            if let Ok(parsed) = ImageUri::parse_with_domain(&s, &domain) {
                prop_assert_eq!(
                    ImageUri::parse_with_domain(&parsed.to_string(), &domain),
                    Ok(parsed)
                );
            }
        }
    }
}
