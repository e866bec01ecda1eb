//! Whether a synthetic ID may be set: the reader's consent signals, read under the rules of the
//! reader's jurisdiction. Where a signal cannot be read, or the jurisdiction is not known, the
//! answer is the stricter one.
//!
//! | jurisdiction (from geolocation)       | an ID is allowed when                                  |
//! |---------------------------------------|--------------------------------------------------------|
//! | GDPR: EU, EEA, UK, Switzerland, and the territories where their law applies ([`GDPR_COUNTRIES`]) | TCF v2 purpose 1 (storage) is consented, in `euconsent-v2` or GPP section 2 |
//! | United States (opt-out rules)         | no opt-out: not `Sec-GPC: 1`, not `us_privacy` `1?Y?`, no sale, sharing or targeted-advertising opt-out (and no known child without consent) in a GPP US section, no GPC flag in one |
//! | any other country                     | always, unless `Sec-GPC: 1`                            |
//! | unknown (no geolocation, or a code that is not a country) | by [`UnknownJurisdiction`]: `strict` by default, TCF consent *and* no opt-out |
//!
//! A consent string, or a GPP section, that does not decode counts as no consent (under opt-out
//! rules: as an opt-out) and is reported so the caller can log it; it never fails the request.
//! A GPP section that does not decode makes only that section unusable: a valid TCF section in
//! the same string still counts.

/// The rules a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jurisdiction {
    /// Consent first: the EU, the EEA, the UK, Switzerland and their territories.
    Gdpr,
    /// Allowed unless the reader opts out: the United States.
    UsOptOut,
    /// A country without consent rules Sluice applies.
    Other,
    /// No geolocation, or a code that names no country.
    Unknown,
}

/// EU members, their outermost regions and the territories where their data-protection law
/// applies, the EEA, the UK with its Crown Dependencies and Gibraltar, and Switzerland, as
/// geolocation reports them (ISO 3166-1 alpha-2; Fastly reports Réunion as RE, not FR).
pub const GDPR_COUNTRIES: [&str; 51] = [
    // EU member states
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    // outermost regions and autonomous parts of member states, with their own codes
    "RE", "GP", "MQ", "GF", "YT", "MF", "AX",
    // French overseas collectivities and the Danish realm, where French and Danish law applies
    "BL", "PM", "WF", "PF", "NC", "FO", "GL", // the EEA outside the EU
    "IS", "LI", "NO", "SJ",
    // the UK GDPR, the Crown Dependencies' equivalents, Gibraltar; the Swiss FADP
    "GB", "GG", "JE", "IM", "GI", "CH",
];

/// Every other ISO 3166-1 alpha-2 country code, and `XK` (Kosovo, which geolocation reports): a
/// reader there is in a known country without consent rules Sluice applies. A code on neither list (a geolocation placeholder such as `**`,
/// `A1`, `EU`) is an unknown jurisdiction.
const OTHER_COUNTRIES: [&str; 198] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AU", "AW", "AZ", "BA", "BB",
    "BD", "BF", "BH", "BI", "BJ", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ",
    "CA", "CC", "CD", "CF", "CG", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX",
    "DJ", "DM", "DO", "DZ", "EC", "EG", "EH", "ER", "ET", "FJ", "FK", "FM", "GA", "GD", "GE", "GH",
    "GM", "GN", "GQ", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HT", "ID", "IL", "IN", "IO",
    "IQ", "IR", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ",
    "LA", "LB", "LC", "LK", "LR", "LS", "LY", "MA", "MC", "MD", "ME", "MG", "MH", "MK", "ML", "MM",
    "MN", "MO", "MP", "MR", "MS", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NE", "NF", "NG", "NI",
    "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PG", "PH", "PK", "PN", "PR", "PS", "PW", "PY", "QA",
    "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SG", "SH", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
    "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR",
    "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU",
    "WS", "XK", "YE", "ZA", "ZM", "ZW",
];

impl Jurisdiction {
    /// The jurisdiction of an ISO 3166-1 alpha-2 country code.
    ///
    /// ```
    /// use sluice_edge::policy::consent::Jurisdiction;
    /// assert_eq!(Jurisdiction::of_country(Some("nl")), Jurisdiction::Gdpr);
    /// assert_eq!(Jurisdiction::of_country(Some("RE")), Jurisdiction::Gdpr);
    /// assert_eq!(Jurisdiction::of_country(Some("US")), Jurisdiction::UsOptOut);
    /// assert_eq!(Jurisdiction::of_country(Some("JP")), Jurisdiction::Other);
    /// assert_eq!(Jurisdiction::of_country(Some("**")), Jurisdiction::Unknown);
    /// assert_eq!(Jurisdiction::of_country(None), Jurisdiction::Unknown);
    /// ```
    pub fn of_country(code: Option<&str>) -> Jurisdiction {
        let Some(code) = code.map(|c| c.trim().to_ascii_uppercase()) else {
            return Jurisdiction::Unknown;
        };
        if GDPR_COUNTRIES.contains(&code.as_str()) {
            Jurisdiction::Gdpr
        } else if code == "US" {
            Jurisdiction::UsOptOut
        } else if OTHER_COUNTRIES.contains(&code.as_str()) {
            Jurisdiction::Other
        } else {
            Jurisdiction::Unknown
        }
    }
}

/// Which rules apply where the jurisdiction is unknown (setting `unknown_jurisdiction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownJurisdiction {
    /// `strict` (the default): TCF purpose 1 consent is needed, and any opt-out signal (GPC,
    /// US privacy, a GPP US section) refuses as well.
    #[default]
    Strict,
    /// `opt-out`: the US rules.
    OptOut,
    /// `open`: the rules of a country without consent rules (only `Sec-GPC: 1` refuses).
    Open,
}

impl UnknownJurisdiction {
    /// Parses the setting's value.
    ///
    /// ```
    /// use sluice_edge::policy::consent::UnknownJurisdiction;
    /// assert_eq!(UnknownJurisdiction::parse("opt-out"), Some(UnknownJurisdiction::OptOut));
    /// assert_eq!(UnknownJurisdiction::parse("lenient"), None);
    /// ```
    pub fn parse(value: &str) -> Option<UnknownJurisdiction> {
        match value.trim().to_ascii_lowercase().as_str() {
            "strict" => Some(UnknownJurisdiction::Strict),
            "opt-out" => Some(UnknownJurisdiction::OptOut),
            "open" => Some(UnknownJurisdiction::Open),
            _ => None,
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
    /// Consent strings (or GPP sections) that did not decode.
    pub malformed: Vec<String>,
}

/// The rules a decision is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rules {
    Consent,
    ConsentAndNoOptOut,
    OptOut,
    Open,
}

/// Decides whether an ID is allowed.
///
/// ```
/// use sluice_edge::policy::consent::{decide, Jurisdiction, Signals, UnknownJurisdiction};
/// let strict = UnknownJurisdiction::Strict;
/// let us = decide(Jurisdiction::UsOptOut, strict, &Signals { us_privacy: Some("1YYN"), ..Default::default() });
/// assert!(!us.allowed);
/// assert!(!decide(Jurisdiction::Gdpr, strict, &Signals::default()).allowed);
/// assert!(decide(Jurisdiction::Other, strict, &Signals::default()).allowed);
/// assert!(!decide(Jurisdiction::Unknown, strict, &Signals::default()).allowed);
/// ```
pub fn decide(
    jurisdiction: Jurisdiction,
    unknown: UnknownJurisdiction,
    signals: &Signals<'_>,
) -> Decision {
    let rules = match (jurisdiction, unknown) {
        (Jurisdiction::Gdpr, _) => Rules::Consent,
        (Jurisdiction::UsOptOut, _) => Rules::OptOut,
        (Jurisdiction::Other, _) => Rules::Open,
        (Jurisdiction::Unknown, UnknownJurisdiction::Strict) => Rules::ConsentAndNoOptOut,
        (Jurisdiction::Unknown, UnknownJurisdiction::OptOut) => Rules::OptOut,
        (Jurisdiction::Unknown, UnknownJurisdiction::Open) => Rules::Open,
    };
    let mut malformed = Vec::new();
    let gpp = signals
        .gpp
        .map(|gpp| GppReading::of(gpp, signals.gpp_sid, &mut malformed));
    let (allowed, reason) = match rules {
        Rules::Consent => consent_given(signals, gpp.as_ref(), &mut malformed),
        Rules::OptOut => match opt_out(signals, gpp.as_ref(), &mut malformed) {
            Some(reason) => (false, reason),
            None => (true, "no opt-out"),
        },
        Rules::ConsentAndNoOptOut => {
            let opted_out = opt_out(signals, gpp.as_ref(), &mut malformed);
            match (
                consent_given(signals, gpp.as_ref(), &mut malformed),
                opted_out,
            ) {
                ((false, reason), _) => (false, reason),
                (_, Some(reason)) => (false, reason),
                ((true, _), None) => (true, "TCF purpose 1 consented and no opt-out"),
            }
        }
        Rules::Open if signals.gpc => (false, "Sec-GPC opt-out"),
        Rules::Open => (true, "no consent rules apply"),
    };
    malformed.dedup();
    Decision {
        allowed,
        reason,
        malformed,
    }
}

/// Consent rules: TCF purpose 1 from `euconsent-v2`, else from GPP section 2.
fn consent_given(
    signals: &Signals<'_>,
    gpp: Option<&GppReading>,
    malformed: &mut Vec<String>,
) -> (bool, &'static str) {
    let cookie = signals.tcf.map(|s| {
        let consent = tcf_storage_consent(s);
        if consent.is_none() {
            malformed.push("euconsent-v2".to_owned());
        }
        consent.unwrap_or(false)
    });
    match cookie.or_else(|| gpp.and_then(|g| g.tcf_storage_consent)) {
        Some(true) => (true, "TCF purpose 1 consented"),
        Some(false) => (false, "no TCF purpose 1 consent"),
        None => (false, "consent required and no consent string"),
    }
}

/// Opt-out rules: the reason the reader opted out, or could not be read as not having done so.
fn opt_out(
    signals: &Signals<'_>,
    gpp: Option<&GppReading>,
    malformed: &mut Vec<String>,
) -> Option<&'static str> {
    if signals.gpc {
        return Some("Sec-GPC opt-out");
    }
    if let Some(value) = signals.us_privacy {
        match us_privacy_opt_out(value) {
            Some(true) => return Some("us_privacy opt-out of sale"),
            Some(false) => {}
            None => {
                malformed.push("us_privacy".to_owned());
                return Some("unreadable us_privacy string");
            }
        }
    }
    match gpp {
        Some(reading) if !reading.header_decoded => Some("unreadable GPP string"),
        Some(reading) if reading.us_unreadable => Some("unreadable GPP US section"),
        Some(reading) if reading.us_opt_out => Some("GPP opt-out"),
        _ => None,
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

    fn len(&self) -> usize {
        self.sextets.len() * 6
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
        (self.at <= self.len()).then_some(())
    }

    /// `count` two-bit fields.
    fn fields(&mut self, count: usize) -> Option<Vec<u64>> {
        (0..count).map(|_| self.int(2)).collect()
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
/// opt-ins (12), then purposes consent (24 bits, purpose 1 first): bit 152. A core too short to
/// hold the purposes does not decode.
pub fn tcf_storage_consent(tc_string: &str) -> Option<bool> {
    let core = tc_string.trim().split('.').next()?;
    if core.is_empty() || core.len() > 4096 {
        return None;
    }
    let mut bits = Bits::from_base64url(core)?;
    if bits.int(6)? != 2 || bits.len() < 152 + 24 {
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

/// The GPP section IDs that carry US privacy choices: 6 (US privacy), 7 (US national) and 8 to
/// 27 (the states). Sluice decodes 6, 7 and 8; a state section it does not decode counts, under
/// opt-out rules, as an opt-out it cannot read.
const US_SECTIONS: std::ops::RangeInclusive<u64> = 6..=27;

/// What Sluice read from a GPP string.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GppReading {
    /// The header decoded and matched the sections; otherwise nothing else was read.
    header_decoded: bool,
    /// Section 2's TCF purpose 1, when it applies and decodes.
    tcf_storage_consent: Option<bool>,
    /// An applicable US section says the reader opted out.
    us_opt_out: bool,
    /// An applicable US section could not be read.
    us_unreadable: bool,
}

impl GppReading {
    /// Reads the header, then each applicable section on its own: a section that does not
    /// decode (or of a version Sluice does not know) is reported and skipped, never the whole
    /// string. `sid` limits which sections apply.
    fn of(gpp: &str, sid: Option<&str>, malformed: &mut Vec<String>) -> GppReading {
        let mut reading = GppReading {
            header_decoded: false,
            tcf_storage_consent: None,
            us_opt_out: false,
            us_unreadable: false,
        };
        let mut parts = gpp.trim().split('~');
        let ids = parts.next().and_then(section_ids);
        let sections: Vec<&str> = parts.collect();
        let Some(ids) = ids.filter(|ids| ids.len() == sections.len()) else {
            malformed.push("__gpp".to_owned());
            return reading;
        };
        reading.header_decoded = true;
        let applicable: Option<Vec<u64>> = sid
            .map(|s| {
                s.split(',')
                    .filter_map(|id| id.trim().parse().ok())
                    .collect::<Vec<u64>>()
            })
            // A sid that names nothing readable is ignored: every section applies.
            .filter(|ids| !ids.is_empty());
        for (id, section) in ids.into_iter().zip(sections) {
            if applicable.as_ref().is_some_and(|a| !a.contains(&id)) {
                continue;
            }
            let mut unreadable = || malformed.push(format!("__gpp section {id}"));
            match id {
                2 => match tcf_storage_consent(section) {
                    Some(consent) => reading.tcf_storage_consent = Some(consent),
                    None => unreadable(),
                },
                id if US_SECTIONS.contains(&id) => match us_section_opt_out(id, section) {
                    Some(opted_out) => reading.us_opt_out |= opted_out,
                    None => {
                        unreadable();
                        reading.us_unreadable = true;
                    }
                },
                _ => {}
            }
        }
        reading
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

/// Whether a US section says the reader opted out; `None` when it does not decode.
fn us_section_opt_out(id: u64, section: &str) -> Option<bool> {
    match id {
        6 => us_privacy_opt_out(section),
        7 => us_national_opt_out(section),
        8 => california_opt_out(section),
        _ => None,
    }
}

/// The positions of the fields Sluice reads in a US section's core, for one version of it.
struct UsLayout {
    /// Every field before the opt-outs, in bits (version included).
    opt_outs_at: usize,
    /// How many two-bit opt-out fields follow (sale, sharing, targeted advertising).
    opt_outs: usize,
    /// Where the known-child consent fields start, and how many there are.
    known_child_at: usize,
    known_child: usize,
    /// The whole core's length in bits.
    core_bits: usize,
}

/// US national (section 7). Version 1 (2022) and version 2 (2024) share their first ten fields
/// (version, six notices, then the sale, sharing and targeted-advertising opt-outs); version 2
/// has 16 sensitive-data fields where version 1 has 12, and 3 known-child fields where it has 2.
fn us_national_opt_out(section: &str) -> Option<bool> {
    us_opt_out(section, |version| match version {
        1 => Some(UsLayout {
            opt_outs_at: 6 + 6 * 2,
            opt_outs: 3,
            known_child_at: 6 + 9 * 2 + 12 * 2,
            known_child: 2,
            core_bits: 6 + 9 * 2 + 12 * 2 + 2 * 2 + 4 * 2,
        }),
        2 => Some(UsLayout {
            opt_outs_at: 6 + 6 * 2,
            opt_outs: 3,
            known_child_at: 6 + 9 * 2 + 16 * 2,
            known_child: 3,
            core_bits: 6 + 9 * 2 + 16 * 2 + 3 * 2 + 4 * 2,
        }),
        _ => None,
    })
}

/// California (section 8), version 1: version, three notices, then the sale and sharing
/// opt-outs, 9 sensitive-data fields, 2 known-child fields, personal-data consent and the three
/// MSPA fields.
fn california_opt_out(section: &str) -> Option<bool> {
    us_opt_out(section, |version| {
        (version == 1).then_some(UsLayout {
            opt_outs_at: 6 + 3 * 2,
            opt_outs: 2,
            known_child_at: 6 + 5 * 2 + 9 * 2,
            known_child: 2,
            core_bits: 6 + 5 * 2 + 9 * 2 + 2 * 2 + 4 * 2,
        })
    })
}

/// Reads a US section: its core by the layout of its version, then its sub-sections (a GPC
/// sub-section whose flag is set is an opt-out). An opt-out field of 1 means opted out; a
/// known-child field of 1 means a known child without consent, which refuses an ID too. A field
/// of 3, which the specification does not define, makes the section unreadable (some decoders
/// read it as "not applicable"; Sluice does not guess).
fn us_opt_out(section: &str, layout_of: impl Fn(u64) -> Option<UsLayout>) -> Option<bool> {
    let mut segments = section.split('.');
    let mut core = Bits::from_base64url(segments.next()?)?;
    let layout = layout_of(core.int(6)?)?;
    if core.len() < layout.core_bits {
        return None;
    }
    core.skip(layout.opt_outs_at - 6)?;
    let opt_outs = core.fields(layout.opt_outs)?;
    core.at = layout.known_child_at;
    let known_child = core.fields(layout.known_child)?;
    // 3 is no value these fields define: the reader's choice cannot be read.
    if opt_outs.iter().chain(&known_child).any(|&field| field > 2) {
        return None;
    }
    let mut opted_out = opt_outs.contains(&1) || known_child.contains(&1);
    for segment in segments {
        let mut bits = Bits::from_base64url(segment)?;
        match bits.int(2)? {
            // The GPC sub-section: one flag.
            1 => opted_out |= bits.bit()?,
            _ => return None,
        }
    }
    Some(opted_out)
}

/// Bits written by hand for the tests, shared with the integration tests.
#[cfg(test)]
#[allow(dead_code)]
#[path = "../../tests/support/bits.rs"]
mod test_bits;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use super::test_bits::Bits as BitWriter;

    pub(crate) fn tcf(purpose_one: bool) -> String {
        BitWriter::default()
            .int(2, 6)
            .int(0, 146)
            .int(u64::from(purpose_one), 1)
            .int(0, 60)
            .base64url()
            + ".YAAAAAAAAAAA"
    }

    pub(crate) fn gpp_header(ids: &[u64]) -> String {
        let mut w = BitWriter::default()
            .int(3, 6)
            .int(1, 6)
            .int(ids.len() as u64, 12);
        let mut last = 0;
        for &id in ids {
            w = w.int(0, 1).fibonacci(id - last);
            last = id;
        }
        w.base64url()
    }

    /// A US national section of `version` with these opt-outs and known-child consents (every
    /// other field 0, "not applicable").
    pub(crate) fn usnat(
        version: u64,
        sale: u64,
        sharing: u64,
        targeted: u64,
        child: u64,
    ) -> String {
        let (sensitive, children) = if version == 2 { (16, 3) } else { (12, 2) };
        BitWriter::default()
            .int(version, 6)
            .repeat_field(0, 6)
            .int(sale, 2)
            .int(sharing, 2)
            .int(targeted, 2)
            .repeat_field(0, sensitive)
            .repeat_field(child, children)
            .repeat_field(0, 4)
            .base64url()
    }

    fn us(gpp: &str) -> Decision {
        decide(
            Jurisdiction::UsOptOut,
            UnknownJurisdiction::Strict,
            &Signals {
                gpp: Some(gpp),
                ..Default::default()
            },
        )
    }

    #[test]
    fn reads_tcf_purpose_one() {
        assert_eq!(tcf_storage_consent(&tcf(true)), Some(true));
        assert_eq!(tcf_storage_consent(&tcf(false)), Some(false));
        assert_eq!(tcf_storage_consent("not base64 !!"), None);
        assert_eq!(tcf_storage_consent("AA"), None);
        // Version 2 but cut before the purposes: not a TCF string.
        assert_eq!(
            tcf_storage_consent(&BitWriter::default().int(2, 6).int(0, 150).base64url()),
            None
        );
    }

    #[test]
    fn reads_the_specifications_header_examples() {
        // Core/Consent String Specification.md, header examples 1 to 3.
        assert_eq!(section_ids("DBABM"), Some(vec![2]));
        assert_eq!(section_ids("DBACNY"), Some(vec![2, 6]));
        assert_eq!(section_ids("DBABjw"), Some(vec![5, 6]));
        assert_eq!(section_ids(&gpp_header(&[2, 7, 9])), Some(vec![2, 7, 9]));
    }

    #[test]
    fn reads_the_specifications_gpp_string_examples() {
        // The specification's GPP string example 2: TCF (no purpose consented) and US privacy.
        let example = "DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN";
        let mut malformed = Vec::new();
        let reading = GppReading::of(example, None, &mut malformed);
        assert!(malformed.is_empty(), "{malformed:?}");
        assert_eq!(reading.tcf_storage_consent, Some(false));
        assert!(!reading.us_opt_out && !reading.us_unreadable);
        // Example 3 carries a Canadian TCF section (5), which Sluice does not read.
        let canada = "DBABjw~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA~1YNN";
        let reading = GppReading::of(canada, None, &mut malformed);
        assert_eq!(reading.tcf_storage_consent, None);
        assert!(malformed.is_empty());
    }

    #[test]
    fn us_national_is_read_by_version() {
        for version in [1, 2] {
            let opted_out = format!("{}~{}", gpp_header(&[7]), usnat(version, 1, 2, 2, 0));
            let not = format!("{}~{}", gpp_header(&[7]), usnat(version, 2, 2, 2, 0));
            let targeted = format!("{}~{}", gpp_header(&[7]), usnat(version, 2, 2, 1, 0));
            let child = format!("{}~{}", gpp_header(&[7]), usnat(version, 2, 2, 2, 1));
            assert!(!us(&opted_out).allowed, "v{version} sale opt-out");
            assert!(us(&not).allowed, "v{version} no opt-out");
            assert!(!us(&targeted).allowed, "v{version} targeted opt-out");
            assert!(!us(&child).allowed, "v{version} known child, no consent");
        }
        // A version-1 core read as version 2 is too short: the section does not decode.
        let v1_as_v2 = {
            let mut s = usnat(1, 2, 2, 2, 0);
            s.replace_range(0..1, "C");
            s
        };
        let decision = us(&format!("{}~{v1_as_v2}", gpp_header(&[7])));
        assert!(!decision.allowed);
        assert_eq!(decision.malformed, vec!["__gpp section 7"]);
        // An unknown version is unreadable, not a version-1 reading.
        let v3 = format!("{}~{}", gpp_header(&[7]), {
            let mut s = usnat(2, 2, 2, 2, 0);
            s.replace_range(0..1, "D");
            s
        });
        assert!(!us(&v3).allowed);
    }

    #[test]
    fn an_undefined_field_value_makes_the_section_unreadable() {
        let three = BitWriter::default()
            .int(1, 6)
            .repeat_field(0, 6)
            .int(3, 2)
            .repeat_field(2, 2)
            .repeat_field(0, 12 + 2 + 4)
            .base64url();
        let decision = us(&format!("{}~{three}", gpp_header(&[7])));
        assert!(!decision.allowed);
        assert_eq!(decision.malformed, vec!["__gpp section 7"]);
    }

    #[test]
    fn a_gpc_sub_section_is_an_opt_out() {
        let core = usnat(1, 2, 2, 2, 0);
        let gpc = |flag: u64| BitWriter::default().int(1, 2).int(flag, 1).base64url();
        assert!(us(&format!("{}~{core}.{}", gpp_header(&[7]), gpc(0))).allowed);
        assert!(!us(&format!("{}~{core}.{}", gpp_header(&[7]), gpc(1))).allowed);
        // Strings as CMPs write them: GPC sub-section "QA" (flag off) and "YA" (flag on).
        assert!(us(&format!("{}~{core}.QA", gpp_header(&[7]))).allowed);
        assert!(!us(&format!("{}~{core}.YA", gpp_header(&[7]))).allowed);
    }

    #[test]
    fn california_is_read() {
        let section = |sale: u64, sharing: u64| {
            BitWriter::default()
                .int(1, 6)
                .repeat_field(0, 3)
                .int(sale, 2)
                .int(sharing, 2)
                .repeat_field(0, 9 + 2 + 1 + 3)
                .base64url()
        };
        assert!(us(&format!("{}~{}", gpp_header(&[8]), section(2, 2))).allowed);
        assert!(!us(&format!("{}~{}", gpp_header(&[8]), section(2, 1))).allowed);
    }

    #[test]
    fn an_unreadable_section_spoils_only_itself() {
        let consented = tcf(true);
        let gpp = format!("{}~{consented}~%%%", gpp_header(&[2, 7]));
        let gdpr = decide(
            Jurisdiction::Gdpr,
            UnknownJurisdiction::Strict,
            &Signals {
                gpp: Some(&gpp),
                ..Default::default()
            },
        );
        assert!(gdpr.allowed, "{gdpr:?}");
        assert_eq!(gdpr.malformed, vec!["__gpp section 7"]);
        // Under opt-out rules the unreadable US section counts as an opt-out.
        assert!(!us(&gpp).allowed);
        // A US state section Sluice does not decode counts as an opt-out it cannot read.
        assert!(!us(&format!("{}~BAAAABA", gpp_header(&[9]))).allowed);
    }

    #[test]
    fn a_section_the_sid_does_not_list_does_not_apply() {
        let opted_out = format!("{}~{}", gpp_header(&[7]), usnat(1, 1, 2, 2, 0));
        let sid = |sid| Signals {
            gpp: Some(&opted_out),
            gpp_sid: Some(sid),
            ..Default::default()
        };
        let us_rules = |s| decide(Jurisdiction::UsOptOut, UnknownJurisdiction::Strict, &s);
        assert!(us_rules(sid("2")).allowed);
        assert!(!us_rules(sid("7")).allowed);
        assert!(
            !us_rules(sid("junk")).allowed,
            "an unreadable sid is ignored"
        );
    }

    #[test]
    fn an_unknown_jurisdiction_follows_the_setting_and_is_strict_by_default() {
        let consent = tcf(true);
        let consented = Signals {
            tcf: Some(&consent),
            ..Default::default()
        };
        let gpc = Signals {
            tcf: Some(&consent),
            gpc: true,
            ..Default::default()
        };
        let nothing = Signals::default();
        let unknown = |rules, signals: &Signals| decide(Jurisdiction::Unknown, rules, signals);
        use UnknownJurisdiction::*;
        assert!(!unknown(Strict, &nothing).allowed);
        assert!(unknown(Strict, &consented).allowed);
        assert!(!unknown(Strict, &gpc).allowed);
        assert!(unknown(OptOut, &nothing).allowed);
        assert!(!unknown(OptOut, &gpc).allowed);
        assert!(unknown(Open, &nothing).allowed);
        assert_eq!(UnknownJurisdiction::default(), Strict);
    }

    #[test]
    fn every_gdpr_region_geolocation_reports_is_gdpr() {
        for code in [
            "RE", "GP", "MQ", "GF", "YT", "MF", "AX", "IS", "LI", "NO", "GB", "CH", "GI", "JE",
            "GG", "IM",
        ] {
            assert_eq!(
                Jurisdiction::of_country(Some(code)),
                Jurisdiction::Gdpr,
                "{code}"
            );
        }
        for code in ["", "**", "A1", "EU", "XX", "usa"] {
            assert_eq!(
                Jurisdiction::of_country(Some(code)),
                Jurisdiction::Unknown,
                "{code:?}"
            );
        }
        let overlap: Vec<_> = GDPR_COUNTRIES
            .iter()
            .filter(|c| OTHER_COUNTRIES.contains(c) || **c == "US")
            .collect();
        assert!(overlap.is_empty(), "{overlap:?}");
        // The 249 ISO 3166-1 codes, and XK.
        assert_eq!(GDPR_COUNTRIES.len() + OTHER_COUNTRIES.len() + 1, 250);
    }

    #[test]
    fn malformed_strings_count_as_no_consent_and_are_reported() {
        let strict = UnknownJurisdiction::Strict;
        let bad = Signals {
            tcf: Some("%%%"),
            ..Default::default()
        };
        let decision = decide(Jurisdiction::Gdpr, strict, &bad);
        assert!(!decision.allowed);
        assert_eq!(decision.malformed, vec!["euconsent-v2"]);
        let bad = Signals {
            us_privacy: Some("1YYNX"),
            ..Default::default()
        };
        let decision = decide(Jurisdiction::UsOptOut, strict, &bad);
        assert!(!decision.allowed);
        assert_eq!(decision.malformed, vec!["us_privacy"]);
        // An unreadable TCF section spoils only itself: US rules do not read it.
        let tcf_only = us("DBABMA~garbage!");
        assert!(tcf_only.allowed);
        assert_eq!(tcf_only.malformed, vec!["__gpp section 2"]);
        assert!(!us("not a header~x").allowed);
    }

    #[test]
    fn gpc_opts_out_outside_gdpr_too() {
        let gpc = Signals {
            gpc: true,
            ..Default::default()
        };
        let strict = UnknownJurisdiction::Strict;
        assert!(!decide(Jurisdiction::UsOptOut, strict, &gpc).allowed);
        assert!(!decide(Jurisdiction::Other, strict, &gpc).allowed);
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
