//! Replays: the rules under which a code's first result is handed out again, and one exchange
//! per code at a time.
//!
//! A `wx.login` code is single-use, so a retried code is answered from the cache (`cache.rs`)
//! instead of a second jscode2session call. But a replayed ticket must reach only the same login
//! attempt: the code's own user when the platform vouches for the caller (callFunction), or a
//! request that carries the first request's idempotency key (`request.rs`). Concurrent requests
//! for one code share one exchange and follow the same rules.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use scf_runtime::{Context, ErrorCode, FnError};
use tokio::sync::OnceCell;
use tracing::{info, warn};
use wxlogin::WxError;

use crate::cache::{self, CodeCache};
use crate::exchange::wechat_error;
use crate::login::Login;
use crate::request::{IdempotencyKey, LoginRequest};
use crate::result::LoginResult;

/// `401`: a callFunction caller sent a code that WeChat issued to another user (or another
/// mini program).
pub const CODE_USER_MISMATCH: ErrorCode = ErrorCode::from_static("CODE_USER_MISMATCH");

/// Where a result came from, for the replay rules.
enum Origin {
    /// This request asked WeChat.
    Fresh,
    /// An earlier or concurrent request for the same code asked WeChat; it sent this key.
    Replay(Option<IdempotencyKey>),
}

impl Login {
    /// Exchange the request's code and mint a ticket.
    ///
    /// A code seen in the last 5 minutes gets the *first* answer again (the same ticket, or the
    /// same WeChat error) without a second jscode2session call. A ticket is handed out only:
    /// - when the platform vouches for the caller (callFunction), to the code's own user in this
    ///   mini program: a caller who is another user, or a user of another appid, gets
    ///   `CODE_USER_MISMATCH` (a code that jscode2session accepts was issued to a user of
    ///   `WX_APPID`, so it cannot be theirs), fresh or replayed;
    /// - otherwise (HTTP), on a fresh exchange, or on a replay that carries the first request's
    ///   idempotency key. Any other replay gets what WeChat answers for a used code, 401
    ///   `WX_API_ERROR` 40163: a single-use code must not become a 5-minute bearer credential.
    ///
    /// Errors hold no credential and are replayed to anyone.
    ///
    /// # Errors
    /// As [`wechat_error`]; `401 CODE_USER_MISMATCH`; `500 INTERNAL` when signing fails.
    pub async fn login(&self, req: &LoginRequest, ctx: &Context) -> Result<LoginResult, FnError> {
        let cached = self
            .cache
            .borrow_mut()
            .get(&req.code, std::time::Instant::now());
        let (result, origin) = match cached {
            Some(first) => {
                info!("a retried code: the first result applies");
                (first.outcome, Origin::Replay(first.key))
            }
            None => self.exchange_once(req, ctx).await,
        };
        self.hand_out(result, &origin, req, ctx)
    }

    /// Apply the rules of [`Login::login`] to a result.
    fn hand_out(
        &self,
        result: cache::Outcome,
        origin: &Origin,
        req: &LoginRequest,
        ctx: &Context,
    ) -> cache::Outcome {
        let Ok(r) = &result else { return result };
        let id = &ctx.identity;
        if let Some(caller) = id.openid.as_deref() {
            let other_app = id
                .appid
                .as_deref()
                .is_some_and(|a| a != self.wechat.appid());
            if other_app || r.openid != caller {
                warn!(
                    other_app,
                    "refused a code that belongs to another user than the verified caller"
                );
                return Err(FnError::new(
                    CODE_USER_MISMATCH,
                    401,
                    "this code belongs to another user; call wx.login again",
                ));
            }
            return result;
        }
        match origin {
            Origin::Fresh => result,
            Origin::Replay(first) if first.is_some() && *first == req.idempotency_key => result,
            Origin::Replay(_) => {
                info!(
                    key = req.idempotency_key.is_some(),
                    "a replayed code without the first request's idempotency key: answered as a used code"
                );
                Err(wechat_error(WxError::Api {
                    errcode: 40163,
                    errmsg: "code been used".into(),
                }))
            }
        }
    }

    /// One exchange per code at a time: concurrent requests for the same code share the first
    /// one's result (and its deadline). A final result goes into the cache with the key of the
    /// request that made the exchange. The origin says whether *this* request made it (a waiter
    /// whose first requester hung up makes it itself).
    ///
    /// The `in_flight` entry is removed when the exchange completes, and also when every request
    /// waiting on it is cancelled (web mode drops a request whose client hung up): a guard does
    /// it on drop, so an abandoned login leaves nothing behind.
    async fn exchange_once(&self, req: &LoginRequest, ctx: &Context) -> (cache::Outcome, Origin) {
        let key = CodeCache::key(&req.code);
        let cell = self
            .in_flight
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| Rc::new(OnceCell::new()))
            .clone();
        if Rc::strong_count(&cell) > 2 {
            info!("the same code is being exchanged: waiting for that result");
        }
        let guard = InFlightGuard {
            in_flight: &self.in_flight,
            key,
            cell,
        };
        let ran = Cell::new(false);
        let first = guard
            .cell
            .get_or_init(|| async {
                ran.set(true);
                let first = cache::First {
                    outcome: self.exchange(&req.code, ctx).await,
                    key: req.idempotency_key,
                };
                if cache::is_final(&first.outcome) {
                    self.cache.borrow_mut().insert(
                        &req.code,
                        first.clone(),
                        std::time::Instant::now(),
                    );
                }
                first
            })
            .await
            .clone();
        let origin = if ran.get() {
            Origin::Fresh
        } else {
            Origin::Replay(first.key)
        };
        (first.outcome, origin)
    }
}

/// Removes a code's `in_flight` entry when the request holding it finishes or is dropped, if the
/// entry is still this request's cell and the exchange is over or nobody else waits on it. (When
/// another request still waits, the entry stays: that request takes the exchange over, and a
/// new request for the code must join it rather than call jscode2session a second time.)
struct InFlightGuard<'a> {
    in_flight: &'a RefCell<HashMap<[u8; 32], Rc<OnceCell<cache::First>>>>,
    key: [u8; 32],
    cell: Rc<OnceCell<cache::First>>,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.borrow_mut();
        let ours = in_flight
            .get(&self.key)
            .is_some_and(|c| Rc::ptr_eq(c, &self.cell));
        // Two holders: the map and this guard.
        if ours && (self.cell.initialized() || Rc::strong_count(&self.cell) <= 2) {
            in_flight.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_runtime::Settings;

    /// A login dropped while WeChat is still answering (a client that hung up) leaves no
    /// `in_flight` entry; one dropped while another request waits on the same code leaves it to
    /// that request, which still gets the answer.
    #[tokio::test(flavor = "current_thread")]
    async fn abandoned_exchanges_leave_no_in_flight_entry() {
        use std::time::{Duration, Instant};
        let fx = wxlogin_devtools::testkit::LoginFixture::new().await;
        let env = fx.env();
        let settings =
            Settings::from_lookup(|k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()));
        let login = crate::init_from(&settings, fx.dir()).expect("configured");
        let mut ctx = Context::for_test(Default::default());
        ctx.time_limit = Duration::from_secs(10);
        ctx.deadline = Instant::now() + Duration::from_secs(10);
        for i in 0..20 {
            let req = LoginRequest {
                code: format!("slow-5000.dropped{i}"),
                idempotency_key: None,
            };
            let mut abandoned = Box::pin(login.login(&req, &ctx));
            // Until WeChat has the call (bounded: 500 x 10 ms): the exchange is under way.
            for _ in 0..500 {
                tokio::select! {
                    _ = &mut abandoned => panic!("the slow exchange finished"),
                    () = tokio::time::sleep(Duration::from_millis(10)) => {}
                }
                if fx.mock.calls(&req.code) == 1 {
                    break;
                }
            }
            assert_eq!(
                login.in_flight.borrow().len(),
                1,
                "the exchange is under way"
            );
            drop(abandoned);
            assert_eq!(login.in_flight.borrow().len(), 0, "dropped login {i}");
        }
        assert_eq!(fx.mock.total_calls(), 20);

        // Two requests for one code; the first is dropped, the second takes the exchange over and
        // gets an answer (here WeChat's "code already used", as the first call reached it).
        let shared = LoginRequest {
            code: "slow-300.shared".into(),
            idempotency_key: None,
        };
        let mut first = Box::pin(login.login(&shared, &ctx));
        let mut second = Box::pin(login.login(&shared, &ctx));
        // Until WeChat has the first call (bounded: 500 x 10 ms), polling both.
        for _ in 0..500 {
            tokio::select! {
                // In this order, so that `first` is the one that starts the exchange.
                biased;
                _ = &mut first => panic!("finished too early"),
                _ = &mut second => panic!("finished too early"),
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
            if fx.mock.calls("slow-300.shared") == 1 {
                break;
            }
        }
        assert_eq!(
            fx.mock.calls("slow-300.shared"),
            1,
            "the first call reached WeChat"
        );
        drop(first);
        assert_eq!(login.in_flight.borrow().len(), 1, "the second still waits");
        let answer = second.await;
        assert!(
            matches!(&answer, Err(e) if e.errcode == Some(40163)),
            "{answer:?}"
        );
        assert_eq!(login.in_flight.borrow().len(), 0);
    }
}
