//! The replay policy, all of it: which results of a code are kept, which go first when the cache
//! is full, who gets a cached ticket, and one exchange per code at a time.
//!
//! A `wx.login` code is single-use: a second jscode2session call costs quota and answers 40163.
//! So a retried code (network hiccup, double tap) is answered with the first result instead: the
//! same ticket, or the same error. The rules:
//! - **kept**: only *final* results: a success, or a WeChat errcode other than -1 (busy) and
//!   45011 (quota), which may succeed later; for 5 minutes, a code's own lifetime (tickets live
//!   10);
//! - **room**: when the cache is full, an error goes before any ticket: anybody can send junk
//!   codes (each a cached 40029), but a ticket takes a real `wx.login`, so a flood of junk cannot
//!   push a real user's pending retry out (about 1,100 junk codes did, before);
//! - **who gets a cached ticket**: only the same login attempt: the code's own user when the
//!   platform vouches for the caller (callFunction), or a request that carries the first
//!   request's idempotency key (`request.rs`). Errors hold no credential and go to anyone;
//! - **concurrency**: requests for one code share one exchange and follow the same rules.
//!
//! The storage is the generic `cache.rs`; no session_key is kept, and tickets only in memory,
//! never logged.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use scf_runtime::{ErrorCode, FnError, Identity};
use tokio::sync::OnceCell;
use tracing::{info, warn};
use wxlogin::WxError;

use crate::cache::{CodeCache, code_key};
use crate::exchange::wechat_error;
use crate::request::{IdempotencyKey, LoginRequest};
use crate::result::LoginResult;

/// `401`: a callFunction caller sent a code that WeChat issued to another user (or another
/// mini program).
pub const CODE_USER_MISMATCH: ErrorCode = ErrorCode::from_static("CODE_USER_MISMATCH");

/// A code's result.
pub type Outcome = Result<LoginResult, FnError>;

/// A code's first result, and the idempotency key of the request that got it.
#[derive(Debug, Clone, PartialEq)]
pub struct First {
    /// The result.
    pub outcome: Outcome,
    /// The first request's key; `None` when it sent none.
    pub key: Option<IdempotencyKey>,
}

/// Whether an outcome may be replayed for the same code: a success, or a WeChat errcode other
/// than -1 (busy) and 45011 (quota).
pub fn is_final(outcome: &Outcome) -> bool {
    match outcome {
        Ok(_) => true,
        Err(e) => e.error == wxlogin::WX_API_ERROR && !matches!(e.errcode, Some(-1) | Some(45011)),
    }
}

/// Where a result came from, for the hand-out rule.
enum Origin {
    /// This request asked WeChat.
    Fresh,
    /// An earlier or concurrent request for the same code asked WeChat; it sent this key.
    Replay(Option<IdempotencyKey>),
}

/// The replay state of one instance: the cache of first results and the exchanges under way.
#[derive(Debug, Default)]
pub struct Replays {
    cache: RefCell<CodeCache<First>>,
    /// Exchanges under way, by code hash: a request for a code that is being exchanged waits
    /// for that exchange instead of calling jscode2session again (web mode serves concurrently).
    in_flight: RefCell<HashMap<[u8; 32], Rc<OnceCell<First>>>>,
}

impl Replays {
    /// The result for `req`: the code's first result when it has one (or one under way), else
    /// `exchange()`'s; then handed out by the rules of the module docs. `caller` is the
    /// platform's identity of the request, `appid` the mini program's (`WX_APPID`).
    ///
    /// # Errors
    /// The exchange's error, replayed; `401 CODE_USER_MISMATCH`; `401 WX_API_ERROR` 40163 for a
    /// replay of a ticket to another attempt.
    pub async fn run(
        &self,
        req: &LoginRequest,
        caller: &Identity,
        appid: &str,
        exchange: impl AsyncFnOnce() -> Outcome,
    ) -> Outcome {
        let cached = self.cache.borrow_mut().get(&req.code, Instant::now());
        let (result, origin) = match cached {
            Some(first) => {
                info!("a retried code: the first result applies");
                (first.outcome, Origin::Replay(first.key))
            }
            None => self.exchange_once(req, exchange).await,
        };
        hand_out(result, &origin, req, caller, appid)
    }

    /// Exchanges under way (for tests: an abandoned one must leave none behind).
    #[cfg(test)]
    pub fn in_flight(&self) -> usize {
        self.in_flight.borrow().len()
    }

    /// One exchange per code at a time: concurrent requests for the same code share the first
    /// one's result (and its deadline). A final result goes into the cache with the key of the
    /// request that made the exchange, kept before errors when the cache is full. The origin
    /// says whether *this* request made it (a waiter whose first requester hung up makes it
    /// itself).
    ///
    /// The `in_flight` entry is removed when the exchange completes, and also when every request
    /// waiting on it is cancelled (web mode drops a request whose client hung up): a guard does
    /// it on drop, so an abandoned login leaves nothing behind.
    async fn exchange_once(
        &self,
        req: &LoginRequest,
        exchange: impl AsyncFnOnce() -> Outcome,
    ) -> (Outcome, Origin) {
        let key = code_key(&req.code);
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
                let first = First {
                    outcome: exchange().await,
                    key: req.idempotency_key,
                };
                if is_final(&first.outcome) {
                    // Room: an error goes before any ticket (see the module docs).
                    let keep = first.outcome.is_ok();
                    self.cache
                        .borrow_mut()
                        .insert(&req.code, first.clone(), keep, Instant::now());
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

/// Who gets a ticket:
/// - when the platform vouches for the caller (callFunction), the code's own user in this mini
///   program: a caller who is another user, or a user of another appid, gets
///   `CODE_USER_MISMATCH` (a code that jscode2session accepts was issued to a user of
///   `WX_APPID`, so it cannot be theirs), fresh or replayed;
/// - otherwise (HTTP), a fresh exchange, or a replay that carries the first request's
///   idempotency key. Any other replay gets what WeChat answers for a used code, 401
///   `WX_API_ERROR` 40163: a single-use code must not become a 5-minute bearer credential.
fn hand_out(
    result: Outcome,
    origin: &Origin,
    req: &LoginRequest,
    caller: &Identity,
    appid: &str,
) -> Outcome {
    let Ok(r) = &result else { return result };
    if let Some(openid) = caller.openid.as_deref() {
        let other_app = caller.appid.as_deref().is_some_and(|a| a != appid);
        if other_app || r.openid != openid {
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

/// Removes a code's `in_flight` entry when the request holding it finishes or is dropped, if the
/// entry is still this request's cell and the exchange is over or nobody else waits on it. (When
/// another request still waits, the entry stays: that request takes the exchange over, and a
/// new request for the code must join it rather than call jscode2session a second time.)
struct InFlightGuard<'a> {
    in_flight: &'a RefCell<HashMap<[u8; 32], Rc<OnceCell<First>>>>,
    key: [u8; 32],
    cell: Rc<OnceCell<First>>,
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
    use scf_runtime::{Context, Settings};

    #[test]
    fn only_final_outcomes_are_kept() {
        let api = |code| Err(FnError::new(wxlogin::WX_API_ERROR, 401, "x").with_wechat(code, "m"));
        let ok: Outcome = Ok(LoginResult {
            ticket: "k/@@/t".into(),
            openid: "o".into(),
            unionid: None,
        });
        assert!(is_final(&ok));
        assert!(is_final(&api(40029)));
        assert!(!is_final(&api(-1)));
        assert!(!is_final(&api(45011)));
        assert!(!is_final(&Err(FnError::new(
            wxlogin::WX_API_UNREACHABLE,
            502,
            "x"
        ))));
    }

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
            assert_eq!(login.replays.in_flight(), 1, "the exchange is under way");
            drop(abandoned);
            assert_eq!(login.replays.in_flight(), 0, "dropped login {i}");
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
        assert_eq!(login.replays.in_flight(), 1, "the second still waits");
        let answer = second.await;
        assert!(
            matches!(&answer, Err(e) if e.errcode == Some(40163)),
            "{answer:?}"
        );
        assert_eq!(login.replays.in_flight(), 0);
    }
}
