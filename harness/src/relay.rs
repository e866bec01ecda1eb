//! A loopback relay in front of each origin: it keeps Viceroy's start-up probe away from the
//! origin, and lets an instance be lent to one test after another.
//!
//! Before it listens, Viceroy sends one `GET` to every backend URL. A test that counts requests
//! (`Mock::expect(1)`) or scripts exactly one response must not see it. So each loopback origin
//! is given to Viceroy as a relay: until the instance is up the relay answers every connection
//! itself with a 503 and closes it; from then on it copies bytes both ways, untouched and
//! unbuffered, so timing and framing are what the origin sent.
//!
//! Because Viceroy only knows the relay's address, a shared instance serves the next test's
//! origin once its relays are pointed there ([`Relay::retarget`]). Between two tests every
//! connection the relay carries is closed ([`Relay::close_connections`]), so a connection
//! Viceroy keeps alive never reaches the next test's origin.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

const NOT_YET: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

#[derive(Default)]
struct State {
    open: AtomicBool,
    target: Mutex<Option<SocketAddr>>,
    connections: Mutex<Vec<AbortHandle>>,
}

pub(crate) struct Relay {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Relay {
    pub(crate) fn start(target: SocketAddr) -> std::io::Result<Relay> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        *state.target.lock().expect("relay state") = Some(target);
        let shared = Arc::clone(&state);
        let task = crate::runtime::runtime().spawn(async move {
            let Ok(listener) = TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((client, _)) = listener.accept().await {
                let target = shared
                    .open
                    .load(Ordering::SeqCst)
                    .then(|| *shared.target.lock().expect("relay state"))
                    .flatten();
                let connection = tokio::spawn(carry(client, target));
                let mut connections = shared.connections.lock().expect("relay state");
                connections.retain(|c| !c.is_finished());
                connections.push(connection.abort_handle());
            }
        });
        Ok(Relay { addr, state, task })
    }

    /// From now on connections reach the origin.
    pub(crate) fn open(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }

    /// New connections reach `target` from now on.
    pub(crate) fn retarget(&self, target: SocketAddr) {
        *self.state.target.lock().expect("relay state") = Some(target);
    }

    /// Closes every connection carried so far, and answers new ones with a 503 until the next
    /// [`retarget`](Self::retarget).
    pub(crate) fn close_connections(&self) {
        *self.state.target.lock().expect("relay state") = None;
        for connection in self
            .state
            .connections
            .lock()
            .expect("relay state")
            .drain(..)
        {
            connection.abort();
        }
    }
}

/// One connection: answered with a 503 when there is no target, else copied both ways.
async fn carry(mut client: TcpStream, target: Option<SocketAddr>) {
    let Some(target) = target else {
        let _ = client.write_all(NOT_YET).await;
        let _ = client.shutdown().await;
        return;
    };
    let Ok(mut origin) = TcpStream::connect(target).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = origin.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut origin).await;
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.close_connections();
        self.task.abort();
    }
}
