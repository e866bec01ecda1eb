//! Sluice's consent decoding against an independent decoder: the `iab_gpp` crate reads the same
//! generated TCF, US National (versions 1 and 2) and California strings, and the decisions must
//! agree. Generated values stay within what the specifications define; where `iab_gpp` is
//! lenient (an undefined field value 3 read as "not applicable"), Sluice is stricter on purpose,
//! and `policy::consent`'s unit tests hold that.

use iab_gpp::sections::us_common::{Consent, OptOut};
use iab_gpp::sections::{tcfeuv2::TcfEuV2, usca::UsCa, usnat};
use proptest::prelude::*;
use sluice_edge::policy::consent::{
    Jurisdiction, Signals, UnknownJurisdiction, decide, tcf_storage_consent,
};
use std::str::FromStr;
use support::bits::Bits;

mod support;

/// A GPP header naming one section.
fn header(id: u64) -> String {
    // Type 3, version 1, one entry: a single ID, Fibonacci-coded.
    Bits::default()
        .int(3, 6)
        .int(1, 6)
        .int(1, 12)
        .int(0, 1)
        .fibonacci(id)
        .base64url()
}

/// A whole TCF v2 core segment with these purpose consents, no vendors, no restrictions.
fn tcf_core(purposes: u32) -> String {
    Bits::default()
        .int(2, 6)
        .int(16_000_000_000, 36)
        .int(16_000_000_000, 36)
        .int(7, 12)
        .int(1, 12)
        .int(1, 6)
        .int(4, 6) // "EN": E and N as letters from A
        .int(13, 6)
        .int(100, 12)
        .int(4, 6)
        .int(0, 1)
        .int(0, 1)
        .int(0, 12)
        .int(u64::from(purposes), 24)
        .int(0, 24)
        .int(0, 1)
        .int(4, 6)
        .int(3, 6)
        .int(0, 16)
        .int(0, 1)
        .int(0, 16)
        .int(0, 1)
        .int(0, 12)
        .base64url()
}

/// A GPC sub-section, or none.
fn gpc_segment(gpc: Option<bool>) -> String {
    gpc.map(|flag| {
        format!(
            ".{}",
            Bits::default()
                .int(1, 2)
                .int(u64::from(flag), 1)
                .base64url()
        )
    })
    .unwrap_or_default()
}

fn us_rules(gpp: &str) -> bool {
    decide(
        Jurisdiction::UsOptOut,
        UnknownJurisdiction::Strict,
        &Signals {
            gpp: Some(gpp),
            ..Default::default()
        },
    )
    .allowed
}

fn defined() -> impl Strategy<Value = u64> {
    0u64..=2
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tcf_purpose_one_agrees(purposes in any::<u32>()) {
        let core = tcf_core(purposes & 0xff_ffff);
        let oracle = TcfEuV2::from_str(&core).expect("the oracle decodes the generated core");
        prop_assert_eq!(
            tcf_storage_consent(&core),
            Some(oracle.core.purpose_consents.contains(&1))
        );
    }

    #[test]
    fn us_national_agrees(
        version in 1u64..=2,
        notices in prop::collection::vec(defined(), 6),
        opt_outs in prop::collection::vec(defined(), 3),
        sensitive in prop::collection::vec(defined(), 16),
        children in prop::collection::vec(defined(), 3),
        personal in defined(),
        covered in 1u64..=2,
        modes in prop::collection::vec(defined(), 2),
        gpc in prop::option::of(any::<bool>()),
    ) {
        let (sensitive, children) = if version == 2 {
            (&sensitive[..16], &children[..3])
        } else {
            (&sensitive[..12], &children[..2])
        };
        let section = Bits::default()
            .int(version, 6)
            .fields(&notices)
            .fields(&opt_outs)
            .fields(sensitive)
            .fields(children)
            .fields(&[personal, covered])
            .fields(&modes)
            .base64url()
            + &gpc_segment(gpc);
        let oracle = usnat::UsNat::from_str(&section).expect("the oracle decodes the section");
        let (core_opt_outs, child_consents) = match &oracle.core {
            usnat::Core::V1(core) => (
                [&core.sale_opt_out, &core.sharing_opt_out, &core.targeted_advertising_opt_out],
                vec![
                    &core.known_child_sensitive_data_consents.from_13_to_16,
                    &core.known_child_sensitive_data_consents.under_13,
                ],
            ),
            usnat::Core::V2(core) => (
                [&core.sale_opt_out, &core.sharing_opt_out, &core.targeted_advertising_opt_out],
                vec![
                    &core.known_child_sensitive_data_consents.process_sensitive_data_from_13_to_16,
                    &core.known_child_sensitive_data_consents.process_sensitive_data_under_13,
                    &core.known_child_sensitive_data_consents.process_personal_data_from_16_to_17,
                ],
            ),
            other => panic!("unexpected core {other:?}"),
        };
        let opted_out = core_opt_outs.iter().any(|o| **o == OptOut::OptedOut)
            || child_consents.iter().any(|c| **c == Consent::NoConsent)
            || oracle.gpc == Some(true);
        prop_assert_eq!(us_rules(&format!("{}~{section}", header(7))), !opted_out);
    }

    #[test]
    fn california_agrees(
        notices in prop::collection::vec(defined(), 3),
        opt_outs in prop::collection::vec(defined(), 2),
        sensitive in prop::collection::vec(defined(), 9),
        children in prop::collection::vec(defined(), 2),
        personal in defined(),
        covered in 1u64..=2,
        modes in prop::collection::vec(defined(), 2),
        gpc in prop::option::of(any::<bool>()),
    ) {
        let section = Bits::default()
            .int(1, 6)
            .fields(&notices)
            .fields(&opt_outs)
            .fields(&sensitive)
            .fields(&children)
            .fields(&[personal, covered])
            .fields(&modes)
            .base64url()
            + &gpc_segment(gpc);
        let oracle = UsCa::from_str(&section).expect("the oracle decodes the section");
        let core = &oracle.core;
        let opted_out = [&core.sale_opt_out, &core.sharing_opt_out]
            .iter()
            .any(|o| **o == OptOut::OptedOut)
            || [
                &core.known_child_sensitive_data_consents.sell_personal_information,
                &core.known_child_sensitive_data_consents.share_personal_information,
            ]
            .iter()
            .any(|c| **c == Consent::NoConsent)
            || oracle.gpc == Some(true);
        prop_assert_eq!(us_rules(&format!("{}~{section}", header(8))), !opted_out);
    }
}

/// Strings as consent platforms write them: a US National version 1 section (notices given, no
/// opt-out) with a GPC sub-section, flag off (`.QA`) and on (`.YA`). The oracle refuses these:
/// their MSPA covered-transaction field is 0, which the specification leaves undefined; Sluice
/// does not read that field, so it reads the reader's choices.
#[test]
fn cmp_written_strings_are_read() {
    assert!(usnat::UsNat::from_str("BVQqAAAAAAJY.QA").is_err());
    assert!(us_rules(&format!("{}~BVQqAAAAAAJY.QA", header(7))));
    assert!(!us_rules(&format!("{}~BVQqAAAAAAJY.YA", header(7))));
}
