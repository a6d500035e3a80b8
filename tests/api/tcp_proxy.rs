//! A TCP proxy the tests control, for cutting the app off its database and restoring it.
//!
//! `Proxy::start("127.0.0.1:5432")` listens on a random local port and forwards every connection
//! to the target while it is up. `cut` closes every open link at once (both sides see the
//! connection end, as when a database fails over or a network link drops) and refuses new ones
//! until `restore`. Traffic stays on 127.0.0.1.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards 127.0.0.1:<port> to a target while up; cutting it kills every open connection.
pub struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2) = (up.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                // Checked and recorded under the lock `cut` drains, so no link opened while the
                // proxy is being cut survives the cut.
                let mut open = links2.lock().unwrap_or_else(PoisonError::into_inner);
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                open.retain(|link| !link.is_finished());
                open.push(tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
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

    /// The local port that reaches the target.
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
