//! Which `iss` values name this env's CloudBase: the issuers a token may carry.
//!
//! Why a set and not one string: real CloudBase access tokens carry the host the SDK signed in at
//! (`docs/identity.md` "What real tokens look like"). `@cloudbase/js-sdk` 2.x signs in at the
//! region's `https://{env}.{region}.tcb-api.tencentcloudapi.com` (every real user and
//! publishable-key token seen has that `iss`), 3.x at the gateway
//! `https://{env}.api.tcloudbasegateway.com`, and `@cloudbase/app` knows an international gateway
//! `https://{env}.api.intl.tcloudbasegateway.com`. All three put the env id in the host, so a
//! token of another env never matches; `aud` is still checked first and says `wrong_env`.
//!
//! The default set is exactly those three for this env. The region of the tcb-api host is
//! `TENCENTCLOUD_REGION` when SCF sets it, else any label shaped like a region (`ap-shanghai`,
//! `na-ashburn`, `ap-shanghai-fsi`). `TCB_TOKEN_ISSUER`, a comma-separated list of URLs, replaces
//! the default.
//!
//! An accepted issuer is also a host we may ask for keys (`/auth/v1/certs`) and for the user's
//! profile (`/auth/v1/user/me`): only after the token's `iss` passed this check, so no token can
//! make a function fetch from a host outside the set.

use crate::config::Misconfig;

/// The gateway host suffix (`https://{env}.api.tcloudbasegateway.com`).
const GATEWAY: &str = ".api.tcloudbasegateway.com";
/// The international gateway host suffix.
const INTL_GATEWAY: &str = ".api.intl.tcloudbasegateway.com";
/// The regional tcb-api host suffix (`https://{env}.{region}.tcb-api.tencentcloudapi.com`).
const TCB_API: &str = ".tcb-api.tencentcloudapi.com";
/// The variable whose list replaces the default issuers.
pub(crate) const ISSUER_VAR: &str = "TCB_TOKEN_ISSUER";

/// One accepted issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    /// Exactly this string.
    Exact(String),
    /// `https://{env}.{region}.tcb-api.tencentcloudapi.com` for any region label.
    TcbApiAnyRegion { env: String },
}

/// The issuers a token of this env may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issuers {
    rules: Vec<Rule>,
}

impl Issuers {
    /// The default set for `env_id`: the gateway, the international gateway, and the tcb-api host
    /// of `region` (any region-shaped label when `None`).
    pub(crate) fn default_for(env_id: &str, region: Option<&str>) -> Self {
        let tcb_api = match region {
            Some(r) if is_region_label(r) => Rule::Exact(format!("https://{env_id}.{r}{TCB_API}")),
            _ => Rule::TcbApiAnyRegion {
                env: env_id.to_owned(),
            },
        };
        Issuers {
            rules: vec![
                Rule::Exact(format!("https://{env_id}{GATEWAY}")),
                Rule::Exact(format!("https://{env_id}{INTL_GATEWAY}")),
                tcb_api,
            ],
        }
    }

    /// No issuer at all (tokens are not checked: `TCB_TOKEN_VERIFY=off`).
    pub(crate) fn none() -> Self {
        Issuers { rules: Vec::new() }
    }

    /// A list from `TCB_TOKEN_ISSUER`: comma-separated URLs, each `https://` (or `http://` on
    /// loopback, for the local mock), without a trailing `/`.
    ///
    /// # Errors
    /// [`Misconfig`] naming `TCB_TOKEN_ISSUER` when the list is empty or an entry is not such a
    /// URL.
    pub(crate) fn from_list(list: &str) -> Result<Self, Misconfig> {
        let rules: Vec<Rule> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Rule::Exact(s.trim_end_matches('/').to_owned()))
            .collect();
        if rules.is_empty() {
            return Err(Misconfig::new(ISSUER_VAR, "lists no issuer"));
        }
        for r in &rules {
            if let Rule::Exact(s) = r
                && !super::url::is_allowed_url(s)
            {
                return Err(Misconfig::new(
                    ISSUER_VAR,
                    "must list https:// URLs (http:// only for 127.0.0.1, localhost or [::1]), separated by commas",
                ));
            }
        }
        Ok(Issuers { rules })
    }

    /// Whether `iss` is one of the set. Exact, byte for byte: no case folding, no trailing `/`.
    pub(crate) fn accepts(&self, iss: &str) -> bool {
        self.rules.iter().any(|r| match r {
            Rule::Exact(s) => s == iss,
            Rule::TcbApiAnyRegion { env } => iss
                .strip_prefix("https://")
                .and_then(|h| h.strip_prefix(env.as_str()))
                .and_then(|h| h.strip_prefix('.'))
                .and_then(|h| h.strip_suffix(TCB_API))
                .is_some_and(is_region_label),
        })
    }
}

/// Whether `s` is shaped like a Tencent Cloud region: two lower-case letters, `-`, lower-case
/// letters, optionally one more `-` part (`ap-shanghai`, `na-ashburn`, `ap-shanghai-fsi`); at
/// most 32 bytes. No dot, so it is one host label.
pub(crate) fn is_region_label(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(area), Some(city)) = (parts.next(), parts.next()) else {
        return false;
    };
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok = match (parts.next(), parts.next()) {
        (None, _) => true,
        (Some(extra), None) => lower(extra),
        (Some(_), Some(_)) => false,
    };
    s.len() <= 32 && area.len() == 2 && lower(area) && lower(city) && rest_ok
}

/// The form of an `iss`, without its env id: what the probe reports (`docs/probe.md`).
///
/// `"gateway"`, `"intl-gateway"`, `"tcb-api:<region>"` (the region is not a secret), or
/// `"other"` for anything else, a non-`https` one included.
pub fn issuer_form(iss: &str) -> String {
    let Some(host) = iss.strip_prefix("https://") else {
        return "other".into();
    };
    let label_ok = |env: &str| {
        !env.is_empty()
            && env.len() <= 63
            && env.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if let Some(env) = host.strip_suffix(INTL_GATEWAY) {
        if label_ok(env) {
            return "intl-gateway".into();
        }
    } else if let Some(env) = host.strip_suffix(GATEWAY)
        && label_ok(env)
    {
        return "gateway".into();
    }
    if let Some(rest) = host.strip_suffix(TCB_API)
        && let Some((env, region)) = rest.split_once('.')
        && label_ok(env)
        && is_region_label(region)
    {
        return format!("tcb-api:{region}");
    }
    "other".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_set_is_bound_to_the_env() {
        let any = Issuers::default_for("env-1", None);
        for ok in [
            "https://env-1.api.tcloudbasegateway.com",
            "https://env-1.api.intl.tcloudbasegateway.com",
            "https://env-1.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://env-1.na-ashburn.tcb-api.tencentcloudapi.com",
            "https://env-1.ap-shanghai-fsi.tcb-api.tencentcloudapi.com",
        ] {
            assert!(any.accepts(ok), "{ok}");
        }
        for bad in [
            "https://env-2.api.tcloudbasegateway.com",
            "https://env-2.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://env-1.api.tcloudbasegateway.com/",
            "http://env-1.api.tcloudbasegateway.com",
            "https://ENV-1.api.tcloudbasegateway.com",
            "https://env-1.evil.com.tcb-api.tencentcloudapi.com",
            "https://env-1.ap-shanghai.tcb-api.tencentcloudapi.com.evil.com",
            "https://env-1.AP-shanghai.tcb-api.tencentcloudapi.com",
            "https://env-1.ap.tcb-api.tencentcloudapi.com",
            "https://env-1..tcb-api.tencentcloudapi.com",
            "https://env-1x.ap-shanghai.tcb-api.tencentcloudapi.com",
            "https://xenv-1.api.tcloudbasegateway.com",
            "",
        ] {
            assert!(!any.accepts(bad), "{bad}");
        }
        // With TENCENTCLOUD_REGION, only that region's host.
        let sh = Issuers::default_for("env-1", Some("ap-shanghai"));
        assert!(sh.accepts("https://env-1.ap-shanghai.tcb-api.tencentcloudapi.com"));
        assert!(!sh.accepts("https://env-1.ap-guangzhou.tcb-api.tencentcloudapi.com"));
        assert!(sh.accepts("https://env-1.api.tcloudbasegateway.com"));
    }

    #[test]
    fn a_list_replaces_the_default() {
        let l = Issuers::from_list(" https://a.example/ , http://127.0.0.1:9000").unwrap();
        assert!(l.accepts("https://a.example"));
        assert!(l.accepts("http://127.0.0.1:9000"));
        assert!(!l.accepts("https://env-1.api.tcloudbasegateway.com"));
        for bad in [
            "",
            " , ",
            "http://a.example",
            "a.example",
            "https://a,ftp://b",
        ] {
            let e = Issuers::from_list(bad).unwrap_err();
            assert!(e.to_string().contains(ISSUER_VAR), "{bad}: {e}");
        }
    }

    #[test]
    fn regions_and_forms() {
        for ok in [
            "ap-shanghai",
            "na-ashburn",
            "ap-shanghai-fsi",
            "eu-frankfurt",
        ] {
            assert!(is_region_label(ok), "{ok}");
        }
        for bad in [
            "ap",
            "apx-shanghai",
            "ap-",
            "-x",
            "ap-sh.anghai",
            "ap-a-b-c",
            "AP-x",
        ] {
            assert!(!is_region_label(bad), "{bad}");
        }
        let cases = [
            ("https://e.api.tcloudbasegateway.com", "gateway"),
            ("https://e.api.intl.tcloudbasegateway.com", "intl-gateway"),
            (
                "https://e.ap-guangzhou.tcb-api.tencentcloudapi.com",
                "tcb-api:ap-guangzhou",
            ),
            ("https://e.x.y.tcb-api.tencentcloudapi.com", "other"),
            ("http://e.api.tcloudbasegateway.com", "other"),
            ("https://.api.tcloudbasegateway.com", "other"),
            ("https://evil.example", "other"),
        ];
        for (iss, form) in cases {
            assert_eq!(issuer_form(iss), form, "{iss}");
        }
    }
}
