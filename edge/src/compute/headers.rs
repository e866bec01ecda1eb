//! Fastly's `Response` seen through the policy's [`Headers`] trait.

use fastly::Response;
use sluice_edge::policy::headers::Headers;

pub(crate) struct ResponseHeaders<'a>(pub &'a mut Response);

impl Headers for ResponseHeaders<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get_header_str(name).map(str::to_owned)
    }

    fn set(&mut self, name: &str, value: &str) {
        self.0.set_header(name, value);
    }

    fn append(&mut self, name: &str, value: &str) {
        self.0.append_header(name, value);
    }

    fn remove(&mut self, name: &str) {
        self.0.remove_header(name);
    }
}
