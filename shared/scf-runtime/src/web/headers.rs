//! The request headers web mode reads, and the one rule for a header that comes more than once:
//! the **last** copy counts (a proxy in front of us appends its own after any the client sent).
//! Its own file because the server (`mod.rs`) and the body reader (`body.rs`) both read headers.

/// The **last** copy of a header, as text, when it is valid visible ASCII. The last, not the
/// first: a proxy in front of us appends its own copy after any the client sent.
pub(crate) fn header<'h>(h: &'h hyper::HeaderMap, name: &str) -> Option<&'h str> {
    h.get_all(name)
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// Longest request id taken from `X-Scf-Request-Id`, bytes. SCF's are 36-character UUIDs.
pub(crate) const MAX_REQUEST_ID_BYTES: usize = 64;

/// Whether `id` may be used as a request id in logs and answers: 1 to [`MAX_REQUEST_ID_BYTES`]
/// characters from `A-Z a-z 0-9 - _ . :`. No space, quote, `=` or control character, so the id
/// can never forge a field or a line in text or JSON logs.
pub(crate) fn is_safe_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}
