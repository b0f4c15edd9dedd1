//! The shared HTTP client of Nexus: [`ReqwestClient`] implements [`nexus_core::http::HttpClient`]
//! on one pooled `reqwest::Client`, with a request timeout, no redirects followed, and transport
//! failures mapped to Nexus error kinds (`Timeout`, `Upstream`, both retryable).

use std::time::Duration;

use bytes::Bytes;
use nexus_core::http::{HttpClient, HttpRequest, HttpResponse};
use nexus_core::{Error, ErrorKind, Result};

/// User agent sent with every request.
pub const USER_AGENT: &str = concat!("nexus/", env!("CARGO_PKG_VERSION"));

/// Settings of the shared client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Timeout of a whole request (connect, send, receive).
    pub timeout: Duration,
    /// Timeout of the TCP/TLS connect.
    pub connect_timeout: Duration,
    /// Whether to follow redirects (never for outbound webhooks; provider APIs do not need it).
    pub follow_redirects: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            follow_redirects: false,
        }
    }
}

/// A pooled reqwest client behind the [`HttpClient`] trait. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReqwestClient {
    inner: reqwest::Client,
}

impl ReqwestClient {
    /// A client with default options.
    pub fn new() -> Result<ReqwestClient> {
        ReqwestClient::with_options(&ClientOptions::default())
    }

    /// A client with `options`.
    pub fn with_options(options: &ClientOptions) -> Result<ReqwestClient> {
        let redirect = if options.follow_redirects {
            reqwest::redirect::Policy::limited(5)
        } else {
            reqwest::redirect::Policy::none()
        };
        let inner = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(redirect)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Config, "could not build the HTTP client").with_source(e)
            })?;
        Ok(ReqwestClient { inner })
    }

    /// The underlying reqwest client, for code that needs reqwest itself (sinks).
    pub fn reqwest(&self) -> &reqwest::Client {
        &self.inner
    }
}

fn transport_error(e: reqwest::Error, url: &str) -> Error {
    // Never print the full URL: query strings may carry tokens.
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "<invalid url>".to_owned());
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Upstream
    };
    Error::new(kind, format!("request to {host} failed")).with_source(e.without_url())
}

#[async_trait::async_trait]
impl HttpClient for ReqwestClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|_| {
            Error::new(
                ErrorKind::Internal,
                format!("invalid HTTP method {:?}", request.method),
            )
        })?;
        let mut builder = self.inner.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| transport_error(e, &request.url))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        let body: Bytes = response
            .bytes()
            .await
            .map_err(|e| transport_error(e, &request.url))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot loopback HTTP server answering with a fixed raw response (a fake receiver).
    async fn one_shot_server(
        raw_response: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap();
            sock.write_all(raw_response.as_bytes()).await.unwrap();
            sock.shutdown().await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        (format!("http://{addr}"), handle)
    }

    #[tokio::test]
    async fn sends_headers_and_reads_status_headers_body() {
        let (base, server) = one_shot_server(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        )
        .await;
        let client = ReqwestClient::new().unwrap();
        let resp = client
            .send(HttpRequest::get(format!("{base}/v2/x?y=1")).bearer("fake-token"))
            .await
            .unwrap();
        assert_eq!(resp.status, 429);
        assert_eq!(resp.header("retry-after"), Some("7"));
        assert_eq!(&resp.body[..], b"{}");
        let seen = server.await.unwrap();
        assert!(seen.starts_with("GET /v2/x?y=1 HTTP/1.1"), "{seen}");
        assert!(
            seen.to_ascii_lowercase()
                .contains("authorization: bearer fake-token")
        );
        let err = resp.error_for_status("oura").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    }

    #[tokio::test]
    async fn redirects_are_not_followed() {
        let (base, _server) = one_shot_server(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let resp = ReqwestClient::new()
            .unwrap()
            .send(HttpRequest::get(format!("{base}/")))
            .await
            .unwrap();
        assert_eq!(resp.status, 302);
    }

    #[tokio::test]
    async fn connection_refused_is_a_retryable_upstream_error() {
        // Bind then drop a listener so the port is (almost certainly) closed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let err = ReqwestClient::new()
            .unwrap()
            .send(HttpRequest::get(format!(
                "http://127.0.0.1:{port}/?token=fake-secret"
            )))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Upstream);
        assert!(err.is_retryable());
        assert!(!err.to_string().contains("fake-secret"), "{err}");
    }
}
