//! Bytes eight at a time, as the lanes of a `u64`: the wasm32 build has no SIMD, and the passes
//! that read every byte of a page (lowercasing for the URL matcher, searching for the origin
//! host) cost a third as much this way as a byte at a time.

/// One byte in each of a word's eight lanes.
pub(crate) const EACH: u64 = 0x0101_0101_0101_0101;
/// The high bit of each lane.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of every lane of `word` that is zero is set; a lane just above a zero one may
/// be set too (a borrow), so a caller checks each lane it is given.
pub(crate) fn zero_lanes(word: u64) -> u64 {
    word.wrapping_sub(EACH) & !word & HIGH
}

/// `bytes` to ASCII lower case in place, as [`u8::make_ascii_lowercase`] does.
pub(crate) fn make_lowercase(bytes: &mut [u8]) {
    let mut words = bytes.chunks_exact_mut(8);
    for word in &mut words {
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(&*word).expect("eight bytes"));
        word.copy_from_slice(&lowercase_word(w).to_le_bytes());
    }
    words.into_remainder().make_ascii_lowercase();
}

/// Eight bytes, each lowercased if it is `A` to `Z`. Each byte's low seven bits plus a constant
/// sets its high bit exactly when they reach a bound, without carrying into the next byte.
fn lowercase_word(w: u64) -> u64 {
    let ascii = !w & HIGH;
    let low = w & !HIGH;
    let from_a = low + EACH * u64::from(0x80 - b'A');
    let past_z = low + EACH * u64::from(0x80 - b'Z' - 1);
    let upper = from_a & !past_z & ascii;
    // The high bit, moved down two places, is the case bit 0x20.
    w | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowercase(bytes: &[u8]) -> Vec<u8> {
        let mut lower = bytes.to_vec();
        make_lowercase(&mut lower);
        lower
    }

    #[test]
    fn make_lowercase_agrees_with_the_standard_library_on_every_byte_and_length() {
        // Every byte value at every place in a word, next to every other.
        let every: Vec<u8> = (0..=255u8).collect();
        for length in 0..every.len() {
            for shift in [0, 1, 3, 7] {
                let bytes: Vec<u8> = every
                    .iter()
                    .cycle()
                    .skip(shift)
                    .take(length)
                    .copied()
                    .collect();
                assert_eq!(lowercase(&bytes), bytes.to_ascii_lowercase());
            }
        }
        let mut pairs: Vec<u8> = (0..=255u8)
            .flat_map(|a| (0..=255u8).map(move |b| [a, b]))
            .flatten()
            .collect();
        let expected = pairs.to_ascii_lowercase();
        make_lowercase(&mut pairs);
        assert_eq!(pairs, expected);
    }

    #[test]
    fn zero_lanes_marks_every_zero_byte() {
        for zero in 0..8 {
            for other in 1..=255u8 {
                let mut bytes = [other; 8];
                bytes[zero] = 0;
                let lanes = zero_lanes(u64::from_le_bytes(bytes));
                assert_ne!(lanes & (0x80 << (8 * zero)), 0, "lane {zero} among {other}");
                // Below the zero lane no borrow reaches: nothing is marked there.
                assert_eq!(lanes & ((1u64 << (8 * zero)) - 1), 0);
            }
        }
    }
}
