//! Fastly's `Request` and `Response` seen through the policy's header traits: the only place
//! the glue touches header values, and it touches them as bytes. The fastly crate's `*_str`
//! getters panic on a value that is not UTF-8, which clients and origins may send; clippy's
//! `disallowed-methods` (clippy.toml) keeps them out of the program.

use fastly::http::HeaderValue;
use fastly::{Request, Response};
use sluice_edge::policy::headers::{Headers, ReadHeaders};

/// A request's headers, for reading.
pub(crate) struct RequestHeaders<'a>(pub &'a Request);

/// A request's headers, for reading and editing.
pub(crate) struct RequestHeadersMut<'a>(pub &'a mut Request);

/// A response's headers, for reading.
pub(crate) struct ResponseHeaders<'a>(pub &'a Response);

/// A response's headers, for reading and editing.
pub(crate) struct ResponseHeadersMut<'a>(pub &'a mut Response);

/// A value Sluice sets: bytes that cannot be a header value (the policy never makes any) are
/// logged and left out rather than trusted to the fastly crate's conversions.
fn value(name: &str, bytes: &[u8]) -> Option<HeaderValue> {
    HeaderValue::from_bytes(bytes)
        .map_err(|_| {
            log::error!("not setting header {name}: its value is not a valid header value")
        })
        .ok()
}

/// Implements the header traits for a read-only and a read-write wrapper of one fastly type
/// (`Request` and `Response` name their header methods alike).
macro_rules! header_access {
    ($read:ident, $write:ident) => {
        impl ReadHeaders for $read<'_> {
            fn get_all(&self, name: &str) -> Vec<&[u8]> {
                self.0
                    .get_header_all(name)
                    .map(HeaderValue::as_bytes)
                    .collect()
            }

            fn names(&self) -> Vec<String> {
                self.0
                    .get_header_names()
                    .map(|n| n.as_str().to_owned())
                    .collect()
            }
        }

        impl ReadHeaders for $write<'_> {
            fn get_all(&self, name: &str) -> Vec<&[u8]> {
                self.0
                    .get_header_all(name)
                    .map(HeaderValue::as_bytes)
                    .collect()
            }

            fn names(&self) -> Vec<String> {
                self.0
                    .get_header_names()
                    .map(|n| n.as_str().to_owned())
                    .collect()
            }
        }

        impl Headers for $write<'_> {
            fn set(&mut self, name: &str, bytes: &[u8]) {
                if let Some(v) = value(name, bytes) {
                    self.0.set_header(name, v);
                }
            }

            fn append(&mut self, name: &str, bytes: &[u8]) {
                if let Some(v) = value(name, bytes) {
                    self.0.append_header(name, v);
                }
            }

            fn remove(&mut self, name: &str) {
                self.0.remove_header(name);
            }
        }
    };
}

header_access!(RequestHeaders, RequestHeadersMut);
header_access!(ResponseHeaders, ResponseHeadersMut);
