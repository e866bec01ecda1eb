//! Where the origin host appears in the HTML stage's input, so that the attribute handler reads
//! the attributes of only the start tags that contain it.
//!
//! Every attribute rewrite needs the host's own bytes in the value (entities are not decoded:
//! lol_html hands values over as written), so a start tag whose source bytes do not contain the
//! host, in any letter case, has nothing to rewrite. Finding that out from lol_html means
//! copying out and lowercasing every attribute's name and value; finding it here is one
//! case-insensitive search over the input ([`HostFinder`]), made before lol_html sees it.

use super::host_search::HostFinder;
use std::collections::VecDeque;
use std::ops::Range;

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
    finder: HostFinder,
    /// The absolute offset of the next byte to be scanned.
    scanned: usize,
    /// The last bytes scanned, one fewer than the host has: where an occurrence that the next
    /// write completes may start.
    tail: Vec<u8>,
    /// Offsets of occurrences not yet passed by a start tag, in increasing order.
    starts: VecDeque<usize>,
    /// The last sighting dropped for room, if any (see [`MAX_SIGHTINGS`]).
    dropped_until: Option<usize>,
}

impl HostSightings {
    /// Sightings of the host `finder` searches for (in any ASCII letter case).
    pub(crate) fn new(finder: HostFinder) -> Self {
        HostSightings {
            finder,
            scanned: 0,
            tail: Vec::new(),
            starts: VecDeque::new(),
            dropped_until: None,
        }
    }

    /// Records the occurrences in the document's next bytes.
    pub(crate) fn scan(&mut self, input: &[u8]) {
        let HostSightings {
            finder,
            scanned,
            tail,
            starts,
            dropped_until,
        } = self;
        let mut record = |at: usize| {
            if starts.len() == MAX_SIGHTINGS {
                *dropped_until = starts.pop_front();
            }
            starts.push_back(at);
        };
        // First the occurrences that start in the tail and end in `input` (any found in the
        // joined bytes starts in the tail: the bytes taken from `input` are too few to hold one).
        let keep = finder.len().saturating_sub(1);
        let (held, reach) = (tail.len(), input.len().min(keep));
        tail.extend_from_slice(&input[..reach]);
        for at in finder.find_iter(tail) {
            record(*scanned - held + at);
        }
        for at in finder.find_iter(input) {
            record(*scanned + at);
        }
        *scanned += input.len();
        if input.len() >= keep {
            tail.clear();
            tail.extend_from_slice(&input[input.len() - keep..]);
        } else {
            tail.drain(..tail.len().saturating_sub(keep));
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
            .is_some_and(|&at| at + self.finder.len() <= range.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "www.publisher.example";

    fn sightings_of(pieces: &[&str]) -> HostSightings {
        let mut sightings = HostSightings::new(HostFinder::new(HOST.as_bytes()));
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
    fn writes_shorter_than_the_host_are_joined_and_only_its_length_is_held() {
        let page = "<p>x</p><a href=https://WWW.publisher.example/>www.publisher.exampl";
        let bytes: Vec<String> = page.chars().map(String::from).collect();
        let pieces: Vec<&str> = bytes.iter().map(String::as_str).collect();
        let mut sightings = sightings_of(&pieces);
        assert_eq!(sightings.starts, [page.find("WWW").unwrap()]);
        assert!(sightings.tail.len() < HOST.len());
        let a = page.find("<a").unwrap()..page.find("/>").unwrap() + 2;
        assert!(sightings.contains_host(a));
    }
}
