//! The names (never the values) of what the platform's channels carried for one event-mode
//! invocation: the `/next` header names, the keys of the context header (`environ` /
//! `environment`) and the keys of the callFunction event's `userInfo`.
//!
//! Why it exists: several platform facts are unconfirmed for a custom runtime in a CloudBase env
//! (`docs/platform.md` "Open questions": does `/next` carry `environ` or `environment`, how are
//! its headers spelled, what does `userInfo` hold). The runtime consumes these channels before a
//! handler runs (`userInfo` is removed from the event, the context header is parsed into an
//! [`crate::Identity`]), so a handler could not report them. The `probe` function reports these
//! names on a user's first deploy ([`ChannelNames::of`]).
//!
//! Why names only: the channels carry ids and tokens (`WX_API_TOKEN`, `TENCENTCLOUD_SECRETKEY`
//! can come in `environ`), and a name list answers the open questions without exposing any of
//! them. Web mode has no `/next`, so there a context has no `ChannelNames` at all.

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use crate::context::Context;
use crate::identity::context_from_headers;

/// The names the platform's channels carried for one event-mode invocation. Every list is
/// sorted and has no repeats; none holds a value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelNames {
    /// The header names of the `/runtime/invocation/next` answer, lower-cased (`request_id`,
    /// `time_limit_in_ms`, `environ`, ...), as the HTTP client saw them.
    pub next_headers: Vec<String>,
    /// The keys of the context header the runtime reads: `environment` (a JSON object) when it is
    /// non-empty, else `environ` (`KEY=VALUE;...`), as node-sdk picks
    /// ([`crate::Identity`]). Case kept (`WX_OPENID`). Empty when neither came, or when
    /// `environment` is not a JSON object.
    pub context_keys: Vec<String>,
    /// The keys of the callFunction event's top-level `userInfo` object (case kept: `appId`,
    /// `openId`); empty when it is absent or not an object.
    pub user_info_keys: Vec<String>,
    /// The event's top-level keys as delivered, `userInfo` included (case kept); empty when the
    /// event is not a JSON object. An HTTP event's shape (`multiValueHeaders`,
    /// `headerParameters`, ...) shows here: the runtime's `HttpEvent` keeps only what it reads.
    pub event_keys: Vec<String>,
}

impl ChannelNames {
    /// The names of this invocation's channels, worked out now (only a handler that asks pays
    /// for it): from what `/next` delivered, which event mode leaves in [`Context::extensions`].
    /// A `ChannelNames` put in the extensions directly (a handler's unit test) is returned as it
    /// is. `None` in web mode, which has no `/next`.
    pub fn of(ctx: &Context) -> Option<ChannelNames> {
        if let Some(names) = ctx.extensions.get::<ChannelNames>() {
            return Some(names.clone());
        }
        let next = ctx.extensions.get::<NextDelivery>()?;
        Some(Self::from_next(&next.headers, &next.body))
    }

    /// From the `/next` answer's headers and body: the header names, the context header's keys
    /// (parsed as the identity code parses it: `environment` when non-empty, else `environ`),
    /// and the event's top-level keys and its `userInfo`'s (the last copy, as serde_json keeps
    /// it).
    fn from_next(headers: &HeaderMap, body: &[u8]) -> Self {
        let next_headers = sorted(headers.keys().map(|k| k.as_str().to_ascii_lowercase()));
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        };
        // Repeated identity keys are dropped from `vars`; they still came, so name them.
        let context_keys = match context_from_headers(text("environ"), text("environment")) {
            Ok(Some(h)) => sorted(
                h.vars
                    .keys()
                    .cloned()
                    .chain(h.repeated.iter().map(|k| (*k).to_owned())),
            ),
            _ => Vec::new(),
        };
        let event: Option<Value> = serde_json::from_slice(body).ok();
        let keys = |v: Option<&Value>| match v {
            Some(Value::Object(m)) => sorted(m.keys().cloned()),
            _ => Vec::new(),
        };
        ChannelNames {
            next_headers,
            context_keys,
            user_info_keys: keys(event.as_ref().and_then(|e| e.get("userInfo"))),
            event_keys: keys(event.as_ref()),
        }
    }
}

/// What `/next` delivered, as it came: the header map (moved, not copied) and the body (shared),
/// so that [`ChannelNames::of`] works the names out only when a handler asks. Event mode puts it
/// in [`Context::extensions`]; nothing else reads it, and its `Debug` shows no value (`environ`
/// can carry tokens).
#[derive(Clone)]
pub(crate) struct NextDelivery {
    headers: HeaderMap,
    body: Bytes,
}

impl NextDelivery {
    pub(crate) fn new(headers: HeaderMap, body: Bytes) -> Self {
        NextDelivery { headers, body }
    }
}

impl std::fmt::Debug for NextDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextDelivery")
            .field("header_names", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

fn sorted(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names.collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{HeaderName, HeaderValue};

    const CALL: &[u8] = br#"{"userInfo":{"openId":"oSecret3","appId":"a"},"b":1}"#;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn names_only_sorted_and_lower_cased() {
        let environ = "WX_OPENID=oSecret1;WX_APPID=wxSecret2;WX_API_TOKEN=tok;WX_OPENID=o2";
        let h = headers(&[
            ("Time_Limit_In_Ms", "3000"),
            ("request_id", "r-1"),
            ("environ", environ),
            ("X-Extra", "a"),
            ("x-extra", "b"),
        ]);
        let n = ChannelNames::from_next(&h, CALL);
        assert_eq!(
            n.next_headers,
            ["environ", "request_id", "time_limit_in_ms", "x-extra"]
        );
        // WX_OPENID came twice: not trusted, but named.
        assert_eq!(n.context_keys, ["WX_API_TOKEN", "WX_APPID", "WX_OPENID"]);
        assert_eq!(n.user_info_keys, ["appId", "openId"]);
        assert_eq!(n.event_keys, ["b", "userInfo"]);
        let text = format!("{n:?} {:?}", NextDelivery::new(h, Bytes::from_static(CALL)));
        for value in ["oSecret1", "wxSecret2", "oSecret3", "tok", "r-1", "3000"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }

    #[test]
    fn environment_wins_and_a_bad_one_gives_no_keys() {
        let h = headers(&[
            ("environment", r#"{"TCB_ENV":"e","B":2}"#),
            ("environ", "A=1"),
        ]);
        assert_eq!(
            ChannelNames::from_next(&h, CALL).context_keys,
            ["B", "TCB_ENV"]
        );
        let h = headers(&[("environment", "[1]"), ("environ", "A=1")]);
        assert!(ChannelNames::from_next(&h, CALL).context_keys.is_empty());
        let n = ChannelNames::from_next(&HeaderMap::new(), b"[1]");
        assert_eq!(n, ChannelNames::default());
    }

    /// Worked out only when asked, from what event mode left in the context; a unit test's own
    /// `ChannelNames` wins; nothing in web mode.
    #[test]
    fn of_a_context() {
        let mut ctx = Context::for_test(Default::default());
        assert_eq!(ChannelNames::of(&ctx), None);
        ctx.extensions.insert(NextDelivery::new(
            headers(&[("request_id", "r")]),
            Bytes::from_static(CALL),
        ));
        assert_eq!(
            ChannelNames::of(&ctx).unwrap().event_keys,
            ["b", "userInfo"]
        );
        ctx.extensions.insert(ChannelNames::default());
        assert_eq!(ChannelNames::of(&ctx), Some(ChannelNames::default()));
    }
}
