//! A real HTTP server on `127.0.0.1:0` running an axum router in a background task; dropped with
//! the [`FakeServer`] value, so each test owns its server and ports never collide.

use axum::Router;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A running fake server. Stops when dropped.
#[derive(Debug)]
pub struct FakeServer {
    /// `http://127.0.0.1:<port>`, without a trailing slash; give it to the client as `base_url`.
    pub base_url: String,
    /// The task serving requests.
    pub handle: JoinHandle<()>,
    /// The bound address.
    pub addr: SocketAddr,
}

impl FakeServer {
    /// Binds `127.0.0.1:0` and serves `router` until the returned value is dropped.
    ///
    /// # Panics
    /// If the loopback interface cannot be bound, which makes every such test meaningless.
    pub async fn start(router: Router) -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0 for a fake server");
        let addr = listener
            .local_addr()
            .expect("local address of a bound listener");
        let handle = tokio::spawn(async move {
            // Errors here only happen at shutdown; the test sees them as failed requests.
            let _ = axum::serve(listener, router).await;
        });
        FakeServer {
            base_url: format!("http://{addr}"),
            handle,
            addr,
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// A base URL on `127.0.0.1` where nothing listens (a port just bound and released), so a client
/// gets "connection refused" at once.
///
/// # Panics
/// If the loopback interface cannot be bound.
pub fn unreachable_base_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    drop(listener);
    format!("http://{addr}")
}
