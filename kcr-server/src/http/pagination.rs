//! `n`/`last` pagination and the `Link` header of the tags list and the catalog.

/// Query parameters of a paginated listing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Page size.
    pub n: Option<usize>,
    /// Last item of the previous page.
    pub last: Option<String>,
}

impl PageQuery {
    /// Reads `n` and `last` from decoded query pairs; a malformed `n` is an error message.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, String> {
        let mut q = PageQuery::default();
        for (k, v) in pairs {
            match k.as_str() {
                "n" => {
                    q.n = Some(
                        v.parse()
                            .map_err(|_| format!("n must be a non-negative integer, got {v:?}"))?,
                    )
                }
                "last" => q.last = Some(v.clone()),
                _ => {}
            }
        }
        Ok(q)
    }
}

/// `Link: <path?n=N&last=L>; rel="next"` for the page after `last`.
pub fn next_link(path: &str, n: Option<usize>, last: &str) -> String {
    let mut query = String::new();
    if let Some(n) = n {
        query.push_str(&format!("n={n}&"));
    }
    query.push_str("last=");
    query.push_str(&percent_encode(last));
    format!("<{path}?{query}>; rel=\"next\"")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_query() {
        assert_eq!(
            next_link("/v2/p/r/i/tags/list", Some(2), "v1.0"),
            "</v2/p/r/i/tags/list?n=2&last=v1.0>; rel=\"next\""
        );
        let q = PageQuery::from_pairs(&[("n".into(), "5".into()), ("last".into(), "a".into())])
            .unwrap();
        assert_eq!(
            q,
            PageQuery {
                n: Some(5),
                last: Some("a".into())
            }
        );
        assert!(PageQuery::from_pairs(&[("n".into(), "-1".into())]).is_err());
    }
}
