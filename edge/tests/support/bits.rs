//! Consent strings written by hand: bits, most significant first, as TCF and GPP lay them out,
//! and base64url without padding, as they travel.

/// A bit string being built.
#[derive(Default, Clone)]
pub struct Bits(pub Vec<bool>);

impl Bits {
    /// `value` as `width` bits.
    pub fn int(mut self, value: u64, width: usize) -> Self {
        self.0
            .extend((0..width).rev().map(|i| i < 64 && value >> i & 1 == 1));
        self
    }

    /// One bit.
    pub fn flag(mut self, on: bool) -> Self {
        self.0.push(on);
        self
    }

    /// Two-bit fields, one per value.
    pub fn fields(self, values: &[u64]) -> Self {
        values.iter().fold(self, |bits, &v| bits.int(v, 2))
    }

    /// `count` two-bit fields, each `value`.
    pub fn repeat_field(self, value: u64, count: usize) -> Self {
        (0..count).fold(self, |bits, _| bits.int(value, 2))
    }

    /// `value` (1 or more) Fibonacci-coded, as GPP writes section IDs: Zeckendorf bits from the
    /// smallest term, then a closing 1.
    pub fn fibonacci(mut self, mut value: u64) -> Self {
        let mut terms = vec![1u64, 2];
        while *terms.last().expect("two terms") <= value {
            terms.push(terms[terms.len() - 1] + terms[terms.len() - 2]);
        }
        let mut code = vec![false; terms.len()];
        for i in (0..terms.len()).rev() {
            if terms[i] <= value {
                code[i] = true;
                value -= terms[i];
            }
        }
        while code.last() == Some(&false) {
            code.pop();
        }
        self.0.extend(code);
        self.flag(true)
    }

    /// The bits as base64url without padding, six to a character (the last one padded with 0s).
    pub fn base64url(&self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        self.0
            .chunks(6)
            .map(|c| {
                let v = c
                    .iter()
                    .enumerate()
                    .fold(0usize, |v, (i, &b)| v | (usize::from(b) << (5 - i)));
                char::from(ALPHABET[v])
            })
            .collect()
    }
}
