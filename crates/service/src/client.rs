//! The HTTP client `kite submit`, `kite jobs`, `kite job` and `kite cancel` use.

use crate::api::{JobView, Problem, SubmitBody};
use crate::job::JobRecord;
use crate::secret::Token;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error(
        "cannot reach kite serve at {url}: {message}; is it running? (`kite serve`, or pass --server / KITE_SERVER)"
    )]
    Unreachable {
        /// The server.
        url: String,
        /// Why.
        message: String,
    },
    /// The server answered with a problem.
    #[error("{}{}{}", .0.detail, .0.field.as_ref().map(|f| format!(" (field `{f}`{})", .0.value.as_ref().map(|v| format!(", value `{v}`")).unwrap_or_default())).unwrap_or_default(), .0.fix.as_ref().map(|f| format!("; {f}")).unwrap_or_default())]
    Problem(Box<Problem>),
    /// The answer was not what the API promises.
    #[error("unexpected answer from kite serve: {0}")]
    Protocol(String),
}

/// A client of one server.
pub struct Client {
    base: String,
    token: Token,
    http: reqwest::Client,
}

impl Client {
    /// A client of `base` (e.g. `http://127.0.0.1:7878`).
    pub fn new(base: &str, token: Token) -> Client {
        Client {
            base: base.trim().trim_end_matches('/').to_owned(),
            token,
            http: reqwest::Client::new(),
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let resp = req
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                message: e.to_string(),
            })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<Problem>(&bytes) {
                Ok(p) => ClientError::Problem(Box::new(p)),
                Err(_) => {
                    ClientError::Protocol(format!("{status}: {}", String::from_utf8_lossy(&bytes)))
                }
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Submits a job; returns it as stored (planned, if planning was quick).
    pub async fn submit(&self, body: &SubmitBody) -> Result<JobRecord, ClientError> {
        self.call(self.http.post(format!("{}/v1/jobs", self.base)).json(body))
            .await
    }

    /// All jobs, oldest first.
    pub async fn jobs(&self) -> Result<Vec<JobRecord>, ClientError> {
        #[derive(serde::Deserialize)]
        struct List {
            jobs: Vec<JobRecord>,
        }
        let l: List = self
            .call(self.http.get(format!("{}/v1/jobs", self.base)))
            .await?;
        Ok(l.jobs)
    }

    /// One job with its events.
    pub async fn job(&self, id: &str) -> Result<JobView, ClientError> {
        self.call(self.http.get(format!("{}/v1/jobs/{id}", self.base)))
            .await
    }

    /// Cancels a job.
    pub async fn cancel(&self, id: &str) -> Result<JobRecord, ClientError> {
        self.call(self.http.post(format!("{}/v1/jobs/{id}/cancel", self.base)))
            .await
    }

    /// A job's log.
    pub async fn log(&self, id: &str) -> Result<String, ClientError> {
        let resp = self
            .http
            .get(format!("{}/v1/jobs/{id}/log", self.base))
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| ClientError::Unreachable {
                url: self.base.clone(),
                message: e.to_string(),
            })?;
        let ok = resp.status().is_success();
        let text = resp
            .text()
            .await
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if ok {
            return Ok(text);
        }
        Err(match serde_json::from_str::<Problem>(&text) {
            Ok(p) => ClientError::Problem(Box::new(p)),
            Err(_) => ClientError::Protocol(text),
        })
    }
}
