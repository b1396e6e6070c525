//! SCF's size limit on what an invocation carries, in its own file because every part that
//! reads or writes a payload holds to it: the event decoders (`event.rs`, `http_event.rs`), the
//! body reader of web mode and the pipeline's check of an answer.

/// SCF's limit on a synchronous request or response, in bytes (6 MB; `docs/platform.md`
/// "Limits").
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
