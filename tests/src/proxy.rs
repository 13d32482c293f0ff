//! `LinkProxy`: a TCP proxy on loopback that a test can cut (every connection through it is
//! closed, new ones are closed on arrival) and restore, to make a server behind it go away and
//! come back.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A cuttable TCP link to one target; stops when dropped.
pub struct LinkProxy {
    address: SocketAddr,
    up: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl LinkProxy {
    /// Listens on `127.0.0.1:0` and forwards every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (up, _) = watch::channel(true);
        let task = tokio::spawn(accept(listener, target, up.clone()));
        Self { address, up, task }
    }

    /// Where to connect instead of the target.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Closes every connection through the proxy and every new one as it arrives.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: TcpListener, target: SocketAddr, up: watch::Sender<bool>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if !*up.borrow() {
            // Cut: the connection closes at once.
            drop(client);
            continue;
        }
        let mut down = up.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(target).await else {
                return;
            };
            let mut client = client;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = down.wait_for(|up| !*up) => {}
            }
        });
    }
}
