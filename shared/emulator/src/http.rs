//! The one HTTP/1.1 client of the dev tools and tests: a request to `127.0.0.1:PORT`, on a fresh
//! connection, answered as status, headers and body.
//!
//! It is hyper's client (already in the tree through scf-runtime), not one more hand-written
//! socket writer: the tests talk to the runtime-API emulator and to web mode as a well-behaved
//! client would, so framing, chunked answers and header parsing should be a real client's. Tests
//! that need malformed bytes on the wire (a POST with no framing, a half-sent head, a slowloris)
//! write them with a raw `TcpStream` themselves, which is the point of those tests.

use std::collections::BTreeMap;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The headers, names lower-cased; of a repeated header, the last copy.
    pub headers: BTreeMap<String, String>,
    /// The whole body, de-chunked.
    pub body: Vec<u8>,
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Nothing listens on the port (or the connection was refused).
    #[error("cannot connect to 127.0.0.1:{port}: {source} (is the server running?)")]
    Connect {
        /// The port.
        port: u16,
        /// The socket error.
        source: std::io::Error,
    },
    /// The method, a header name or a header value cannot go on the wire.
    #[error("cannot send this request: {0}")]
    Request(String),
    /// The connection failed or closed before a whole answer came.
    #[error("no complete HTTP answer: {0}")]
    Answer(#[from] hyper::Error),
}

/// Send one request to `127.0.0.1:port` on a new connection (`Connection: close`) and read the
/// whole answer. `Host: 127.0.0.1` and `Content-Length` (the body's length, even when zero) are
/// always sent; `headers` are sent after them, in order, repeats included, values as raw bytes
/// (UTF-8 allowed), except that a `Host` given replaces the default one.
///
/// # Errors
/// [`HttpError`] when the server is not there, the request cannot be encoded, or the answer is
/// cut off.
pub async fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, HttpError> {
    let bad = |e: &dyn std::fmt::Display| HttpError::Request(e.to_string());
    let mut req = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).map_err(|e| bad(&e))?)
        .uri(path)
        .header(HOST, "127.0.0.1")
        .header(CONNECTION, "close")
        .header(CONTENT_LENGTH, body.len())
        .body(Full::new(Bytes::copy_from_slice(body)))
        .map_err(|e| bad(&e))?;
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(&e))?;
        let value = HeaderValue::from_bytes(v.as_bytes()).map_err(|e| bad(&e))?;
        // A caller's Host replaces the default one; any other header is added (a test may
        // repeat one on purpose).
        if name == HOST {
            req.headers_mut().insert(name, value);
        } else {
            req.headers_mut().append(name, value);
        }
    }
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|source| HttpError::Connect { port, source })?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection is driven by its own task; aborting it on the way out closes the socket.
    let conn = tokio::spawn(conn);
    let answer = async {
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_owned(), v)
            })
            .collect();
        let body = resp.into_body().collect().await?.to_bytes().to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
    .await;
    conn.abort();
    answer
}
