//! Reading one HTTP/1.1 response strictly, recording a timeline of events as it arrives: the
//! head, each chunk of a chunked body as it completes, the 0-chunk terminator, a close, a
//! failure, a time-out.
//!
//! Chunked framing is parsed strictly (a size line of hex digits, the data, CRLF); a response
//! that breaks it is recorded as a failure, not repaired.

use crate::logs::LogBook;
use crate::request::Transport;
use crate::wire::{Event, Framing, Wire};
use std::time::Instant;
use tokio::io::AsyncReadExt;

enum Fill {
    More,
    Closed,
    Stopped,
}

pub(crate) struct Reader {
    socket: Box<dyn Transport>,
    buf: Vec<u8>,
    deadline: tokio::time::Instant,
    events: Vec<Event>,
    /// The final head's headers as received, bytes and all.
    raw_headers: Vec<(String, Vec<u8>)>,
    /// The final head's HTTP version (`HTTP/1.1`).
    version: String,
    body: Vec<u8>,
}

impl Reader {
    pub(crate) fn new(socket: Box<dyn Transport>, deadline: tokio::time::Instant) -> Self {
        Reader {
            socket,
            buf: Vec::new(),
            deadline,
            events: Vec::new(),
            raw_headers: Vec::new(),
            version: String::new(),
            body: Vec::new(),
        }
    }

    /// What was read, as a [`Wire`].
    pub(crate) fn into_wire(
        self,
        request: String,
        sent_at: Instant,
        framing: Framing,
        log: Option<LogBook>,
    ) -> Wire {
        Wire {
            request,
            sent_at,
            events: self.events,
            raw_headers: self.raw_headers,
            version: self.version,
            body: self.body,
            framing,
            log,
        }
    }

    /// Reads more bytes into `buf`, recording a close, failure or time-out as an event.
    async fn fill(&mut self) -> Fill {
        let mut piece = [0u8; 16 * 1024];
        match tokio::time::timeout_at(self.deadline, self.socket.read(&mut piece)).await {
            Err(_) => {
                self.events.push(Event::TimedOut { at: Instant::now() });
                Fill::Stopped
            }
            Ok(Ok(0)) => {
                self.events.push(Event::Closed { at: Instant::now() });
                Fill::Closed
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&piece[..n]);
                Fill::More
            }
            Ok(Err(e)) => {
                self.fail(format!("read failed: {e}"));
                Fill::Stopped
            }
        }
    }

    fn fail(&mut self, error: String) {
        self.events.push(Event::Failed {
            error,
            at: Instant::now(),
        });
    }

    /// Fills until `buf` holds a CRLF-terminated line; returns it without the CRLF.
    async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if self.buf.len() > 64 * 1024 {
                self.fail("a line longer than 64 KiB".into());
                return None;
            }
            if !matches!(self.fill().await, Fill::More) {
                return None;
            }
        }
    }

    pub(crate) async fn read_response(&mut self, head_only: bool) -> Framing {
        let Some(status) = self.read_head().await else {
            return Framing::None;
        };
        let headers = match self.events.last() {
            Some(Event::Head { headers, .. }) => headers.clone(),
            _ => Vec::new(),
        };
        let value = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let framing = if head_only || status < 200 || status == 204 || status == 304 {
            Framing::None
        } else if value("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            Framing::Chunked
        } else if let Some(length) = value("content-length") {
            match length.parse() {
                Ok(n) => Framing::Length(n),
                Err(_) => {
                    self.fail(format!("content-length {length:?} is not a number"));
                    return Framing::None;
                }
            }
        } else {
            Framing::UntilClose
        };
        match framing {
            Framing::Chunked => self.read_chunked().await,
            Framing::Length(n) => self.read_raw(Some(n)).await,
            Framing::UntilClose => self.read_raw(None).await,
            Framing::None => {}
        }
        framing
    }

    async fn read_head(&mut self) -> Option<u16> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                let mut slots = vec![httparse::EMPTY_HEADER; 512];
                let mut response = httparse::Response::new(&mut slots);
                return match response.parse(&head) {
                    Ok(httparse::Status::Complete(_)) => {
                        let status = response.code.unwrap_or(0);
                        self.version = format!("HTTP/1.{}", response.version.unwrap_or(1));
                        self.raw_headers = response
                            .headers
                            .iter()
                            .map(|h| (h.name.to_owned(), h.value.to_vec()))
                            .collect();
                        let headers = response
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_owned(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect();
                        self.events.push(Event::Head {
                            status,
                            headers,
                            at: Instant::now(),
                        });
                        Some(status)
                    }
                    Ok(httparse::Status::Partial) => {
                        self.fail("the head ended early".into());
                        None
                    }
                    Err(e) => {
                        self.fail(format!("the head does not parse: {e}"));
                        None
                    }
                };
            }
            if !matches!(self.fill().await, Fill::More) {
                return None;
            }
        }
    }

    async fn read_chunked(&mut self) {
        loop {
            let Some(line) = self.line().await else {
                return;
            };
            let Some(size) = parse_chunk_size(&line) else {
                self.fail(format!(
                    "bad chunk size line {:?}",
                    String::from_utf8_lossy(&line)
                ));
                return;
            };
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    match self.line().await {
                        Some(line) if line.is_empty() => {
                            self.events.push(Event::Terminator { at: Instant::now() });
                            return;
                        }
                        Some(_) => continue,
                        None => return,
                    }
                }
            }
            while self.buf.len() < size + 2 {
                if !matches!(self.fill().await, Fill::More) {
                    // Keep what arrived of a cut chunk: it is part of the truncated body.
                    let partial = self.buf.len().min(size);
                    self.body.extend(self.buf.drain(..partial));
                    return;
                }
            }
            if &self.buf[size..size + 2] != b"\r\n" {
                self.fail("chunk data not followed by CRLF".into());
                return;
            }
            self.body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            self.events.push(Event::Chunk {
                len: size,
                at: Instant::now(),
            });
        }
    }

    async fn read_raw(&mut self, length: Option<u64>) {
        let mut remaining = length.unwrap_or(u64::MAX);
        loop {
            if !self.buf.is_empty() {
                let take = (self.buf.len() as u64).min(remaining) as usize;
                self.body.extend(self.buf.drain(..take));
                remaining -= take as u64;
                self.events.push(Event::Chunk {
                    len: take,
                    at: Instant::now(),
                });
            }
            if remaining == 0 {
                return;
            }
            if !matches!(self.fill().await, Fill::More) {
                return;
            }
        }
    }
}

/// Strict: one or more hex digits, optionally followed by `;extensions`.
pub(crate) fn parse_chunk_size(line: &[u8]) -> Option<usize> {
    let digits = line.split(|&b| b == b';').next()?;
    let digits = std::str::from_utf8(digits)
        .ok()?
        .trim_end_matches([' ', '\t']);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    usize::from_str_radix(digits, 16).ok()
}
