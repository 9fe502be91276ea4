//! The assembled router answers on a real socket.
#![allow(clippy::unwrap_used)]

mod util;

#[tokio::test]
async fn the_job_service_routes_are_part_of_the_router() {
    let s = util::start().await;
    let r = reqwest::get(format!("{}/healthz", s.url)).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(format!("{}/v1/jobs", s.url)).await.unwrap();
    assert_eq!(r.status(), 401, "job reads need the token");
}
