//! The HTTP seam between adapters and the network. Adapters fetch through [`HttpClient`]; the runtime
//! provides a reqwest-backed client (`nexus-http`), the testkit points it at a loopback replay server.

use std::time::Duration;

use bytes::Bytes;

use crate::{Error, ErrorKind, Result};

/// An outgoing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL including the query string.
    pub url: String,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Option<Bytes>,
}

impl HttpRequest {
    /// A GET of `url`.
    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method: "GET".to_owned(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> HttpRequest {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// A response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Maps a non-2xx status to the matching error kind for `provider`: 401 `Unauthorized`,
    /// 403 `Forbidden`, 404 `NotFound`, 429 `RateLimited` (with `Retry-After` seconds when given),
    /// 5xx and anything else `Upstream`. A 2xx response is returned unchanged.
    pub fn error_for_status(self, provider: &str) -> Result<HttpResponse> {
        let kind = match self.status {
            200..=299 => return Ok(self),
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            _ => ErrorKind::Upstream,
        };
        let mut err = Error::new(kind, format!("provider API answered HTTP {}", self.status))
            .with_provider(provider);
        if let Some(after) = self.retry_after() {
            err = err.with_retry_after(after);
        }
        Err(err)
    }

    /// `Retry-After` as a delay, when it is given in seconds.
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }
}

/// Sends HTTP requests. Implemented by the runtime's shared reqwest client; tests can substitute
/// their own. Transport failures are `Upstream` (retryable) or `Timeout` errors.
#[async_trait::async_trait]
pub trait HttpClient: Send + Sync {
    /// Sends one request and returns the response, whatever its status.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse>;
}

/// Percent-encodes one component of a query string or an `application/x-www-form-urlencoded`
/// body: RFC 3986 unreserved characters (ASCII letters, digits, `-._~`) stay, every other byte
/// becomes `%XX` (a space too, which both kinds of decoder read back). [`percent_decode`]
/// reverses it.
pub fn percent_encode(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Percent-decodes one query-string component (`+` as a space; a `%` not followed by exactly two
/// hex digits stays as it is; invalid UTF-8 is replaced).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            // Exactly two hex digits: `from_str_radix` alone would also take a sign (`%+1`).
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(b)) => {
                out.push(b);
                i += 2;
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips_and_escapes_reserved_bytes() {
        let raw = "a b+c/d=e&f%g~h.i_j-k\u{e9}";
        let enc = percent_encode(raw);
        assert_eq!(enc, "a%20b%2Bc%2Fd%3De%26f%25g~h.i_j-k%C3%A9");
        assert_eq!(percent_decode(&enc), raw);
    }

    #[test]
    fn percent_decoding_takes_exactly_two_hex_digits() {
        assert_eq!(percent_decode("a%2Bb+c"), "a+b c");
        // `%+1` is not an escape (a sign is not a hex digit): `%`, then `+` as a space.
        assert_eq!(percent_decode("%+1%zz%4"), "% 1%zz%4");
    }

    fn resp(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert!(resp(200, &[]).error_for_status("oura").is_ok());
        let cases = [
            (401, ErrorKind::Unauthorized),
            (403, ErrorKind::Forbidden),
            (404, ErrorKind::NotFound),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Upstream),
            (418, ErrorKind::Upstream),
        ];
        for (status, kind) in cases {
            let e = resp(status, &[]).error_for_status("oura").unwrap_err();
            assert_eq!(e.kind(), kind, "{status}");
            assert_eq!(e.provider(), Some("oura"));
        }
    }

    #[test]
    fn retry_after_is_kept() {
        let e = resp(429, &[("Retry-After", "12")])
            .error_for_status("oura")
            .unwrap_err();
        assert_eq!(e.retry_after(), Some(Duration::from_secs(12)));
        assert!(e.is_retryable());
    }
}
