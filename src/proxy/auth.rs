//! HTTP proxy authentication shared by the client and the server: Basic
//! (base64 of `user:pass`) and Digest (RFC 7616 with MD5, the only algorithm
//! ncat and curl's `--proxy-digest` share; `qop=auth` or RFC 2069 without qop).
//!
//! Parsing is deliberately strict about shape and lenient about case: a header
//! that does not parse is treated as absent, never as a reason to panic.

use md5::{Digest as _, Md5};

/// The realm ncat announces; rnc's server uses the same, so stored `HA1`
/// values and client prompts match.
pub const REALM: &str = "Ncat";

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64 (padding optional); `None` for anything else.
pub fn unbase64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A lone trailing sextet cannot come from an encoder.
    (bits < 6).then_some(out)
}

/// Lower-case hex MD5.
pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

pub fn hex(data: &[u8]) -> String {
    use std::fmt::Write;
    data.iter()
        .fold(String::with_capacity(data.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Compare without an early exit, so the time taken says nothing about where
/// a guess went wrong.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// One challenge or credentials header: the scheme and its parameters, names
/// lower-cased, quoted values unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    pub scheme: String,
    /// `Basic`'s token68 (the base64 blob), when that is the form used.
    pub token: Option<String>,
    pub params: Vec<(String, String)>,
}

impl AuthHeader {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

/// Parse a `Proxy-Authenticate` or `Proxy-Authorization` value, which may hold
/// several challenges (`Basic realm="x", Digest realm="y", nonce="z"`).
pub fn parse(value: &str) -> Option<Vec<AuthHeader>> {
    let mut out: Vec<AuthHeader> = Vec::new();
    let mut p = Lexer {
        s: value.as_bytes(),
        i: 0,
    };
    loop {
        p.skip_ws_commas();
        if p.done() {
            break;
        }
        let word = p.token()?;
        p.skip_ws();
        if p.peek() == Some(b'=') && !out.is_empty() {
            // name=value: a parameter of the current scheme, unless it is a
            // token68 (`Basic dXNlcjpw==`), handled below.
            p.i += 1;
            p.skip_ws();
            let v = if p.peek() == Some(b'"') {
                p.quoted()?
            } else {
                p.token()?
            };
            if let Some(h) = out.last_mut() {
                h.params.push((word.to_ascii_lowercase(), v));
            }
            continue;
        }
        let mut h = AuthHeader {
            scheme: word,
            token: None,
            params: Vec::new(),
        };
        // A token68 follows the scheme directly, possibly ending in '='.
        let save = p.i;
        if let Some(t) = p.token68() {
            let next = p.peek();
            if next.is_none() || next == Some(b',') {
                h.token = Some(t);
            } else {
                p.i = save;
            }
        }
        out.push(h);
    }
    (!out.is_empty()).then_some(out)
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn skip_ws_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn token(&mut self) -> Option<String> {
        self.take_while(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
    }
    fn token68(&mut self) -> Option<String> {
        let t = self.take_while(|c| c.is_ascii_alphanumeric() || b"-._~+/".contains(&c))?;
        let mut t = t;
        while self.peek() == Some(b'=') {
            self.i += 1;
            t.push('=');
        }
        self.skip_ws();
        Some(t)
    }
    fn quoted(&mut self) -> Option<String> {
        self.i += 1;
        let mut v = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(String::from_utf8_lossy(&v).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    v.push(self.peek()?);
                    self.i += 1;
                }
                c => {
                    v.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// Quote a value for a header parameter.
pub fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// The inputs of a Digest `response` (RFC 7616 §3.4.1, MD5).
pub struct DigestInput<'a> {
    pub user: &'a str,
    pub realm: &'a str,
    pub pass: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// `(qop, nc, cnonce)` when the `qop=auth` form is used; `None` for RFC 2069.
    pub qop: Option<(&'a str, &'a str, &'a str)>,
}

/// The hex `response` value a client sends and a server expects.
pub fn digest_response(d: &DigestInput) -> String {
    let ha1 = md5_hex(format!("{}:{}:{}", d.user, d.realm, d.pass).as_bytes());
    let ha2 = md5_hex(format!("{}:{}", d.method, d.uri).as_bytes());
    let kd = match d.qop {
        Some((qop, nc, cnonce)) => format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", d.nonce),
        None => format!("{ha1}:{}:{ha2}", d.nonce),
    };
    md5_hex(kd.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("user:pass", "dXNlcjpwYXNz"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
            assert_eq!(unbase64(o).as_deref(), Some(i.as_bytes()));
        }
        assert_eq!(unbase64("Zm9v!"), None);
        assert_eq!(unbase64("Z"), None);
    }

    #[test]
    fn md5_matches_rfc1321_vectors() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn digest_matches_rfc2617_example() {
        // RFC 2617 §3.5.
        let d = DigestInput {
            user: "Mufasa",
            realm: "testrealm@host.com",
            pass: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop: Some(("auth", "00000001", "0a4f113b")),
        };
        assert_eq!(digest_response(&d), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn parses_several_challenges_and_credentials() {
        let h = parse(
            r#"Basic realm="Ncat", Digest realm="Ncat", nonce="a\"b", qop="auth", algorithm=MD5"#,
        )
        .unwrap();
        assert_eq!(h.len(), 2);
        assert!(h[0].is("basic") && h[0].param("realm") == Some("Ncat"));
        assert!(h[1].is("Digest"));
        assert_eq!(h[1].param("nonce"), Some("a\"b"));
        assert_eq!(h[1].param("algorithm"), Some("MD5"));

        let h = parse("Basic dXNlcjpwYXNz").unwrap();
        assert_eq!(h[0].token.as_deref(), Some("dXNlcjpwYXNz"));
        let h = parse("basic Zg==").unwrap();
        assert_eq!(h[0].token.as_deref(), Some("Zg=="));

        let h = parse(r#"Digest username="u", uri="h:1", nc=00000001"#).unwrap();
        assert_eq!(h[0].param("username"), Some("u"));
        assert_eq!(h[0].param("nc"), Some("00000001"));
    }

    #[test]
    fn garbage_parses_to_nothing_rather_than_panicking() {
        for s in [
            "",
            ",,,",
            "Digest nonce=\"unterminated",
            "=",
            "Digest a=",
            "\u{7f}",
        ] {
            let _ = parse(s);
        }
        assert_eq!(parse(""), None);
        assert_eq!(parse("Digest nonce=\"x"), None);
    }

    #[test]
    fn quote_escapes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn same_compares_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"ab", b"abc"));
    }
}
