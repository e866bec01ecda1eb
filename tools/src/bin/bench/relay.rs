//! A proxy that does not stream, for comparison: it holds each whole response before sending it.

use crate::Result;
use harness::WireRequest;
use std::time::Duration;

/// What a proxy that does not stream gives a reader: a relay in front of the edge that reads
/// the whole response before it sends any of it (with a Content-Length), as Sluice's own
/// buffered path did for Next.js pages until they streamed.
pub struct BufferingRelay {
    pub addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl BufferingRelay {
    pub async fn start(edge: std::net::SocketAddr) -> Result<BufferingRelay> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(relay_one(socket, edge));
            }
        });
        Ok(BufferingRelay { addr, task })
    }
}

impl Drop for BufferingRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one connection's requests: each is sent on to the edge, and its whole response
/// written back at once.
async fn relay_one(mut socket: tokio::net::TcpStream, edge: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    loop {
        let mut piece = [0u8; 8192];
        let Ok(n) = socket.read(&mut piece).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&piece[..n]);
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut head = httparse::Request::new(&mut slots);
        let Ok(httparse::Status::Complete(end)) = head.parse(&buf) else {
            continue;
        };
        let mut request = WireRequest::new(
            edge.to_string(),
            head.method.unwrap_or("GET"),
            head.path.unwrap_or("/"),
        )
        .timeout(Duration::from_secs(60));
        for h in head.headers.iter() {
            if !h.name.eq_ignore_ascii_case("connection") {
                request = request.header(h.name, h.value);
            }
        }
        buf.drain(..end);
        let Ok(wire) = request.send().await else {
            return;
        };
        let mut out = format!("HTTP/1.1 {} Relayed\r\n", wire.status()).into_bytes();
        for (name, value) in wire.headers() {
            if !["transfer-encoding", "content-length", "connection"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
            {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", wire.body().len()).as_bytes());
        out.extend_from_slice(wire.body());
        if socket.write_all(&out).await.is_err() {
            return;
        }
    }
}
