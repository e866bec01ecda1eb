//! The client request's URL as the host gives it, read as bytes and not parsed.
//!
//! The fastly crate parses the URL lazily, with `expect`: a client that sends `Host: :80`,
//! `Host: a:99999` or `OPTIONS *` makes that parse fail, and the program would trap with a 500.
//! So the glue reads the same bytes through the host call itself and hands them to
//! `policy::request::parse_target`, which answers such requests with a 400. Only once the URL is
//! known to parse does the glue let the fastly crate read it.

use fastly::handle::RequestHandle;

/// The first buffer size tried; the host says how much it needs when a URL is longer.
const INITIAL_CAPACITY: usize = 8 * 1024;

/// The raw bytes of the request's URL (`http://host/path?query`); empty if the host gives none.
pub(crate) fn raw_url(request: &RequestHandle) -> Vec<u8> {
    let mut buffer = vec![0u8; INITIAL_CAPACITY];
    loop {
        let mut written = 0;
        // SAFETY: `uri_get` writes at most `buffer.len()` bytes into `buffer`, which is valid for
        // that many bytes, and stores how many it wrote (or, when the buffer is too small, how
        // many it needs) in `written`.
        let status = unsafe {
            fastly_sys::fastly_http_req::uri_get(
                request.as_u32(),
                buffer.as_mut_ptr(),
                buffer.len(),
                &mut written,
            )
        };
        if status.is_ok() {
            buffer.truncate(written.min(buffer.len()));
            return buffer;
        }
        if written > buffer.len() {
            buffer.resize(written, 0);
            continue;
        }
        return Vec::new();
    }
}
