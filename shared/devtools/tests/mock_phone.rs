//! The mock's access_token and getuserphonenumber routes, driven by the real WeChat client
//! (`wxlogin::wechat`): what `scripts/invoke getPhoneNumber` and the function's integration tests
//! rely on (token counting, `token-expired-once`, same-token, expiry, faults).

use std::time::{Duration, Instant};

use scf_runtime::Secret;
use wxlogin::{WeChatClient, WxError};
use wxlogin_devtools::mock_wechat::{ACCESS_TOKEN_MARKER, MOCK_PHONE, MockWeChat};

async fn setup() -> (MockWeChat, WeChatClient) {
    let mock = MockWeChat::start("wxmock", "mocksecret").await.unwrap();
    let client =
        WeChatClient::new("wxmock".into(), Secret::new("mocksecret"), &mock.base_url()).unwrap();
    (mock, client)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(3)
}

#[tokio::test(flavor = "current_thread")]
async fn phone_codes_and_token_counting() {
    let (mock, client) = setup().await;
    for i in 0..5 {
        let p = client
            .phone_number(&format!("phone.{i}"), deadline())
            .await
            .unwrap();
        assert_eq!(
            (p.pure_phone_number.as_str(), p.country_code.as_str()),
            (MOCK_PHONE, "86")
        );
    }
    assert_eq!(mock.token_fetches(), 1);
    // Single use, like WeChat.
    let err = client
        .phone_number("phone.0", deadline())
        .await
        .unwrap_err();
    assert!(
        matches!(err, WxError::Api { errcode: 40029, .. }),
        "{err:?}"
    );
    for (code, want) in [("err-40029", 40029), ("err-45011", 45011), ("err--1", -1)] {
        let err = client.phone_number(code, deadline()).await.unwrap_err();
        assert!(
            matches!(err, WxError::Api { errcode, .. } if errcode == want),
            "{err:?}"
        );
    }
    assert_eq!(mock.phone_calls("err--1"), 2, "-1 is retried once");
    let err = client
        .phone_number("other-appid.1", deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, WxError::BadResponse(_)), "{err:?}");
    assert!(
        client
            .access_token(deadline())
            .await
            .unwrap()
            .expose()
            .starts_with(ACCESS_TOKEN_MARKER)
    );
    assert_eq!((mock.token_fetches(), mock.forced_refreshes()), (1, 0));
}

#[tokio::test(flavor = "current_thread")]
async fn token_expired_once_refetches_once() {
    let (mock, client) = setup().await;
    client
        .phone_number("token-expired-once.1", deadline())
        .await
        .unwrap();
    assert_eq!((mock.token_fetches(), mock.forced_refreshes()), (2, 0));
    assert_eq!(mock.phone_calls("token-expired-once.1"), 2);
    // The token expiring in the middle of a run: one refetch, then the new token is reused.
    mock.expire_token();
    client.phone_number("phone.a", deadline()).await.unwrap();
    client.phone_number("phone.b", deadline()).await.unwrap();
    assert_eq!(mock.token_fetches(), 3);
}

#[tokio::test(flavor = "current_thread")]
async fn a_refetch_of_the_rejected_token_forces_one_refresh() {
    let (mock, client) = setup().await;
    client.phone_number("phone.1", deadline()).await.unwrap();
    mock.set_token_fault("same-token-once");
    client
        .phone_number("token-expired-once.2", deadline())
        .await
        .unwrap();
    assert_eq!((mock.token_fetches(), mock.forced_refreshes()), (3, 1));
}

#[tokio::test(flavor = "current_thread")]
async fn token_faults() {
    let (mock, client) = setup().await;
    mock.set_token_fault("err--1-once");
    client.phone_number("phone.1", deadline()).await.unwrap();
    assert_eq!(mock.token_fetches(), 2);
    for (fault, fetches) in [
        ("err-45009", 1),
        ("err-40013", 1),
        ("http-500", 2),
        ("html", 1),
        ("truncated", 1),
    ] {
        let (mock, client) = setup().await;
        mock.set_token_fault(fault);
        let err = client
            .phone_number("phone.1", deadline())
            .await
            .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("mocksecret"), "{err}");
        assert_eq!(mock.token_fetches(), fetches, "{fault}: {err:?}");
        assert_eq!(mock.phone_calls("phone.1"), 0, "{fault}");
    }
    let (mock, client) = setup().await;
    mock.set_token_fault("slow-3000");
    let err = client
        .phone_number("phone.1", Instant::now() + Duration::from_millis(800))
        .await
        .unwrap_err();
    assert!(matches!(err, WxError::Unreachable(_)), "{err:?}");
}
