//! A TCP proxy the tests control, for cutting the app off its database and restoring it.
//!
//! `Proxy::start("127.0.0.1:5432")` listens on a random local port and forwards every connection
//! to the target while it is up. `cut` closes every open link at once (both sides see the
//! connection end, as when a database fails over or a network link drops) and refuses new ones
//! until `restore`. Traffic stays on 127.0.0.1, or on a Unix socket: `Proxy::bridge` listens on
//! one or forwards to one, which is how `tests/api/network_drop.rs` reaches PostgreSQL from a
//! network namespace of its own (a socket file is seen from every network namespace).
//!
//! It has no mode that black-holes a link (bytes stop, nothing closed): on one machine the
//! kernel acknowledges every byte the app sends to the proxy and answers its keepalive probes
//! whether the proxy forwards them or not, so the app's TCP never sees a silent loss (with
//! `tcp_user_timeout=3000` and keepalives every second, a query through such a proxy waited 40 s
//! and more). A silent loss is made below TCP instead, in `tests/api/network_drop.rs`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// Either end of a link: a TCP address or a Unix socket file.
#[derive(Debug, Clone)]
pub enum Endpoint {
    Tcp(String),
    Unix(PathBuf),
}

/// A byte stream of either kind.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    async fn bind(at: &Endpoint) -> Listener {
        match at {
            Endpoint::Tcp(address) => {
                Listener::Tcp(TcpListener::bind(address).await.expect("proxy bind"))
            }
            Endpoint::Unix(path) => Listener::Unix(UnixListener::bind(path).expect("proxy bind")),
        }
    }

    fn port(&self) -> u16 {
        match self {
            Listener::Tcp(listener) => listener.local_addr().expect("addr").port(),
            Listener::Unix(_) => 0,
        }
    }

    async fn accept(&self) -> Option<Box<dyn Stream>> {
        match self {
            Listener::Tcp(listener) => listener.accept().await.ok().map(|(s, _)| boxed(s)),
            Listener::Unix(listener) => listener.accept().await.ok().map(|(s, _)| boxed(s)),
        }
    }
}

fn boxed(stream: impl Stream + 'static) -> Box<dyn Stream> {
    Box::new(stream)
}

async fn connect(to: &Endpoint) -> Option<Box<dyn Stream>> {
    match to {
        Endpoint::Tcp(address) => TcpStream::connect(address).await.ok().map(boxed),
        Endpoint::Unix(path) => UnixStream::connect(path).await.ok().map(boxed),
    }
}

/// Forwards a listening endpoint to a target while up; cutting it kills every open connection.
pub struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a random port of 127.0.0.1 and forwards to `target` (`host:port`).
    pub async fn start(target: &'static str) -> Proxy {
        Self::bridge(
            Endpoint::Tcp("127.0.0.1:0".into()),
            Endpoint::Tcp(target.into()),
        )
        .await
    }

    /// Listens on `from` and forwards every connection to `to`.
    pub async fn bridge(from: Endpoint, to: Endpoint) -> Proxy {
        let listener = Listener::bind(&from).await;
        let port = listener.port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2) = (up.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Some(mut inbound) = listener.accept().await {
                // Checked and recorded under the lock `cut` drains, so no link opened while the
                // proxy is being cut survives the cut.
                let mut open = links2.lock().unwrap_or_else(PoisonError::into_inner);
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                open.retain(|link| !link.is_finished());
                let to = to.clone();
                open.push(tokio::spawn(async move {
                    if let Some(mut outbound) = connect(&to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                }));
            }
        });
        Proxy {
            port,
            up,
            links,
            accept,
        }
    }

    /// The local port that reaches the target (0 when listening on a Unix socket).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes every open link and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        let mut open = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        for link in open.drain(..) {
            link.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
