//! One client connection's life: what it is doing ([`Phase`]), how long it may wait for a request
//! head, and how the server closes it from outside (shed at the cap, drain on SIGTERM).
//!
//! Why our own timers and not hyper's `header_read_timeout`: in hyper 1.12 that timer is armed on
//! the first poll for a head, which on a keep-alive connection is the moment the previous response
//! is written (`proto/h1/conn.rs`, `State::idle` sets `notify_read`). It would therefore also be
//! the idle timeout, at the same few seconds. We want two different limits, as Go's `net/http`
//! has (`ReadHeaderTimeout`, `IdleTimeout`):
//! - a **head timeout** of a few seconds ([`super::HEAD_TIMEOUT`]): a new connection must deliver a
//!   complete head that long after it is accepted; a keep-alive connection, that long after the
//!   first byte of its next head;
//! - an **idle timeout** that is long ([`super::settings::DEFAULT_IDLE_TIMEOUT`]), because a proxy in front
//!   of us pools connections, and closing one just as the proxy reuses it fails that request.
//!
//! We also need to know, for every connection, whether it is still waiting for a head: those
//! are the connections shed, oldest first, when the cap is reached. Knowing the phase, the timers
//! are a few lines. The phase changes in three places, all inside the connection's own poll:
//! [`Watched`] sees bytes arrive on an idle connection, the service starts serving a request
//! ([`Slot::busy`]), and the response body is dropped once written ([`Tracked`]).
//!
//! Not covered: a keep-alive client that pipelines part of its next head together with a request
//! leaves bytes in hyper's buffer that [`Watched`] has already seen; that connection counts as
//! idle (the idle timeout, and it can be shed) until more bytes arrive.

use std::cell::{Cell, RefCell};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a complete request head, since `since` (accepted, or the first byte of the
    /// next head on a keep-alive connection).
    Head {
        /// When the head timeout started.
        since: Instant,
    },
    /// A keep-alive connection between requests, since `since` (its last response was written).
    Idle {
        /// When the idle timeout started.
        since: Instant,
    },
    /// Serving a request: its body and handler are bounded by the request's time limit.
    Busy,
}

/// Why a connection ended.
#[derive(Debug)]
pub enum End {
    /// hyper finished it: the client closed, `Connection: close`, or a protocol error.
    Done(Result<(), hyper::Error>),
    /// No complete head within the head timeout.
    HeadTimeout,
    /// Idle for the idle timeout.
    IdleTimeout,
    /// Closed to make room for a new connection at the cap, or when out of descriptors.
    Shed,
}

/// A connection's state, shared between the accept loop, the connection future, its I/O and the
/// service. Single-threaded (`Cell`s): everything runs on the runtime's one thread.
#[derive(Debug)]
pub struct Slot {
    phase: Cell<Phase>,
    shed: Cell<bool>,
    draining: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Slot {
    /// A connection accepted at `now`: waiting for its first head.
    pub fn new(now: Instant) -> Rc<Slot> {
        Rc::new(Slot {
            phase: Cell::new(Phase::Head { since: now }),
            shed: Cell::new(false),
            draining: Cell::new(false),
            waker: RefCell::new(None),
        })
    }

    /// The current phase.
    #[cfg(test)]
    pub fn phase(&self) -> Phase {
        self.phase.get()
    }

    /// Since when the connection has been waiting for a head (or idle); `None` while busy.
    /// These are the connections that may be shed.
    pub fn waiting_since(&self) -> Option<Instant> {
        match self.phase.get() {
            Phase::Head { since } | Phase::Idle { since } => Some(since),
            Phase::Busy => None,
        }
    }

    /// A complete head arrived: the request is being served.
    pub fn busy(&self) {
        self.phase.set(Phase::Busy);
    }

    /// The response was written: idle from `now`.
    fn written(&self, now: Instant) {
        if self.phase.get() == Phase::Busy {
            self.phase.set(Phase::Idle { since: now });
        }
    }

    /// Bytes arrived: on an idle connection, a new head has started.
    fn bytes_arrived(&self, now: Instant) {
        if let Phase::Idle { .. } = self.phase.get() {
            self.phase.set(Phase::Head { since: now });
        }
    }

    /// Close this connection at its next poll (at once: it is woken).
    pub fn shed(&self) {
        self.shed.set(true);
        self.wake();
    }

    /// Finish the request in flight, if any, then close (SIGTERM).
    pub fn drain(&self) {
        self.draining.set(true);
        self.wake();
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    fn remember(&self, waker: &Waker) {
        let mut w = self.waker.borrow_mut();
        if !w.as_ref().is_some_and(|old| old.will_wake(waker)) {
            *w = Some(waker.clone());
        }
    }

    /// When the current phase runs out, and what that means.
    fn deadline(&self, t: &Timeouts) -> Option<(Instant, End)> {
        match self.phase.get() {
            Phase::Head { since } => Some((since + t.head, End::HeadTimeout)),
            Phase::Idle { since } => Some((since + t.idle, End::IdleTimeout)),
            Phase::Busy => None,
        }
    }
}

/// The two waiting limits.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a complete request head.
    pub head: Duration,
    /// For a keep-alive connection between requests.
    pub idle: Duration,
}

/// The client socket, telling its [`Slot`] when bytes arrive.
#[derive(Debug)]
pub struct Watched<T> {
    io: T,
    slot: Rc<Slot>,
}

impl<T> Watched<T> {
    /// Watch `io` for `slot`.
    pub fn new(io: T, slot: Rc<Slot>) -> Self {
        Watched { io, slot }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.slot.bytes_arrived(Instant::now());
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// A response body that marks its connection idle when hyper drops it, which hyper does once the
/// body is written (or the connection is gone).
#[derive(Debug)]
pub struct Tracked {
    body: Full<Bytes>,
    slot: Rc<Slot>,
}

impl Tracked {
    /// `body`, for the connection of `slot`.
    pub fn new(body: Full<Bytes>, slot: Rc<Slot>) -> Self {
        Tracked { body, slot }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.slot.written(Instant::now());
    }
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Drive `conn` until it ends, its phase's time runs out, or it is shed; on [`Slot::drain`],
/// shut it down gracefully (an idle connection closes at once, a busy one after its response).
/// Dropping the connection closes the socket and cancels any request in flight.
pub async fn supervise<S>(
    conn: hyper::server::conn::http1::Connection<
        hyper_util::rt::TokioIo<Watched<tokio::net::TcpStream>>,
        S,
    >,
    slot: Rc<Slot>,
    timeouts: Timeouts,
) -> End
where
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = Tracked>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut conn = std::pin::pin!(conn);
    let first = slot
        .deadline(&timeouts)
        .map_or_else(Instant::now, |(at, _)| at);
    let mut timer = std::pin::pin!(tokio::time::sleep_until(first));
    let mut shutting_down = false;
    std::future::poll_fn(|cx| {
        if slot.shed.get() {
            return Poll::Ready(End::Shed);
        }
        if slot.draining.get() && !shutting_down {
            shutting_down = true;
            conn.as_mut().graceful_shutdown();
        }
        slot.remember(cx.waker());
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(End::Done(r));
        }
        // The phase may have changed while hyper ran: follow it.
        let Some((at, end)) = slot.deadline(&timeouts) else {
            return Poll::Pending;
        };
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(end),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases() {
        let t0 = Instant::now();
        let s = Slot::new(t0);
        let t = Timeouts {
            head: Duration::from_secs(5),
            idle: Duration::from_secs(75),
        };
        assert_eq!(s.waiting_since(), Some(t0));
        assert!(matches!(s.deadline(&t), Some((at, End::HeadTimeout)) if at == t0 + t.head));
        // Bytes of the first head do not restart its timer.
        s.bytes_arrived(t0 + Duration::from_secs(1));
        assert_eq!(s.phase(), Phase::Head { since: t0 });
        s.busy();
        assert!(s.waiting_since().is_none() && s.deadline(&t).is_none());
        let t1 = t0 + Duration::from_secs(2);
        s.written(t1);
        assert!(matches!(s.deadline(&t), Some((at, End::IdleTimeout)) if at == t1 + t.idle));
        let t2 = t1 + Duration::from_secs(30);
        s.bytes_arrived(t2);
        assert!(matches!(s.deadline(&t), Some((at, End::HeadTimeout)) if at == t2 + t.head));
        // A response dropped when the connection is not busy changes nothing.
        s.written(t2 + Duration::from_secs(1));
        assert_eq!(s.phase(), Phase::Head { since: t2 });
    }
}
