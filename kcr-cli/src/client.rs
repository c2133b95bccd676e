//! A typed client of the management API: one method per HTTP verb, errors from the API's JSON
//! envelope turned into [`CliError::Api`].

use reqwest::blocking::{Client, Response};
use reqwest::Method;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::error::CliError;

/// The management API at one server, signed in.
pub struct ApiClient {
    http: Client,
    creds: Credentials,
}

impl ApiClient {
    /// A client for `creds`.
    pub fn new(creds: Credentials) -> Self {
        ApiClient {
            http: Client::new(),
            creds,
        }
    }

    /// The server URL.
    pub fn server(&self) -> &str {
        &self.creds.server
    }

    /// Sends a request to `/api/v1{path}` and returns the JSON answer.
    pub fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, CliError> {
        self.send(method, path, body, None)
    }

    /// `POST` for an operation that may run long (garbage collection): waits up to `patience`
    /// instead of the client's default 30 seconds.
    pub fn post_patiently(
        &self,
        path: &str,
        body: Value,
        patience: std::time::Duration,
    ) -> Result<Value, CliError> {
        self.send(Method::POST, path, Some(body), Some(patience))
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        timeout: Option<std::time::Duration>,
    ) -> Result<Value, CliError> {
        let url = format!("{}/api/v1{path}", self.creds.server.trim_end_matches('/'));
        let mut req = self
            .http
            .request(method, &url)
            .basic_auth(&self.creds.user, Some(&self.creds.secret));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req.send().map_err(|source| CliError::Http {
            server: self.creds.server.clone(),
            source,
        })?;
        self.decode(resp)
    }

    fn decode(&self, resp: Response) -> Result<Value, CliError> {
        let status = resp.status();
        let text = resp.text().map_err(|source| CliError::Http {
            server: self.creds.server.clone(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let first = &value["errors"][0];
        Err(CliError::Api {
            status: status.as_u16(),
            code: first["code"].as_str().unwrap_or("UNKNOWN").to_owned(),
            message: first["message"]
                .as_str()
                .map_or_else(|| format!("the server answered {status}"), str::to_owned),
        })
    }

    /// `GET`.
    pub fn get(&self, path: &str) -> Result<Value, CliError> {
        self.call(Method::GET, path, None)
    }

    /// `POST` with a JSON body.
    pub fn post(&self, path: &str, body: Value) -> Result<Value, CliError> {
        self.call(Method::POST, path, Some(body))
    }

    /// `PUT` with a JSON body.
    pub fn put(&self, path: &str, body: Value) -> Result<Value, CliError> {
        self.call(Method::PUT, path, Some(body))
    }

    /// `PATCH` with a JSON body.
    pub fn patch(&self, path: &str, body: Value) -> Result<Value, CliError> {
        self.call(Method::PATCH, path, Some(body))
    }

    /// `DELETE`.
    pub fn delete(&self, path: &str) -> Result<Value, CliError> {
        self.call(Method::DELETE, path, None)
    }
}
