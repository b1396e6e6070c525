//! getLoginTicket: `{code}` from `wx.login` → WeChat `sns/jscode2session` → a CloudBase
//! custom-login ticket → `{ticket, openid, unionid?}`.
//!
//! Input (`request.rs`): `{code, idempotencyKey?}` as callFunction data, or on an HTTP `POST` as
//! a JSON body (whatever its label), a form body, the key also as an `Idempotency-Key` header.
//! The mini program then signs in with `auth.signInWithCustomTicket()`.
//!
//! Replays (`cache.rs`): a code seen in the last 5 minutes gets its first result again, but a
//! ticket goes only to the code's own user as vouched for by the platform (callFunction), or to a
//! retry that carries the first request's idempotency key. Anyone else gets what WeChat answers
//! for a used code: 401 `WX_API_ERROR` 40163.
//!
//! Configuration (read once at init; a problem makes every call answer `MISCONFIGURED`, naming
//! the setting and never its value): `WX_APPID`, `WX_SECRET`, `TCB_ENV` (else `SCF_NAMESPACE`),
//! `WECHAT_API_BASE`, and the key (`TCB_CUSTOM_LOGIN_KEY` / `TCB_CUSTOM_LOGIN_KEY_FILE` /
//! `tcb_custom_login.json` beside the bootstrap).

mod cache;
mod request;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;
use tracing::{error, info, warn};
use wxlogin::secret::Secret;
use wxlogin::ticket::{CustomLoginKey, KeyError, TicketError, TicketOptions, now_ms, resolve_env};
use wxlogin::wechat::{DEFAULT_API_BASE, WeChatClient, WxError};
use wxlogin::{Context, Event, FnError};

pub use cache::CodeCache;
pub use request::{
    IDEMPOTENCY_KEY_FIELD, IDEMPOTENCY_KEY_HEADER, IdempotencyKey, LoginRequest, MAX_CODE_BYTES,
    MAX_IDEMPOTENCY_KEY_CHARS, MIN_IDEMPOTENCY_KEY_CHARS, request_from,
};
/// `Retry-After` sent with a 45011 (per-minute quota) answer, seconds.
pub const QUOTA_RETRY_AFTER_SECS: u64 = 60;

/// What a successful call returns. `Debug` does not show the ticket.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    /// `private_key_id/@@/<jwt>`, for `auth.signInWithCustomTicket()`. Lives 10 minutes.
    pub ticket: String,
    /// The user's OPENID (also the ticket's uid).
    pub openid: String,
    /// UNIONID, present only when WeChat gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

impl std::fmt::Debug for LoginResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResult")
            .field("ticket", &"[redacted]")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .finish()
    }
}

/// Environment configuration, read with envy.
#[derive(Debug, Deserialize)]
struct Config {
    wx_appid: Option<String>,
    wx_secret: Option<Secret>,
    tcb_env: Option<String>,
    wechat_api_base: Option<String>,
}

/// Everything built once at init.
pub struct Login {
    wechat: WeChatClient,
    key: CustomLoginKey,
    env: String,
    cache: RefCell<CodeCache>,
    /// Exchanges under way, by code hash: a request for a code that is being exchanged waits
    /// for that exchange instead of calling jscode2session again (web mode serves concurrently).
    in_flight: RefCell<HashMap<[u8; 32], Rc<OnceCell<cache::First>>>>,
}

/// The function's state: ready, or the configuration error every call answers with.
pub type State = Result<Login, FnError>;

/// Build the state from the process environment. Logs the outcome once: the setting and the
/// detail (paths, env ids) go to the log; callers only get the setting and the kind of problem.
pub fn init() -> State {
    let code_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    match build(|k| std::env::var(k).ok(), &code_dir) {
        Ok(login) => {
            info!(
                appid = login.wechat.appid(),
                env = login.env,
                key_bits = login.key.bits(),
                "getLoginTicket configured"
            );
            Ok(login)
        }
        Err(m) => {
            error!(error = %m.public.error, "getLoginTicket is misconfigured: {}", m.detail);
            Err(m.public)
        }
    }
}

fn missing(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// A configuration problem: what the caller sees (setting + kind of problem, no values) and the
/// detail for the log.
struct Misconfig {
    public: FnError,
    detail: String,
}

impl From<FnError> for Misconfig {
    fn from(public: FnError) -> Self {
        Misconfig {
            detail: public.message.clone(),
            public,
        }
    }
}

/// [`init`] with an explicit environment lookup and code directory (for tests), without logging.
pub fn init_from(lookup: impl Fn(&str) -> Option<String>, code_dir: &std::path::Path) -> State {
    build(lookup, code_dir).map_err(|m| m.public)
}

fn key_problem(e: &KeyError) -> String {
    match e {
        KeyError::NotFound(_) => "no key: set TCB_CUSTOM_LOGIN_KEY or TCB_CUSTOM_LOGIN_KEY_FILE, or ship tcb_custom_login.json beside the bootstrap".into(),
        KeyError::Unreadable(..) => "the key file cannot be read".into(),
        KeyError::NotJson(_) => "the key is not the console's tcb_custom_login.json".into(),
        other => other.to_string(),
    }
}

/// The setting an env problem is about: a key without env_id is the key's problem.
fn env_setting(e: &TicketError) -> &'static str {
    if matches!(e, TicketError::KeyWithoutEnvId) {
        "TCB_CUSTOM_LOGIN_KEY"
    } else {
        "TCB_ENV"
    }
}

fn env_problem(e: &TicketError) -> &'static str {
    match e {
        TicketError::NoEnv => "not set, and no SCF_NAMESPACE",
        TicketError::KeyWithoutEnvId => {
            "the key file has no env_id; download a current key from the CloudBase console"
        }
        TicketError::EnvMismatch { .. } => "does not match the key file's env_id",
        _ => "cannot be used with this key",
    }
}

fn build(
    lookup: impl Fn(&str) -> Option<String>,
    code_dir: &std::path::Path,
) -> Result<Login, Misconfig> {
    let vars: Vec<(String, String)> = ["WX_APPID", "WX_SECRET", "TCB_ENV", "WECHAT_API_BASE"]
        .iter()
        .filter_map(|k| lookup(k).map(|v| ((*k).to_owned(), v)))
        .collect();
    let config: Config = envy::from_iter(vars).map_err(|_| {
        FnError::misconfigured("environment", "could not read the configuration variables")
    })?;
    let appid =
        missing(config.wx_appid).ok_or_else(|| FnError::misconfigured("WX_APPID", "not set"))?;
    let secret = config
        .wx_secret
        .filter(|s| !s.expose().trim().is_empty())
        .ok_or_else(|| FnError::misconfigured("WX_SECRET", "not set"))?;
    let base = missing(config.wechat_api_base).unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(FnError::misconfigured(
            "WECHAT_API_BASE",
            "must start with https:// or http://",
        )
        .into());
    }
    let (key, _source) = CustomLoginKey::load(&lookup, code_dir).map_err(|e| Misconfig {
        public: FnError::misconfigured("TCB_CUSTOM_LOGIN_KEY", &key_problem(&e)),
        detail: format!("TCB_CUSTOM_LOGIN_KEY: {e}"),
    })?;
    let env = resolve_env(
        config.tcb_env.as_deref(),
        lookup("SCF_NAMESPACE").as_deref(),
        key.env_id(),
    )
    .map_err(|e| Misconfig {
        // A key without env_id is the key's problem; the others are about TCB_ENV.
        public: FnError::misconfigured(env_setting(&e), env_problem(&e)),
        detail: format!("{}: {e}", env_setting(&e)),
    })?;
    let wechat = WeChatClient::new(appid, secret, &base)
        .map_err(|e| FnError::misconfigured("WECHAT_API_BASE", &format!("HTTP client: {e}")))?;
    Ok(Login {
        wechat,
        key,
        env,
        cache: RefCell::new(CodeCache::default()),
        in_flight: RefCell::new(HashMap::new()),
    })
}

/// The handler.
///
/// # Errors
/// `MISCONFIGURED` (500) when init failed; as [`request_from`] and [`Login::login`] otherwise.
pub async fn handle(state: &State, event: Event, ctx: Context) -> Result<LoginResult, FnError> {
    let login = state.as_ref().map_err(Clone::clone)?;
    let request = request_from(&event)?;
    login.login(&request, &ctx).await
}

/// Map a WeChat failure to the caller's error and HTTP status.
pub fn wechat_error(e: WxError) -> FnError {
    match e {
        WxError::Unreachable(m) => FnError::new(
            "WX_API_UNREACHABLE",
            502,
            format!("could not reach the WeChat API: {m}"),
        ),
        WxError::BadResponse(m) => FnError::new(
            "WX_API_BAD_RESPONSE",
            502,
            format!("the WeChat API gave an unusable answer: {m}"),
        ),
        WxError::Api { errcode, errmsg } => {
            let (status, message) = match errcode {
                40029 | 40163 | 40226 => (
                    401,
                    "the login code is invalid, already used or blocked; call wx.login again",
                ),
                45011 => (
                    429,
                    "WeChat's per-minute quota is used up; retry after a minute",
                ),
                -1 => (502, "WeChat is busy; retry shortly"),
                40013 | 40125 | 41002 | 41004 => (500, "WeChat rejected WX_APPID or WX_SECRET"),
                _ => (502, "the WeChat API returned an error"),
            };
            let err = FnError::new("WX_API_ERROR", status, message).with_wechat(errcode, errmsg);
            if errcode == 45011 {
                err.with_retry_after(QUOTA_RETRY_AFTER_SECS)
            } else {
                err
            }
        }
    }
}

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
                    "CODE_USER_MISMATCH",
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

    async fn exchange(&self, code: &str, ctx: &Context) -> Result<LoginResult, FnError> {
        let session = self
            .wechat
            .code2session(code, ctx.deadline)
            .await
            .map_err(wechat_error)?;
        let ticket = self
            .key
            .mint(
                &session.openid,
                &self.env,
                now_ms(),
                TicketOptions::default(),
            )
            .map_err(|e| match e {
                TicketError::InvalidUid(_) => {
                    FnError::internal("WeChat's openid is not a valid CloudBase uid")
                }
                TicketError::Signing(m) | TicketError::BadTime(m) => {
                    FnError::internal(format!("could not sign the ticket: {m}"))
                }
                other => FnError::misconfigured("TCB_ENV", env_problem(&other)),
            })?;
        info!(unionid = session.unionid.is_some(), "ticket issued");
        Ok(LoginResult {
            ticket,
            openid: session.openid,
            unionid: session.unionid,
        })
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

    /// A login dropped while WeChat is still answering (a client that hung up) leaves no
    /// `in_flight` entry; one dropped while another request waits on the same code leaves it to
    /// that request, which still gets the answer.
    #[tokio::test(flavor = "current_thread")]
    async fn abandoned_exchanges_leave_no_in_flight_entry() {
        use std::time::{Duration, Instant};
        let fx = wxlogin_devtools::testkit::LoginFixture::new().await;
        let env = fx.env();
        let login = init_from(
            |k| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()),
            fx.dir(),
        )
        .expect("configured");
        let ctx = Context {
            request_id: "r".into(),
            memory_limit_in_mb: None,
            time_limit: Duration::from_secs(10),
            deadline: Instant::now() + Duration::from_secs(10),
            instance: Default::default(),
            identity: Default::default(),
        };
        let under_way = Duration::from_millis(100);
        for i in 0..20 {
            let req = LoginRequest {
                code: format!("slow-5000.dropped{i}"),
                idempotency_key: None,
            };
            let mut abandoned = Box::pin(login.login(&req, &ctx));
            tokio::select! {
                _ = &mut abandoned => panic!("the slow exchange finished"),
                () = tokio::time::sleep(under_way) => {}
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
        tokio::select! {
            // In this order, so that `first` is the one that starts the exchange.
            biased;
            _ = &mut first => panic!("finished too early"),
            _ = &mut second => panic!("finished too early"),
            () = tokio::time::sleep(under_way) => {}
        }
        drop(first);
        assert_eq!(login.in_flight.borrow().len(), 1, "the second still waits");
        let answer = second.await;
        assert!(
            matches!(&answer, Err(e) if e.errcode == Some(40163)),
            "{answer:?}"
        );
        assert_eq!(login.in_flight.borrow().len(), 0);
    }

    #[test]
    fn wechat_error_statuses() {
        let api = |errcode| {
            wechat_error(WxError::Api {
                errcode,
                errmsg: "m".into(),
            })
        };
        for code in [40029, 40163, 40226] {
            assert_eq!((api(code).status, api(code).errcode), (401, Some(code)));
        }
        assert_eq!(
            (api(45011).status, api(45011).retry_after_secs),
            (429, Some(60))
        );
        assert_eq!(api(-1).status, 502);
        assert_eq!(api(40125).status, 500);
        assert_eq!(
            wechat_error(WxError::Unreachable("x".into())).error,
            "WX_API_UNREACHABLE"
        );
        assert_eq!(wechat_error(WxError::BadResponse("x".into())).status, 502);
    }

    #[test]
    fn misconfiguration_names_the_setting_not_the_value() {
        let dir = std::env::temp_dir();
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let msg = |s: State| s.err().map(|e| (e.error.into_owned(), e.message)).unwrap();
        let (code, m) = msg(init_from(env(&[("WX_SECRET", "s3cr3t-value")]), &dir));
        assert_eq!(code, "MISCONFIGURED");
        assert!(m.starts_with("WX_APPID"), "{m}");
        let (_, m) = msg(init_from(
            env(&[("WX_APPID", "wx1"), ("WX_SECRET", "  ")]),
            &dir,
        ));
        assert!(m.starts_with("WX_SECRET"), "{m}");
        let (_, m) = msg(init_from(
            env(&[
                ("WX_APPID", "wx1"),
                ("WX_SECRET", "s3cr3t-value"),
                ("TCB_CUSTOM_LOGIN_KEY", "{not json s3cr3t"),
            ]),
            &dir,
        ));
        assert!(
            m.starts_with("TCB_CUSTOM_LOGIN_KEY") && !m.contains("s3cr3t"),
            "{m}"
        );
        let (_, m) = msg(init_from(
            env(&[
                ("WX_APPID", "wx1"),
                ("WX_SECRET", "s3cr3t-value"),
                ("WECHAT_API_BASE", "ftp://x"),
            ]),
            &dir,
        ));
        assert!(m.starts_with("WECHAT_API_BASE"), "{m}");
    }
}
