//! Request bodies: read within the request's time limit, and within a byte budget shared by every
//! request, so that no mix of clients can make the process hold more than the budget in bodies.
//!
//! Before this, twenty concurrent 6 MB bodies took the process from 3.4 MB to 129 MB, past the
//! 128 MB the function is configured with: each request buffered its whole body, and nothing
//! bounded how many did so at once.
//!
//! **Wait or refuse?** When the budget is used up, a body that needs more gets `503 BUSY` with
//! `Retry-After: 1` at once, and the connection is closed. We do not make it wait:
//! - bytes are taken from the budget as they arrive, so waiting readers would each hold part of
//!   it while waiting for the rest, and could wait on each other until their time limits ran out;
//! - a waiting reader keeps its connection and descriptor, which the slowloris defence needs back;
//! - the time limit is short (3 s by default) and a retry after a second is cheap, while a wait
//!   would spend the client's time limit to end, most likely, in 408 anyway.
//!
//! A request whose body stays under [`SMALL_BODY_BYTES`] (a login is about 50 bytes) may use the
//! last [`SMALL_BODY_RESERVE`] of the budget, which larger bodies may not touch: large hostile
//! bodies cannot make small legitimate requests fail.

use std::cell::Cell;
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::Request;
use hyper::body::Incoming;
use serde_json::json;
use tokio::time::Instant;

use crate::error::FnError;
use crate::http_event::HttpEvent;
use crate::payload::MAX_PAYLOAD_BYTES;

/// The bytes of request bodies held at once, all requests together.
///
/// Sized for half of a 128 MB function. Bodies held: at most this (the bytes are handed to the
/// handler as they are, binary ones included). On top, one request at a time (the handler's
/// synchronous part; the runtime has one thread) may hold what it parses from its body: about
/// 6 MB for a 6 MB body. About 18 MiB for bodies, next to ~23 MiB for 512 connections and ~4 MB
/// for the process (see the README's web-mode section for measured peaks).
pub const BODY_BUDGET_BYTES: usize = 12 * 1024 * 1024;

/// A body this size or smaller may use the whole budget, including [`SMALL_BODY_RESERVE`].
pub const SMALL_BODY_BYTES: usize = 64 * 1024;

/// The end of the budget kept for small bodies.
pub const SMALL_BODY_RESERVE: usize = 1024 * 1024;

/// `Retry-After` on `503 BUSY`, seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// The shared byte budget. Single-threaded, like everything in web mode.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: Cell<usize>,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Budget {
            limit,
            used: Cell::new(0),
        }
    }

    /// Bytes in use now.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// An empty charge, to grow as a body arrives.
    pub fn charge(&self) -> Charge<'_> {
        Charge {
            budget: self,
            bytes: 0,
        }
    }
}

/// Bytes one request holds from the [`Budget`]; given back when dropped.
#[derive(Debug)]
pub struct Charge<'b> {
    budget: &'b Budget,
    bytes: usize,
}

impl Charge<'_> {
    /// Take `more` bytes, so that this request holds `self.bytes + more`. Refused when that
    /// would pass the budget (or, for a body over [`SMALL_BODY_BYTES`], the budget less
    /// [`SMALL_BODY_RESERVE`]).
    fn grow(&mut self, more: usize) -> bool {
        let total = self.bytes + more;
        let limit = if total <= SMALL_BODY_BYTES {
            self.budget.limit
        } else {
            self.budget.limit.saturating_sub(SMALL_BODY_RESERVE)
        };
        let used = self.budget.used.get();
        if used + more > limit {
            return false;
        }
        self.budget.used.set(used + more);
        self.bytes = total;
        true
    }
}

impl Drop for Charge<'_> {
    fn drop(&mut self) {
        self.budget
            .used
            .set(self.budget.used.get().saturating_sub(self.bytes));
    }
}

fn too_large() -> FnError {
    FnError::new(
        crate::ErrorCode::PAYLOAD_TOO_LARGE,
        413,
        format!("the body is over {MAX_PAYLOAD_BYTES} bytes"),
    )
}

/// Read the body of `req` into an HTTP event (the request as hyper parsed it, its body whole),
/// by `body_deadline`, taking its bytes from `budget`. The returned [`Charge`] holds them until
/// dropped (when the request is answered).
///
/// # Errors
/// `413 PAYLOAD_TOO_LARGE` over 6 MB (declared or sent); `408 REQUEST_TIMEOUT` when the body is
/// not complete by `body_deadline`; `503 BUSY` with `Retry-After` when the budget is used up;
/// `400 BAD_REQUEST` when the body cannot be read. After any of these the connection should be
/// closed: the rest of the body was not read.
pub async fn read_event<'b>(
    req: Request<Incoming>,
    request_id: &str,
    body_deadline: Instant,
    budget: &'b Budget,
) -> Result<(HttpEvent, Charge<'b>), FnError> {
    let declared =
        super::headers::header(req.headers(), "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_PAYLOAD_BYTES as u64) {
        return Err(too_large());
    }
    // The buffer never grows past the declared length (hyper enforces it), or 6 MB.
    let final_size = declared.map_or(MAX_PAYLOAD_BYTES, |n| n as usize);
    let (parts, mut body) = req.into_parts();
    let mut charge = budget.charge();
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let frame = match tokio::time::timeout_at(body_deadline, body.frame()).await {
            Err(_elapsed) => {
                return Err(FnError::new(
                    crate::ErrorCode::REQUEST_TIMEOUT,
                    408,
                    "the request body did not arrive within the time limit",
                ));
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(FnError::bad_request(format!(
                    "the request body could not be read: {e}"
                )));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let needed = bytes.len() + data.len();
        if needed > MAX_PAYLOAD_BYTES {
            return Err(too_large());
        }
        if needed > bytes.capacity() {
            // Double (fewer copies), but never past the final size; charge the capacity,
            // which is what the allocator holds.
            let doubled = (bytes.capacity() * 2).max(8 * 1024).min(final_size);
            let capacity = needed.max(doubled);
            if !charge.grow(capacity - bytes.capacity()) {
                return Err(FnError::new(
                    crate::ErrorCode::BUSY,
                    503,
                    "too many request bodies are being read at once; retry shortly",
                )
                .with_retry_after(BUSY_RETRY_AFTER_SECS));
            }
            bytes.reserve_exact(capacity - bytes.len());
        }
        bytes.extend_from_slice(&data);
    }
    // No copy: the buffer becomes the request's body.
    let request = Request::from_parts(parts, bytes::Bytes::from(bytes));
    Ok((
        HttpEvent::new(
            request,
            json!({"requestId": request_id, "source": "web-function"}),
        ),
        charge,
    ))
}

/// When body reading must end for a request received at `received` with `time_limit`: a tenth of
/// the limit (at most 1 s) before it, so that the 408 reaches the client before the limit does.
pub fn body_deadline(received: Instant, time_limit: Duration) -> Instant {
    received + time_limit - (time_limit / 10).min(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_charges_and_gives_back() {
        let b = Budget::new(4 * 1024 * 1024);
        let mut big = b.charge();
        assert!(big.grow(2 * 1024 * 1024));
        assert!(big.grow(1024 * 1024));
        // The last MiB is for small bodies only.
        assert!(!big.grow(1));
        let mut small = b.charge();
        assert!(small.grow(SMALL_BODY_BYTES));
        assert!(!small.grow(1), "past the small size it is a large body");
        assert_eq!(b.used(), 3 * 1024 * 1024 + SMALL_BODY_BYTES);
        drop(big);
        assert_eq!(b.used(), SMALL_BODY_BYTES);
        drop(small);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn body_deadline_is_before_the_limit() {
        let t = Instant::now();
        assert_eq!(
            body_deadline(t, Duration::from_secs(3)),
            t + Duration::from_millis(2700)
        );
        assert_eq!(
            body_deadline(t, Duration::from_secs(60)),
            t + Duration::from_secs(59)
        );
    }
}
