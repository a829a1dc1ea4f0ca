//! Which clients a listener admits: `--allow`, `--allowfile`, `--deny`,
//! `--denyfile` (ncat's host access control, reference §3.5).
//!
//! **Precedence.** A client is admitted if and only if
//! (no allow rule was given, or its address matches an allow entry)
//! **and** it matches no deny entry. Deny wins: `--allow 127.0.0.1 --deny
//! 127.0.0.1` refuses 127.0.0.1. This is what ncat 7.93 does (its man page
//! says the opposite). An allow file with no entries still counts as an allow
//! rule, so it admits nobody.
//!
//! **Host specifications** (Nmap syntax, as ncat accepts them):
//! - an IPv4 or IPv6 address: `192.168.0.1`, `::1`, `[::1]`;
//! - a CIDR block: `10.0.0.0/8`, `fe80::/10`, with the edges `/0`, `/32` and
//!   `/128`; the address need not be the network's first one;
//! - IPv4 octet ranges: each of the four octets is `*`, a number, or a
//!   comma-separated list of numbers and ranges `a-b`, `-b`, `a-` or `-`:
//!   `192.168.0-10.1-254`, `10.0.0.*`, `192.168.0.2,3,5-7`; a netmask may
//!   follow (`1-5.1.1.1/24`: every /24 block that holds one of the addresses);
//! - a host name, resolved once at start-up to **all** of its addresses
//!   (optionally with a netmask: `example.com/24`). With `-n` a name is an error.
//!
//! An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address it maps,
//! both as a client and in a specification, so `127.0.0.1` also matches a client
//! that a dual-stack socket reports as `::ffff:127.0.0.1`.
//!
//! Files hold specifications separated by white space (normally one a line);
//! `#` starts a comment that runs to the end of the line, and blank lines are
//! ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};
use std::path::Path;

/// Which list a specification goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Allow,
    Deny,
}

/// The set of values one IPv4 octet may take (a 256-bit bitmap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct OctetSet([u64; 4]);

impl OctetSet {
    fn insert(&mut self, v: u8) {
        self.0[usize::from(v >> 6)] |= 1 << (v & 63);
    }
    fn contains(&self, v: u8) -> bool {
        self.0[usize::from(v >> 6)] & (1 << (v & 63)) != 0
    }
    fn insert_range(&mut self, lo: u8, hi: u8) {
        for v in lo..=hi {
            self.insert(v);
        }
    }
    /// `{ v & mask | v in self }`.
    fn masked(&self, mask: u8) -> OctetSet {
        let mut out = OctetSet::default();
        for v in 0..=255u8 {
            if self.contains(v) {
                out.insert(v & mask);
            }
        }
        out
    }
}

/// The mask a `/prefix` puts on IPv4 octet `i` (0 = most significant).
fn octet_mask(prefix: u8, i: usize) -> u8 {
    let bits = usize::from(prefix).saturating_sub(8 * i).min(8);
    if bits == 0 {
        0
    } else {
        0xffu8 << (8 - bits)
    }
}

fn v6_mask(prefix: u8) -> u128 {
    if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    }
}

/// One entry of an allow or deny list, ready for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// IPv4: an address matches when, for each octet `i`,
    /// `octet & mask(prefix, i)` is in `octets[i]` (stored already masked).
    /// Ranges and CIDR blocks alike are a product of four octet sets.
    V4 { octets: [OctetSet; 4], prefix: u8 },
    /// IPv6: the network `net/prefix` (`net` already masked).
    V6 { net: u128, prefix: u8 },
}

impl Entry {
    fn v4_product(sets: [OctetSet; 4], prefix: u8) -> Entry {
        let mut octets = sets;
        for (i, o) in octets.iter_mut().enumerate() {
            *o = o.masked(octet_mask(prefix, i));
        }
        Entry::V4 { octets, prefix }
    }

    fn v4(addr: Ipv4Addr, prefix: u8) -> Entry {
        let mut sets = [OctetSet::default(); 4];
        for (set, b) in sets.iter_mut().zip(addr.octets()) {
            set.insert(b);
        }
        Entry::v4_product(sets, prefix)
    }

    /// An address with a prefix; an IPv4-mapped IPv6 block becomes IPv4.
    fn from_ip(ip: IpAddr, prefix: u8) -> Entry {
        match ip {
            IpAddr::V4(a) => Entry::v4(a, prefix.min(32)),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => Entry::v4(v4, prefix - 96),
                _ => Entry::V6 {
                    net: u128::from(a) & v6_mask(prefix),
                    prefix,
                },
            },
        }
    }

    fn matches(&self, ip: IpAddr) -> bool {
        match (self, ip) {
            (Entry::V4 { octets, prefix }, IpAddr::V4(a)) => a
                .octets()
                .iter()
                .enumerate()
                .all(|(i, &b)| octets[i].contains(b & octet_mask(*prefix, i))),
            (Entry::V6 { net, prefix }, IpAddr::V6(a)) => u128::from(a) & v6_mask(*prefix) == *net,
            _ => false,
        }
    }
}

/// A host specification as written, before name resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    Addr(Entry),
    Name { host: String, prefix: Option<u8> },
}

/// An IPv4-mapped IPv6 client is its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(a),
        },
        v4 => v4,
    }
}

/// Whether a client from `peer` is let in under `--allow`/`--deny` (always,
/// without a list or without an IP address); a refusal is logged in the
/// personality's words. Every listener asks this one question.
pub fn admit(
    acl: Option<&AccessList>,
    log: &crate::log::Log,
    peer: Option<std::net::SocketAddr>,
    local: Option<std::net::SocketAddr>,
) -> bool {
    match (acl, peer) {
        (Some(acl), Some(p)) if !acl.permits(p.ip()) => {
            log.connection_denied(&p, local.as_ref());
            false
        }
        _ => true,
    }
}

/// The allow and deny lists of a listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessList {
    /// `None`: no allow rule was given (everyone not denied is admitted).
    allow: Option<Vec<Entry>>,
    deny: Vec<Entry>,
}

impl AccessList {
    /// A list that admits everyone until rules are added.
    pub fn new() -> AccessList {
        AccessList::default()
    }

    /// Whether a client at `ip` is admitted (see the module doc for precedence).
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let allowed = match &self.allow {
            None => true,
            Some(list) => list.iter().any(|e| e.matches(ip)),
        };
        allowed && !self.deny.iter().any(|e| e.matches(ip))
    }

    fn list(&mut self, rule: Rule) -> &mut Vec<Entry> {
        match rule {
            Rule::Allow => self.allow.get_or_insert_with(Vec::new),
            Rule::Deny => &mut self.deny,
        }
    }

    /// Add one specification (`--allow`, `--deny`). `numeric` (`-n`) forbids
    /// host names. The error is a phrase naming the specification.
    pub fn add(&mut self, rule: Rule, spec: &str, numeric: bool) -> Result<(), String> {
        let entries = resolve_spec(spec, numeric)?;
        self.list(rule).extend(entries);
        Ok(())
    }

    /// Add every specification in the file at `path` (`--allowfile`,
    /// `--denyfile`). The error names the file, and the line when a
    /// specification is bad.
    pub fn add_file(&mut self, rule: Rule, path: &Path, numeric: bool) -> Result<(), String> {
        let bytes = std::fs::read(path).map_err(|e| {
            format!(
                "cannot read {}: {}",
                quote(&path.display().to_string()),
                crate::log::describe(&e)
            )
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let list = self.list(rule);
        for (n, line) in text.lines().enumerate() {
            let content = line.split('#').next().unwrap_or("");
            for spec in content.split_whitespace() {
                let entries = resolve_spec(spec, numeric).map_err(|why| {
                    format!(
                        "{}, line {}: {why}",
                        quote(&path.display().to_string()),
                        n + 1
                    )
                })?;
                list.extend(entries);
            }
        }
        Ok(())
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.escape_debug())
}

/// Parse a specification and resolve a name to all of its addresses.
fn resolve_spec(spec: &str, numeric: bool) -> Result<Vec<Entry>, String> {
    let bad = |why: &str| format!("invalid host specification {} ({why})", quote(spec));
    match parse_spec(spec).map_err(|why| bad(&why))? {
        Spec::Addr(e) => Ok(vec![e]),
        Spec::Name { .. } if numeric => Err(format!(
            "{} is not a numeric address (-n forbids name lookups)",
            quote(spec)
        )),
        Spec::Name { host, prefix } => {
            let addrs =
                lookup(&host).map_err(|why| format!("cannot resolve {} ({why})", quote(&host)))?;
            let mut out = Vec::new();
            for ip in addrs {
                let bits = if canonical(ip).is_ipv4() { 32 } else { 128 };
                let p = prefix.unwrap_or(bits);
                if p > bits {
                    return Err(bad(&format!(
                        "netmask /{p} is longer than {bits} bits, and the name resolves to {ip}"
                    )));
                }
                let e = Entry::from_ip(canonical(ip), p);
                if !out.contains(&e) {
                    out.push(e);
                }
            }
            Ok(out)
        }
    }
}

fn lookup(host: &str) -> Result<Vec<IpAddr>, String> {
    match (host, 0u16).to_socket_addrs() {
        Ok(it) => {
            let v: Vec<IpAddr> = it.map(|a| a.ip()).collect();
            if v.is_empty() {
                Err("no addresses".to_string())
            } else {
                Ok(v)
            }
        }
        Err(e) => {
            let text = e.to_string();
            Err(text
                .rsplit(": ")
                .next()
                .unwrap_or("lookup failed")
                .to_string())
        }
    }
}

/// Parse one host specification without resolving names. The error says what
/// is wrong with it.
fn parse_spec(spec: &str) -> Result<Spec, String> {
    if spec.is_empty() {
        return Err("empty".into());
    }
    let (addr, prefix) = match spec.split_once('/') {
        Some((a, p)) => (a, Some(parse_prefix(p)?)),
        None => (spec, None),
    };
    if addr.is_empty() {
        return Err("missing address".into());
    }
    let unbracketed = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    if unbracketed.contains(':') {
        let ip: Ipv6Addr = unbracketed
            .parse()
            .map_err(|_| "not a valid IPv6 address".to_string())?;
        let p = prefix.unwrap_or(128);
        if p > 128 {
            return Err(format!("netmask /{p} is longer than 128 bits"));
        }
        return Ok(Spec::Addr(Entry::from_ip(IpAddr::V6(ip), p)));
    }
    if addr
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b',' | b'-' | b'*'))
    {
        let p = prefix.unwrap_or(32);
        if p > 32 {
            return Err(format!("netmask /{p} is longer than 32 bits"));
        }
        let sets = parse_v4_ranges(addr)?;
        return Ok(Spec::Addr(Entry::v4_product(sets, p)));
    }
    let name_ok = addr
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !addr.starts_with(['-', '.']);
    if !name_ok {
        return Err("not an address, range or host name".into());
    }
    if prefix.is_some_and(|p| p > 128) {
        return Err("netmask longer than 128 bits".into());
    }
    Ok(Spec::Name {
        host: addr.to_string(),
        prefix,
    })
}

/// `/N`: one to three decimal digits, no sign.
fn parse_prefix(p: &str) -> Result<u8, String> {
    if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid netmask /{p}"));
    }
    p.parse::<u8>()
        .map_err(|_| format!("netmask /{p} is too long"))
}

/// `a.b.c.d` where each part is `*` or a comma list of `n`, `n-m`, `-m`, `n-`, `-`.
fn parse_v4_ranges(addr: &str) -> Result<[OctetSet; 4], String> {
    let parts: Vec<&str> = addr.split('.').collect();
    if parts.len() != 4 {
        return Err("an IPv4 address or range has four parts".into());
    }
    let mut sets = [OctetSet::default(); 4];
    for (set, part) in sets.iter_mut().zip(&parts) {
        if *part == "*" {
            set.insert_range(0, 255);
            continue;
        }
        if part.is_empty() {
            return Err("empty octet".into());
        }
        for item in part.split(',') {
            if item.is_empty() {
                return Err("empty item in a comma list".into());
            }
            let (lo, hi) = match item.split_once('-') {
                None => {
                    let v = parse_octet(item)?;
                    (v, v)
                }
                Some((a, b)) => {
                    let lo = if a.is_empty() { 0 } else { parse_octet(a)? };
                    let hi = if b.is_empty() { 255 } else { parse_octet(b)? };
                    if lo > hi {
                        return Err(format!("backwards range {item}"));
                    }
                    (lo, hi)
                }
            };
            set.insert_range(lo, hi);
        }
    }
    Ok(sets)
}

fn parse_octet(s: &str) -> Result<u8, String> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad octet {}", quote(s)));
    }
    s.parse::<u8>()
        .map_err(|_| format!("octet {s} is larger than 255"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        match s.parse() {
            Ok(a) => a,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn list(rule: Rule, specs: &[&str]) -> AccessList {
        let mut l = AccessList::new();
        for s in specs {
            if let Err(e) = l.add(rule, s, false) {
                panic!("{s}: {e}");
            }
        }
        l
    }

    /// Which of `candidates` an allow list of `specs` admits.
    fn admitted(specs: &[&str], candidates: &[&str]) -> Vec<String> {
        let l = list(Rule::Allow, specs);
        candidates
            .iter()
            .filter(|c| l.permits(ip(c)))
            .map(|c| c.to_string())
            .collect()
    }

    fn all_v4_last_octet(prefix: &str) -> Vec<String> {
        (0..=255).map(|i| format!("{prefix}{i}")).collect()
    }

    fn check(specs: &[&str], candidates: &[String], want: &[&str]) {
        let c: Vec<&str> = candidates.iter().map(String::as_str).collect();
        assert_eq!(admitted(specs, &c), want, "{specs:?}");
    }

    #[test]
    fn empty_list_admits_everyone() {
        let l = AccessList::new();
        assert!(l.permits(ip("1.2.3.4")));
        assert!(l.permits(ip("::1")));
    }

    #[test]
    fn single_addresses() {
        check(
            &["192.168.0.0"],
            &all_v4_last_octet("192.168.0."),
            &["192.168.0.0"],
        );
        assert_eq!(
            admitted(
                &["1.2.3.4", "1:2:3::4"],
                &[
                    "0.0.0.0",
                    "1.2.3.4",
                    "::",
                    "1:2:3::4",
                    "1:2:3:0::4",
                    "f:e:d:c:b::a"
                ]
            ),
            ["1.2.3.4", "1:2:3::4", "1:2:3:0::4"]
        );
        assert_eq!(
            admitted(
                &["fe80::202:e3ff:fe14:1102"],
                &[
                    "FE80:0000:0000:0000:0202:E3FF:FE14:1102",
                    "fe80::202:e3fe:fe14:1102"
                ]
            ),
            ["FE80:0000:0000:0000:0202:E3FF:FE14:1102"]
        );
        assert_eq!(admitted(&["[::1]"], &["::1", "::2"]), ["::1"]);
        assert_eq!(admitted(&["01.02.03.04"], &["1.2.3.4"]), ["1.2.3.4"]);
    }

    #[test]
    fn octet_ranges() {
        let last = all_v4_last_octet("192.168.0.");
        check(
            &["192.168.0.1-5"],
            &last,
            &[
                "192.168.0.1",
                "192.168.0.2",
                "192.168.0.3",
                "192.168.0.4",
                "192.168.0.5",
            ],
        );
        check(&["192.168.1.1-5"], &last, &[]);
        check(&["192.168-168.0.1"], &last, &["192.168.0.1"]);
        check(
            &["192.168.0.2,3,5,7,11"],
            &last,
            &[
                "192.168.0.2",
                "192.168.0.3",
                "192.168.0.5",
                "192.168.0.7",
                "192.168.0.11",
            ],
        );
        let diag: Vec<String> = (0..=255).map(|i| format!("192.168.{i}.{i}")).collect();
        check(
            &["192.168.3-8.1-5"],
            &diag,
            &["192.168.3.3", "192.168.4.4", "192.168.5.5"],
        );
        let third: Vec<String> = (0..=255).map(|i| format!("192.168.{i}.0")).collect();
        check(
            &["192.168.-3.0"],
            &third,
            &["192.168.0.0", "192.168.1.0", "192.168.2.0", "192.168.3.0"],
        );
        check(
            &["192.168.252-.0"],
            &third,
            &[
                "192.168.252.0",
                "192.168.253.0",
                "192.168.254.0",
                "192.168.255.0",
            ],
        );
        assert_eq!(
            admitted(
                &["192.168.-.0"],
                &[
                    "192.168.0.0",
                    "192.168.100.0",
                    "192.168.255.0",
                    "192.168.0.1"
                ]
            ),
            ["192.168.0.0", "192.168.100.0", "192.168.255.0"]
        );
        assert_eq!(
            admitted(
                &["192-200,202.0.0.1,3-5"],
                &[
                    "201.0.0.1",
                    "202.0.0.1",
                    "202.0.0.5",
                    "202.0.0.6",
                    "192.0.0.3"
                ]
            ),
            ["202.0.0.1", "202.0.0.5", "192.0.0.3"]
        );
        // The brief's examples.
        assert_eq!(
            admitted(
                &["192.168.0-10.1-254"],
                &[
                    "192.168.0.1",
                    "192.168.10.254",
                    "192.168.11.1",
                    "192.168.5.0",
                    "192.168.5.255"
                ]
            ),
            ["192.168.0.1", "192.168.10.254"]
        );
        assert_eq!(
            admitted(&["10.0.0.*"], &["10.0.0.0", "10.0.0.255", "10.0.1.0"]),
            ["10.0.0.0", "10.0.0.255"]
        );
    }

    #[test]
    fn wildcards() {
        let c = [
            "1.2.3.4",
            "192.168.0.3",
            "192.168.0.200",
            "192.161.0.0",
            "192.168.0.255",
        ];
        assert_eq!(
            admitted(&["192.168.0.*"], &c),
            ["192.168.0.3", "192.168.0.200", "192.168.0.255"]
        );
        assert_eq!(
            admitted(&["192.*.0.*"], &c),
            [
                "192.168.0.3",
                "192.168.0.200",
                "192.161.0.0",
                "192.168.0.255"
            ]
        );
        assert_eq!(
            admitted(
                &["*.1-10,12.*.4-5,6,7"],
                &[
                    "1.2.3.4",
                    "4.5.6.7",
                    "70.11.4.4",
                    "70.10.4.4",
                    "255.255.255.255"
                ]
            ),
            ["1.2.3.4", "4.5.6.7", "70.10.4.4"]
        );
        assert_eq!(
            admitted(&["*.*.*.*"], &["0.0.0.0", "255.255.255.255"]),
            ["0.0.0.0", "255.255.255.255"]
        );
    }

    #[test]
    fn ipv4_cidr() {
        let c = ["192.168.0.5", "192.168.0.90", "192.168.1.5", "1.2.3.4"];
        assert_eq!(
            admitted(&["192.168.0.0/24"], &c),
            ["192.168.0.5", "192.168.0.90"]
        );
        assert_eq!(admitted(&["1.2.3.4/32"], &c), ["1.2.3.4"]);
        assert_eq!(
            admitted(
                &["5.5.5.5/0"],
                &["0.0.0.0", "123.123.123.123", "255.255.255.255"]
            ),
            ["0.0.0.0", "123.123.123.123", "255.255.255.255"]
        );
        // A prefix that cuts through an octet.
        assert_eq!(
            admitted(
                &["10.1.2.3/12"],
                &["10.0.0.0", "10.15.255.255", "10.16.0.0", "11.0.0.0"]
            ),
            ["10.0.0.0", "10.15.255.255"]
        );
        assert_eq!(
            admitted(
                &["128.0.0.0/1"],
                &["127.255.255.255", "128.0.0.0", "255.1.1.1"]
            ),
            ["128.0.0.0", "255.1.1.1"]
        );
    }

    #[test]
    fn ranges_with_netmask() {
        assert_eq!(
            admitted(
                &["1-5.1-5.1-5.1-5/28"],
                &["1.2.3.4", "1.2.3.5", "6.1.2.3", "1.2.3.7", "1.2.3.0"]
            ),
            ["1.2.3.4", "1.2.3.5", "1.2.3.7", "1.2.3.0"]
        );
        check(
            &["192.168.0.5,30,191/30"],
            &all_v4_last_octet("192.168.0."),
            &[
                "192.168.0.4",
                "192.168.0.5",
                "192.168.0.6",
                "192.168.0.7",
                "192.168.0.28",
                "192.168.0.29",
                "192.168.0.30",
                "192.168.0.31",
                "192.168.0.188",
                "192.168.0.189",
                "192.168.0.190",
                "192.168.0.191",
            ],
        );
        let third: Vec<String> = (0..=255).map(|i| format!("192.168.{i}.0")).collect();
        check(
            &["192.168.5,30,191.0/22"],
            &third,
            &[
                "192.168.4.0",
                "192.168.5.0",
                "192.168.6.0",
                "192.168.7.0",
                "192.168.28.0",
                "192.168.29.0",
                "192.168.30.0",
                "192.168.31.0",
                "192.168.188.0",
                "192.168.189.0",
                "192.168.190.0",
                "192.168.191.0",
            ],
        );
    }

    #[test]
    fn ipv6_cidr() {
        assert_eq!(
            admitted(
                &["1:2::0003/120"],
                &["1:2::3", "1:2::0", "1:2::ff", "1:2::1ff", "1:3::3"]
            ),
            ["1:2::3", "1:2::0", "1:2::ff"]
        );
        assert_eq!(
            admitted(
                &["1:2::3:4:5/95"],
                &[
                    "1:2::3:4:5",
                    "1:2::1:ffff:ffff",
                    "1:2::2:0:0",
                    "1:2::3:ffff:ffff",
                    "1:2::4:0:0",
                    "1:3::3"
                ]
            ),
            ["1:2::3:4:5", "1:2::2:0:0", "1:2::3:ffff:ffff"]
        );
        assert_eq!(
            admitted(
                &["11::2/15"],
                &[
                    "11::2:3:4:5",
                    "9:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                    "10::1",
                    "11:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                    "12::0"
                ]
            ),
            [
                "11::2:3:4:5",
                "10::1",
                "11:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            ]
        );
        assert_eq!(
            admitted(&["1:2::0003/128"], &["1:2::3", "1:2::0", "1:2::ff"]),
            ["1:2::3"]
        );
        assert_eq!(
            admitted(&["1:2::0003/0"], &["1:2::3", "ff::00", "::"]),
            ["1:2::3", "ff::00", "::"]
        );
        // An IPv6 block does not admit IPv4 clients, nor the reverse.
        assert_eq!(admitted(&["::/0"], &["1.2.3.4", "::1"]), ["::1"]);
        assert_eq!(admitted(&["0.0.0.0/0"], &["1.2.3.4", "::1"]), ["1.2.3.4"]);
    }

    #[test]
    fn ipv4_mapped_addresses() {
        // A mapped client matches IPv4 specifications...
        assert_eq!(
            admitted(
                &["127.0.0.1"],
                &["::ffff:127.0.0.1", "::ffff:127.0.0.2", "::1"]
            ),
            ["::ffff:127.0.0.1"]
        );
        assert_eq!(
            admitted(&["10.0.0.0/8"], &["::ffff:10.9.8.7", "::ffff:11.0.0.1"]),
            ["::ffff:10.9.8.7"]
        );
        // ...and a mapped specification matches IPv4 clients.
        assert_eq!(
            admitted(&["::ffff:127.0.0.1"], &["127.0.0.1", "127.0.0.2"]),
            ["127.0.0.1"]
        );
        assert_eq!(
            admitted(&["::ffff:10.0.0.0/104"], &["10.1.2.3", "11.1.2.3"]),
            ["10.1.2.3"]
        );
        // ::1 (IPv4-compatible form) is not 0.0.0.1.
        assert_eq!(admitted(&["0.0.0.1"], &["::1"]), Vec::<String>::new());
    }

    #[test]
    fn deny_wins_over_allow() {
        let mut l = AccessList::new();
        assert_eq!(l.add(Rule::Allow, "127.0.0.1", false), Ok(()));
        assert_eq!(l.add(Rule::Deny, "127.0.0.1", false), Ok(()));
        assert!(!l.permits(ip("127.0.0.1")));

        let mut l = AccessList::new();
        assert_eq!(l.add(Rule::Allow, "10.0.0.0/8", false), Ok(()));
        assert_eq!(l.add(Rule::Deny, "10.0.0.5", false), Ok(()));
        assert!(l.permits(ip("10.0.0.4")));
        assert!(!l.permits(ip("10.0.0.5")));
        assert!(!l.permits(ip("11.0.0.1")));

        // Deny only: everyone else is admitted.
        let l = list(Rule::Deny, &["192.168.0.0/16", "::1"]);
        assert!(!l.permits(ip("192.168.3.4")));
        assert!(!l.permits(ip("::1")));
        assert!(l.permits(ip("10.0.0.1")));
        assert!(l.permits(ip("::2")));
    }

    #[test]
    fn names_resolve_to_all_addresses() {
        let l = list(Rule::Allow, &["localhost"]);
        assert!(l.permits(ip("127.0.0.1")));
        assert!(!l.permits(ip("10.0.0.1")));
        let l = list(Rule::Allow, &["localhost/8"]);
        assert!(l.permits(ip("127.1.2.3")));
        let mut l = AccessList::new();
        let e = l.add(Rule::Allow, "localhost", true).unwrap_err();
        assert_eq!(
            e,
            "'localhost' is not a numeric address (-n forbids name lookups)"
        );
        // Literals are fine with -n.
        assert_eq!(l.add(Rule::Allow, "10.0.0.0/8", true), Ok(()));
        let e = l
            .add(Rule::Allow, "nonexistent.invalid", false)
            .unwrap_err();
        assert!(
            e.starts_with("cannot resolve 'nonexistent.invalid' ("),
            "{e}"
        );
    }

    #[test]
    fn parse_names() {
        assert_eq!(
            parse_spec("scanme.nmap.org/30"),
            Ok(Spec::Name {
                host: "scanme.nmap.org".into(),
                prefix: Some(30)
            })
        );
        assert_eq!(
            parse_spec("my_host-1"),
            Ok(Spec::Name {
                host: "my_host-1".into(),
                prefix: None
            })
        );
    }

    #[test]
    fn bad_specs() {
        for bad in [
            "",
            ".",
            "-",
            ",",
            "1.2.3.4,",
            ",1.2.3.4",
            "1.2.3.4.5",
            "1:2:3:4:5:6:7:8:9",
            "11::22::33",
            "256.256.256.256",
            "FFFFF::FFFFF",
            "10-5.2.3.4",
            "*10.10.10.10",
            "5-10-15.10.10.10",
            "-10-15.10.10.10",
            "10-15-.10.10.10",
            ",.6.7.8",
            "5,.5.5.5",
            ",5.5.5.5",
            "+1.2.3.4",
            "+1.+2.+3.+4",
            "1.2.3.4/",
            "1.2.3.4/33",
            "1.2.3.4/+24",
            "1.2.3.4/24abc",
            "1.2.3.4//24",
            "1.2.3.4/-0",
            "1.2.3.4/0024",
            "FF::FF/129",
            "1",
            "1.2",
            "1.2.3",
            "1..2.3",
            "1.2.3.1000",
            "fe80::1%lo",
            "bogus!!",
            "a b",
            "/24",
            "host/129",
            "[1.2.3.4]",
            "-host",
        ] {
            let mut l = AccessList::new();
            match l.add(Rule::Allow, bad, false) {
                Ok(()) => panic!("{bad:?} was accepted"),
                Err(e) => assert!(
                    e.starts_with(&format!(
                        "invalid host specification '{}' (",
                        bad.escape_debug()
                    )),
                    "{bad:?}: {e}"
                ),
            }
        }
    }

    #[test]
    fn files() {
        let dir = std::env::temp_dir().join(format!("rnc-access-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("hosts");
        let write = |text: &str| {
            if let Err(e) = std::fs::write(&f, text) {
                panic!("{e}");
            }
        };
        write(
            "# trusted hosts\n\n10.0.0.1\n  192.168.0.0/16   # the lab\n\t::1 2001:db8::/32\n#\n",
        );
        let mut l = AccessList::new();
        assert_eq!(l.add_file(Rule::Allow, &f, true), Ok(()));
        for yes in ["10.0.0.1", "192.168.77.1", "::1", "2001:db8::5"] {
            assert!(l.permits(ip(yes)), "{yes}");
        }
        for no in ["10.0.0.2", "::2", "172.16.0.1"] {
            assert!(!l.permits(ip(no)), "{no}");
        }

        // A deny file.
        write("10.0.0.1\n");
        assert_eq!(l.add_file(Rule::Deny, &f, true), Ok(()));
        assert!(!l.permits(ip("10.0.0.1")));

        // An allow file with nothing in it admits nobody.
        write("# nothing yet\n\n");
        let mut l = AccessList::new();
        assert_eq!(l.add_file(Rule::Allow, &f, true), Ok(()));
        assert!(!l.permits(ip("127.0.0.1")));

        // Errors name the file and the line.
        write("10.0.0.1\n\n10.0.0.300 # typo\n");
        let e = AccessList::new()
            .add_file(Rule::Allow, &f, true)
            .unwrap_err();
        assert_eq!(
            e,
            format!(
                "'{}', line 3: invalid host specification '10.0.0.300' (octet 300 is larger than 255)",
                f.display()
            )
        );
        let missing = dir.join("missing");
        let e = AccessList::new()
            .add_file(Rule::Allow, &missing, true)
            .unwrap_err();
        assert_eq!(
            e,
            format!(
                "cannot read '{}': No such file or directory",
                missing.display()
            )
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn octet_masks() {
        assert_eq!(octet_mask(32, 3), 0xff);
        assert_eq!(octet_mask(24, 3), 0);
        assert_eq!(octet_mask(12, 1), 0xf0);
        assert_eq!(octet_mask(0, 0), 0);
        assert_eq!(v6_mask(0), 0);
        assert_eq!(v6_mask(128), u128::MAX);
        assert_eq!(v6_mask(1), 1 << 127);
    }
}
