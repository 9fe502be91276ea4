//! The fault suite every provider runs: the shared HTTP policy as each provider experiences it.

use super::*;
use kite_test_support::{Reply, unreachable_base_url};

/// The 403 body each provider sends.
fn forbidden_body(kind: Kind) -> &'static str {
    match kind {
        Kind::ElectricityMaps => fixtures::electricity_maps::ERROR_FORBIDDEN,
        Kind::WattTime => fixtures::watttime::ERROR_FORBIDDEN,
        Kind::Uk => r#"{"error":{"code":"403 Forbidden","message":"Forbidden"}}"#,
    }
}

#[tokio::test]
async fn rate_limited_once_waits_retry_after_then_succeeds() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script.once(h.data_path, Reply::rate_limited("1"));
        let series = h.provider.fetch(&h.query).await.unwrap();
        assert_conforms(h.provider.as_ref(), &h.query, &series);
        let hits = h.script.requests_to(h.data_path);
        assert_eq!(hits.len(), 2, "{kind:?}: one 429, one retry");
        let waited = hits[1].at.duration_since(hits[0].at);
        assert!(
            waited >= Duration::from_secs(1),
            "{kind:?}: waited only {waited:?}"
        );
    }
}

#[tokio::test]
async fn server_error_once_is_retried() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script.once(h.data_path, Reply::server_error());
        let series = h.provider.fetch(&h.query).await.unwrap();
        assert_conforms(h.provider.as_ref(), &h.query, &series);
        assert_eq!(h.script.count(h.data_path), 2, "{kind:?}");
    }
}

#[tokio::test]
async fn server_errors_exhaust_the_retries() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script
            .always(h.data_path, Reply::status(502, "<html>Bad gateway</html>"));
        let err = h.provider.fetch(&h.query).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::Http { status: 502, .. }),
            "{kind:?}: {err}"
        );
        assert!(err.is_transient());
        assert!(err.to_string().contains("Bad gateway"), "{err}");
        assert_eq!(h.script.count(h.data_path), 3, "{kind:?}: 1 + max_retries");
        h.assert_no_leak(&err);
    }
}

#[tokio::test]
async fn forbidden_is_unauthorized_naming_the_key_source() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script
            .once(h.data_path, Reply::status(403, forbidden_body(kind)));
        let err = h.provider.fetch(&h.query).await.unwrap_err();
        let ProviderError::Unauthorized {
            status, key_source, ..
        } = &err
        else {
            panic!("{kind:?}: expected Unauthorized, got {err}");
        };
        assert_eq!(*status, 403);
        let msg = err.to_string();
        assert!(msg.contains(key_source.as_str()), "{msg}");
        assert!(
            msg.contains(h.data_path.trim_end_matches('/')),
            "names the path: {msg}"
        );
        assert!(msg.contains("plan"), "says a plan may lack access: {msg}");
        assert_eq!(
            h.script.count(h.data_path),
            1,
            "{kind:?}: 403 is not retried"
        );
        h.assert_no_leak(&err);
    }
}

#[tokio::test]
async fn slow_answers_time_out() {
    let policy = HttpPolicy {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..fast_policy()
    };
    for kind in ALL {
        let h = Harness::start(kind, policy).await;
        h.script
            .always(h.data_path, Reply::delay(Duration::from_secs(2)));
        let err = h.provider.fetch(&h.query).await.unwrap_err();
        let ProviderError::Timeout { after, url, .. } = &err else {
            panic!("{kind:?}: expected Timeout, got {err}");
        };
        assert_eq!(*after, Duration::from_millis(200));
        assert!(url.starts_with(&h.server.base_url), "{url}");
        assert!(!url.contains('?'), "no query string in errors: {url}");
        assert!(err.to_string().contains("200 ms"), "{err}");
        assert_eq!(
            h.script.count(h.data_path),
            2,
            "{kind:?}: timeouts are retried"
        );
        h.assert_no_leak(&err);
    }
}

#[tokio::test]
async fn malformed_json_is_a_bad_response() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script.once(h.data_path, Reply::malformed());
        let err = h.provider.fetch(&h.query).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::BadResponse { .. }),
            "{kind:?}: {err}"
        );
        assert!(
            err.to_string().contains(h.data_path.trim_end_matches('/')),
            "{err}"
        );
        assert!(!err.is_transient());
        assert_eq!(
            h.script.count(h.data_path),
            1,
            "{kind:?}: a bad body is not retried"
        );
        h.assert_no_leak(&err);
    }
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let policy = HttpPolicy {
        max_retries: 1,
        ..fast_policy()
    };
    for kind in ALL {
        let base = unreachable_base_url();
        let provider = provider_at(kind, &base, policy);
        let err = provider.fetch(&happy_query(kind)).await.unwrap_err();
        let ProviderError::Unreachable { url, detail, .. } = &err else {
            panic!("{kind:?}: expected Unreachable, got {err}");
        };
        assert!(url.starts_with(&base), "{url}");
        assert!(!detail.is_empty());
        let msg = err.to_string();
        assert!(msg.contains("base_url"), "says what to check: {msg}");
        assert_no_secret(
            &err,
            &[
                kite_test_support::electricity_maps::TOKEN.into(),
                kite_test_support::watttime::PASSWORD.into(),
            ],
        );
        let health = provider.healthcheck().await.unwrap_err();
        assert!(
            matches!(health, ProviderError::Unreachable { .. }),
            "{health}"
        );
    }
}

#[tokio::test]
async fn retry_after_beyond_the_cap_fails_at_once() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script.once(h.data_path, Reply::rate_limited("120"));
        let err = h.provider.fetch(&h.query).await.unwrap_err();
        let ProviderError::RateLimited { retry_after, .. } = &err else {
            panic!("{kind:?}: expected RateLimited, got {err}");
        };
        assert_eq!(*retry_after, Some(Duration::from_secs(120)));
        assert!(err.to_string().contains("120 s"), "{err}");
        assert_eq!(
            h.script.count(h.data_path),
            1,
            "{kind:?}: no 2-minute sleep"
        );
    }
}

#[tokio::test]
async fn rate_limits_exhaust_the_retries() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.script.always(h.data_path, Reply::rate_limited("0"));
        let err = h.provider.fetch(&h.query).await.unwrap_err();
        assert!(
            matches!(err, ProviderError::RateLimited { retry_after: Some(d), .. } if d.is_zero()),
            "{kind:?}: {err}"
        );
        assert_eq!(h.script.count(h.data_path), 3, "{kind:?}");
    }
}

#[tokio::test]
async fn healthchecks_pass_against_the_fakes() {
    for kind in ALL {
        let h = Harness::start(kind, fast_policy()).await;
        h.provider.healthcheck().await.unwrap();
    }
}
