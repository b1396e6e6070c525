//! Which URLs a token setting may name: `https://` anywhere, `http://` only on loopback (the local
//! mock), so a typo cannot send tokens in clear text. Its own file because the settings
//! (`config.rs`) and the issuers (`issuer.rs`, whose hosts are asked for keys) both apply it.

/// `https://` anywhere, `http://` on loopback only.
pub(crate) fn is_allowed_url(url: &str) -> bool {
    if let Some(rest) = url.strip_prefix("https://") {
        return !rest.is_empty();
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}
