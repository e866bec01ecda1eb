//! A loopback relay in front of each origin that keeps Viceroy's start-up probe away from it.
//!
//! Before it listens, Viceroy sends one `GET` to every backend URL. A test that counts requests
//! (`Mock::expect(1)`) or scripts exactly one response must not see it. So each loopback origin
//! is given to Viceroy as a relay: until the instance is up the relay answers every connection
//! itself with a 503 and closes it; from then on it copies bytes both ways, untouched and
//! unbuffered, so timing and framing are what the origin sent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const NOT_YET: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

pub(crate) struct Relay {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Relay {
    pub(crate) fn start(target: SocketAddr) -> std::io::Result<Relay> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(false));
        let is_open = Arc::clone(&open);
        let task = crate::runtime::runtime().spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((mut client, _)) = listener.accept().await {
                let open = is_open.load(Ordering::SeqCst);
                tokio::spawn(async move {
                    if !open {
                        let _ = client.write_all(NOT_YET).await;
                        let _ = client.shutdown().await;
                        return;
                    }
                    let Ok(mut origin) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = origin.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut origin).await;
                });
            }
        });
        Ok(Relay { addr, open, task })
    }

    /// From now on connections reach the origin.
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
