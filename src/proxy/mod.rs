//! The proxy client (`--proxy`, OpenBSD `-x`/`-X`/`-P`; reference §3.6).
//!
//! `connect` TCP-connects to the proxy with `net`'s usual connect (so `-w`,
//! `-s`, `-p` and the socket options apply to that connection), then runs the
//! handshake on the socket in blocking mode, bounded as a whole by the `-w` time
//! (10 s without one): HTTP `CONNECT`, SOCKS4/4a or SOCKS5 (RFC 1928, with
//! RFC 1929 user/password). Replies are read exactly (SOCKS) or one byte at a
//! time up to the blank line (HTTP, at most 16 KiB), so nothing past the
//! handshake is consumed: the socket then goes to the relay unchanged, and TLS
//! (`--ssl`) runs over the tunnel with the target's name.
//!
//! Every failure, including a malformed, truncated, oversized or stalled reply,
//! is one line `rnc: proxy HOST:PORT : WHY`, exit 1.

pub mod auth;
pub mod server;

use self::auth::{base64, digest_response, quote, AuthHeader, DigestInput};
use crate::config::{Address, Config, Family, Proto, ProxyDns, ProxyKind, ProxySpec};
use crate::error::{Error, Result};
use crate::log::{describe, Log};
use crate::net::{self, Remote};
use socket2::SockRef;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Bound on the handshake when there is no `-w`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest HTTP reply header accepted.
pub const MAX_HTTP_HEADER: usize = 16 * 1024;

/// What the proxy is asked to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Name(String),
    Ip(IpAddr),
}

/// Connect to the configured target through `spec`: a socket ready for the
/// relay (non-blocking, no timeouts), its `peer` being the proxy.
pub fn connect(cfg: &Config, spec: &ProxySpec, log: &Log) -> Result<Remote> {
    let (host, port) = match &cfg.address {
        Address::Inet {
            host: Some(h),
            port,
        } => (h.as_str(), *port),
        _ => {
            return Err(Error::usage(
                "--proxy",
                "needs a host and port to connect to",
            ))
        }
    };
    let target = target(cfg, spec, host, port, log)?;
    let mut remote = net::connect_inet(&spec.host, spec.port, Proto::Tcp, cfg, log)?;
    let limit = cfg.timeouts.connect.unwrap_or(DEFAULT_TIMEOUT);
    let deadline = Instant::now() + limit;
    let who = spec.label();
    let first = {
        let mut c = Conn::new(&remote, deadline, limit, &who)?;
        match spec.kind {
            ProxyKind::Http => http(&mut c, &target, port, None, spec.auth.is_some())?,
            ProxyKind::Socks4 => socks4(&mut c, spec, &target, port).map(|_| None)?,
            ProxyKind::Socks5 => socks5(&mut c, spec, &target, port).map(|_| None)?,
        }
    };
    if let (Some(challenges), Some((user, pass))) = (first, &spec.auth) {
        // ncat's way: the first CONNECT carries no credentials, so a password
        // never goes out in clear text to a proxy that would take Digest; the
        // 407 connection is dropped (its body is not worth draining) and the
        // answer goes on a new one, within the same deadline.
        let fail = |why: String| Error::network(format!("rnc: proxy {who} : {why}"));
        let creds =
            credentials(&challenges, user, pass, &authority(&target, port)).map_err(fail)?;
        log.debug(format!(
            "proxy {who} asks for authentication; answering with {}",
            creds.split(' ').next().unwrap_or("")
        ));
        drop(remote);
        remote = reconnect(cfg, spec, deadline, limit, &who, log)?;
        let mut c = Conn::new(&remote, deadline, limit, &who)?;
        http(&mut c, &target, port, Some(&creds), false)?;
    }
    let c = Conn::new(&remote, deadline, limit, &who)?;
    let restore = c
        .sock
        .set_read_timeout(None)
        .and_then(|_| c.sock.set_write_timeout(None))
        .and_then(|_| c.sock.set_nonblocking(true));
    restore.map_err(|e| c.fail(describe(&e)))?;
    Ok(remote)
}

/// A second connection to the proxy, its connect bounded by what is left of
/// the handshake's deadline.
fn reconnect(
    cfg: &Config,
    spec: &ProxySpec,
    deadline: Instant,
    limit: Duration,
    who: &str,
    log: &Log,
) -> Result<Remote> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return Err(Error::network(format!(
            "rnc: proxy {who} : no complete reply within {limit:?}"
        )));
    }
    let mut again = cfg.clone();
    again.timeouts.connect = Some(left);
    net::connect_inet(&spec.host, spec.port, Proto::Tcp, &again, log)
}

/// The target as sent to the proxy, after `--proxy-dns`.
fn target(cfg: &Config, spec: &ProxySpec, host: &str, port: u16, log: &Log) -> Result<Target> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(Target::Ip(ip));
    }
    if host.is_empty() || host.len() > 255 || host.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Error::usage(
            host,
            "not a valid host name to send to a proxy",
        ));
    }
    // SOCKS4 carries only IPv4 addresses.
    let family = if spec.kind == ProxyKind::Socks4 {
        Family::V4
    } else {
        cfg.family
    };
    let local =
        || net::resolve(host, port, family, cfg.numeric, log).map(|a| Target::Ip(a[0].ip()));
    match spec.dns {
        ProxyDns::Remote => Ok(Target::Name(host.to_string())),
        ProxyDns::Local => local(),
        ProxyDns::Both => Ok(local().unwrap_or_else(|_| Target::Name(host.to_string()))),
        ProxyDns::None => Err(Error::usage(
            host,
            "not a numeric address, and --proxy-dns none forbids name lookups",
        )),
    }
}

/// The handshake's socket, with its deadline.
struct Conn<'a> {
    sock: SockRef<'a>,
    deadline: Instant,
    limit: Duration,
    who: &'a str,
}

impl<'a> Conn<'a> {
    /// The socket of `remote` in blocking mode, for the handshake.
    fn new(remote: &'a Remote, deadline: Instant, limit: Duration, who: &'a str) -> Result<Self> {
        let c = Conn {
            sock: SockRef::from(&remote.fd),
            deadline,
            limit,
            who,
        };
        c.sock
            .set_nonblocking(false)
            .map_err(|e| c.fail(describe(&e)))?;
        Ok(c)
    }

    fn fail(&self, why: impl std::fmt::Display) -> Error {
        Error::network(format!("rnc: proxy {} : {why}", self.who))
    }

    /// Set the socket timeouts to what is left before the deadline.
    fn arm(&self) -> Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(1) {
            return Err(self.timed_out());
        }
        self.sock
            .set_read_timeout(Some(left))
            .and_then(|_| self.sock.set_write_timeout(Some(left)))
            .map_err(|e| self.fail(describe(&e)))
    }

    fn timed_out(&self) -> Error {
        self.fail(format!("no complete reply within {:?}", self.limit))
    }

    fn io_err(&self, e: &io::Error) -> Error {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timed_out(),
            _ => self.fail(describe(e)),
        }
    }

    fn send(&mut self, mut buf: &[u8]) -> Result<()> {
        while !buf.is_empty() {
            self.arm()?;
            match (&*self.sock).write(buf) {
                Ok(0) => return Err(self.fail("connection closed while sending")),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(&e)),
            }
        }
        Ok(())
    }

    /// Read exactly `buf.len()` bytes of `what`.
    fn recv(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        let mut got = 0;
        while got < buf.len() {
            self.arm()?;
            match (&*self.sock).read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(self.fail(format!(
                        "connection closed after {got} of {} bytes of the {what}",
                        buf.len()
                    )))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_err(&e)),
            }
        }
        Ok(())
    }
}

/// `host:port` for HTTP, with brackets around IPv6.
fn authority(t: &Target, port: u16) -> String {
    match t {
        Target::Name(h) => format!("{h}:{port}"),
        Target::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
        Target::Ip(ip) => format!("{ip}:{port}"),
    }
}

/// One CONNECT exchange, with `creds` as the `Proxy-Authorization` value if
/// given. `Ok(None)`: the tunnel is open. `Ok(Some(challenges))`: a 407 to be
/// answered (only when `may_retry`, i.e. there are credentials to answer with).
fn http(
    c: &mut Conn,
    t: &Target,
    port: u16,
    creds: Option<&str>,
    may_retry: bool,
) -> Result<Option<Vec<AuthHeader>>> {
    let auth = authority(t, port);
    let mut req = format!("CONNECT {auth} HTTP/1.1\r\nHost: {auth}\r\n");
    if let Some(v) = creds {
        req.push_str("Proxy-Authorization: ");
        req.push_str(v);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    c.send(req.as_bytes())?;
    let head = read_http_head(c)?;
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or("").trim_end();
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("").trim();
    if !version.starts_with("HTTP/1.")
        || code.len() != 3
        || !code.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(c.fail(format!("bad HTTP reply status line {}", printable(status))));
    }
    if code.starts_with('2') {
        return Ok(None);
    }
    if code == "407" && may_retry {
        return Ok(Some(challenges(&text)));
    }
    let why = if reason.is_empty() {
        code.to_string()
    } else {
        format!("{code} {}", printable_bare(reason))
    };
    Err(c.fail(match (code, creds) {
        // tinyproxy refuses wrong credentials with 401, most proxies with 407.
        ("407" | "401", Some(_)) => {
            format!("proxy authentication failed: {why} (credentials refused)")
        }
        ("407", None) => {
            format!("HTTP proxy refused the connection: {why} (it wants credentials: --proxy-auth)")
        }
        _ => format!("HTTP proxy refused the connection: {why}"),
    }))
}

/// Every challenge of every `Proxy-Authenticate` header in a reply head;
/// values that do not parse are skipped.
fn challenges(head: &str) -> Vec<AuthHeader> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authenticate"))
        .filter_map(|(_, value)| auth::parse(value.trim()))
        .flatten()
        .collect()
}

/// The `Proxy-Authorization` value answering `challenges` for CONNECT to
/// `uri`: Digest (MD5, `qop=auth` or none) when offered, as ncat prefers it,
/// else Basic. The error is the reason, for the caller's one line.
fn credentials(
    challenges: &[AuthHeader],
    user: &str,
    pass: &str,
    uri: &str,
) -> std::result::Result<String, String> {
    let mut digest_problem = None;
    for ch in challenges.iter().filter(|h| h.is("Digest")) {
        match digest_usable(ch) {
            Ok(()) => return digest_credentials(ch, user, pass, uri, &cnonce()?),
            Err(why) => {
                digest_problem.get_or_insert(why);
            }
        }
    }
    if challenges.iter().any(|h| h.is("Basic")) {
        return Ok(format!(
            "Basic {}",
            base64(format!("{user}:{pass}").as_bytes())
        ));
    }
    if let Some(why) = digest_problem {
        return Err(why);
    }
    if challenges.is_empty() {
        return Err("407 without a Proxy-Authenticate challenge rnc can read".into());
    }
    let names: Vec<String> = challenges
        .iter()
        .map(|h| printable_bare(&h.scheme))
        .collect();
    Err(format!(
        "proxy asks for {} authentication; rnc speaks Basic and Digest",
        names.join(", ")
    ))
}

/// Whether rnc can answer a Digest challenge: MD5 (the default when no
/// algorithm is named), `qop` absent or offering `auth`, a realm and a nonce.
fn digest_usable(ch: &AuthHeader) -> std::result::Result<(), String> {
    if let Some(alg) = ch.param("algorithm") {
        if !alg.eq_ignore_ascii_case("MD5") {
            return Err(format!(
                "unsupported Digest algorithm {}",
                printable_bare(alg)
            ));
        }
    }
    if let Some(qop) = ch.param("qop") {
        if !qop
            .split(',')
            .any(|q| q.trim().eq_ignore_ascii_case("auth"))
        {
            return Err(format!("unsupported Digest qop {}", printable_bare(qop)));
        }
    }
    for name in ["realm", "nonce"] {
        if ch.param(name).is_none() {
            return Err(format!("Digest challenge without a {name}"));
        }
    }
    let bad = |v: &str| v.chars().any(char::is_control);
    if ["realm", "nonce", "opaque"]
        .iter()
        .any(|n| ch.param(n).is_some_and(bad))
    {
        return Err("Digest challenge with control characters".into());
    }
    Ok(())
}

/// The Digest answer (RFC 7616, MD5) to a challenge `digest_usable` accepted.
fn digest_credentials(
    ch: &AuthHeader,
    user: &str,
    pass: &str,
    uri: &str,
    cnonce: &str,
) -> std::result::Result<String, String> {
    let realm = ch.param("realm").unwrap_or("");
    let nonce = ch.param("nonce").unwrap_or("");
    // A single answer per run, so the nonce count is always 1.
    let nc = "00000001";
    let qop = ch.param("qop").is_some().then_some(("auth", nc, cnonce));
    let response = digest_response(&DigestInput {
        user,
        realm,
        pass,
        method: "CONNECT",
        uri,
        nonce,
        qop,
    });
    let mut v = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, algorithm=MD5, response={}",
        quote(user),
        quote(realm),
        quote(nonce),
        quote(uri),
        quote(&response)
    );
    if qop.is_some() {
        v.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(cnonce)));
    }
    if let Some(o) = ch.param("opaque") {
        v.push_str(&format!(", opaque={}", quote(o)));
    }
    Ok(v)
}

/// A fresh client nonce: 16 random bytes in hex.
fn cnonce() -> std::result::Result<String, String> {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "no random numbers for the Digest client nonce".to_string())?;
    Ok(auth::hex(&b))
}

/// The reply head up to and including the blank line, never a byte more.
fn read_http_head(c: &mut Conn) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    let mut b = [0u8; 1];
    loop {
        if head.len() >= MAX_HTTP_HEADER {
            return Err(c.fail(format!("HTTP reply headers exceed {MAX_HTTP_HEADER} bytes")));
        }
        c.arm()?;
        match (&*c.sock).read(&mut b) {
            Ok(0) if head.is_empty() => {
                return Err(c.fail("connection closed before any HTTP reply"))
            }
            Ok(0) => {
                return Err(c.fail("connection closed in the middle of the HTTP reply headers"))
            }
            Ok(_) => {
                head.push(b[0]);
                if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                    return Ok(head);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(c.io_err(&e)),
        }
    }
}

/// A quoted, printable, shortened rendering of text from the proxy.
fn printable(s: &str) -> String {
    format!("\"{}\"", printable_bare(s))
}

fn printable_bare(s: &str) -> String {
    let mut out: String = s.chars().take(80).flat_map(char::escape_default).collect();
    if s.chars().count() > 80 {
        out.push('…');
    }
    out
}

fn socks4(c: &mut Conn, spec: &ProxySpec, t: &Target, port: u16) -> Result<()> {
    let mut req = vec![4u8, 1];
    req.extend_from_slice(&port.to_be_bytes());
    let name = match t {
        Target::Ip(IpAddr::V4(ip)) => {
            req.extend_from_slice(&ip.octets());
            None
        }
        Target::Ip(IpAddr::V6(_)) => {
            return Err(c.fail("SOCKS4 cannot carry an IPv6 target address"))
        }
        // SOCKS4a: 0.0.0.x with x != 0, the name after the user id.
        Target::Name(n) => {
            req.extend_from_slice(&[0, 0, 0, 1]);
            Some(n)
        }
    };
    if let Some((user, _)) = &spec.auth {
        req.extend_from_slice(user.as_bytes());
    }
    req.push(0);
    if let Some(n) = name {
        req.extend_from_slice(n.as_bytes());
        req.push(0);
    }
    c.send(&req)?;
    let mut rep = [0u8; 8];
    c.recv(&mut rep, "SOCKS4 reply")?;
    if rep[0] != 0 {
        return Err(c.fail(format!("SOCKS4 reply has wrong version {}", rep[0])));
    }
    match rep[1] {
        90 => Ok(()),
        91 => Err(c.fail("SOCKS4 request rejected or failed")),
        92 => Err(c.fail("SOCKS4 request rejected: the proxy cannot reach our identd")),
        93 => Err(c.fail("SOCKS4 request rejected: identd reports a different user id")),
        other => Err(c.fail(format!("SOCKS4 reply has unknown status {other}"))),
    }
}

fn socks5_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

fn socks5(c: &mut Conn, spec: &ProxySpec, t: &Target, port: u16) -> Result<()> {
    let greeting: &[u8] = if spec.auth.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    };
    c.send(greeting)?;
    let mut sel = [0u8; 2];
    c.recv(&mut sel, "SOCKS5 method selection")?;
    if sel[0] != 5 {
        return Err(c.fail(format!("SOCKS5 reply has wrong version {}", sel[0])));
    }
    match (sel[1], &spec.auth) {
        (0, _) => {}
        (2, Some((user, pass))) => {
            let mut req = vec![1u8, user.len() as u8];
            req.extend_from_slice(user.as_bytes());
            req.push(pass.len() as u8);
            req.extend_from_slice(pass.as_bytes());
            c.send(&req)?;
            let mut rep = [0u8; 2];
            c.recv(&mut rep, "SOCKS5 authentication reply")?;
            if rep[0] != 1 {
                return Err(c.fail(format!(
                    "SOCKS5 authentication reply has wrong version {}",
                    rep[0]
                )));
            }
            if rep[1] != 0 {
                return Err(c.fail("SOCKS5 authentication failed (user name or password refused)"));
            }
        }
        (2, None) => {
            return Err(c.fail("SOCKS5 proxy requires a user name and password (--proxy-auth)"))
        }
        (0xff, Some(_)) => {
            return Err(c.fail("SOCKS5 proxy accepts none of our authentication methods"))
        }
        (0xff, None) => {
            return Err(c.fail(
                "SOCKS5 proxy accepts none of our authentication methods (no --proxy-auth given)",
            ))
        }
        (m, _) => {
            return Err(c.fail(format!(
                "SOCKS5 proxy chose a method we did not offer ({m})"
            )))
        }
    }
    let mut req = vec![5u8, 1, 0];
    match t {
        Target::Ip(IpAddr::V4(ip)) => {
            req.push(1);
            req.extend_from_slice(&ip.octets());
        }
        Target::Ip(IpAddr::V6(ip)) => {
            req.push(4);
            req.extend_from_slice(&ip.octets());
        }
        Target::Name(n) => {
            req.push(3);
            req.push(n.len() as u8);
            req.extend_from_slice(n.as_bytes());
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    c.send(&req)?;
    let mut rep = [0u8; 4];
    c.recv(&mut rep, "SOCKS5 reply")?;
    if rep[0] != 5 {
        return Err(c.fail(format!("SOCKS5 reply has wrong version {}", rep[0])));
    }
    if rep[1] != 0 {
        return Err(c.fail(format!(
            "SOCKS5 request failed: {} ({})",
            socks5_reply_text(rep[1]),
            rep[1]
        )));
    }
    let addr_len = match rep[3] {
        1 => 4,
        4 => 16,
        3 => {
            let mut n = [0u8; 1];
            c.recv(&mut n, "SOCKS5 reply")?;
            n[0] as usize
        }
        other => return Err(c.fail(format!("SOCKS5 reply has unknown address type {other}"))),
    };
    // The bound address and port, read fully and discarded.
    let mut rest = vec![0u8; addr_len + 2];
    c.recv(&mut rest, "SOCKS5 reply")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_brackets_ipv6() {
        assert_eq!(authority(&Target::Name("h".into()), 1), "h:1");
        assert_eq!(authority(&Target::Ip("::1".parse().unwrap()), 2), "[::1]:2");
        assert_eq!(
            authority(&Target::Ip("1.2.3.4".parse().unwrap()), 3),
            "1.2.3.4:3"
        );
    }

    #[test]
    fn printable_escapes_and_shortens() {
        assert_eq!(printable("a\u{1}b"), "\"a\\u{1}b\"");
        assert!(printable(&"x".repeat(200)).ends_with("…\""));
    }

    fn ch(v: &str) -> Vec<AuthHeader> {
        challenges(&format!(
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: {v}\r\n\r\n"
        ))
    }

    #[test]
    fn challenges_come_from_every_proxy_authenticate_header() {
        let head = "HTTP/1.1 407 x\r\nproxy-authenticate: Basic realm=\"a\"\r\nVia: y\r\n\
                    Proxy-Authenticate: Digest realm=\"b\", nonce=\"n\"\r\n\r\n";
        let c = challenges(head);
        assert_eq!(c.len(), 2);
        assert!(c[0].is("Basic") && c[1].is("Digest"));
        assert!(challenges("HTTP/1.1 407 x\r\nProxy-Authenticate: Digest n=\"\r\n\r\n").is_empty());
    }

    #[test]
    fn digest_is_preferred_and_answers_the_challenge() {
        let c = ch(
            r#"Basic realm="Ncat", Digest realm="Ncat", nonce="abc", qop="auth,auth-int", opaque="op""#,
        );
        let v = credentials(&c, "user", "pass", "host:80").unwrap();
        let h = &auth::parse(&v).unwrap()[0];
        assert!(h.is("Digest"), "{v}");
        for (k, want) in [
            ("username", "user"),
            ("realm", "Ncat"),
            ("nonce", "abc"),
            ("uri", "host:80"),
            ("algorithm", "MD5"),
            ("qop", "auth"),
            ("nc", "00000001"),
            ("opaque", "op"),
        ] {
            assert_eq!(h.param(k), Some(want), "{k} in {v}");
        }
        let cnonce = h.param("cnonce").unwrap();
        assert_eq!(cnonce.len(), 32);
        assert!(cnonce.bytes().all(|b| b.is_ascii_hexdigit()));
        let want = digest_response(&DigestInput {
            user: "user",
            realm: "Ncat",
            pass: "pass",
            method: "CONNECT",
            uri: "host:80",
            nonce: "abc",
            qop: Some(("auth", "00000001", cnonce)),
        });
        assert_eq!(h.param("response"), Some(want.as_str()));
        // A fresh cnonce every time.
        let again = credentials(&c, "user", "pass", "host:80").unwrap();
        assert_ne!(
            auth::parse(&again).unwrap()[0].param("cnonce"),
            Some(cnonce)
        );
    }

    #[test]
    fn digest_without_qop_is_rfc2069() {
        let c = ch(r#"Digest realm="r", nonce="n", algorithm=md5"#);
        let v = credentials(&c, "u", "p", "h:1").unwrap();
        let h = &auth::parse(&v).unwrap()[0];
        assert_eq!(h.param("qop"), None);
        assert_eq!(h.param("cnonce"), None);
        assert_eq!(h.param("opaque"), None);
        let want = digest_response(&DigestInput {
            user: "u",
            realm: "r",
            pass: "p",
            method: "CONNECT",
            uri: "h:1",
            nonce: "n",
            qop: None,
        });
        assert_eq!(h.param("response"), Some(want.as_str()));
    }

    #[test]
    fn basic_when_only_basic_or_digest_unusable() {
        let basic = "Basic dTpwOnE=";
        assert_eq!(
            credentials(&ch("Basic realm=\"x\""), "u", "p:q", "h:1").unwrap(),
            basic
        );
        assert_eq!(
            credentials(
                &ch(r#"Digest realm="r", nonce="n", algorithm=SHA-256, Basic realm="r""#),
                "u",
                "p:q",
                "h:1"
            )
            .unwrap(),
            basic
        );
    }

    #[test]
    fn unusable_challenges_give_reasons() {
        for (v, why) in [
            (
                r#"Digest realm="r", nonce="n", algorithm=SHA-256"#,
                "unsupported Digest algorithm SHA-256",
            ),
            (
                r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#,
                "unsupported Digest algorithm MD5-sess",
            ),
            (
                r#"Digest realm="r", nonce="n", qop="auth-int""#,
                "unsupported Digest qop auth-int",
            ),
            (r#"Digest realm="r""#, "Digest challenge without a nonce"),
            (
                "Digest realm=\"r\", nonce=\"a\r\nX: y\"",
                "Digest challenge with control characters",
            ),
            (
                "NTLM, Negotiate",
                "proxy asks for NTLM, Negotiate authentication; rnc speaks Basic and Digest",
            ),
        ] {
            let c = auth::parse(v).unwrap();
            assert_eq!(credentials(&c, "u", "p", "h:1").unwrap_err(), why, "{v}");
        }
        assert_eq!(
            credentials(&[], "u", "p", "h:1").unwrap_err(),
            "407 without a Proxy-Authenticate challenge rnc can read"
        );
        // An unsupported Digest first, a usable one after it: the usable one.
        let c =
            ch(r#"Digest realm="r", nonce="n", algorithm=SHA-256, Digest realm="r", nonce="m""#);
        let v = credentials(&c, "u", "p", "h:1").unwrap();
        assert_eq!(auth::parse(&v).unwrap()[0].param("nonce"), Some("m"));
    }
}
