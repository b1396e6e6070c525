//! Configuration read once at init, and what every invocation answers when it is wrong.
//!
//! Why this shape: a function that exits on a bad setting is restarted by SCF, fails again, and
//! the mini program sees only a timeout. So a function reads its settings once, before the
//! runtime's first `ready`, and keeps the outcome: ready state, or the `500 MISCONFIGURED` error
//! that names the setting and the kind of problem. Every invocation then answers that error, and
//! the caller (a mini program's `callFunction` fail callback) can read what to fix. The value of
//! a setting never reaches an answer; the detail (a path, an env id) goes to the one ERROR line
//! logged at init.
//!
//! ```
//! use scf_runtime::{Configured, Misconfig, Settings, configure};
//!
//! struct State { appid: String }
//!
//! let settings = Settings::from_lookup(|_| None);
//! let state: Configured<State> = configure("myFunction", &settings, |s| {
//!     Ok(State { appid: s.required("WX_APPID")? })
//! });
//! let err = state.err().unwrap();
//! assert_eq!((err.error.as_ref(), err.message.as_str()), ("MISCONFIGURED", "WX_APPID: not set"));
//! ```

use std::borrow::Cow;

use tracing::{error, info};

use crate::error::FnError;
use crate::secret::Secret;

/// A function's state as every invocation sees it: built, or the `MISCONFIGURED` error.
pub type Configured<S> = Result<S, FnError>;

/// A configuration problem: the setting, the kind of problem (both shown to callers), and the
/// detail (the log only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {detail}")]
pub struct Misconfig {
    /// The setting's name, e.g. `WX_APPID`.
    pub setting: Cow<'static, str>,
    /// The kind of problem, shown to callers, e.g. `not set`. Never a value.
    pub problem: String,
    /// The detail for the log (may name a path or an env id; never a secret).
    pub detail: String,
}

impl Misconfig {
    /// A problem with `setting`; the detail is the problem until [`Misconfig::with_detail`].
    pub fn new(setting: impl Into<Cow<'static, str>>, problem: impl Into<String>) -> Self {
        let problem = problem.into();
        Misconfig {
            setting: setting.into(),
            detail: problem.clone(),
            problem,
        }
    }

    /// Set the detail the log gets.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    /// The error callers get: `500 MISCONFIGURED`, `<setting>: <problem>`.
    pub fn to_error(&self) -> FnError {
        FnError::misconfigured(&self.setting, &self.problem)
    }
}

/// A setting's name to its value.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Where settings are read: the process environment, or any lookup (tests).
pub struct Settings<'a> {
    lookup: Lookup<'a>,
}

impl Settings<'static> {
    /// The process environment.
    pub fn from_env() -> Self {
        Settings::from_lookup(|k| std::env::var(k).ok())
    }
}

impl<'a> Settings<'a> {
    /// Settings from `lookup` (a name to its value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Settings {
            lookup: Box::new(lookup),
        }
    }

    /// The raw value of `name`, blank or not.
    pub fn raw(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The value of `name`; a blank value counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|v| !v.trim().is_empty())
    }

    /// The value of a required setting.
    ///
    /// # Errors
    /// [`Misconfig`] `<name>: not set` when unset or blank.
    pub fn required(&self, name: &'static str) -> Result<String, Misconfig> {
        self.get(name)
            .ok_or_else(|| Misconfig::new(name, "not set"))
    }

    /// A required setting that is a secret (never logged, never answered).
    ///
    /// # Errors
    /// As [`Settings::required`].
    pub fn secret(&self, name: &'static str) -> Result<Secret, Misconfig> {
        self.required(name).map(Secret::new)
    }
}

/// Build a function's state once, at init, from `settings`. Logs the outcome once: an INFO line
/// `<function> configured`, or the ERROR line `<function> is misconfigured: <setting>: <detail>`.
pub fn configure<S>(
    function: &str,
    settings: &Settings<'_>,
    build: impl FnOnce(&Settings<'_>) -> Result<S, Misconfig>,
) -> Configured<S> {
    match build(settings) {
        Ok(state) => {
            info!("{function} configured");
            Ok(state)
        }
        Err(m) => {
            error!(error = "MISCONFIGURED", "{function} is misconfigured: {m}");
            Err(m.to_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_setting_never_the_value() {
        let s = Settings::from_lookup(|k| match k {
            "BLANK" => Some("  ".into()),
            "SET" => Some("s3cr3t".into()),
            _ => None,
        });
        assert_eq!(s.required("SET").unwrap(), "s3cr3t");
        assert_eq!(s.required("BLANK").unwrap_err().problem, "not set");
        assert_eq!(s.raw("BLANK").as_deref(), Some("  "));
        assert!(!format!("{:?}", s.secret("SET").unwrap()).contains("s3cr3t"));
        let state: Configured<()> = configure("f", &s, |_| {
            Err(Misconfig::new("KEY", "unreadable").with_detail("/path/to/key: denied"))
        });
        let e = state.unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (500, "KEY: unreadable"));
    }
}
