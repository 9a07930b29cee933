//! `in cidr` networks split by address family, and the exact address
//! spellings the evaluator accepts, for targets whose address functions
//! are per family (Kusto's `ipv4_*` and `ipv6_*`).
//!
//! The evaluator parses a field's text, trimmed of Unicode white space, with
//! Rust's address parser, and compares IPv4 addresses as IPv4-mapped IPv6
//! (`::ffff:a.b.c.d`). So an IPv4 network matches an IPv6 text that spells a
//! mapped address, and an IPv6 network that covers part of `::ffff:0:0/96`
//! matches IPv4 texts. [`by_family`] turns a rule's networks into one list per
//! family that gives the same answers when each text is tested only against
//! the list of its own family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// White space that `str::trim` removes (Unicode `White_Space`), as an RE2
/// class body.
const TRIMMED: &str =
    r"\x{9}-\x{D} \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}";

/// A decimal octet without leading zeros, as Rust's IPv4 parser takes it.
const OCTET: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";

/// A text that Rust parses as an IPv4 address after trimming, with the
/// address in group 1 (RE2 syntax, also Rust's `regex`).
pub fn ipv4_text() -> String {
    format!(r"^[{TRIMMED}]*({})[{TRIMMED}]*$", ipv4_body())
}

/// A dotted quad as Rust's IPv4 parser takes it, without groups.
fn ipv4_body() -> String {
    format!(r"{OCTET}(?:\.{OCTET}){{3}}")
}

/// A text that Rust parses as an address of either family after trimming,
/// with the address in group 1: [`ipv4_text`] and [`ipv6_text`] in one
/// pattern (a dotted quad has no `:`, so no text matches both bodies).
pub fn address_text() -> String {
    address_pieces().concat()
}

/// [`address_text`] in five pieces: the white space before, `(`, the
/// address, `)`, the white space after; for a writer that translates
/// patterns without their groups (translate the first, third and fifth).
pub fn address_pieces() -> [String; 5] {
    [
        format!(r"^[{TRIMMED}]*"),
        "(".to_string(),
        format!("{}|{}", ipv4_body(), ipv6_body()),
        ")".to_string(),
        format!(r"[{TRIMMED}]*$"),
    ]
}

/// The white space `str::trim` removes at either end of a text: every
/// match of this pattern (RE2 syntax), replaced by nothing, trims it.
pub fn trimmed_ends() -> String {
    format!(r"^[{TRIMMED}]+|[{TRIMMED}]+$")
}

/// A text that Rust parses as an IPv6 address after trimming, with the
/// address in group 1: the nine forms of RFC 3986's `IPv6address` (groups of
/// one to four hex digits, at most one `::` standing for at least one group,
/// a dotted IPv4 tail in the last two groups), which is what Rust's parser
/// accepts; no zone index, no brackets.
pub fn ipv6_text() -> String {
    format!(r"^[{TRIMMED}]*({})[{TRIMMED}]*$", ipv6_body())
}

/// The nine forms of [`ipv6_text`], without groups.
fn ipv6_body() -> String {
    let h16 = "[0-9A-Fa-f]{1,4}";
    let ipv4 = ipv4_body();
    let ls32 = format!("(?:{h16}:{h16}|{ipv4})");
    let groups = |n: usize| {
        if n == 0 {
            String::new()
        } else {
            format!("(?:{h16}:){{{n}}}")
        }
    };
    // `[ *k( h16 ":" ) h16 ]`: up to k + 1 groups before `::`.
    let head = |k: usize| {
        if k == 0 {
            format!("(?:{h16})?")
        } else {
            format!("(?:(?:{h16}:){{0,{k}}}{h16})?")
        }
    };
    let forms = [
        format!("{}{ls32}", groups(6)),
        format!("::{}{ls32}", groups(5)),
        format!("{}::{}{ls32}", head(0), groups(4)),
        format!("{}::{}{ls32}", head(1), groups(3)),
        format!("{}::{}{ls32}", head(2), groups(2)),
        format!("{}::{}{ls32}", head(3), groups(1)),
        format!("{}::{ls32}", head(4)),
        format!("{}::{h16}", head(5)),
        format!("{}::", head(6)),
    ];
    forms.join("|")
}

/// A rule's networks as the evaluator reads them, one list per family, in
/// CIDR notation with the host bits cleared, in the rule's order without
/// repeats. `None` when a network does not parse (the checker rejects those
/// before any target sees them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByFamily {
    /// For IPv4 texts: the IPv4 networks, and the IPv4 part of every IPv6
    /// network that overlaps `::ffff:0:0/96`.
    pub v4: Vec<String>,
    /// For IPv6 texts: every network, IPv4 ones as their mapped IPv6 form.
    pub v6: Vec<String>,
}

const MAPPED: u128 = 0xffff_0000_0000;

fn mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// A network as 128 mapped bits and a prefix of 0..=128, as the evaluator
/// reads it.
fn parse(text: &str) -> Option<(u128, u8)> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (
            address.trim().parse::<IpAddr>().ok()?,
            prefix.trim().parse::<u8>().ok()?,
        ),
        None => {
            let address = text.trim().parse::<IpAddr>().ok()?;
            (address, if address.is_ipv4() { 32 } else { 128 })
        }
    };
    let (bits, prefix) = match address {
        IpAddr::V4(v4) if prefix <= 32 => (u128::from(v4.to_ipv6_mapped()), prefix + 96),
        IpAddr::V6(v6) if prefix <= 128 => (u128::from(v6), prefix),
        _ => return None,
    };
    Some((bits & mask(prefix), prefix))
}

/// Each network as the range of 128-bit addresses it holds, IPv4 ones as
/// their IPv4-mapped IPv6 range (the evaluator's comparison), first and last
/// address, in the rule's order without repeats. `None` when a network does
/// not parse.
pub fn mapped_ranges(networks: &[String]) -> Option<Vec<(u128, u128)>> {
    let mut ranges = Vec::new();
    for network in networks {
        let (bits, prefix) = parse(network)?;
        let range = (bits, bits | !mask(prefix));
        if !ranges.contains(&range) {
            ranges.push(range);
        }
    }
    Some(ranges)
}

/// Each network as a pattern over the 32 lower-case hex digits of an
/// address's IPv4-mapped IPv6 form: the digits its prefix fixes, then, when
/// the prefix ends inside a digit, the class of the digits that keep its
/// leading bits (`fe80::/10` is `fe[89ab]`). A 32-digit text matches the
/// pattern at its start exactly when the address is in the network; every
/// pattern needs at least one digit, so an empty text matches none. In the
/// rule's order without repeats; `None` when a network does not parse.
pub fn hex_prefixes(networks: &[String]) -> Option<Vec<String>> {
    let mut patterns = Vec::new();
    for network in networks {
        let (bits, prefix) = parse(network)?;
        let digits = format!("{bits:032x}");
        let whole = usize::from(prefix / 4);
        let mut pattern = digits[..whole].to_string();
        let partial = u32::from(prefix % 4);
        if partial > 0 || whole == 0 {
            // The digit after the fixed ones: its top `partial` bits are the
            // network's, the rest take every value.
            let next = u32::from_str_radix(&digits[whole..=whole], 16).ok()?;
            let free = (1u32 << (4 - partial)) - 1;
            let first = next & !free;
            let class: String = (first..=first + free)
                .filter_map(|digit| char::from_digit(digit, 16))
                .collect();
            if class.len() == 1 {
                pattern.push_str(&class);
            } else if class.len() == 16 {
                pattern.push_str("[0-9a-f]");
            } else {
                pattern.push_str(&format!("[{class}]"));
            }
        }
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
        }
    }
    Some(patterns)
}

/// Splits networks by the family of the texts they can match.
pub fn by_family(networks: &[String]) -> Option<ByFamily> {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    let push = |list: &mut Vec<String>, text: String| {
        if !list.contains(&text) {
            list.push(text);
        }
    };
    for network in networks {
        let (bits, prefix) = parse(network)?;
        push(&mut v6, format!("{}/{prefix}", Ipv6Addr::from(bits)));
        if prefix >= 96 && bits & mask(96) == MAPPED {
            // Truncation is the point: the low 32 bits are the IPv4 address.
            let address = Ipv4Addr::from(bits as u32);
            push(&mut v4, format!("{address}/{}", prefix - 96));
        } else if prefix < 96 && MAPPED & mask(prefix) == bits {
            push(&mut v4, "0.0.0.0/0".to_string());
        }
    }
    Some(ByFamily { v4, v6 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn contains(networks: &[String], text: &str) -> bool {
        let Ok(address) = text.trim().parse::<IpAddr>() else {
            return false;
        };
        let bits = match address {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        networks.iter().any(|network| {
            let (net, prefix) = parse(network).unwrap();
            bits & mask(prefix) == net
        })
    }

    #[test]
    fn families_of_the_out_of_scope_networks() {
        let networks: Vec<String> = [
            "10.0.0.0/8",
            "::1/128",
            "fe80::/10",
            "::ffff:192.168.0.0/112",
        ]
        .map(String::from)
        .to_vec();
        let split = by_family(&networks).unwrap();
        assert_eq!(split.v4, ["10.0.0.0/8", "192.168.0.0/16"]);
        assert_eq!(
            split.v6,
            [
                "::ffff:10.0.0.0/104",
                "::1/128",
                "fe80::/10",
                "::ffff:192.168.0.0/112"
            ]
        );
        let everything = by_family(&["::/0".to_string()]).unwrap();
        assert_eq!(everything.v4, ["0.0.0.0/0"]);
        let host = by_family(&["10.1.2.3/8".to_string()]).unwrap();
        assert_eq!(host.v4, ["10.0.0.0/8"]);
    }

    /// Small texts from an address alphabet: the two patterns accept exactly
    /// what the evaluator's parser accepts, per family.
    #[test]
    fn the_patterns_accept_what_rusts_parser_accepts() {
        let v4 = Regex::new(&ipv4_text()).unwrap();
        let v6 = Regex::new(&ipv6_text()).unwrap();
        let pieces = [
            "",
            "0",
            "1",
            "a",
            "F",
            "ff",
            "0fff",
            "12345",
            "::",
            ":",
            ".",
            "1.2.3.4",
            "255.0.0.01",
            "256.1.1.1",
            " ",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:",
            "::ffff:",
            "%eth0",
            "[",
            "]",
        ];
        let mut checked = 0;
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            let mut text = String::new();
            let parts = (state % 6) as usize + 1;
            for _ in 0..parts {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            let parsed = text.trim().parse::<IpAddr>().ok();
            assert_eq!(
                v4.is_match(&text),
                matches!(parsed, Some(IpAddr::V4(_))),
                "IPv4 pattern on {text:?}"
            );
            assert_eq!(
                v6.is_match(&text),
                matches!(parsed, Some(IpAddr::V6(_))),
                "IPv6 pattern on {text:?}"
            );
            checked += usize::from(parsed.is_some());
        }
        assert!(checked > 1_000, "only {checked} valid addresses generated");
    }

    #[test]
    fn every_written_form_of_a_group_count_parses() {
        let v6 = Regex::new(&ipv6_text()).unwrap();
        for head in 0..=7 {
            for tail in 0..=7 - head {
                let head_text = vec!["a"; head].join(":");
                let tail_text = vec!["b"; tail].join(":");
                let text = format!("{head_text}::{tail_text}");
                assert_eq!(
                    v6.is_match(&text),
                    text.parse::<Ipv6Addr>().is_ok(),
                    "{text}"
                );
                let dotted = format!(
                    "{head_text}::{tail_text}{}1.2.3.4",
                    if tail > 0 { ":" } else { "" }
                );
                assert_eq!(
                    v6.is_match(&dotted),
                    dotted.parse::<Ipv6Addr>().is_ok(),
                    "{dotted}"
                );
            }
        }
    }

    #[test]
    fn hex_prefixes_match_exactly_the_addresses_of_their_networks() {
        let networks: Vec<String> = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "::1/128",
            "fe80::/10",
            "fc00::/7",
            "::/0",
            "::ffff:100.64.0.0/106",
            "203.0.113.7/32",
            "2001:db8:85a3::/47",
        ]
        .map(String::from)
        .to_vec();
        let patterns = hex_prefixes(&networks).unwrap();
        assert_eq!(patterns[0], "00000000000000000000ffff0a");
        assert_eq!(patterns[1], "00000000000000000000ffffac1");
        assert_eq!(patterns[3], "fe[89ab]");
        assert_eq!(patterns[4], "f[cd]");
        assert_eq!(patterns[5], "[0-9a-f]");
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let network = &networks[(next() % networks.len() as u64) as usize];
            let (bits, prefix) = parse(network).unwrap();
            // Half the addresses inside the network, half anywhere.
            let random = (u128::from(next()) << 64) | u128::from(next());
            let address = if next() % 2 == 0 {
                bits | (random & !mask(prefix))
            } else {
                random
            };
            let hex = format!("{address:032x}");
            let pattern = hex_prefixes(std::slice::from_ref(network)).unwrap();
            let pattern = Regex::new(&format!("^(?:{})", pattern[0])).unwrap();
            assert_eq!(
                pattern.is_match(&hex),
                address & mask(prefix) == bits,
                "{hex} in {network}"
            );
        }
    }

    #[test]
    fn ranges_are_the_mapped_first_and_last_addresses() {
        let networks: Vec<String> = ["10.0.0.0/8", "::1/128", "fe80::/10", "10.1.2.3/8", "::/0"]
            .map(String::from)
            .to_vec();
        let ranges = mapped_ranges(&networks).unwrap();
        assert_eq!(
            ranges,
            [
                (0xffff_0a00_0000, 0xffff_0aff_ffff),
                (1, 1),
                (0xfe80_u128 << 112, (0xfec0_u128 << 112) - 1),
                (0, u128::MAX),
            ]
        );
        assert!(mapped_ranges(&["10.0.0.0/33".to_string()]).is_none());
    }

    /// The combined pattern accepts what either family's does, with the
    /// trimmed text in group 1.
    #[test]
    fn the_address_pattern_is_either_family() {
        let both = Regex::new(&address_text()).unwrap();
        for text in [
            "10.1.2.3",
            " \u{a0}::ffff:1.2.3.4\u{2003}",
            "fe80::1",
            "1.2.3.04",
            "fe80::1%eth0",
            "[::1]",
            "",
            "1:2:3:4:5:6:7:8:9",
        ] {
            let parsed = text.trim().parse::<IpAddr>().ok();
            let captured = both
                .captures(text)
                .and_then(|captures| captures.get(1))
                .map(|group| group.as_str());
            assert_eq!(captured, parsed.map(|_| text.trim()), "{text:?}");
        }
    }

    /// Testing each text against its own family's list answers as the
    /// evaluator's one list does.
    #[test]
    fn split_lists_answer_as_the_whole_list() {
        let networks: Vec<String> = [
            "10.0.0.0/8",
            "::1/128",
            "fe80::/10",
            "::ffff:172.16.0.0/108",
            "::/1",
            "0.0.0.0/8",
        ]
        .map(String::from)
        .to_vec();
        let split = by_family(&networks).unwrap();
        for text in [
            "10.1.2.3",
            "11.0.0.1",
            "172.16.5.5",
            "172.32.0.1",
            "::ffff:10.0.0.1",
            "::ffff:a00:1",
            "::1",
            "fe80::1",
            "8000::1",
            "0.1.2.3",
            "127.0.0.1",
        ] {
            let own = if text.contains(':') {
                &split.v6
            } else {
                &split.v4
            };
            assert_eq!(contains(own, text), contains(&networks, text), "{text}");
        }
    }
}
