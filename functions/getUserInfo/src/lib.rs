//! getUserInfo: the caller's verified identity.
//!
//! Returns `{openid, appid, unionid}` (`null` when absent), plus `uid`, `customUserId` and
//! `isAnonymous` when the channel gives them (node-sdk `auth().getUserInfo()` names).
//!
//! The identity comes from the `scf_runtime::Caller` extractor: a callFunction's `userInfo` or the
//! platform's context header, or, over HTTP, a verified CloudBase access token. A token gives the
//! `uid` (its `sub`) and an `openid` / `unionid` when the token itself carries them
//! (`meta.wxOpenId` / `meta.wxUnionId`). A custom-ticket user's token carries none: then
//! `with_openid` asks CloudBase's `/auth/v1/user/me` for the `customUserId`, which is
//! also the `openid` (getLoginTicket mints tickets so; `TCB_CUSTOM_USER_ID_IS_OPENID=false` turns
//! that off). An anonymous caller (the publishable key) is answered with `isAnonymous: true` and
//! no openid, as node-sdk reports anonymous users. Without any caller: `401 UNAUTHENTICATED`; a
//! bad token: `401 INVALID_TOKEN`; tokens or the profile uncheckable now:
//! `503 AUTH_UNAVAILABLE`.

use scf_runtime::{Caller, Context, Event, FnError, FromContext};
use serde::Serialize;

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// Caller OPENID; `null` for a token caller whose token carries none.
    pub openid: Option<String>,
    /// Mini program AppID (`null` if the platform did not say).
    pub appid: Option<String>,
    /// UNIONID, `null` when absent.
    pub unionid: Option<String>,
    /// CloudBase uid (`TCB_UUID`, or an access token's `sub`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// `TCB_CUSTOM_USER_ID`, or over HTTP the `custom` provider's id from `/auth/v1/user/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_user_id: Option<String>,
    /// `TCB_ISANONYMOUS_USER`, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_anonymous: Option<bool>,
}

/// The handler. The event's content is not used: identity never comes from it.
///
/// # Errors
/// The rejections of the `Caller` extractor and of `Caller::with_openid`: `401 UNAUTHENTICATED`,
/// `401 INVALID_TOKEN`, `503 AUTH_UNAVAILABLE`, `500 MISCONFIGURED`.
pub async fn handle(_event: Event, ctx: Context) -> Result<UserInfo, FnError> {
    let Caller(id) = Caller::from_context(&ctx).await?.with_openid(&ctx).await?;
    Ok(UserInfo {
        openid: id.openid,
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
