//! getUserInfo: the caller's verified identity.
//!
//! Returns `{openid, appid, unionid}` (`unionid` is `null` when absent), plus `uid`,
//! `customUserId` and `isAnonymous` when the platform gives them (node-sdk
//! `auth().getUserInfo()` names). The identity comes only from platform-controlled channels
//! (see `scf_runtime::Identity`); without one — as over HTTP — the answer is `401 UNAUTHENTICATED`.

use scf_runtime::{Context, Event, FnError};
use serde::Serialize;

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Caller OPENID.
    pub openid: String,
    /// Mini program AppID (`null` if the platform did not say).
    pub appid: Option<String>,
    /// UNIONID, `null` when absent.
    pub unionid: Option<String>,
    /// CloudBase uid (`TCB_UUID`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// `TCB_CUSTOM_USER_ID`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_user_id: Option<String>,
    /// `TCB_ISANONYMOUS_USER`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_anonymous: Option<bool>,
}

/// The handler. The event's content is not used: identity never comes from it.
///
/// # Errors
/// `401 UNAUTHENTICATED` when no platform channel vouched for an OPENID.
pub async fn handle(_event: Event, ctx: Context) -> Result<UserInfo, FnError> {
    let id = ctx.identity;
    let openid = id.openid.ok_or_else(FnError::unauthenticated)?;
    Ok(UserInfo {
        openid,
        appid: id.appid,
        unionid: id.unionid,
        uid: id.uid,
        custom_user_id: id.custom_user_id,
        is_anonymous: id.is_anonymous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_runtime::Identity;
    use serde_json::json;

    #[tokio::test(flavor = "current_thread")]
    async fn identity_or_unauthenticated() {
        let id = Identity {
            openid: Some("o1".into()),
            appid: Some("wxa".into()),
            ..Identity::default()
        };
        let r = handle(Event::Call(json!({})), Context::for_test(id))
            .await
            .unwrap();
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            json!({"openid": "o1", "appid": "wxa", "unionid": null})
        );
        let e = handle(
            Event::Call(json!({"openid": "forged"})),
            Context::for_test(Identity::default()),
        )
        .await
        .unwrap_err();
        assert_eq!((e.error.as_ref(), e.status), ("UNAUTHENTICATED", 401));
    }
}
