//! Whether a synthetic ID may be set: the reader's consent signals, read under the rules of the
//! reader's jurisdiction.
//!
//! | jurisdiction (from geolocation)  | an ID is allowed when                                         |
//! |----------------------------------|---------------------------------------------------------------|
//! | EU, EEA, UK, Switzerland (GDPR)  | TCF v2 purpose 1 (storage) is consented, in `euconsent-v2` or GPP section 2 |
//! | United States (opt-out rules)    | no opt-out: not `Sec-GPC: 1`, not `us_privacy` `1?Y?`, no sale, sharing or targeted-advertising opt-out in GPP `usnat`/`usca` |
//! | elsewhere, or unknown            | always, unless `Sec-GPC: 1`                                   |
//!
//! A consent string that does not decode counts as no consent (under opt-out rules: as an
//! opt-out) and is reported so the caller can log it; it never fails the request.

/// The rules a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jurisdiction {
    /// Consent first (EU, EEA, UK, Switzerland).
    Gdpr,
    /// Allowed unless the reader opts out (United States).
    UsOptOut,
    /// No consent rules apply.
    Other,
}

/// EU and EEA members, the United Kingdom and Switzerland.
const GDPR_COUNTRIES: [&str; 32] = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB", "CH",
];

impl Jurisdiction {
    /// The jurisdiction of an ISO 3166-1 alpha-2 country code (`None`: unknown).
    ///
    /// ```
    /// use sluice_edge::policy::consent::Jurisdiction;
    /// assert_eq!(Jurisdiction::of_country(Some("nl")), Jurisdiction::Gdpr);
    /// assert_eq!(Jurisdiction::of_country(Some("US")), Jurisdiction::UsOptOut);
    /// assert_eq!(Jurisdiction::of_country(None), Jurisdiction::Other);
    /// ```
    pub fn of_country(code: Option<&str>) -> Jurisdiction {
        match code.map(str::to_ascii_uppercase) {
            Some(c) if GDPR_COUNTRIES.contains(&c.as_str()) => Jurisdiction::Gdpr,
            Some(c) if c == "US" => Jurisdiction::UsOptOut,
            _ => Jurisdiction::Other,
        }
    }
}

/// The consent signals of one request, as received.
#[derive(Debug, Clone, Default)]
pub struct Signals<'a> {
    /// The `euconsent-v2` cookie (a TCF v2 string).
    pub tcf: Option<&'a str>,
    /// The `__gpp` cookie.
    pub gpp: Option<&'a str>,
    /// The `__gpp_sid` cookie: the applicable GPP section IDs, comma separated.
    pub gpp_sid: Option<&'a str>,
    /// The `us_privacy` cookie.
    pub us_privacy: Option<&'a str>,
    /// `Sec-GPC: 1`.
    pub gpc: bool,
}

/// The decision, and what could not be read (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether an ID may be created or kept.
    pub allowed: bool,
    /// Why, in a few words.
    pub reason: &'static str,
    /// Consent strings that did not decode.
    pub malformed: Vec<&'static str>,
}

/// Decides whether an ID is allowed.
///
/// ```
/// use sluice_edge::policy::consent::{decide, Jurisdiction, Signals};
/// let us = decide(Jurisdiction::UsOptOut, &Signals { us_privacy: Some("1YYN"), ..Default::default() });
/// assert!(!us.allowed);
/// let eu = decide(Jurisdiction::Gdpr, &Signals::default());
/// assert!(!eu.allowed);
/// assert!(decide(Jurisdiction::Other, &Signals::default()).allowed);
/// ```
pub fn decide(jurisdiction: Jurisdiction, signals: &Signals<'_>) -> Decision {
    let mut malformed = Vec::new();
    let gpp = signals.gpp.map(|s| {
        let parsed = Gpp::parse(s, signals.gpp_sid);
        if parsed.is_none() {
            malformed.push("__gpp");
        }
        parsed
    });
    let gpp = gpp.flatten();
    let decision = |allowed, reason| (allowed, reason);
    let (allowed, reason) = match jurisdiction {
        Jurisdiction::Gdpr => {
            let tcf = signals.tcf.map(|s| {
                let consent = tcf_storage_consent(s);
                if consent.is_none() {
                    malformed.push("euconsent-v2");
                }
                consent.unwrap_or(false)
            });
            let gpp_tcf = gpp.as_ref().and_then(|g| g.tcf_storage_consent);
            match tcf.or(gpp_tcf) {
                Some(true) => decision(true, "TCF purpose 1 consented"),
                Some(false) => decision(false, "no TCF purpose 1 consent"),
                None => decision(false, "GDPR and no consent string"),
            }
        }
        Jurisdiction::UsOptOut => {
            let usp = signals.us_privacy.map(|s| {
                let opted_out = us_privacy_opt_out(s);
                if opted_out.is_none() {
                    malformed.push("us_privacy");
                }
                // Unreadable counts as no consent.
                opted_out.unwrap_or(true)
            });
            if signals.gpc {
                decision(false, "Sec-GPC opt-out")
            } else if usp == Some(true) {
                decision(false, "us_privacy opt-out of sale")
            } else if gpp.as_ref().is_some_and(|g| g.us_opt_out) {
                decision(false, "GPP opt-out")
            } else if signals.gpp.is_some() && gpp.is_none() {
                decision(false, "unreadable GPP string")
            } else {
                decision(true, "no opt-out")
            }
        }
        Jurisdiction::Other if signals.gpc => decision(false, "Sec-GPC opt-out"),
        Jurisdiction::Other => decision(true, "no consent rules apply"),
    };
    Decision {
        allowed,
        reason,
        malformed,
    }
}

/// Reads bits, most significant first, from base64url text.
///
/// Read six bits per character rather than decoded bytes: consent strings are rarely a whole
/// number of bytes long, and their last character's bits count.
struct Bits {
    sextets: Vec<u8>,
    at: usize,
}

impl Bits {
    fn from_base64url(text: &str) -> Option<Bits> {
        // Some writers pad, and some use the standard alphabet: accept both.
        let sextets = text
            .trim_end_matches('=')
            .bytes()
            .map(|c| match c {
                b'A'..=b'Z' => Some(c - b'A'),
                b'a'..=b'z' => Some(c - b'a' + 26),
                b'0'..=b'9' => Some(c - b'0' + 52),
                b'-' | b'+' => Some(62),
                b'_' | b'/' => Some(63),
                _ => None,
            })
            .collect::<Option<Vec<u8>>>()?;
        Some(Bits { sextets, at: 0 })
    }

    fn bit(&mut self) -> Option<bool> {
        let sextet = *self.sextets.get(self.at / 6)?;
        let bit = sextet >> (5 - self.at % 6) & 1 == 1;
        self.at += 1;
        Some(bit)
    }

    fn int(&mut self, width: usize) -> Option<u64> {
        (0..width).try_fold(0u64, |acc, _| Some(acc << 1 | u64::from(self.bit()?)))
    }

    fn skip(&mut self, width: usize) -> Option<()> {
        self.at += width;
        (self.at <= self.sextets.len() * 6).then_some(())
    }

    /// A Fibonacci-coded integer (Zeckendorf, ending in `11`).
    fn fibonacci(&mut self) -> Option<u64> {
        let (mut a, mut b) = (1u64, 2u64);
        let mut value = 0u64;
        let mut previous = false;
        for _ in 0..64 {
            let bit = self.bit()?;
            if bit && previous {
                return Some(value);
            }
            if bit {
                value = value.checked_add(a)?;
            }
            previous = bit;
            (a, b) = (b, a.checked_add(b)?);
        }
        None
    }
}

/// TCF v2 core string: version 2, purpose 1 (storage and access) consent. `None`: malformed.
///
/// The core segment (before the first `.`) is: version (6 bits), created (36), last updated
/// (36), CMP id (12), CMP version (12), consent screen (6), language (12), vendor list version
/// (12), TCF policy version (6), IsServiceSpecific (1), UseNonStandardTexts (1), special feature
/// opt-ins (12), then purposes consent (24 bits, purpose 1 first): bit 152.
pub fn tcf_storage_consent(tc_string: &str) -> Option<bool> {
    let core = tc_string.trim().split('.').next()?;
    if core.is_empty() || core.len() > 4096 {
        return None;
    }
    let mut bits = Bits::from_base64url(core)?;
    if bits.int(6)? != 2 {
        return None;
    }
    bits.skip(152 - 6)?;
    bits.bit()
}

/// US privacy string `1NYN`: version 1, then notice, opt-out of sale, LSPA, each `Y`, `N` or
/// `-`. `Some(true)` when the reader opted out of sale; `None` when malformed.
pub fn us_privacy_opt_out(value: &str) -> Option<bool> {
    let bytes = value.trim().as_bytes();
    if bytes.len() != 4 || bytes[0] != b'1' || !bytes[1..].iter().all(|b| b"YNyn-".contains(b)) {
        return None;
    }
    Some(bytes[2].eq_ignore_ascii_case(&b'Y'))
}

/// What Sluice reads from a GPP string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Gpp {
    tcf_storage_consent: Option<bool>,
    us_opt_out: bool,
}

impl Gpp {
    /// Parses the header, then the sections Sluice understands: 2 (TCF EU v2), 6 (US privacy),
    /// 7 (US national) and 8 (California). `sid` limits which sections apply.
    fn parse(gpp: &str, sid: Option<&str>) -> Option<Gpp> {
        let mut parts = gpp.trim().split('~');
        let ids = section_ids(parts.next()?)?;
        let sections: Vec<&str> = parts.collect();
        if sections.len() != ids.len() {
            return None;
        }
        let applicable: Option<Vec<u64>> = sid.map(|s| {
            s.split(',')
                .filter_map(|id| id.trim().parse().ok())
                .collect()
        });
        let mut result = Gpp {
            tcf_storage_consent: None,
            us_opt_out: false,
        };
        for (id, section) in ids.into_iter().zip(sections) {
            if applicable.as_ref().is_some_and(|a| !a.contains(&id)) {
                continue;
            }
            match id {
                2 => result.tcf_storage_consent = Some(tcf_storage_consent(section)?),
                6 => result.us_opt_out |= us_privacy_opt_out(section)?,
                7 => result.us_opt_out |= us_national_opt_out(section)?,
                8 => result.us_opt_out |= california_opt_out(section)?,
                _ => {}
            }
        }
        Some(result)
    }
}

/// The GPP header: type 3 (6 bits), version 1 (6 bits), then the section IDs as a Fibonacci
/// range: a 12-bit count, and per entry a range flag and Fibonacci-coded offsets.
fn section_ids(header: &str) -> Option<Vec<u64>> {
    let mut bits = Bits::from_base64url(header)?;
    if bits.int(6)? != 3 || bits.int(6)? != 1 {
        return None;
    }
    let count = bits.int(12)?;
    let mut ids = Vec::new();
    let mut last = 0u64;
    for _ in 0..count {
        let is_range = bits.bit()?;
        let start = last.checked_add(bits.fibonacci()?)?;
        let end = if is_range {
            start.checked_add(bits.fibonacci()?)?
        } else {
            start
        };
        if end - start > 64 {
            return None;
        }
        ids.extend(start..=end);
        last = end;
    }
    Some(ids)
}

/// US national (section 7), version 1: version (6), then 2-bit fields: sharing notice, sale
/// opt-out notice, sharing opt-out notice, targeted advertising opt-out notice, sensitive data
/// processing opt-out notice, sensitive data limit use notice, sale opt-out, sharing opt-out,
/// targeted advertising opt-out. An opt-out field of 1 means opted out.
fn us_national_opt_out(section: &str) -> Option<bool> {
    let mut bits = Bits::from_base64url(section.split('.').next()?)?;
    if bits.int(6)? != 1 {
        return None;
    }
    bits.skip(6 * 2)?;
    let opt_outs = [bits.int(2)?, bits.int(2)?, bits.int(2)?];
    Some(opt_outs.contains(&1))
}

/// California (section 8), version 1: version (6), sale opt-out notice (2), sharing opt-out
/// notice (2), sensitive data limit use notice (2), sale opt-out (2), sharing opt-out (2).
fn california_opt_out(section: &str) -> Option<bool> {
    let mut bits = Bits::from_base64url(section.split('.').next()?)?;
    if bits.int(6)? != 1 {
        return None;
    }
    bits.skip(3 * 2)?;
    let opt_outs = [bits.int(2)?, bits.int(2)?];
    Some(opt_outs.contains(&1))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes bits, most significant first, and encodes them as base64url.
    #[derive(Default)]
    pub(crate) struct BitWriter(Vec<bool>);

    impl BitWriter {
        pub(crate) fn int(mut self, value: u64, width: usize) -> Self {
            for i in (0..width).rev() {
                self.0.push(i < 64 && value >> i & 1 == 1);
            }
            self
        }

        pub(crate) fn fibonacci(mut self, mut value: u64) -> Self {
            let mut fibs = vec![1u64, 2];
            while *fibs.last().unwrap() <= value {
                let n = fibs[fibs.len() - 1] + fibs[fibs.len() - 2];
                fibs.push(n);
            }
            let mut code = vec![false; fibs.len()];
            for i in (0..fibs.len()).rev() {
                if fibs[i] <= value {
                    code[i] = true;
                    value -= fibs[i];
                }
            }
            while code.last() == Some(&false) {
                code.pop();
            }
            self.0.extend(code);
            self.0.push(true);
            self
        }

        pub(crate) fn encode(&self) -> String {
            const ALPHABET: &[u8] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            self.0
                .chunks(6)
                .map(|c| {
                    let v = c
                        .iter()
                        .enumerate()
                        .fold(0u8, |b, (i, &bit)| b | (u8::from(bit) << (5 - i)));
                    char::from(ALPHABET[usize::from(v)])
                })
                .collect()
        }
    }

    pub(crate) fn tcf(purpose_one: bool) -> String {
        BitWriter::default()
            .int(2, 6)
            .int(0, 146)
            .int(u64::from(purpose_one), 1)
            .int(0, 60)
            .encode()
            + ".YAAAAAAAAAAA"
    }

    fn gpp_header(ids: &[u64]) -> String {
        let mut w = BitWriter::default()
            .int(3, 6)
            .int(1, 6)
            .int(ids.len() as u64, 12);
        let mut last = 0;
        for &id in ids {
            w = w.int(0, 1).fibonacci(id - last);
            last = id;
        }
        w.encode()
    }

    pub(crate) fn usnat(sale: u64, sharing: u64, targeted: u64) -> String {
        BitWriter::default()
            .int(1, 6)
            .int(0, 12)
            .int(sale, 2)
            .int(sharing, 2)
            .int(targeted, 2)
            .int(0, 30)
            .encode()
    }

    #[test]
    fn reads_tcf_purpose_one() {
        assert_eq!(tcf_storage_consent(&tcf(true)), Some(true));
        assert_eq!(tcf_storage_consent(&tcf(false)), Some(false));
        assert_eq!(tcf_storage_consent("not base64 !!"), None);
        assert_eq!(tcf_storage_consent("AA"), None);
        // A real-world string shape (version 2, every purpose consented).
        let all = BitWriter::default()
            .int(2, 6)
            .int(0, 146)
            .int((1 << 24) - 1, 24)
            .encode();
        assert_eq!(tcf_storage_consent(&all), Some(true));
    }

    #[test]
    fn reads_gpp_section_ids_including_non_adjacent_ones() {
        assert_eq!(section_ids(&gpp_header(&[2, 7, 9])), Some(vec![2, 7, 9]));
        assert_eq!(section_ids(&gpp_header(&[7])), Some(vec![7]));
        // DBABMA is the header of the public example with sections 2 and 6.
        assert_eq!(section_ids("DBABMA"), Some(vec![2]));
        assert_eq!(section_ids("DBACNY"), Some(vec![2, 6]));
    }

    #[test]
    fn gpp_opt_outs_deny_in_the_us() {
        let opted_out = format!("{}~{}", gpp_header(&[7]), usnat(1, 2, 2));
        let not = format!("{}~{}", gpp_header(&[7]), usnat(2, 2, 2));
        let signals = |gpp| Signals {
            gpp: Some(gpp),
            ..Default::default()
        };
        assert!(!decide(Jurisdiction::UsOptOut, &signals(&opted_out)).allowed);
        assert!(decide(Jurisdiction::UsOptOut, &signals(&not)).allowed);
        // A section the sid cookie does not list does not apply.
        let sid = Signals {
            gpp: Some(&opted_out),
            gpp_sid: Some("2"),
            ..Default::default()
        };
        assert!(decide(Jurisdiction::UsOptOut, &sid).allowed);
    }

    #[test]
    fn gpp_tcf_section_counts_under_gdpr() {
        let consented = format!("{}~{}", gpp_header(&[2]), tcf(true));
        let signals = Signals {
            gpp: Some(&consented),
            ..Default::default()
        };
        assert!(decide(Jurisdiction::Gdpr, &signals).allowed);
    }

    #[test]
    fn malformed_strings_count_as_no_consent_and_are_reported() {
        let bad = Signals {
            tcf: Some("%%%"),
            ..Default::default()
        };
        let decision = decide(Jurisdiction::Gdpr, &bad);
        assert!(!decision.allowed);
        assert_eq!(decision.malformed, vec!["euconsent-v2"]);
        let bad = Signals {
            us_privacy: Some("1YYNX"),
            ..Default::default()
        };
        let decision = decide(Jurisdiction::UsOptOut, &bad);
        assert!(!decision.allowed);
        assert_eq!(decision.malformed, vec!["us_privacy"]);
        let bad = Signals {
            gpp: Some("DBABMA~garbage!"),
            ..Default::default()
        };
        assert!(!decide(Jurisdiction::UsOptOut, &bad).allowed);
    }

    #[test]
    fn gpc_opts_out_outside_gdpr_too() {
        let gpc = Signals {
            gpc: true,
            ..Default::default()
        };
        assert!(!decide(Jurisdiction::UsOptOut, &gpc).allowed);
        assert!(!decide(Jurisdiction::Other, &gpc).allowed);
    }

    #[test]
    fn us_privacy_is_strict() {
        assert_eq!(us_privacy_opt_out("1YYN"), Some(true));
        assert_eq!(us_privacy_opt_out("1YNN"), Some(false));
        assert_eq!(us_privacy_opt_out("1---"), Some(false));
        assert_eq!(us_privacy_opt_out("1YNNextra"), None);
        assert_eq!(us_privacy_opt_out("2YNN"), None);
    }
}
