//! A bootstrap written in bash, for tests of a runtime that misbehaves on purpose (never ready,
//! posts twice, hangs): the emulator must cope with what no Rust runtime would do.

use std::path::PathBuf;

/// A bash `bootstrap` in its own temp folder, for misbehaving-runtime tests. The script gets shell
/// functions `post PATH BODY` and `get PATH`, which talk to the runtime API through `/dev/tcp`, and
/// then runs `body` (e.g. `post /runtime/init/ready ' '; sleep 30`). Remove the folder when done.
pub fn script_bootstrap(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "scf-script-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bootstrap");
    let post = r#"post() { exec 3<>/dev/tcp/127.0.0.1/$SCF_RUNTIME_API_PORT; printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$1" "${#2}" "$2" >&3; cat <&3 >/dev/null; }"#;
    let get = r#"get() { exec 3<>/dev/tcp/127.0.0.1/$SCF_RUNTIME_API_PORT; printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$1" >&3; cat <&3 >/dev/null; }"#;
    std::fs::write(&path, format!("#!/bin/bash\n{post}\n{get}\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    path
}
