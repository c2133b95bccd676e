//! Parses the path of an OCI request into an [`OciEndpoint`]. Names contain slashes, so the
//! parser works from the right: `.../manifests/<ref>`, `.../blobs/uploads/<id>`, `.../blobs/<digest>`,
//! `.../tags/list`, `.../referrers/<digest>`. Pure and total: any input gives an endpoint or `None`.

/// One endpoint of `/v2/`, with the OCI `<name>` exactly as it appeared in the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OciEndpoint {
    /// `/v2/`.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/tags/list`.
    Tags {
        /// The name.
        name: String,
    },
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        /// The name.
        name: String,
        /// Tag or digest text.
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob {
        /// The name.
        name: String,
        /// Digest text.
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/` (start an upload).
    UploadStart {
        /// The name.
        name: String,
    },
    /// `/v2/<name>/blobs/uploads/<id>`.
    Upload {
        /// The name.
        name: String,
        /// Session id text.
        id: String,
    },
    /// `/v2/<name>/referrers/<digest>`.
    Referrers {
        /// The name.
        name: String,
        /// Subject digest text.
        digest: String,
    },
}

fn last_segment(rest: &str) -> Option<&str> {
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

fn name(n: &str) -> Option<String> {
    (!n.is_empty()).then(|| n.to_owned())
}

/// Parses a request path (`/v2/...`).
pub fn parse(path: &str) -> Option<OciEndpoint> {
    let rest = path.strip_prefix("/v2")?;
    if rest.is_empty() || rest == "/" {
        return Some(OciEndpoint::Base);
    }
    let rest = rest.strip_prefix('/')?;
    if rest == "_catalog" {
        return Some(OciEndpoint::Catalog);
    }
    if let Some(n) = rest.strip_suffix("/tags/list") {
        return Some(OciEndpoint::Tags { name: name(n)? });
    }
    if let Some(n) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return Some(OciEndpoint::UploadStart { name: name(n)? });
    }
    if let Some((n, id)) = rest.rsplit_once("/blobs/uploads/") {
        return Some(OciEndpoint::Upload {
            name: name(n)?,
            id: last_segment(id)?.to_owned(),
        });
    }
    if let Some((n, r)) = rest.rsplit_once("/manifests/") {
        return Some(OciEndpoint::Manifest {
            name: name(n)?,
            reference: last_segment(r)?.to_owned(),
        });
    }
    if let Some((n, d)) = rest.rsplit_once("/blobs/") {
        return Some(OciEndpoint::Blob {
            name: name(n)?,
            digest: last_segment(d)?.to_owned(),
        });
    }
    if let Some((n, d)) = rest.rsplit_once("/referrers/") {
        return Some(OciEndpoint::Referrers {
            name: name(n)?,
            digest: last_segment(d)?.to_owned(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_endpoint() {
        assert_eq!(parse("/v2/"), Some(OciEndpoint::Base));
        assert_eq!(parse("/v2"), Some(OciEndpoint::Base));
        assert_eq!(parse("/v2/_catalog"), Some(OciEndpoint::Catalog));
        assert_eq!(
            parse("/v2/p/r/a/b/tags/list"),
            Some(OciEndpoint::Tags {
                name: "p/r/a/b".into()
            })
        );
        assert_eq!(
            parse("/v2/p/manifests/x/manifests/v1"),
            Some(OciEndpoint::Manifest {
                name: "p/manifests/x".into(),
                reference: "v1".into()
            })
        );
        assert_eq!(
            parse("/v2/p/r/i/blobs/uploads/"),
            Some(OciEndpoint::UploadStart {
                name: "p/r/i".into()
            })
        );
        assert_eq!(
            parse("/v2/p/r/i/blobs/uploads/abc"),
            Some(OciEndpoint::Upload {
                name: "p/r/i".into(),
                id: "abc".into()
            })
        );
        assert_eq!(
            parse("/v2/p/r/i/blobs/sha256:00"),
            Some(OciEndpoint::Blob {
                name: "p/r/i".into(),
                digest: "sha256:00".into()
            })
        );
        assert_eq!(
            parse("/v2/p/r/i/referrers/sha256:00"),
            Some(OciEndpoint::Referrers {
                name: "p/r/i".into(),
                digest: "sha256:00".into()
            })
        );
        assert_eq!(parse("/v2/p/r/i/manifests/"), None);
        assert_eq!(parse("/v2//manifests/x"), None);
        assert_eq!(parse("/v3/"), None);
        assert_eq!(parse("/v2/p/r/i"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,120}") {
            let _ = parse(&s);
            let _ = parse(&format!("/v2/{s}"));
        }
    }
}
