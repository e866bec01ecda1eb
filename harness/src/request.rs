//! Building and sending one request over a raw TCP stream (or TLS over one): the request half of
//! the wire client. What comes back is read by [`reader`](crate::reader) into a [`Wire`].

use crate::errors::HarnessError;
use crate::logs::LogBook;
use crate::reader::Reader;
use crate::wire::Wire;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A request to send through the wire client.
///
/// ```no_run
/// # async fn demo(edge: harness::Edge) -> Result<(), harness::HarnessError> {
/// let wire = edge
///     .request("GET", "/page")
///     .header("accept-encoding", "gzip")
///     .timeout(std::time::Duration::from_secs(5))
///     .send()
///     .await?;
/// wire.assert_status(200).assert_chunked();
/// # Ok(()) }
/// ```
#[must_use = "a request does nothing until sent"]
pub struct WireRequest {
    addr: String,
    method: String,
    target: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    timeout: Duration,
    log: Option<LogBook>,
    sent: Option<Arc<AtomicUsize>>,
    tls: Option<Tls>,
    version: &'static str,
}

/// HTTPS: the server name to verify, and extra roots to trust besides the public ones.
#[derive(Clone)]
struct Tls {
    server_name: String,
    extra_roots_pem: Vec<u8>,
}

/// What the reader reads from: a TCP stream, or TLS over one.
pub(crate) trait Transport:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Transport for T {}

impl WireRequest {
    /// A request to `addr` (`host:port`) for `target` (`/path?query`, or an absolute URI).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let wire = harness::WireRequest::new("127.0.0.1:7676", "GET", "/slow").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn new(addr: impl Into<String>, method: &str, target: &str) -> Self {
        WireRequest {
            addr: addr.into(),
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(30),
            log: None,
            sent: None,
            tls: None,
            version: "HTTP/1.1",
        }
    }

    /// Speaks HTTP/1.0: the server then cannot use chunked framing, and a body without a length
    /// ends when the connection does. What old clients and some monitoring tools do.
    ///
    /// ```no_run
    /// # async fn demo(edge: harness::Edge) -> Result<(), harness::HarnessError> {
    /// let wire = edge.get("/").http_1_0().send().await?;
    /// wire.assert_header_present("content-length");
    /// # Ok(()) }
    /// ```
    pub fn http_1_0(mut self) -> Self {
        self.version = "HTTP/1.0";
        self
    }

    /// Speaks HTTPS (HTTP/1.1 over TLS), verifying the certificate for `server_name` against
    /// the public web roots.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// let wire = harness::WireRequest::new("www.example.com:443", "GET", "/")
    ///     .tls("www.example.com")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls(mut self, server_name: &str) -> Self {
        self.tls = Some(Tls {
            server_name: server_name.to_owned(),
            extra_roots_pem: Vec::new(),
        });
        self
    }

    /// Trusts the certificates in this PEM text too (a test server's own CA).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let pem = std::fs::read("ca.pem")?;
    /// let wire = harness::WireRequest::new("localhost:8443", "GET", "/")
    ///     .tls("localhost")
    ///     .tls_root_pem(pem)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn tls_root_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        if let Some(tls) = &mut self.tls {
            tls.extra_roots_pem = pem.into();
        }
        self
    }

    async fn connect(&self) -> Result<Box<dyn Transport>, HarnessError> {
        let socket = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| HarnessError::io(format!("connecting to {}", self.addr), e))?;
        socket.set_nodelay(true).ok();
        let Some(tls) = &self.tls else {
            return Ok(Box::new(socket));
        };
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&tls.extra_roots_pem) {
            let cert = cert.map_err(|e| HarnessError::Protocol(format!("bad root PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| HarnessError::Protocol(format!("bad root certificate: {e}")))?;
        }
        // rustls 0.23.48 deprecates ring's provider for its lack of post-quantum key exchange,
        // which a test client talking to a local Viceroy has no use for; aws-lc-rs, the
        // provider it points to, needs a C toolchain and CMake on every machine that builds
        // the harness.
        #[allow(deprecated)]
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HarnessError::Protocol(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = rustls::pki_types::ServerName::try_from(tls.server_name.clone())
            .map_err(|e| HarnessError::Protocol(format!("{}: {e}", tls.server_name)))?;
        let stream = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect(name, socket)
            .await
            .map_err(|e| HarnessError::io(format!("TLS with {}", tls.server_name), e))?;
        Ok(Box::new(stream))
    }

    /// Ties the request to an instance's lease: failures show its log, and the lease counts
    /// the request so it can wait for Viceroy to finish it.
    pub(crate) fn with_lease(mut self, log: LogBook, sent: Arc<AtomicUsize>) -> Self {
        self.log = Some(log);
        self.sent = Some(sent);
        self
    }

    /// Adds a header (several of one name are sent as given). A `host` header replaces the
    /// default one. The value is sent byte for byte: HTTP allows any octet 0x80-0xFF in a
    /// value, so `b"Mozilla \xff"` is a fair test input.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let request = harness::WireRequest::new("127.0.0.1:7676", "GET", "/")
    ///     .header("user-agent", b"Mozilla \xff\xfe");
    /// # Ok(()) }
    /// ```
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// A request body (sent with a Content-Length).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let request = harness::WireRequest::new("127.0.0.1:7676", "POST", "/form").body("a=1&b=2");
    /// # Ok(()) }
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// How long to wait for the whole response.
    ///
    /// ### Default
    /// 30 seconds.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let request = harness::WireRequest::new("127.0.0.1:7676", "GET", "/slow")
    ///     .timeout(std::time::Duration::from_secs(5));
    /// # Ok(()) }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes =
            format!("{} {} {}\r\n", self.method, self.target, self.version).into_bytes();
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            bytes.extend_from_slice(format!("host: {}\r\n", self.addr).as_bytes());
        }
        for (name, value) in &self.headers {
            bytes.extend_from_slice(name.as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value);
            bytes.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty() {
            bytes.extend_from_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        bytes
    }

    /// Sends the request and records the response until it ends, the peer closes, or the
    /// timeout passes.
    pub async fn send(self) -> Result<Wire, HarnessError> {
        let mut socket = self.connect().await?;
        if let Some(sent) = &self.sent {
            sent.fetch_add(1, Ordering::SeqCst);
        }
        let sent_at = Instant::now();
        socket
            .write_all(&self.encode())
            .await
            .map_err(|e| HarnessError::io("sending the request", e))?;
        // TLS holds written bytes until flushed.
        socket
            .flush()
            .await
            .map_err(|e| HarnessError::io("sending the request", e))?;
        let head_only = self.method.eq_ignore_ascii_case("HEAD");
        let mut reader = Reader::new(socket, tokio::time::Instant::now() + self.timeout);
        let framing = reader.read_response(head_only).await;
        Ok(reader.into_wire(
            format!("{} {}", self.method, self.target),
            sent_at,
            framing,
            self.log,
        ))
    }
}
