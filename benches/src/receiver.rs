//! A loopback webhook receiver (axum on 127.0.0.1:0) that answers `204` and counts requests and
//! body bytes. It does not verify signatures: the benches measure the sender.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;

/// What the receiver has been sent.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests answered.
    pub requests: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
}

/// A running receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hooks`.
    pub url: String,
    /// Its counts.
    pub counts: Arc<Counts>,
}

impl Receiver {
    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.counts.requests.load(Ordering::Relaxed)
    }
}

/// Starts a receiver on the current tokio runtime.
pub async fn start() -> Receiver {
    let counts = Arc::new(Counts::default());
    let c = Arc::clone(&counts);
    let app = Router::new().fallback(move |body: Bytes| {
        let c = Arc::clone(&c);
        async move {
            c.requests.fetch_add(1, Ordering::Relaxed);
            c.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
            StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver {
        url: format!("http://{addr}/hooks"),
        counts,
    }
}
