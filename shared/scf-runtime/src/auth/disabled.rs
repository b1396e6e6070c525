//! The verifier of a build without the `access-token` feature: it names nobody from a token.
//!
//! Why a feature: verifying CloudBase access tokens takes TLS (rustls, aws-lc) and JWT code
//! (jsonwebtoken); a function that never asks for an HTTP caller should not carry them. In such a
//! build the `Caller` extractor knows the platform's channels only (`userInfo`, the `/next` context
//! header); an HTTP request's token is not checked, so it names nobody: `401 UNAUTHENTICATED`, and
//! the start log says so once.

use std::sync::Arc;
use std::time::Duration;

use super::credentials::{Credentials, Presented};
use super::failure::AuthFailure;
use crate::identity::Identity;

/// A verifier that verifies nothing (see the module docs).
#[derive(Debug)]
pub(crate) struct Authenticator {
    /// `TCB_CUSTOM_USER_ID_IS_OPENID` (not `false` / `0`): the channel rule still applies.
    custom_user_id_is_openid: bool,
}

impl Authenticator {
    /// From the process environment; says once that tokens are not checked in this build.
    pub(crate) fn from_env() -> Arc<Self> {
        tracing::debug!(
            "built without scf-runtime's access-token feature: HTTP callers' access tokens are not checked and name nobody"
        );
        let setting = std::env::var("TCB_CUSTOM_USER_ID_IS_OPENID").unwrap_or_default();
        Arc::new(Authenticator {
            custom_user_id_is_openid: !matches!(setting.trim(), "false" | "0"),
        })
    }

    /// A verifier with the default settings, for the runtime's unit tests.
    #[cfg(test)]
    pub(crate) fn off() -> Arc<Self> {
        Arc::new(Authenticator {
            custom_user_id_is_openid: true,
        })
    }

    /// Nobody, whatever the request presents (a token in it is left unread).
    ///
    /// # Errors
    /// None: the signature matches the verifying build's.
    pub(crate) async fn identify(
        &self,
        presented: &Presented,
        _remaining: Duration,
    ) -> Result<Option<Identity>, AuthFailure> {
        if matches!(presented.credentials, Credentials::Token(_)) {
            tracing::info!(
                "an access token was presented, but this build does not check tokens (the access-token feature is off)"
            );
        }
        Ok(None)
    }

    /// No lookup in this build.
    ///
    /// # Errors
    /// None.
    pub(crate) async fn custom_user_id(
        &self,
        _presented: &Presented,
        _remaining: Duration,
    ) -> Result<Option<String>, AuthFailure> {
        Ok(None)
    }

    /// `TCB_CUSTOM_USER_ID_IS_OPENID`.
    pub(crate) fn custom_user_id_is_openid(&self) -> bool {
        self.custom_user_id_is_openid
    }
}
