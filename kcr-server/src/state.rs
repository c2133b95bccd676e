//! Shared state of the request handlers.

use std::sync::Arc;

use kcr_core::{ImagePath, ProjectId, Registry};

use crate::auth::Authenticator;
use crate::error::ApiError;

/// How project ids are found in requests.
#[derive(Debug, Clone)]
pub struct Addressing {
    /// The registry domain: a Host of `{project}.{region}.{domain}` names the project.
    pub domain: String,
}

impl Default for Addressing {
    fn default() -> Self {
        Addressing {
            domain: "kcr.dev".into(),
        }
    }
}

impl Addressing {
    /// The project named by a Host header, when it is `{project}.{region}.{domain}[:port]`.
    pub fn project_from_host(&self, host: Option<&str>) -> Option<ProjectId> {
        let host = host?;
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(']') => h,
            _ => host,
        };
        let host = host.to_ascii_lowercase();
        let labels = host.strip_suffix(&format!(".{}", self.domain))?;
        let (project, region) = labels.split_once('.')?;
        if region.is_empty()
            || region.contains('.')
            || region.parse::<kcr_core::RegionId>().is_err()
        {
            return None;
        }
        project.parse().ok()
    }

    /// The image a request's `<name>` designates: `{repository}/{image}` under a project host,
    /// `{project}/{repository}/{image}` otherwise.
    pub fn image_path(&self, host: Option<&str>, name: &str) -> Result<ImagePath, ApiError> {
        let parsed = match self.project_from_host(host) {
            Some(project) => ImagePath::from_oci_name(project, name),
            None => ImagePath::from_full_path(name),
        };
        parsed.map_err(|e| ApiError::name_invalid(e.to_string()))
    }

    /// The `<name>` an image has in responses to this host.
    pub fn oci_name(&self, host: Option<&str>, image: &ImagePath) -> String {
        match self.project_from_host(host) {
            Some(_) => image.oci_name(),
            None => image.to_string(),
        }
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// The registry service.
    pub registry: Registry,
    /// Project addressing.
    pub addressing: Arc<Addressing>,
    /// Authentication; `None` runs the registry open (`--insecure-open`).
    pub auth: Option<Arc<Authenticator>>,
}

impl AppState {
    /// Open-mode state over a registry with default addressing (test harnesses).
    pub fn new(registry: Registry) -> Self {
        AppState {
            registry,
            addressing: Arc::new(Addressing::default()),
            auth: None,
        }
    }

    /// State with authentication enforced.
    pub fn with_auth(mut self, auth: Arc<Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_addressing() {
        let a = Addressing::default();
        assert_eq!(
            a.project_from_host(Some("team-a.kr-central-2.kcr.dev"))
                .unwrap()
                .as_str(),
            "team-a"
        );
        assert_eq!(
            a.project_from_host(Some("team-a.kr1.kcr.dev:443"))
                .unwrap()
                .as_str(),
            "team-a"
        );
        assert!(a.project_from_host(Some("127.0.0.1:5000")).is_none());
        assert!(a.project_from_host(Some("localhost")).is_none());
        assert!(a.project_from_host(Some("kcr.dev")).is_none());
        assert!(a.project_from_host(Some("a.b.c.kcr.dev")).is_none());
        let p = a.image_path(Some("t.r.kcr.dev"), "web/nginx").unwrap();
        assert_eq!(p.to_string(), "t/web/nginx");
        let p = a.image_path(Some("127.0.0.1:5000"), "t/web/nginx").unwrap();
        assert_eq!(a.oci_name(Some("127.0.0.1:5000"), &p), "t/web/nginx");
        assert!(a.image_path(Some("127.0.0.1:5000"), "web/nginx").is_err());
    }
}
