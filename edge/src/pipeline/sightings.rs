//! Where the origin host may appear in the HTML stage's input, so that the attribute handler
//! reads the attributes of only the start tags that may contain it.
//!
//! An attribute rewrite needs the host in the value, written out or with some of its characters
//! as HTML character references (an encoder that follows OWASP's advice writes every dot as
//! `&#x2e;`). So a start tag whose source bytes hold neither the host, in any letter case, nor a
//! reference to one of a URL's punctuation characters (`.`, `/`, `:`) has nothing to rewrite.
//! Finding that out from lol_html means copying out every attribute's name and value; finding
//! it here is one case-insensitive search for the host ([`HostFinder`]) and a look after each
//! `&`, made before lol_html sees the bytes.

use super::host_search::HostFinder;
use super::words::for_each_position;
use std::collections::VecDeque;
use std::ops::Range;

/// The most sightings held. Text between two start tags (a 20 MB inline script) may name the
/// host without end; past this many, the oldest are dropped and every tag that starts before
/// them counts as holding the host: slower for that tag, never wrong, and memory stays flat.
const MAX_SIGHTINGS: usize = 4096;

/// The longest reference to URL punctuation looked for: `&#x0002e;`, `&period;`. (A reference
/// padded with more zeros is not sighted.)
const MAX_REFERENCE: usize = 9;

/// The origin host's occurrences in a document's bytes, and references to URL punctuation, by
/// absolute offset, as they stream by.
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
    /// The last bytes scanned, enough to hold all but the last byte of the host or of a
    /// reference: where a sighting that the next write completes may start.
    tail: Vec<u8>,
    /// Sightings not yet passed by a start tag (where each starts and ends), in increasing order.
    sightings: VecDeque<Range<usize>>,
    /// The end of the last sighting dropped for room, if any (see [`MAX_SIGHTINGS`]).
    dropped_until: Option<usize>,
}

/// What the bytes after an `&` are.
#[derive(Debug, PartialEq, Eq)]
enum Reference {
    /// A reference to `.`, `/` or `:`, this long.
    Punctuation(usize),
    /// Anything else.
    Other,
    /// Too few bytes to tell.
    Undecided,
}

/// Reads the reference at the start of `bytes` (which start with `&`).
fn reference_at(bytes: &[u8]) -> Reference {
    const NAMED: [&[u8]; 3] = [b"&period;", b"&sol;", b"&colon;"];
    for name in NAMED {
        let n = name.len().min(bytes.len());
        if bytes[..n].eq_ignore_ascii_case(&name[..n]) {
            return match n == name.len() {
                true => Reference::Punctuation(n),
                false => Reference::Undecided,
            };
        }
    }
    let Some(b'#') = bytes.get(1) else {
        return match bytes.len() {
            1 => Reference::Undecided,
            _ => Reference::Other,
        };
    };
    let hex = matches!(bytes.get(2), Some(b'x' | b'X'));
    let digits_at = if hex { 3 } else { 2 };
    let digits = bytes[digits_at.min(bytes.len())..]
        .iter()
        .take_while(|b| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count();
    let end = digits_at + digits;
    if end >= bytes.len() {
        // The digits may go on, or a `;` may follow.
        return match end < MAX_REFERENCE {
            true => Reference::Undecided,
            false => Reference::Other,
        };
    }
    let text = std::str::from_utf8(&bytes[digits_at..end]).unwrap_or_default();
    let value = u32::from_str_radix(text, if hex { 16 } else { 10 }).ok();
    let semicolon = usize::from(bytes[end] == b';');
    match value {
        Some(0x2e | 0x2f | 0x3a) if end + semicolon <= MAX_REFERENCE => {
            Reference::Punctuation(end + semicolon)
        }
        _ => Reference::Other,
    }
}

impl HostSightings {
    /// Sightings of the host `finder` searches for (in any ASCII letter case).
    pub(crate) fn new(finder: HostFinder) -> Self {
        HostSightings {
            finder,
            scanned: 0,
            tail: Vec::new(),
            sightings: VecDeque::new(),
            dropped_until: None,
        }
    }

    /// Records the sightings in the document's next bytes.
    pub(crate) fn scan(&mut self, input: &[u8]) {
        let HostSightings {
            finder,
            scanned,
            tail,
            sightings,
            dropped_until,
        } = self;
        let mut record = |at: Range<usize>| {
            if sightings.len() == MAX_SIGHTINGS {
                *dropped_until = sightings.pop_front().map(|dropped| dropped.end);
            }
            sightings.push_back(at);
        };
        let keep = finder.len().max(MAX_REFERENCE).saturating_sub(1);
        // First the sightings that start in the tail and end in `input`: a host found in the
        // joined bytes starts in the tail (the bytes taken from `input` are too few to hold
        // one), and a reference is one the last scan could not decide.
        let (held, reach) = (tail.len(), input.len().min(keep));
        let base = *scanned - held;
        let mut undecided = Vec::new();
        for_each_position(tail, b'&', |at| {
            if reference_at(&tail[at..]) == Reference::Undecided {
                undecided.push(at);
            }
        });
        tail.extend_from_slice(&input[..reach]);
        let mut across: Vec<Range<usize>> = finder
            .find_iter(tail)
            .filter(|&at| at < held)
            .map(|at| at..at + finder.len())
            .collect();
        for at in undecided {
            if let Reference::Punctuation(len) = reference_at(&tail[at..]) {
                across.push(at..at + len);
            }
        }
        across.sort_by_key(|sighting| sighting.start);
        for sighting in across {
            record(base + sighting.start..base + sighting.end);
        }
        // Then those wholly in `input`, in order of their start.
        let mut hosts = finder.find_iter(input).peekable();
        for_each_position(input, b'&', |at| {
            if let Reference::Punctuation(len) = reference_at(&input[at..]) {
                while let Some(host) = hosts.next_if(|&host| host < at) {
                    record(*scanned + host..*scanned + host + finder.len());
                }
                record(*scanned + at..*scanned + at + len);
            }
        });
        for host in hosts {
            record(*scanned + host..*scanned + host + finder.len());
        }
        *scanned += input.len();
        if input.len() >= keep {
            tail.clear();
            tail.extend_from_slice(&input[input.len() - keep..]);
        } else {
            tail.drain(..tail.len().saturating_sub(keep));
        }
    }

    /// Whether a sighting lies wholly inside `range`, or may (a sighting there was dropped for
    /// room). Ranges are asked about in increasing order of their start (as start tags come),
    /// so sightings before `range` are forgotten.
    pub(crate) fn contains_host(&mut self, range: Range<usize>) -> bool {
        if self.dropped_until.is_some_and(|end| end > range.start) {
            return true;
        }
        while self
            .sightings
            .front()
            .is_some_and(|sighting| sighting.start < range.start)
        {
            self.sightings.pop_front();
        }
        self.sightings
            .iter()
            .take_while(|sighting| sighting.start < range.end)
            .any(|sighting| sighting.end <= range.end)
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
        assert!(sightings.sightings.is_empty());
    }

    #[test]
    fn endless_sightings_between_two_tags_are_held_in_bounded_memory_and_answered_safely() {
        let text = "www.publisher.example ".repeat(MAX_SIGHTINGS * 3);
        let page = format!("<p>{text}</p><a title=plain>");
        let mut sightings = sightings_of(&[&page]);
        assert_eq!(sightings.sightings.len(), MAX_SIGHTINGS);
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
        let at = page.find("WWW").unwrap();
        assert_eq!(
            Vec::from(sightings.sightings.clone()),
            vec![at..at + HOST.len()]
        );
        assert!(sightings.tail.len() < HOST.len());
        let a = page.find("<a").unwrap()..page.find("/>").unwrap() + 2;
        assert!(sightings.contains_host(a));
    }

    #[test]
    fn references_to_url_punctuation_are_sighted_at_every_split() {
        let page = "<a href=\"https&#x3a;&#x2f;&#x2F;www&#46;publisher&period;example\">a</a><p title=\"&#8217;&amp;&#46x\">";
        let a = 0..page.find(">a<").unwrap() + 1;
        let p = page.find("<p").unwrap()..page.len();
        for split in 0..=page.len() {
            let mut sightings = sightings_of(&[&page[..split], &page[split..]]);
            assert!(sightings.contains_host(a.clone()), "split at {split}");
            assert!(
                sightings.contains_host(p.clone()),
                "split at {split}: &#46 without its ;"
            );
        }
        for split in 0..=page.len() {
            let mut sightings = sightings_of(&[&page[..split], &page[split..]]);
            let mut count = 0;
            while sightings.sightings.pop_front().is_some() {
                count += 1;
            }
            assert_eq!(count, 6, "each sighting once, split at {split}");
        }
    }

    #[test]
    fn other_references_are_not_sightings() {
        let page = "<p title=\"&#8217; &amp; &nbsp; &#x2e0; &#0000046; &period\">";
        let mut sightings = sightings_of(&[page]);
        assert!(!sightings.contains_host(0..page.len()));
    }

    #[test]
    fn a_reference_read_one_byte_at_a_time_is_sighted_once() {
        let page = "<a href=\"x&#x2E;y&sol;\">";
        let bytes: Vec<String> = page.chars().map(String::from).collect();
        let pieces: Vec<&str> = bytes.iter().map(String::as_str).collect();
        let sightings = sightings_of(&pieces);
        assert_eq!(sightings.sightings.len(), 2);
    }
}
