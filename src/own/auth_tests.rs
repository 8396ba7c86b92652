//! The refresher against the simulator's real token endpoint.

use std::time::Duration;

use super::*;
use crate::config::load_str;
use crate::sim::{SimHandle, SimOptions};

async fn sim(options: SimOptions) -> SimHandle {
    crate::sim::start(SimOptions {
        events: 10,
        trickle: 0.0,
        ..options
    })
    .await
    .unwrap()
}

fn source(sim: &SimHandle, dir: &Path) -> SourceConfig {
    std::fs::write(dir.join("token"), "sim-api-token\n").unwrap();
    let toml = format!(
        "state_dir = {dir:?}\n[[sources]]\nname = \"s\"\nbase_url = \"{}\"\ntoken_url = \"{}\"\n\
         api_token_file = {:?}\n[[sinks]]\ntype = \"file\"\nname = \"f\"\npath = \"-\"\n",
        sim.base_url(),
        sim.token_url(),
        dir.join("token"),
    );
    load_str(&toml).unwrap().sources.remove(0)
}

fn refresher(config: &SourceConfig, dir: &Path) -> Refresher {
    let http = crate::own::http_client(Duration::from_secs(5)).unwrap();
    Refresher::new(config, dir, http, Health::default())
}

#[tokio::test]
async fn concurrent_forced_refreshes_share_one_grant() {
    let sim = sim(SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let refresher = refresher(&source(&sim, dir.path()), dir.path());
    let (first, _) = refresher.authenticate().await.unwrap();

    let forced: Vec<_> = (0..8)
        .map(|_| {
            let r = refresher.clone();
            tokio::spawn(async move { r.force_refresh(first.generation).await })
        })
        .collect();
    for task in forced {
        task.await.unwrap().unwrap();
    }
    assert_eq!(
        sim.stats().token_requests_ok,
        2,
        "one initial grant and one forced"
    );
    let now = refresher.subscribe().borrow().clone();
    let Access::Ready(now) = now else {
        panic!("no token")
    };
    assert_eq!(now.generation, first.generation + 1);
}

#[tokio::test]
async fn a_rotated_token_is_stored_0600_before_use_and_used_next_time() {
    let sim = sim(SimOptions {
        rotate_refresh_token: true,
        ..SimOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = source(&sim, dir.path());
    refresher(&config, dir.path()).authenticate().await.unwrap();

    let path = token_state::path(dir.path(), "s");
    let state = token_state::load(&path);
    let rotated = state
        .rotated_token
        .clone()
        .expect("the rotated token was stored");
    assert_ne!(rotated, "sim-api-token");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // A new process presents the stored token; the original one is revoked by now.
    refresher(&config, dir.path())
        .authenticate()
        .await
        .expect("the stored token works");
    assert_eq!(sim.stats().token_requests_failed, 0);
}

#[tokio::test]
async fn a_revoked_api_token_is_rejected_with_the_operator_action() {
    let sim = sim(SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = source(&sim, dir.path());
    let refresher = refresher(&config, dir.path());
    let (token, _) = refresher.authenticate().await.unwrap();
    std::fs::write(dir.path().join("token"), "revoked-or-expired\n").unwrap();

    let error = refresher.force_refresh(token.generation).await.unwrap_err();
    let GrantError::Rejected(action) = error else {
        panic!("not a rejection: {error}")
    };
    assert!(action.contains("invalid_grant") && action.contains("Generate a new API token"));
    assert!(
        !action.contains("revoked-or-expired"),
        "the token leaked into: {action}"
    );
    assert!(matches!(
        &*refresher.subscribe().borrow(),
        Access::Rejected(_)
    ));
}

#[tokio::test]
async fn renewal_happens_at_the_fraction_clamped_and_before_expiry() {
    let sim = sim(SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let refresher = refresher(&source(&sim, dir.path()), dir.path());
    let hour = Duration::from_secs(3600);
    for _ in 0..50 {
        let d = refresher.renewal_delay(hour);
        assert!(
            d >= hour.mul_f64(0.75 * 0.9) && d <= hour.mul_f64(0.75),
            "{d:?}"
        );
        let d = refresher.renewal_delay(Duration::from_secs(86_400));
        assert!(
            d >= hour.mul_f64(0.9) && d <= hour,
            "the maximum was not applied: {d:?}"
        );
        let d = refresher.renewal_delay(Duration::from_secs(200));
        assert!(d < Duration::from_secs(200), "renewal after expiry: {d:?}");
        let d = refresher.renewal_delay(Duration::ZERO);
        assert_eq!(
            d,
            Duration::from_secs(30),
            "renewal sooner than min_interval"
        );
    }
}
