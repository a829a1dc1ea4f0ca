//! `--ssl-ciphers`: OpenSSL cipher strings mapped onto the suites rustls has.
//!
//! rustls (ring provider) implements nine suites, all AEAD with forward
//! secrecy:
//!
//! | OpenSSL name                    | IANA name                                       |
//! |---------------------------------|-------------------------------------------------|
//! | `TLS_AES_256_GCM_SHA384`        | TLS 1.3                                         |
//! | `TLS_AES_128_GCM_SHA256`        | TLS 1.3                                         |
//! | `TLS_CHACHA20_POLY1305_SHA256`  | TLS 1.3                                         |
//! | `ECDHE-ECDSA-AES256-GCM-SHA384` | `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`       |
//! | `ECDHE-ECDSA-AES128-GCM-SHA256` | `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`       |
//! | `ECDHE-ECDSA-CHACHA20-POLY1305` | `TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256` |
//! | `ECDHE-RSA-AES256-GCM-SHA384`   | `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`         |
//! | `ECDHE-RSA-AES128-GCM-SHA256`   | `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`         |
//! | `ECDHE-RSA-CHACHA20-POLY1305`   | `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`   |
//!
//! The string is read the way OpenSSL reads it: elements separated by `:`
//! (or `,`, `;`, space); `!X` removes X for good, `-X` removes it (a later
//! element may add it back), `+X` moves it to the end, `A+B` means "in both A
//! and B", `@STRENGTH` sorts by key length and `@SECLEVEL=n` is accepted and
//! ignored. Keywords select by property, with the membership OpenSSL 3 gives
//! them (checked with `openssl ciphers -v`): `ALL`, `DEFAULT`, `HIGH`,
//! `ECDHE`/`EECDH`/`kECDHE`/`ECDH`, `TLSv1.2`, `AEAD` match every TLS 1.2
//! suite above; `aRSA`, `aECDSA`/`ECDSA`, `AES`, `AESGCM`, `AES128`, `AES256`,
//! `CHACHA20`, `FIPS`, `SUITEB128`, `SUITEB192` select the obvious subsets; and
//! keywords for things rustls does not do (`aNULL`, `eNULL`, `LOW`, `EXP`,
//! `RC4`, `MD5`, `DHE`, `kRSA`, `RSA`, `PSK`, `CBC`, `3DES`, `CAMELLIA`, …)
//! match nothing, so ncat's default
//! `ALL:!aNULL:!eNULL:!LOW:!EXP:!RC4:!MD5:@STRENGTH` selects every suite.
//!
//! A cipher name that OpenSSL knows but rustls does not implement (e.g.
//! `DHE-RSA-AES128-GCM-SHA256`, `AES128-SHA`) matches nothing and is otherwise
//! ignored, as OpenSSL ignores names it lacks, so lists copied from server
//! configuration guides work. A word that is neither a keyword nor shaped like
//! a cipher name is an error that names it.
//!
//! TLS 1.3, as in OpenSSL and ncat: the cipher string does not restrict the
//! TLS 1.3 suites unless it names some of them (`TLS_AES_128_GCM_SHA256` …),
//! in which case exactly the named ones are offered; `!TLS_…` removes one, and
//! `TLSv1.3` (an rnc addition) stands for all three, so `…:!TLSv1.3` turns
//! TLS 1.3 off. If no TLS 1.2 suite is
//! left, only TLS 1.3 is offered when TLS 1.3 suites were named, and the
//! string is an error otherwise (OpenSSL's "no cipher match").

use rustls::{CipherSuite, SupportedCipherSuite};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    Any,
    Rsa,
    Ecdsa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
    Aes128Gcm,
    Aes256Gcm,
    Chacha20,
}

struct Info {
    suite: CipherSuite,
    openssl: &'static str,
    tls13: bool,
    auth: Auth,
    enc: Enc,
}

impl Info {
    fn bits(&self) -> u16 {
        match self.enc {
            Enc::Aes128Gcm => 128,
            Enc::Aes256Gcm | Enc::Chacha20 => 256,
        }
    }
}

const TABLE: &[Info] = &[
    Info {
        suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
        openssl: "TLS_AES_256_GCM_SHA384",
        tls13: true,
        auth: Auth::Any,
        enc: Enc::Aes256Gcm,
    },
    Info {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        openssl: "TLS_AES_128_GCM_SHA256",
        tls13: true,
        auth: Auth::Any,
        enc: Enc::Aes128Gcm,
    },
    Info {
        suite: CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        openssl: "TLS_CHACHA20_POLY1305_SHA256",
        tls13: true,
        auth: Auth::Any,
        enc: Enc::Chacha20,
    },
    Info {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
        tls13: false,
        auth: Auth::Ecdsa,
        enc: Enc::Aes256Gcm,
    },
    Info {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
        tls13: false,
        auth: Auth::Ecdsa,
        enc: Enc::Aes128Gcm,
    },
    Info {
        suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
        tls13: false,
        auth: Auth::Ecdsa,
        enc: Enc::Chacha20,
    },
    Info {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        openssl: "ECDHE-RSA-AES256-GCM-SHA384",
        tls13: false,
        auth: Auth::Rsa,
        enc: Enc::Aes256Gcm,
    },
    Info {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        openssl: "ECDHE-RSA-AES128-GCM-SHA256",
        tls13: false,
        auth: Auth::Rsa,
        enc: Enc::Aes128Gcm,
    },
    Info {
        suite: CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        openssl: "ECDHE-RSA-CHACHA20-POLY1305",
        tls13: false,
        auth: Auth::Rsa,
        enc: Enc::Chacha20,
    },
];

/// The OpenSSL-style name of a suite rnc knows, or its IANA name.
pub fn openssl_name(suite: CipherSuite) -> String {
    match TABLE.iter().find(|i| i.suite == suite) {
        Some(i) => i.openssl.to_string(),
        None => format!("{suite:?}"),
    }
}

/// A keyword's TLS 1.2 membership: `Some(pred)` for keywords rnc knows
/// (a predicate that may match nothing), `None` for unknown words.
fn keyword(word: &str) -> Option<fn(&Info) -> bool> {
    fn all(_: &Info) -> bool {
        true
    }
    fn none(_: &Info) -> bool {
        false
    }
    let pred: fn(&Info) -> bool = match word {
        "ALL" | "DEFAULT" | "HIGH" | "ECDHE" | "EECDH" | "kECDHE" | "kEECDH" | "ECDH" | "kECDH"
        | "TLSv1.2" | "AEAD" => all,
        "aRSA" => |i| i.auth == Auth::Rsa,
        "aECDSA" | "ECDSA" => |i| i.auth == Auth::Ecdsa,
        "AES" | "AESGCM" | "FIPS" => |i| matches!(i.enc, Enc::Aes128Gcm | Enc::Aes256Gcm),
        "AES128" => |i| i.enc == Enc::Aes128Gcm,
        "AES256" => |i| i.enc == Enc::Aes256Gcm,
        "CHACHA20" => |i| i.enc == Enc::Chacha20,
        "SUITEB128" => |i| i.auth == Auth::Ecdsa && i.enc != Enc::Chacha20,
        "SUITEB128ONLY" => |i| i.auth == Auth::Ecdsa && i.enc == Enc::Aes128Gcm,
        "SUITEB192" => |i| i.auth == Auth::Ecdsa && i.enc == Enc::Aes256Gcm,
        // Real OpenSSL keywords for algorithms rustls does not implement.
        "MEDIUM"
        | "LOW"
        | "EXP"
        | "EXPORT"
        | "EXPORT40"
        | "EXPORT56"
        | "COMPLEMENTOFDEFAULT"
        | "COMPLEMENTOFALL"
        | "aNULL"
        | "eNULL"
        | "NULL"
        | "RC4"
        | "RC2"
        | "MD5"
        | "SHA1"
        | "SHA"
        | "SHA256"
        | "SHA384"
        | "3DES"
        | "DES"
        | "IDEA"
        | "SEED"
        | "CAMELLIA"
        | "CAMELLIA128"
        | "CAMELLIA256"
        | "ARIA"
        | "ARIA128"
        | "ARIA256"
        | "ARIAGCM"
        | "PSK"
        | "SRP"
        | "kRSA"
        | "RSA"
        | "aDSS"
        | "DSS"
        | "kDHE"
        | "DHE"
        | "EDH"
        | "kEDH"
        | "kDH"
        | "ADH"
        | "AECDH"
        | "aECDH"
        | "kPSK"
        | "aPSK"
        | "kECDHEPSK"
        | "kDHEPSK"
        | "kRSAPSK"
        | "ECDHEPSK"
        | "DHEPSK"
        | "RSAPSK"
        | "kSRP"
        | "aSRP"
        | "AESCCM"
        | "AESCCM8"
        | "CBC"
        | "TLSv1"
        | "TLSv1.0"
        | "SSLv3"
        | "kGOST"
        | "aGOST"
        | "aGOST01"
        | "GOST94"
        | "GOST89MAC"
        | "kGOST18"
        | "CHACHA20POLY1305"
        | "SUITEB128C2" => none,
        _ => return None,
    };
    Some(pred)
}

/// Is `word` shaped like an OpenSSL or IANA cipher suite name? Used to tell
/// suites rustls lacks (ignored) from typos (errors).
fn looks_like_suite_name(word: &str) -> bool {
    const PARTS: &[&str] = &[
        "TLS",
        "SSL",
        "WITH",
        "ECDHE",
        "ECDH",
        "DHE",
        "EDH",
        "DH",
        "ADH",
        "AECDH",
        "EXP",
        "EXP1024",
        "EXPORT",
        "EXPORT1024",
        "RSA",
        "ECDSA",
        "DSS",
        "ANON",
        "PSK",
        "SRP",
        "AES",
        "AES128",
        "AES256",
        "GCM",
        "CCM",
        "CCM8",
        "CHACHA20",
        "POLY1305",
        "SHA",
        "SHA256",
        "SHA384",
        "MD5",
        "CAMELLIA",
        "CAMELLIA128",
        "CAMELLIA256",
        "ARIA",
        "ARIA128",
        "ARIA256",
        "DES",
        "CBC",
        "CBC3",
        "3DES",
        "EDE",
        "RC4",
        "RC2",
        "NULL",
        "SEED",
        "IDEA",
        "GOST",
        "GOST94",
        "GOST89",
        "GOST2001",
        "GOST2012",
        "KRB5",
        "SM4",
        "SM3",
        "8",
    ];
    let parts: Vec<&str> = word.split(['-', '_']).collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| PARTS.contains(p) || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// Which table rows a single word selects. `Err(())`: unknown word.
fn select_word(word: &str, tls13_named: &mut bool) -> Result<Vec<usize>, ()> {
    if let Some(pred) = keyword(word) {
        return Ok((0..TABLE.len())
            .filter(|&i| !TABLE[i].tls13 && pred(&TABLE[i]))
            .collect());
    }
    if let Some(i) = TABLE.iter().position(|i| {
        i.openssl.eq_ignore_ascii_case(word) || format!("{:?}", i.suite).eq_ignore_ascii_case(word)
    }) {
        if TABLE[i].tls13 {
            *tls13_named = true;
        }
        return Ok(vec![i]);
    }
    if word == "TLSv1.3" {
        // rnc's addition: all TLS 1.3 suites ("!TLSv1.3" turns TLS 1.3 off).
        *tls13_named = true;
        return Ok((0..TABLE.len()).filter(|&i| TABLE[i].tls13).collect());
    }
    let upper = word.to_ascii_uppercase();
    if upper.starts_with("TLS_AES_") || upper.starts_with("TLS_SHA") {
        // A TLS 1.3 suite rustls lacks (CCM, integrity-only): naming it still
        // means "restrict TLS 1.3 to what I named".
        *tls13_named = true;
        return Ok(Vec::new());
    }
    if looks_like_suite_name(&upper) {
        return Ok(Vec::new());
    }
    Err(())
}

/// Apply an OpenSSL cipher string to the provider's suites, returning them in
/// preference order (TLS 1.3 first). The error text lists the words that are
/// not understood, or says that nothing is left.
pub fn select(
    spec: &str,
    available: &[SupportedCipherSuite],
) -> Result<Vec<SupportedCipherSuite>, String> {
    // OpenSSL's model: an ordered list of active suites, plus killed ones.
    let mut active: Vec<usize> = Vec::new();
    let mut killed = vec![false; TABLE.len()];
    let mut tls13_named = false;
    let mut unknown: Vec<String> = Vec::new();

    for element in spec
        .split([':', ',', ';', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        if let Some(cmd) = element.strip_prefix('@') {
            if cmd == "STRENGTH" {
                // Stable: equal strengths keep their order.
                active.sort_by_key(|&i| std::cmp::Reverse(TABLE[i].bits()));
            } else if !cmd.starts_with("SECLEVEL=") {
                unknown.push(element.to_string());
            }
            continue;
        }
        let (op, body) = match element.as_bytes().first() {
            Some(b'!') => ('!', &element[1..]),
            Some(b'-') => ('-', &element[1..]),
            Some(b'+') => ('+', &element[1..]),
            _ => (' ', element),
        };
        // "A+B": the intersection.
        let mut set: Option<Vec<usize>> = None;
        let mut ok = true;
        for word in body.split('+').filter(|w| !w.is_empty()) {
            let mut named = false;
            match select_word(word, &mut named) {
                Ok(rows) => {
                    // A TLS 1.3 name counts only when it is being added.
                    if named && op == ' ' {
                        tls13_named = true;
                    }
                    set = Some(match set {
                        None => rows,
                        Some(prev) => prev.into_iter().filter(|r| rows.contains(r)).collect(),
                    });
                }
                Err(()) => {
                    unknown.push(word.to_string());
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        let rows = set.unwrap_or_default();
        match op {
            '!' => {
                for &r in &rows {
                    killed[r] = true;
                }
                active.retain(|r| !rows.contains(r));
            }
            '-' => active.retain(|r| !rows.contains(r)),
            '+' => {
                let (moved, kept): (Vec<usize>, Vec<usize>) =
                    active.iter().partition(|r| rows.contains(r));
                active = kept;
                active.extend(moved);
            }
            _ => {
                for r in rows {
                    if !killed[r] && !active.contains(&r) {
                        active.push(r);
                    }
                }
            }
        }
    }

    if !unknown.is_empty() {
        return Err(format!(
            "unknown cipher name{} {}; rnc supports {}",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            supported_list(available)
        ));
    }

    let find = |row: usize| {
        available
            .iter()
            .find(|s| s.suite() == TABLE[row].suite)
            .copied()
    };
    let tls13: Vec<SupportedCipherSuite> = if tls13_named {
        active
            .iter()
            .filter(|&&r| TABLE[r].tls13)
            .filter_map(|&r| find(r))
            .collect()
    } else {
        // Not named: every TLS 1.3 suite, provider order, unless killed.
        available
            .iter()
            .filter(|s| {
                TABLE
                    .iter()
                    .position(|i| i.suite == s.suite())
                    .is_some_and(|r| TABLE[r].tls13 && !killed[r])
            })
            .copied()
            .collect()
    };
    let tls12: Vec<SupportedCipherSuite> = active
        .iter()
        .filter(|&&r| !TABLE[r].tls13)
        .filter_map(|&r| find(r))
        .collect();
    // TLS 1.3 alone is fine only when asked for by name.
    let tls13_only = tls13_named && !tls13.is_empty();
    if tls12.is_empty() && !tls13_only {
        return Err(format!(
            "no cipher suite matches; rnc supports {}",
            supported_list(available)
        ));
    }
    Ok(tls13.into_iter().chain(tls12).collect())
}

fn supported_list(available: &[SupportedCipherSuite]) -> String {
    available
        .iter()
        .map(|s| openssl_name(s.suite()))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(spec: &str) -> Result<Vec<String>, String> {
        let all = rustls::crypto::ring::default_provider().cipher_suites;
        select(spec, &all).map(|v| v.iter().map(|s| openssl_name(s.suite())).collect())
    }

    const T13: [&str; 3] = [
        "TLS_AES_256_GCM_SHA384",
        "TLS_AES_128_GCM_SHA256",
        "TLS_CHACHA20_POLY1305_SHA256",
    ];

    fn with_t13(rest: &[&str]) -> Vec<String> {
        T13.iter().chain(rest).map(|s| s.to_string()).collect()
    }

    #[test]
    fn ncat_default_selects_everything() {
        let got = names("ALL:!aNULL:!eNULL:!LOW:!EXP:!RC4:!MD5:@STRENGTH").unwrap();
        assert_eq!(got.len(), 9);
        // @STRENGTH: 256-bit (AES256, CHACHA20) before 128-bit.
        assert_eq!(
            &got[3..],
            &[
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-RSA-CHACHA20-POLY1305",
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
            ]
        );
        for kw in [
            "HIGH",
            "DEFAULT",
            "ALL",
            "ECDHE",
            "TLSv1.2",
            "HIGH:!aNULL:!MD5",
        ] {
            assert_eq!(names(kw).unwrap().len(), 9, "{kw}");
        }
    }

    #[test]
    fn names_and_order() {
        assert_eq!(
            names("ECDHE-RSA-CHACHA20-POLY1305,ECDHE-RSA-AES128-GCM-SHA256").unwrap(),
            with_t13(&["ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-GCM-SHA256"])
        );
        // IANA spelling, any case
        assert_eq!(
            names("tls_ecdhe_ecdsa_with_aes_128_gcm_sha256").unwrap(),
            with_t13(&["ECDHE-ECDSA-AES128-GCM-SHA256"])
        );
    }

    #[test]
    fn tls13_names_restrict_tls13() {
        assert_eq!(
            names("TLS_CHACHA20_POLY1305_SHA256").unwrap(),
            vec!["TLS_CHACHA20_POLY1305_SHA256"]
        );
        assert_eq!(
            names("TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256").unwrap(),
            vec!["TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"]
        );
        // Killing a TLS 1.3 suite by name removes it from the default set.
        assert_eq!(
            names("HIGH:!TLS_AES_256_GCM_SHA384").unwrap()[..2],
            ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"]
        );
    }

    #[test]
    fn operators_and_intersections() {
        assert_eq!(
            names("ECDHE+AESGCM:!ECDSA").unwrap(),
            with_t13(&["ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"])
        );
        assert_eq!(
            names("aECDSA:-AES128:AES128+aRSA").unwrap(),
            with_t13(&[
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-AES128-GCM-SHA256",
            ])
        );
        // '-' can be undone, '!' cannot.
        assert_eq!(names("CHACHA20:-CHACHA20:CHACHA20").unwrap().len(), 5);
        assert!(names("!CHACHA20:CHACHA20").is_err());
        // '+' moves to the end
        assert_eq!(
            names("aRSA:+AES128").unwrap(),
            with_t13(&[
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-RSA-CHACHA20-POLY1305",
                "ECDHE-RSA-AES128-GCM-SHA256",
            ])
        );
        assert_eq!(names("HIGH:@SECLEVEL=2").unwrap().len(), 9);
        assert_eq!(
            names("CHACHA20:!TLSv1.3").unwrap(),
            vec![
                "ECDHE-ECDSA-CHACHA20-POLY1305",
                "ECDHE-RSA-CHACHA20-POLY1305"
            ]
        );
        assert_eq!(names("TLSv1.3").unwrap(), T13.to_vec());
    }

    #[test]
    fn unsupported_real_names_are_ignored() {
        // Mozilla's "intermediate" list, which has DHE suites rustls lacks.
        let moz = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
                   ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
                   ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:\
                   DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
        assert_eq!(names(moz).unwrap().len(), 9);
        assert_eq!(
            names("AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:DES-CBC3-SHA").unwrap(),
            with_t13(&["ECDHE-RSA-AES128-GCM-SHA256"])
        );
        // ...but a string of nothing rustls has is "no cipher match".
        let e = names("DHE-RSA-AES128-GCM-SHA256:AES128-SHA").unwrap_err();
        assert!(e.starts_with("no cipher suite matches"), "{e}");
        let e = names("RC4:!aNULL").unwrap_err();
        assert!(e.starts_with("no cipher suite matches"), "{e}");
    }

    #[test]
    fn unknown_words_are_named() {
        let e = names("HIGH:FOO:ECDHE-RSA-AES128-GCM-SHA256:BAR+aRSA:@BOGUS").unwrap_err();
        assert!(
            e.starts_with("unknown cipher names FOO, BAR, @BOGUS;"),
            "{e}"
        );
        assert!(e.contains("ECDHE-RSA-CHACHA20-POLY1305"), "{e}");
        let e = names("ECDHE-RSA-AES128-GCM-SHA265X").unwrap_err();
        assert!(e.contains("ECDHE-RSA-AES128-GCM-SHA265X"), "{e}");
        assert!(names("").is_err());
    }
}
