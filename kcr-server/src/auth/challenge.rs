//! `WWW-Authenticate` challenges for the Docker token flow.

use axum::http::HeaderMap;

/// The base URL clients reach this server at: `X-Forwarded-Proto` (or http) + `Host`.
pub fn base_url(headers: &HeaderMap, public_url: Option<&str>) -> String {
    if let Some(u) = public_url {
        return u.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

/// `Bearer realm="<base>/v2/token",service="<service>"[,scope="<scope>"][,error="insufficient_scope"]`.
pub fn bearer(base: &str, service: &str, scope: Option<&str>, insufficient: bool) -> String {
    let mut v = format!("Bearer realm=\"{base}/v2/token\",service=\"{service}\"");
    if let Some(scope) = scope {
        v.push_str(&format!(",scope=\"{scope}\""));
    }
    if insufficient {
        v.push_str(",error=\"insufficient_scope\"");
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_format() {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:5000".parse().unwrap());
        let base = base_url(&h, None);
        assert_eq!(base, "http://127.0.0.1:5000");
        assert_eq!(
            bearer(&base, "kcr", Some("repository:p/r/i:pull,push"), false),
            "Bearer realm=\"http://127.0.0.1:5000/v2/token\",service=\"kcr\",scope=\"repository:p/r/i:pull,push\""
        );
        assert_eq!(
            base_url(&h, Some("https://r.example/")),
            "https://r.example"
        );
    }
}
