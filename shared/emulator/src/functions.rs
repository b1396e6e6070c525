//! The function list: `cloudbaserc.json` at the workspace root, the file the CloudBase CLI
//! (`tcb`) deploys from, read as the single source of truth for which functions exist and how
//! each is configured.
//!
//! Why read the deploy file rather than keep a list here: a list in the tools drifts from what is
//! deployed, and adding a function would mean editing the tools. `scripts/invoke`, `soak` and the
//! hardening tests read this instead, so a function added to the workspace and to
//! `cloudbaserc.json` (what `scripts/new-function` does) is known to them with no other edit.
//!
//! Only what the emulator needs is read: `name`, `handler`, `timeout` (seconds, as `tcb` takes it),
//! `memorySize` (MB) and the *names* of `envVariables` (the settings a function reads, which
//! `scripts/invoke` passes through from its own environment; the `{{env.X}}` values belong to the
//! deploy). `runtime` and `installDependency` are ignored.
//!
//! `CLOUDBASERC=path` reads another file (a config being tried, or a test's).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// `handler` when an entry has none: what `scripts/new-function` writes, and what a Custom
/// Runtime function is created with in the console.
pub const DEFAULT_HANDLER: &str = "index.main";
/// `timeout` when an entry has none, seconds: SCF's default for a new function.
pub const DEFAULT_TIMEOUT_SECS: u64 = 3;
/// `memorySize` when an entry has none, MB: SCF's default for a new function.
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// One function as `cloudbaserc.json` configures it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionSpec {
    /// The function's name: the cargo binary and the SCF function, e.g. `getLoginTicket`.
    pub name: String,
    /// `_HANDLER` (e.g. `index.main`); a Custom Runtime bootstrap may ignore it.
    #[serde(default = "default_handler")]
    pub handler: String,
    /// The exec timeout, seconds.
    #[serde(default = "default_timeout", rename = "timeout")]
    pub timeout_secs: u64,
    /// The memory limit, MB (`memory_limit_in_mb`).
    #[serde(default = "default_memory", rename = "memorySize")]
    pub memory_mb: u32,
    /// `envVariables`: the settings the function reads, by name (values are deploy templates).
    #[serde(default, rename = "envVariables")]
    pub env_variables: std::collections::BTreeMap<String, serde_json::Value>,
}

fn default_handler() -> String {
    DEFAULT_HANDLER.into()
}
fn default_timeout() -> u64 {
    DEFAULT_TIMEOUT_SECS
}
fn default_memory() -> u32 {
    DEFAULT_MEMORY_MB
}

impl FunctionSpec {
    /// The exec timeout as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// Whether `envVariables` names `setting`.
    pub fn reads(&self, setting: &str) -> bool {
        self.env_variables.contains_key(setting)
    }
}

/// The functions of `cloudbaserc.json`, in the file's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionList {
    path: PathBuf,
    functions: Vec<FunctionSpec>,
}

/// Why the function list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FunctionListError {
    /// The file is missing or unreadable.
    #[error("cannot read the function list {}: {source} (run from a checkout of the workspace)", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not the CloudBase CLI's shape (`{"functions": [{"name": ...}, ...]}`).
    #[error("{} is not a CloudBase config with a \"functions\" list: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and why parsing failed.
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct CloudbaseRc {
    functions: Vec<FunctionSpec>,
}

impl FunctionList {
    /// The workspace's `cloudbaserc.json`, or the file `CLOUDBASERC` names.
    ///
    /// # Errors
    /// [`FunctionListError`] when it cannot be read or parsed.
    pub fn load() -> Result<FunctionList, FunctionListError> {
        match std::env::var_os("CLOUDBASERC").filter(|p| !p.is_empty()) {
            Some(path) => Self::from_path(Path::new(&path)),
            None => Self::from_path(&crate::workspace_root().join("cloudbaserc.json")),
        }
    }

    /// The list in the file at `path`.
    ///
    /// # Errors
    /// [`FunctionListError`] when it cannot be read or parsed.
    pub fn from_path(path: &Path) -> Result<FunctionList, FunctionListError> {
        let text = std::fs::read(path).map_err(|source| FunctionListError::Read {
            path: path.to_owned(),
            source,
        })?;
        let rc: CloudbaseRc =
            serde_json::from_slice(&text).map_err(|source| FunctionListError::Parse {
                path: path.to_owned(),
                source,
            })?;
        Ok(FunctionList {
            path: path.to_owned(),
            functions: rc.functions,
        })
    }

    /// The file the list was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The function called `name`, if listed.
    pub fn get(&self, name: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Every function, in the file's order.
    pub fn iter(&self) -> impl Iterator<Item = &FunctionSpec> {
        self.functions.iter()
    }

    /// Every function's name, in the file's order.
    pub fn names(&self) -> Vec<&str> {
        self.functions.iter().map(|f| f.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_defaults() {
        let dir = std::env::temp_dir().join(format!("functions-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cloudbaserc.json");
        std::fs::write(
            &path,
            r#"{"envId":"{{env.ENV_ID}}","functions":[
                {"name":"a","handler":"x.y","timeout":5,"memorySize":256,"envVariables":{"K":"{{env.K}}"}},
                {"name":"b"}]}"#,
        )
        .unwrap();
        let list = FunctionList::from_path(&path).unwrap();
        assert_eq!(list.names(), ["a", "b"]);
        let a = list.get("a").unwrap();
        assert_eq!(
            (a.handler.as_str(), a.timeout(), a.memory_mb),
            ("x.y", Duration::from_secs(5), 256)
        );
        let b = list.get("b").unwrap();
        assert_eq!(
            (b.handler.as_str(), b.timeout_secs, b.memory_mb),
            (DEFAULT_HANDLER, DEFAULT_TIMEOUT_SECS, DEFAULT_MEMORY_MB)
        );
        assert!(list.get("c").is_none());
        assert!(a.reads("K") && !a.reads("k") && !b.reads("K"));

        std::fs::write(&path, r#"{"functions":{}}"#).unwrap();
        let e = FunctionList::from_path(&path).unwrap_err();
        assert!(matches!(e, FunctionListError::Parse { .. }), "{e}");
        let e = FunctionList::from_path(&dir.join("missing.json")).unwrap_err();
        assert!(e.to_string().contains("missing.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_workspace_list_has_the_login_function() {
        let list = FunctionList::load().unwrap();
        let login = list
            .get("getLoginTicket")
            .expect("getLoginTicket is listed");
        assert_eq!(login.handler, "index.main");
        assert!(login.timeout_secs > 0 && login.memory_mb > 0);
    }
}
