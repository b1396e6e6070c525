//! What the instance looks like from inside: environment variable names, the working and
//! executable folders, which folders are writable, and which CA bundle files exist.
//!
//! Why: `docs/platform.md` lists the working directory, `USER_CODE_ROOT` and the variables of a
//! custom runtime as UNCONFIRMED (the documented list is the standard runtimes'), and says only
//! `/tmp` is writable in HTTP functions. The probe reads them on the real platform. Variable
//! **values** are never read into the report (`WX_SECRET`, `TENCENTCLOUD_SECRETKEY` live there).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// Prefixes of the variable names reported (SCF's, CloudBase's, Tencent Cloud's, ours).
pub const ENV_PREFIXES: &[&str] = &["SCF_", "TCB_", "TENCENTCLOUD_", "QCLOUD_", "WX_"];
/// Single names also reported: the code folder, the handler, web mode's port, the trigger.
pub const ENV_NAMES: &[&str] = &["USER_CODE_ROOT", "_HANDLER", "PORT", "TRIGGER_SRC"];

/// The names (never values) of the process's variables that start with one of [`ENV_PREFIXES`]
/// or are in [`ENV_NAMES`], sorted. Names that are not UTF-8 are skipped.
pub fn env_names() -> Vec<String> {
    names_of(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
}

fn names_of(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = names
        .filter(|k| {
            ENV_PREFIXES.iter().any(|p| k.starts_with(p)) || ENV_NAMES.contains(&k.as_str())
        })
        .collect();
    v.sort();
    v
}

/// CA bundle files of the common distributions: Debian/Ubuntu, CentOS/RHEL (two), Alpine and
/// macOS, openSUSE.
pub const CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

/// `{path: true|false}` for each of [`CA_BUNDLES`]: whether it is a file. (Irrelevant to our
/// binaries, which carry Mozilla's roots; it tells what another tool would find.)
pub fn ca_bundles() -> Map<String, Value> {
    CA_BUNDLES
        .iter()
        .map(|p| ((*p).to_owned(), json!(Path::new(p).is_file())))
        .collect()
}

/// `{"cwd", "exeDir", "writable": {folder: true | "<error kind>"}}`. The candidates are `/tmp`,
/// the working folder, the executable's folder, `/var/user` (SCF's code folder,
/// `USER_CODE_ROOT=/var/user/` for the standard runtimes) and `USER_CODE_ROOT` itself, once each.
pub fn folders() -> Value {
    let cwd = std::env::current_dir().ok();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let mut candidates: Vec<PathBuf> = vec![PathBuf::from("/tmp")];
    candidates.extend(cwd.clone());
    candidates.extend(exe_dir.clone());
    candidates.push(PathBuf::from("/var/user"));
    if let Some(root) = std::env::var_os("USER_CODE_ROOT") {
        candidates.push(PathBuf::from(root));
    }
    let mut writable = Map::new();
    for dir in candidates {
        let key = dir.display().to_string();
        let key = match key.trim_end_matches('/') {
            "" => "/".to_owned(),
            k => k.to_owned(),
        };
        if !writable.contains_key(&key) {
            writable.insert(key, writable_probe(&dir));
        }
    }
    let show = |p: Option<PathBuf>| p.map_or(json!(null), |p| json!(p.display().to_string()));
    json!({"cwd": show(cwd), "exeDir": show(exe_dir), "writable": writable})
}

/// Create a new, unique file in `dir`, write a byte, and remove it: `true`, or the error's kind
/// (`"PermissionDenied"`, `"ReadOnlyFilesystem"`, `"NotFound"`, ...).
fn writable_probe(dir: &Path) -> Value {
    use std::io::Write as _;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = dir.join(format!(".probe-write-{}-{nanos}", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(b"x"));
    match result {
        Ok(()) => match std::fs::remove_file(&path) {
            Ok(()) => json!(true),
            Err(e) => json!(format!("written, not removed: {:?}", e.kind())),
        },
        Err(e) => json!(format!("{:?}", e.kind())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_platform_names_are_kept() {
        let names = names_of(
            [
                "PATH",
                "WX_SECRET",
                "TCB_ENV",
                "SCF_NAMESPACE",
                "HOME",
                "_HANDLER",
                "XWX_A",
            ]
            .into_iter()
            .map(String::from),
        );
        assert_eq!(names, ["SCF_NAMESPACE", "TCB_ENV", "WX_SECRET", "_HANDLER"]);
    }

    #[test]
    fn a_writable_folder_and_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("probe-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(writable_probe(&dir), json!(true));
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "the file is removed"
        );
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(writable_probe(&dir), json!("NotFound"));
        let f = folders();
        assert_eq!(f["writable"]["/tmp"], json!(true));
        assert_eq!(ca_bundles().len(), CA_BUNDLES.len());
    }
}
