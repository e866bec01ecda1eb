//! Finding the origin host in bytes, in any letter case, sixteen candidate starts at a time.
//!
//! Every byte of an HTML page, and every inline script, style and attribute value that may hold
//! a URL, is searched for the origin host. The wasm32 build has no SIMD, and there memchr's
//! portable search reads four bytes (a `usize`) at a time and leaves its loop at every occurrence
//! of the host's rarest byte to test a second one: on a page about Python whose host is
//! `bugs.python.org`, the `y` of every "Python". This search tests two of the host's bytes (the
//! pair memchr ranks rarest) together in 64-bit words, two words a turn, and leaves its loop only
//! where both match; each such place is then compared with the whole host.
//!
//! Letter case is folded as bytes are read: a word ORed with the case bit `0x20` in every byte has
//! every capital letter in lower case (and a few punctuation bytes moved onto others, which the
//! whole-host comparison turns away).

use super::words::{EACH, zero_lanes};

/// A case-insensitive search for one host name: `www.publisher.example` is found in
/// `see HTTPS://WWW.Publisher.Example/` at 12.
#[derive(Debug, Clone)]
pub(crate) struct HostFinder {
    /// The host in lower case.
    host: Box<[u8]>,
    first: Probe,
    second: Probe,
}

/// One byte of the host, tested at its place in eight candidate starts at once.
#[derive(Debug, Clone, Copy)]
struct Probe {
    /// Where the byte sits in the host.
    at: usize,
    /// The case bit in every lane if the byte has it (a letter in lower case has), else zero: a
    /// byte without the case bit is compared as it is.
    fold: u64,
    /// The byte in every lane.
    want: u64,
}

impl Probe {
    fn new(at: usize, byte: u8) -> Self {
        Probe {
            at,
            fold: EACH * u64::from(byte & 0x20),
            want: EACH * u64::from(byte),
        }
    }

    /// The high bit of lane `k` is set if byte `k` of `word` (eight bytes, the first in lane 0)
    /// may be this byte: every lane that holds it, and perhaps some that do not (see
    /// [`zero_lanes`]), which the whole-host comparison turns away.
    fn lanes(&self, word: &[u8]) -> u64 {
        let word = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        zero_lanes((word | self.fold) ^ self.want)
    }
}

impl HostFinder {
    /// A search for `host`, in any letter case.
    pub(crate) fn new(host: &[u8]) -> Self {
        let host: Box<[u8]> = host.to_ascii_lowercase().into();
        let (first, second) = match memchr::arch::all::packedpair::Pair::new(&host) {
            Some(pair) => (usize::from(pair.index1()), usize::from(pair.index2())),
            // A host of one byte tests it twice; an empty one is found anywhere without a
            // probe (see `find`).
            None => (0, 0),
        };
        let probe = |at: usize| Probe::new(at, host.get(at).copied().unwrap_or_default());
        HostFinder {
            first: probe(first),
            second: probe(second),
            host,
        }
    }

    /// The host searched for, in lower case.
    pub(crate) fn host(&self) -> &[u8] {
        &self.host
    }

    /// The host's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.host.len()
    }

    /// Where the host first starts in `haystack` at or after `from`.
    pub(crate) fn find(&self, haystack: &[u8], from: usize) -> Option<usize> {
        if self.host.is_empty() {
            return (from <= haystack.len()).then_some(from);
        }
        let last = haystack.len().checked_sub(self.host.len())?;
        if from > last {
            return None;
        }
        // Pair `i` of each probe's run of words holds that probe's byte for the starts
        // `from + 16 i ..`: two words a turn keep the processor's units busy.
        let pairs = |probe: &Probe| haystack[from + probe.at..].chunks_exact(16);
        let mut start = from;
        for (first, second) in pairs(&self.first).zip(pairs(&self.second)) {
            let low = self.first.lanes(&first[..8]) & self.second.lanes(&second[..8]);
            let high = self.first.lanes(&first[8..]) & self.second.lanes(&second[8..]);
            if low | high != 0 {
                for (lanes, base) in [(low, start), (high, start + 8)] {
                    let mut lanes = lanes;
                    while lanes != 0 {
                        let candidate = base + (lanes.trailing_zeros() / 8) as usize;
                        if candidate <= last && self.is_at(haystack, candidate) {
                            return Some(candidate);
                        }
                        lanes &= lanes - 1;
                    }
                }
            }
            start += 16;
        }
        (start..=last).find(|&candidate| self.is_at(haystack, candidate))
    }

    /// Every start of the host in `haystack`, in order (occurrences may overlap).
    pub(crate) fn find_iter<'a>(&'a self, haystack: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
        let mut from = 0;
        std::iter::from_fn(move || {
            let at = self.find(haystack, from)?;
            from = at + 1;
            Some(at)
        })
    }

    fn is_at(&self, haystack: &[u8], start: usize) -> bool {
        haystack[start..start + self.host.len()].eq_ignore_ascii_case(&self.host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the search must agree with: every place the host starts, in any case.
    fn every_start(host: &[u8], haystack: &[u8]) -> Vec<usize> {
        if host.len() > haystack.len() {
            return Vec::new();
        }
        (0..=haystack.len() - host.len())
            .filter(|&at| haystack[at..at + host.len()].eq_ignore_ascii_case(host))
            .collect()
    }

    /// The search agrees with comparing at every place, from every start.
    fn agrees(host: &[u8], haystack: &[u8]) {
        let finder = HostFinder::new(host);
        let expected = every_start(host, haystack);
        assert_eq!(finder.find_iter(haystack).collect::<Vec<_>>(), expected);
        for from in 0..=haystack.len() + 1 {
            let next = expected.iter().copied().find(|&at| at >= from);
            assert_eq!(finder.find(haystack, from), next, "from {from}");
        }
    }

    #[test]
    fn finds_the_host_in_any_case_at_every_place() {
        let host = b"www.publisher.example";
        for at in 0..40 {
            for upper in [false, true] {
                let mut haystack = vec![b'x'; 40 + host.len() + 9];
                let planted = if upper {
                    host.to_ascii_uppercase()
                } else {
                    host.to_vec()
                };
                haystack[at..at + host.len()].copy_from_slice(&planted);
                agrees(host, &haystack);
                for end in at..at + host.len() {
                    agrees(host, &haystack[..end]);
                }
            }
        }
    }

    #[test]
    fn bytes_that_fold_onto_the_host_are_not_it() {
        // `@` ORed with the case bit is a backtick, `[` a brace, `_` stays: none is a letter.
        let finder = HostFinder::new(b"a_b`c.example");
        assert_eq!(finder.find(b"@_B@C.EXAMPLE a^b`c.example", 0), None);
        assert_eq!(finder.find(b"xx A_B`C.Example", 0), Some(3));
        agrees(
            b"a_b`c.example",
            b"@_B@C.EXAMPLE a^b`c.exampleA_B`C.EXAMPLE{_b`c.example",
        );
    }

    #[test]
    fn short_and_empty_hosts() {
        assert_eq!(
            HostFinder::new(b"q")
                .find_iter(b"aQbqq")
                .collect::<Vec<_>>(),
            [1, 3, 4]
        );
        assert_eq!(HostFinder::new(b"").find(b"abc", 2), Some(2));
        assert_eq!(HostFinder::new(b"abc").find(b"ab", 0), None);
        assert_eq!(HostFinder::new(b"abc").find(b"xxabc", 3), None);
        agrees(b"q", b"aQbqq");
    }

    proptest! {
        #[test]
        fn agrees_with_comparing_at_every_place(
            host in "[a-z0-9._-]{1,12}",
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just(None),
                    "[a-zA-Z0-9._@`\\[{\u{1}\u{0}-]{0,20}".prop_map(Some),
                ],
                0..12,
            ),
            upper in proptest::collection::vec(any::<bool>(), 12),
        ) {
            // The haystack: random text with the host, in random case, where a piece is None.
            let mut haystack = Vec::new();
            for (i, piece) in pieces.iter().enumerate() {
                match piece {
                    Some(text) => haystack.extend_from_slice(text.as_bytes()),
                    None if upper[i] => haystack.extend_from_slice(&host.to_ascii_uppercase().into_bytes()),
                    None => haystack.extend_from_slice(host.as_bytes()),
                }
            }
            agrees(host.as_bytes(), &haystack);
        }
    }
}
