//! The loopback replay server: a real HTTP/1.1 server on `127.0.0.1` that answers an adapter's
//! `fetch` with a step's recorded provider API exchanges, so the shared `reqwest` client really
//! runs. Each exchange is served once, in whatever order the adapter asks; a request that matches
//! no unused exchange is answered `599` and recorded, so the case fails naming it.
//!
//! Matching: method (case-insensitive), path (exact), query as a set of percent-decoded pairs
//! (order-insensitive), and the headers the exchange lists (subset, names case-insensitive).

use std::sync::{Arc, Mutex, PoisonError};

use nexus_core::http::percent_decode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::case::{Exchange, ExpectedRequest};

/// Status of the answer to an unexpected request (outside the range providers use).
pub const UNEXPECTED_STATUS: u16 = 599;

/// A request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query, if any.
    pub query: Option<String>,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Display for SeenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(q) = &self.query {
            write!(f, "?{q}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Log {
    exchanges: Vec<Exchange>,
    served: Vec<bool>,
    unexpected: Vec<SeenRequest>,
    seen: Vec<SeenRequest>,
}

/// A running replay server; it stops when dropped.
#[derive(Debug)]
pub struct ReplayServer {
    base_url: String,
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReplayServer {
    /// Binds `127.0.0.1:0` and serves `exchanges` on the current tokio runtime.
    pub async fn start(exchanges: Vec<Exchange>) -> std::io::Result<ReplayServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Log {
            served: vec![false; exchanges.len()],
            exchanges,
            ..Log::default()
        }));
        let shared = Arc::clone(&log);
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let log = Arc::clone(&shared);
                tokio::spawn(async move {
                    // A broken connection only affects the adapter's request, which then fails.
                    let _ = serve_one(sock, &log).await;
                });
            }
        });
        Ok(ReplayServer {
            base_url: format!("http://{addr}"),
            log,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash: the adapter's `FetchContext.base_url`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn with_log<T>(&self, f: impl FnOnce(&Log) -> T) -> T {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        f(&log)
    }

    /// Requests that matched no unused exchange.
    pub fn unexpected(&self) -> Vec<SeenRequest> {
        self.with_log(|l| l.unexpected.clone())
    }

    /// Every request received, in order.
    pub fn seen(&self) -> Vec<SeenRequest> {
        self.with_log(|l| l.seen.clone())
    }

    /// The exchanges never requested.
    pub fn unused(&self) -> Vec<ExpectedRequest> {
        self.with_log(|l| {
            l.exchanges
                .iter()
                .zip(&l.served)
                .filter(|(_, s)| !**s)
                .map(|(e, _)| e.request.clone())
                .collect()
        })
    }
}

async fn serve_one(mut sock: TcpStream, log: &Mutex<Log>) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 1 << 20 {
            return Ok(());
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    // Read (and discard) a request body so the client is not cut off mid-send.
    let content_length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut have = buf.len() - (head_end + 4);
    while have < content_length {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        have += n;
    }
    let seen = SeenRequest {
        method,
        path,
        query,
        headers,
    };

    let answer = {
        let mut l = log.lock().unwrap_or_else(PoisonError::into_inner);
        l.seen.push(seen.clone());
        let hit = (0..l.exchanges.len())
            .find(|&i| !l.served[i] && matches(&l.exchanges[i].request, &seen));
        match hit {
            Some(i) => {
                l.served[i] = true;
                let r = &l.exchanges[i].response;
                Ok((
                    r.status,
                    r.headers.pairs(),
                    r.body_bytes().unwrap_or_default(),
                ))
            }
            None => {
                l.unexpected.push(seen.clone());
                Err(format!(
                    "nexus-testkit: unexpected request {seen}: no unused recorded exchange matches"
                ))
            }
        }
    };
    let (status, headers, body) = match answer {
        Ok(a) => a,
        Err(msg) => (
            UNEXPECTED_STATUS,
            vec![("content-type".to_owned(), "text/plain".to_owned())],
            bytes::Bytes::from(msg),
        ),
    };
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        if matches!(
            k.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    sock.write_all(out.as_bytes()).await?;
    sock.write_all(&body).await?;
    sock.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Recorded",
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// True when `seen` is the request `expected` describes.
pub fn matches(expected: &ExpectedRequest, seen: &SeenRequest) -> bool {
    expected.method.eq_ignore_ascii_case(&seen.method)
        && expected.path == seen.path
        && query_pairs(expected.query.as_deref()) == query_pairs(seen.query.as_deref())
        && expected.headers.pairs().iter().all(|(k, v)| {
            seen.headers
                .iter()
                .any(|(sk, sv)| sk.eq_ignore_ascii_case(k) && sv == v)
        })
}

/// A query string as sorted, percent-decoded pairs.
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    pairs.sort();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Headers, RecordedResponse};
    use nexus_core::http::{HttpClient, HttpRequest};

    fn exchange(path: &str, query: Option<&str>, body: &str) -> Exchange {
        Exchange {
            request: ExpectedRequest {
                method: "GET".into(),
                path: path.into(),
                query: query.map(str::to_owned),
                headers: Headers::None,
            },
            response: RecordedResponse {
                status: 200,
                headers: Headers::Map([("x-page".to_owned(), "2".to_owned())].into()),
                body: Some(serde_json::Value::String(body.into())),
                body_base64: None,
            },
        }
    }

    #[test]
    fn query_order_and_encoding_do_not_matter() {
        assert_eq!(
            query_pairs(Some("b=2&a=x%20y")),
            query_pairs(Some("a=x+y&b=2"))
        );
        assert_ne!(query_pairs(Some("a=1")), query_pairs(Some("a=2")));
    }

    #[tokio::test]
    async fn serves_recorded_exchanges_once_and_names_unexpected_requests() {
        let server = ReplayServer::start(vec![
            exchange("/v2/a", Some("start=1&end=2"), "first"),
            exchange("/v2/b", None, "second"),
        ])
        .await
        .unwrap();
        let client = nexus_http::ReqwestClient::new().unwrap();
        let base = server.base_url().to_owned();

        let r = client
            .send(HttpRequest::get(format!("{base}/v2/a?end=2&start=1")))
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"first");
        assert_eq!(r.header("x-page"), Some("2"));

        // Served once: the same request again is unexpected.
        let again = client
            .send(HttpRequest::get(format!("{base}/v2/a?end=2&start=1")))
            .await
            .unwrap();
        assert_eq!(again.status, UNEXPECTED_STATUS);
        let wrong = client
            .send(HttpRequest::get(format!("{base}/v2/zzz")))
            .await
            .unwrap();
        assert_eq!(wrong.status, UNEXPECTED_STATUS);

        let unexpected: Vec<String> = server.unexpected().iter().map(|r| r.to_string()).collect();
        assert_eq!(unexpected, vec!["GET /v2/a?end=2&start=1", "GET /v2/zzz"]);
        let unused: Vec<String> = server.unused().iter().map(|r| r.to_string()).collect();
        assert_eq!(unused, vec!["GET /v2/b"]);
        assert_eq!(server.seen().len(), 3);
    }
}
