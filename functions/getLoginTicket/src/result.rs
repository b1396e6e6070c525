//! What a login returns: the ticket, the openid and the unionid. Its own file because the replay
//! rules (`replay.rs`) keep results and the login (`login.rs`) makes them: both need the type,
//! neither should need the other for it.

use serde::Serialize;

/// What a successful call returns. `Debug` does not show the ticket.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct LoginResult {
    /// `private_key_id/@@/<jwt>`, for `auth.signInWithCustomTicket()`. Lives 10 minutes.
    pub ticket: String,
    /// The user's OPENID (also the ticket's uid).
    pub openid: String,
    /// UNIONID, present only when WeChat gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unionid: Option<String>,
}

impl std::fmt::Debug for LoginResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResult")
            .field("ticket", &"[redacted]")
            .field("openid", &self.openid)
            .field("unionid", &self.unionid)
            .finish()
    }
}
