//! Where the origin host appears in the HTML stage's input, so that the attribute handler reads
//! the attributes of only the start tags that contain it.
//!
//! Every attribute rewrite needs the host's own bytes in the value (entities are not decoded:
//! lol_html hands values over as written), so a start tag whose source bytes do not contain the
//! host, in any letter case, has nothing to rewrite. Finding that out from lol_html means
//! copying out and lowercasing every attribute's name and value; finding it here is one
//! lowercase-and-search pass over the input, made before lol_html sees it.

use super::url::make_lowercase;
use memchr::memmem;
use std::collections::VecDeque;
use std::ops::Range;

/// The input is lowercased for the search this many bytes at a time, whatever the size of a write.
const SCAN_PIECE: usize = 16 * 1024;

/// The most sightings held. Text between two start tags (a 20 MB inline script) may name the
/// host without end; past this many, the oldest are dropped and every tag that starts before
/// them counts as holding the host: slower for that tag, never wrong, and memory stays flat.
const MAX_SIGHTINGS: usize = 4096;

/// The origin host's occurrences in a document's bytes, by absolute offset, as they stream by.
///
/// ```text
/// scan(b"<a href=\"https://WWW.Pub")   // 24 bytes: the host starts at 17, not yet whole
/// scan(b"lisher.Example/a\">")         // now it is found, at 17..38
/// contains_host(0..42) == true        // the whole tag holds it: its attributes are read
/// ```
pub(crate) struct HostSightings {
    finder: memmem::Finder<'static>,
    host_len: usize,
    /// The absolute offset of the next byte to be scanned.
    scanned: usize,
    /// The lowercased bytes being searched: the end of the last piece (too short to hold the
    /// host, but perhaps its start), then the next piece.
    lower: Vec<u8>,
    /// Offsets of occurrences not yet passed by a start tag, in increasing order.
    starts: VecDeque<usize>,
    /// The last sighting dropped for room, if any (see [`MAX_SIGHTINGS`]).
    dropped_until: Option<usize>,
}

impl HostSightings {
    /// Sightings of `host` (matched in any ASCII letter case).
    pub(crate) fn new(host: &str) -> Self {
        let host = host.to_ascii_lowercase();
        HostSightings {
            finder: memmem::Finder::new(host.as_bytes()).into_owned(),
            host_len: host.len(),
            scanned: 0,
            lower: Vec::new(),
            starts: VecDeque::new(),
            dropped_until: None,
        }
    }

    /// Records the occurrences in the document's next bytes.
    pub(crate) fn scan(&mut self, input: &[u8]) {
        for piece in input.chunks(SCAN_PIECE) {
            let carried = self.lower.len();
            self.lower.extend_from_slice(piece);
            make_lowercase(&mut self.lower[carried..]);
            // `lower[0]` is this many bytes before the piece.
            let origin = self.scanned - carried;
            for at in self.finder.find_iter(&self.lower) {
                if self.starts.len() == MAX_SIGHTINGS {
                    self.dropped_until = self.starts.pop_front();
                }
                self.starts.push_back(origin + at);
            }
            self.scanned += piece.len();
            // What is carried over cannot hold a whole occurrence, so none is found twice.
            let keep = self.host_len.saturating_sub(1).min(self.lower.len());
            self.lower.drain(..self.lower.len() - keep);
        }
    }

    /// Whether an occurrence lies wholly inside `range`, or may (a sighting there was
    /// dropped for room). Ranges are asked about in increasing order of their start (as start
    /// tags come), so sightings before `range` are forgotten.
    pub(crate) fn contains_host(&mut self, range: Range<usize>) -> bool {
        if self.dropped_until.is_some_and(|at| at >= range.start) {
            return true;
        }
        while self.starts.front().is_some_and(|&at| at < range.start) {
            self.starts.pop_front();
        }
        self.starts
            .front()
            .is_some_and(|&at| at + self.host_len <= range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "www.publisher.example";

    fn sightings_of(pieces: &[&str]) -> HostSightings {
        let mut sightings = HostSightings::new(HOST);
        for piece in pieces {
            sightings.scan(piece.as_bytes());
        }
        sightings
    }

    #[test]
    fn finds_the_host_in_any_case_and_across_pieces() {
        let page = r#"<a href="https://WWW.Publisher.Example/a">x</a><img src="//www.publisher.example/i">"#;
        let a = 0..page.find("x</a>").unwrap();
        let img_start = page.find("<img").unwrap();
        let img = img_start..page.len();
        for split in 0..=page.len() {
            let mut sightings = sightings_of(&[&page[..split], &page[split..]]);
            assert!(sightings.contains_host(a.clone()), "split at {split}");
            assert!(sightings.contains_host(img.clone()), "split at {split}");
        }
    }

    #[test]
    fn a_tag_without_the_host_has_no_sighting_even_with_one_on_either_side() {
        let page = "www.publisher.example <p class=\"www.publisher\">www.publisher.example";
        let p = page.find("<p").unwrap()..page.find('>').unwrap() + 1;
        let mut sightings = sightings_of(&[page]);
        assert!(!sightings.contains_host(p));
    }

    #[test]
    fn a_host_cut_by_the_end_of_a_tag_is_not_inside_it() {
        let page = "<a title=www.publisher.exam>ple";
        let mut sightings = sightings_of(&[page]);
        assert!(!sightings.contains_host(0..page.find('>').unwrap() + 1));
    }

    #[test]
    fn sightings_behind_the_asked_range_are_forgotten() {
        let page = "www.publisher.example ".repeat(1000);
        let mut sightings = sightings_of(&[&page]);
        assert!(!sightings.contains_host(page.len()..page.len() + 1));
        assert!(sightings.starts.is_empty());
    }

    #[test]
    fn endless_sightings_between_two_tags_are_held_in_bounded_memory_and_answered_safely() {
        let text = "www.publisher.example ".repeat(MAX_SIGHTINGS * 3);
        let page = format!("<p>{text}</p><a title=plain>");
        let mut sightings = sightings_of(&[&page]);
        assert_eq!(sightings.starts.len(), MAX_SIGHTINGS);
        // A tag opening among the dropped sightings may hold one: it is read.
        assert!(sightings.contains_host(3..page.len()));
        // A tag after them all is answered exactly.
        let a = page.find("<a").unwrap()..page.len();
        assert!(!sightings.contains_host(a));
    }

    #[test]
    fn a_write_larger_than_a_scan_piece_is_scanned_in_pieces() {
        let filler = "a".repeat(SCAN_PIECE - 5);
        let page = format!("{filler}<a href=https://www.publisher.example/>");
        let mut sightings = sightings_of(&[&page]);
        assert!(sightings.contains_host(filler.len()..page.len()));
        assert!(sightings.lower.len() < HOST.len());
    }
}
