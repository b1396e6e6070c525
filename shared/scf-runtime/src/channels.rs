//! The names (never the values) of what the platform's channels carried for one event-mode
//! invocation: the `/next` header names, the keys of the context header (`environ` /
//! `environment`) and the keys of the callFunction event's `userInfo`.
//!
//! Why it exists: several platform facts are unconfirmed for a custom runtime in a CloudBase env
//! (`docs/platform.md` "Open questions": does `/next` carry `environ` or `environment`, how are
//! its headers spelled, what does `userInfo` hold). The runtime consumes these channels before a
//! handler runs (`userInfo` is removed from the event, the context header is parsed into an
//! [`crate::Identity`]), so a handler could not report them. The `probe` function reports these
//! names on a user's first deploy (`ctx.extensions.get::<ChannelNames>()`).
//!
//! Why names only: the channels carry ids and tokens (`WX_API_TOKEN`, `TENCENTCLOUD_SECRETKEY`
//! can come in `environ`), and a name list answers the open questions without exposing any of
//! them. Web mode has no `/next`, so there a context has no `ChannelNames` at all.

use hyper::HeaderMap;

use crate::event::Decoded;
use crate::identity::ContextHeader;

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
    /// From the `/next` answer's `headers`, the context header the identity code parsed (`None`
    /// when none came or it was not usable) and the key names the event decoder recorded
    /// ([`crate::event::Decoded`]). The context header is not parsed again here.
    pub(crate) fn from_next(
        headers: &HeaderMap,
        context: Option<&ContextHeader>,
        decoded: &Decoded,
    ) -> Self {
        let next_headers = sorted(headers.keys().map(|k| k.as_str().to_ascii_lowercase()));
        // Repeated identity keys are dropped from `vars`; they still came, so name them.
        let context_keys = context.map_or_else(Vec::new, |h| {
            sorted(
                h.vars
                    .keys()
                    .cloned()
                    .chain(h.repeated.iter().map(|k| (*k).to_owned())),
            )
        });
        ChannelNames {
            next_headers,
            context_keys,
            user_info_keys: sorted(decoded.user_info_keys.iter().cloned()),
            event_keys: sorted(decoded.event_keys.iter().cloned()),
        }
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
    use crate::event::Event;
    use crate::identity::context_from_headers;

    /// The context header as the identity code parses it (event_loop.rs).
    fn parsed(environ: Option<&str>, environment: Option<&str>) -> Option<ContextHeader> {
        context_from_headers(environ, environment).ok().flatten()
    }
    use hyper::header::{HeaderName, HeaderValue};

    fn call() -> Decoded {
        Event::decode(br#"{"userInfo":{"openId":"oSecret3","appId":"a"},"b":1}"#).unwrap()
    }

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
        let n = ChannelNames::from_next(&h, parsed(Some(environ), None).as_ref(), &call());
        assert_eq!(
            n.next_headers,
            ["environ", "request_id", "time_limit_in_ms", "x-extra"]
        );
        // WX_OPENID came twice: not trusted, but named.
        assert_eq!(n.context_keys, ["WX_API_TOKEN", "WX_APPID", "WX_OPENID"]);
        assert_eq!(n.user_info_keys, ["appId", "openId"]);
        assert_eq!(n.event_keys, ["b", "userInfo"]);
        let text = format!("{n:?}");
        for value in ["oSecret1", "wxSecret2", "oSecret3", "tok", "r-1", "3000"] {
            assert!(!text.contains(value), "{value} in {text}");
        }
    }

    #[test]
    fn environment_wins_and_a_bad_one_gives_no_keys() {
        let h = headers(&[("environment", "{}"), ("environ", "A=1")]);
        let n = ChannelNames::from_next(
            &h,
            parsed(Some("A=1"), Some(r#"{"TCB_ENV":"e","B":2}"#)).as_ref(),
            &call(),
        );
        assert_eq!(n.context_keys, ["B", "TCB_ENV"]);
        let n = ChannelNames::from_next(&h, parsed(Some("A=1"), Some("[1]")).as_ref(), &call());
        assert!(n.context_keys.is_empty());
        let not_an_object = Event::decode(b"[1]").unwrap();
        let n = ChannelNames::from_next(&HeaderMap::new(), None, &not_an_object);
        assert_eq!(n, ChannelNames::default());
    }
}
