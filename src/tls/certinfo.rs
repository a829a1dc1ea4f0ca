//! Just enough X.509 reading for ncat's `-v` lines: subject and issuer text,
//! the organisation, the validity period and the SHA-1 fingerprint.
//!
//! Every byte here comes from the peer, so nothing panics: a field that does not
//! parse is reported as missing, and text is escaped before it reaches a
//! terminal. Chain, signature and name checks are left to webpki (through rustls).

/// One DER TLV read from the front of `input`: (tag, contents, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None; // indefinite or absurd lengths are not DER
        }
        let (bytes, rest) = rest.split_at(n);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (contents, rest) = rest.split_at(len);
    Some((tag, contents, rest))
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;

/// The parts of a certificate's TBSCertificate that the diagnostics need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertFields<'a> {
    /// DER of the issuer Name (contents of the SEQUENCE).
    pub issuer: &'a [u8],
    /// DER of the subject Name (contents of the SEQUENCE).
    pub subject: &'a [u8],
    /// notBefore and notAfter as seconds since the Unix epoch.
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
}

/// Read issuer, subject and validity from a DER certificate.
pub(crate) fn cert_fields(der: &[u8]) -> Option<CertFields<'_>> {
    let (tag, cert, _) = tlv(der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] EXPLICIT version, optional.
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    let (_serial, _, rest) = tlv(tbs)?;
    let (_sigalg, _, rest) = tlv(rest)?;
    let (tag, issuer, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, validity, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, subject, _) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (nb_tag, nb, rest) = tlv(validity)?;
    let (na_tag, na, _) = tlv(rest)?;
    Some(CertFields {
        issuer,
        subject,
        not_before: parse_time(nb_tag, nb),
        not_after: parse_time(na_tag, na),
    })
}

/// UTCTime (0x17, `YYMMDDHHMMSSZ`) or GeneralizedTime (0x18,
/// `YYYYMMDDHHMMSSZ`) to Unix seconds.
fn parse_time(tag: u8, s: &[u8]) -> Option<i64> {
    let digits = |b: &[u8]| -> Option<i64> {
        b.iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (year, rest) = match tag {
        0x17 if s.len() == 13 => {
            let yy = digits(s.get(0..2)?)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, s.get(2..)?)
        }
        0x18 if s.len() == 15 => (digits(s.get(0..4)?)?, s.get(4..)?),
        _ => return None,
    };
    if rest.get(10) != Some(&b'Z') {
        return None;
    }
    let month = digits(rest.get(0..2)?)?;
    let day = digits(rest.get(2..4)?)?;
    let hour = digits(rest.get(4..6)?)?;
    let min = digits(rest.get(6..8)?)?;
    let sec = digits(rest.get(8..10)?)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Short names OpenSSL prints for the usual attribute types, by DER-encoded OID.
const ATTRIBUTE_NAMES: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "CN"),
    (&[0x55, 0x04, 0x04], "SN"),
    (&[0x55, 0x04, 0x05], "serialNumber"),
    (&[0x55, 0x04, 0x06], "C"),
    (&[0x55, 0x04, 0x07], "L"),
    (&[0x55, 0x04, 0x08], "ST"),
    (&[0x55, 0x04, 0x09], "street"),
    (&[0x55, 0x04, 0x0a], "O"),
    (&[0x55, 0x04, 0x0b], "OU"),
    (&[0x55, 0x04, 0x0c], "title"),
    (&[0x55, 0x04, 0x0f], "businessCategory"),
    (&[0x55, 0x04, 0x11], "postalCode"),
    (&[0x55, 0x04, 0x29], "name"),
    (&[0x55, 0x04, 0x2a], "GN"),
    (&[0x55, 0x04, 0x2b], "initials"),
    (&[0x55, 0x04, 0x2e], "dnQualifier"),
    (&[0x55, 0x04, 0x41], "pseudonym"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "emailAddress",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "DC",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "UID",
    ),
    (
        &[
            0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x03,
        ],
        "jurisdictionC",
    ),
    (
        &[
            0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x02,
        ],
        "jurisdictionST",
    ),
    (
        &[
            0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c, 0x02, 0x01, 0x01,
        ],
        "jurisdictionL",
    ),
];

const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];

/// Dotted text of a DER OID body, for attribute types without a short name.
fn oid_text(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        acc = acc.saturating_mul(128) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// Decode an attribute value to text, whatever its string type.
fn value_text(tag: u8, v: &[u8]) -> String {
    let raw = match tag {
        // UTF8String, PrintableString, IA5String, VisibleString, NumericString
        0x0c | 0x13 | 0x16 | 0x1a | 0x12 => String::from_utf8_lossy(v).into_owned(),
        // T61String: treat as Latin-1, as OpenSSL effectively does
        0x14 => v.iter().map(|&b| char::from(b)).collect(),
        // BMPString: UTF-16BE
        0x1e => {
            let units: Vec<u16> = v
                .chunks(2)
                .map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE
        0x1c => v
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                char::from_u32(u32::from_be_bytes(b)).unwrap_or('\u{fffd}')
            })
            .collect(),
        _ => {
            // Anything else: OpenSSL shows `#` and the hex of the DER.
            let mut s = String::from("#");
            for b in v {
                s.push_str(&format!("{b:02X}"));
            }
            return s;
        }
    };
    sanitize(&raw)
}

/// Make peer-supplied text safe to print: control characters (ESC in
/// particular) become `\xNN` or `\u{..}` escapes.
pub(crate) fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02X}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:X}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Iterate the (type OID, value tag, value) of every attribute in a Name,
/// RDN by RDN; the bool is true for the first attribute of each RDN.
fn attributes(name: &[u8]) -> Vec<(bool, &[u8], u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = name;
    while let Some((tag, rdn, next)) = tlv(rest) {
        rest = next;
        if tag != SET {
            break;
        }
        let mut first = true;
        let mut avas = rdn;
        while let Some((tag, ava, next)) = tlv(avas) {
            avas = next;
            if tag != SEQUENCE {
                break;
            }
            let Some((0x06, oid, after)) = tlv(ava) else {
                break;
            };
            let Some((vtag, value, _)) = tlv(after) else {
                break;
            };
            out.push((first, oid, vtag, value));
            first = false;
        }
    }
    out
}

/// A Name as one line in OpenSSL's "compat" form, e.g. `C=US, O=Example, CN=host`
/// (what ncat prints after "Subject:" and "Issuer:").
pub(crate) fn name_text(name: &[u8]) -> String {
    let mut s = String::new();
    for (first_in_rdn, oid, vtag, value) in attributes(name) {
        if !s.is_empty() {
            s.push_str(if first_in_rdn { ", " } else { " + " });
        }
        match ATTRIBUTE_NAMES.iter().find(|(o, _)| *o == oid) {
            Some((_, short)) => s.push_str(short),
            None => s.push_str(&oid_text(oid)),
        }
        s.push('=');
        s.push_str(&value_text(vtag, value));
    }
    s
}

/// The first organizationName (O) of a Name, which ncat appends to its
/// "SSL connection to" line.
pub(crate) fn organization(name: &[u8]) -> Option<String> {
    attributes(name)
        .into_iter()
        .find(|(_, oid, _, _)| *oid == OID_ORGANIZATION)
        .map(|(_, _, vtag, value)| value_text(vtag, value))
}

/// True when issuer and subject are the same name: OpenSSL calls such a leaf
/// that no trust store vouches for "self-signed certificate".
pub(crate) fn is_self_issued(der: &[u8]) -> bool {
    cert_fields(der).is_some_and(|f| f.issuer == f.subject)
}

/// SHA-1 of the DER certificate in ncat's layout: upper-case hex in groups of
/// four, e.g. `1A2B 3C4D ... 9F0E` (ten groups).
pub fn fingerprint_sha1(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    let hex: Vec<String> = digest
        .as_ref()
        .chunks(2)
        .map(|pair| pair.iter().map(|b| format!("{b:02X}")).collect())
        .collect();
    hex.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse() {
        // 2020-01-01T00:00:00Z
        assert_eq!(parse_time(0x17, b"200101000000Z"), Some(1_577_836_800));
        assert_eq!(parse_time(0x18, b"20200101000000Z"), Some(1_577_836_800));
        // 1975-01-01 and the year 4096 (rcgen's default bounds)
        assert_eq!(parse_time(0x17, b"750101000000Z"), Some(157_766_400));
        assert_eq!(
            parse_time(0x18, b"40960101000000Z"),
            Some(days_from_civil(4096, 1, 1) * 86_400)
        );
        assert_eq!(parse_time(0x17, b"2001010000Z"), None);
        assert_eq!(parse_time(0x17, b"20010100000xZ"), None);
        assert_eq!(parse_time(0x18, b"20201301000000Z"), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        for bad in [
            &b""[..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x05, 0x30, 0x03, 0x02, 0x01],
            &[0x30, 0x80, 0x00, 0x00],
            &[0x31, 0x00],
        ] {
            assert_eq!(cert_fields(bad), None);
            assert!(!is_self_issued(bad));
        }
        // Truncation at every length of a real certificate never panics.
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let der = ck.cert.der().to_vec();
        assert!(cert_fields(&der).is_some());
        for n in 0..der.len() {
            let _ = cert_fields(&der[..n]);
            let _ = name_text(&der[..n]);
        }
    }

    #[test]
    fn names_print_like_openssl() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "US");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example \x1b[31mOrg");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "host.example");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let f = cert_fields(cert.der()).unwrap();
        assert_eq!(
            name_text(f.subject),
            "C=US, O=Example \\x1B[31mOrg, CN=host.example"
        );
        assert_eq!(f.subject, f.issuer);
        assert_eq!(
            organization(f.subject).as_deref(),
            Some("Example \\x1B[31mOrg")
        );
        assert!(is_self_issued(cert.der()));
    }

    #[test]
    fn oid_fallback() {
        // 1.2.840.113549 and 2.999.3
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
        assert_eq!(oid_text(&[0x88, 0x37, 0x03]), "2.999.3");
    }

    #[test]
    fn fingerprint_layout() {
        // SHA-1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
        assert_eq!(
            fingerprint_sha1(b"abc"),
            "A999 3E36 4706 816A BA3E 2571 7850 C26C 9CD0 D89D"
        );
    }
}
