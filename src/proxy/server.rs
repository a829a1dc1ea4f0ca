//! The HTTP proxy server (`-l --proxy-type http`, ncat's; reference §3.6).
//!
//! Every client gets a thread of its own (as `-k --exec` does; `-m` bounds how
//! many at once). On it, the request head is read — bounded in size and time —
//! and checked (`--proxy-auth`: Basic or Digest, `auth::Guard`), the target
//! is connected, and from then on the relay moves bytes between the two sockets,
//! the target as the session's local end:
//!
//! - `CONNECT host:port` answers `200` and tunnels both ways until both sides
//!   have finished (each FIN is passed on as a half-close);
//! - a request with an absolute `http://` URI is sent on in origin form, with
//!   the hop-by-hop headers removed and `Connection: close`, and the target's
//!   response goes back unchanged; the session ends when the target has
//!   finished answering. One request per client connection, as in ncat.
//!
//! A request that is malformed, too large, too slow, unauthenticated or for a
//! target that cannot be reached gets an HTTP error status and the connection
//! closes; with `-v` the reason is logged. Other clients are unaffected.

use super::auth::{self, AuthHeader, DigestInput, REALM};
use crate::child::ConnInfo;
use crate::config::{Config, EofPolicy, Family, ProxyServer, Role};
use crate::error::Result;
use crate::log::{describe, Log};
use crate::net::Listeners;
use crate::relay::{self, Initial, Local, Transport};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use socket2::{Domain, SockAddr, Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Largest request head (request line and headers) accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head (without `-i`).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on connecting to a target (without `-w`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bounds on the lingering close after an error answer (see `Client::send`).
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;
/// How long a Digest nonce stays valid; older ones get a `stale` challenge.
const NONCE_LIFETIME: Duration = Duration::from_secs(60);
/// The methods served besides CONNECT (ncat serves GET, HEAD and POST; the
/// others travel the same way, since the body is relayed, not parsed).
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

/// What every client thread shares.
struct Shared {
    cfg: Config,
    log: Log,
    auth: Option<Guard>,
    /// The relay's settings for a tunnel and for a forwarded request.
    tunnel: Config,
    forward: Config,
}

/// Serve proxy clients until the process ends.
pub fn serve(
    cfg: &Config,
    spec: &ProxyServer,
    log: &Log,
    listeners: Listeners,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<i32> {
    let session_cfg = |quit_when_answered: bool| {
        let mut c = cfg.clone();
        // Each direction's FIN is passed on; a tunnel lasts until both sides
        // are done, a forwarded request until the answer is complete.
        c.eof = EofPolicy {
            read_stdin: true,
            write_stdout: true,
            shutdown_on_stdin_eof: true,
            quit_after_stdin_eof: quit_when_answered.then_some(Duration::ZERO),
            quit_on_socket_eof: false,
        };
        // An idle timeout (-i) ends this client's session, not the listener,
        // and is reported as a connect-mode session's would be.
        c.role = Role::Connect;
        c.on_close = None;
        c
    };
    let shared = Arc::new(Shared {
        cfg: cfg.clone(),
        log: log.clone(),
        auth: spec.auth.clone().map(Guard::new).transpose()?,
        tunnel: session_cfg(false),
        forward: session_cfg(true),
    });
    let refused = |_| {};
    crate::run::serve_on_threads(cfg, log, listeners, tls, refused, move |transport, info| {
        let who = info
            .remote
            .map_or_else(|| "client".to_string(), |a| a.to_string());
        if let Err(why) = handle(&shared, transport, info) {
            shared.log.info(format!("Ncat: proxy client {who}: {why}"));
        }
    })
}

/// One client, from its request to the end of its tunnel or answer. `Err` is
/// why it was turned away (already answered with an HTTP status).
fn handle(sh: &Shared, transport: Transport, info: ConnInfo) -> std::result::Result<(), String> {
    let head_limit = sh.cfg.timeouts.idle.unwrap_or(HEAD_TIMEOUT);
    let mut c = Client {
        t: transport,
        deadline: Instant::now() + head_limit,
    };
    let (head, rest) = match c.read_head() {
        Ok(h) => h,
        Err(HeadError::Closed) => return Err("closed before sending a request".into()),
        Err(HeadError::TooLarge) => return c.refuse(413, "request head over 16 KiB"),
        Err(HeadError::Slow) => return c.refuse(408, "request head not sent in time"),
        Err(HeadError::Io(e)) => return Err(describe(&e)),
    };
    let req = match Request::parse(&head) {
        Ok(r) => r,
        Err(why) => return c.refuse(400, why),
    };
    let connect = req.method == "CONNECT";
    if !connect && !METHODS.contains(&req.method.as_str()) {
        return c.refuse(405, &format!("method {} not served", req.method));
    }
    if let Some(guard) = &sh.auth {
        if let Err(stale) = guard.check(&req) {
            let why = if stale {
                "stale Digest nonce"
            } else {
                "missing or wrong credentials"
            };
            let _ = c.send(&guard.challenge(stale));
            return Err(format!("407: {why}"));
        }
    }
    let (host, port, origin_form) = if connect {
        match split_authority(&req.target) {
            Some((h, Some(p))) => (h, p, None),
            _ => return c.refuse(400, "CONNECT needs host:port"),
        }
    } else {
        match split_http_uri(&req.target) {
            Ok(t) => t,
            Err(why) => return c.refuse(400, why),
        }
    };
    let limit = sh.cfg.timeouts.connect.unwrap_or(CONNECT_TIMEOUT);
    let target = match connect_target(&host, port, sh.cfg.family, limit, &info) {
        Ok(t) => t,
        Err((code, why)) => return c.refuse(code, &format!("{host}:{port}: {why}")),
    };
    let local = Local::socket(target).map_err(|e| describe(&e))?;
    // The tunnel's 200 goes out only once the session is set up.
    let (session, initial) = match origin_form {
        None => (
            &sh.tunnel,
            Initial {
                from_remote: rest,
                to_remote: b"HTTP/1.0 200 OK\r\n\r\n".to_vec(),
            },
        ),
        Some(path) => {
            let mut out = req.forward_head(&path, &host, port);
            out.extend_from_slice(&rest);
            (&sh.forward, Initial::received(out))
        }
    };
    relay::run(session, &sh.log, local, c.t, initial, None)
        .map(|_| ())
        .map_err(|e| e.line)
}

/// The client's connection before the relay takes it: blocking reads and
/// writes over the non-blocking transport, under one deadline.
struct Client {
    t: Transport,
    deadline: Instant,
}

enum HeadError {
    Closed,
    TooLarge,
    Slow,
    Io(io::Error),
}

impl Client {
    /// Read up to the blank line ending the head: `(head, bytes after it)`.
    fn read_head(&mut self) -> std::result::Result<(Vec<u8>, Vec<u8>), HeadError> {
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        loop {
            match self.t.read(&mut chunk) {
                Ok(0) => return Err(HeadError::Closed),
                Ok(n) => {
                    let from = buf.len().saturating_sub(3);
                    buf.extend_from_slice(&chunk[..n]);
                    match head_end(&buf, from) {
                        Some(end) if end <= MAX_HEAD => {
                            let rest = buf.split_off(end);
                            return Ok((buf, rest));
                        }
                        Some(_) => return Err(HeadError::TooLarge),
                        None if buf.len() > MAX_HEAD => return Err(HeadError::TooLarge),
                        None => {}
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let _ = self.t.flush();
                    match wait(self.t.fd(), PollFlags::POLLIN, self.deadline) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                            return Err(HeadError::Slow)
                        }
                        Err(e) => return Err(HeadError::Io(e)),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(HeadError::Io(e)),
            }
        }
    }

    /// Send our last word, then close without losing it: closing a socket
    /// with unread input sends a reset, which can destroy the answer before
    /// the client reads it, so what the client still sends is read and
    /// dropped for a moment first (a "lingering close", as HTTP servers do).
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        let deadline = Instant::now() + LINGER;
        write_all(&mut self.t, data, deadline)?;
        let _ = self.t.shutdown_write();
        let _ = self.t.flush();
        let mut sink = [0u8; 4096];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match self.t.read(&mut sink) {
                Ok(0) => break,
                Ok(n) => left = left.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if wait(self.t.fd(), PollFlags::POLLIN, deadline).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        Ok(())
    }

    /// Answer with an error status and give up on this client.
    fn refuse(&mut self, code: u16, why: &str) -> std::result::Result<(), String> {
        let _ = self.send(status(code).as_bytes());
        Err(format!("{code}: {why}"))
    }
}

fn write_all(t: &mut Transport, mut data: &[u8], deadline: Instant) -> io::Result<()> {
    while !data.is_empty() {
        match t.write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(t.fd(), PollFlags::POLLOUT, deadline)?
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    while !t.flush()? {
        wait(t.fd(), PollFlags::POLLOUT, deadline)?;
    }
    Ok(())
}

fn wait(fd: std::os::fd::BorrowedFd<'_>, flags: PollFlags, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::ErrorKind::TimedOut.into());
    }
    let ms =
        PollTimeout::try_from(left.as_millis().clamp(1, 60_000) as i32).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(fd, flags)];
    match nix::poll::poll(&mut fds, ms) {
        Ok(_) => Ok(()),
        Err(nix::errno::Errno::EINTR) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Where the head ends (just past the blank line), looking from `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(1);
    (start..buf.len()).find_map(|i| {
        if buf[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if buf[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

/// A status line and an empty head, in HTTP/1.0 as ncat answers.
fn status(code: u16) -> String {
    let text = match code {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        502 => "Bad Gateway",
        504 => "Gateway Timeout",
        _ => "Internal Server Error",
    };
    // A 405 says which methods are served (RFC 9110 §15.5.6).
    let allow = if code == 405 {
        format!("Allow: CONNECT, {}\r\n", METHODS.join(", "))
    } else {
        String::new()
    };
    format!("HTTP/1.0 {code} {text}\r\n{allow}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

/// A parsed request head.
#[derive(Debug)]
struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn parse(head: &[u8]) -> std::result::Result<Request, &'static str> {
        let text = std::str::from_utf8(head).map_err(|_| "request head is not UTF-8")?;
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let line = lines.next().ok_or("empty request")?;
        let mut parts = line.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("malformed request line");
        };
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        if !token(method) {
            return Err("malformed method");
        }
        if target.is_empty() || target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err("malformed request target");
        }
        if !matches!(version, "HTTP/1.0" | "HTTP/1.1") {
            return Err("not HTTP/1.0 or HTTP/1.1");
        }
        let mut headers = Vec::new();
        for l in lines {
            if l.is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').ok_or("malformed header line")?;
            if !token(name) {
                return Err("malformed header name");
            }
            if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err("control characters in a header");
            }
            headers.push((name.to_string(), value.trim().to_string()));
        }
        Ok(Request {
            method: method.to_string(),
            target: target.to_string(),
            version: version.to_string(),
            headers,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The head sent to the target: origin-form path, our Host, and none of
    /// the headers that belong to the client-proxy hop.
    fn forward_head(&self, path: &str, host: &str, port: u16) -> Vec<u8> {
        let named_in_connection: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
            .collect();
        const HOP: &[&str] = &[
            "connection",
            "keep-alive",
            "proxy-authorization",
            "proxy-authenticate",
            "proxy-connection",
            "te",
            "trailer",
            "upgrade",
            "host",
        ];
        let mut out = format!("{} {path} {}\r\n", self.method, self.version);
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        match port {
            80 => out.push_str(&format!("Host: {bracketed}\r\n")),
            p => out.push_str(&format!("Host: {bracketed}:{p}\r\n")),
        }
        for (n, v) in &self.headers {
            let lower = n.to_ascii_lowercase();
            if HOP.contains(&lower.as_str()) || named_in_connection.contains(&lower) {
                continue;
            }
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str("Connection: close\r\n\r\n");
        out.into_bytes()
    }
}

/// `host:port` or `[v6]:port` (port optional); the host without brackets.
fn split_authority(a: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = crate::net::split_host_port(a).ok()?;
    // IPv6 only in brackets (RFC 3986); names and IPv4 in their own letters.
    let host_ok = if a.starts_with('[') {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        host.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._%".contains(&b))
    };
    if !host_ok {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return None,
        },
    };
    Some((host.to_string(), port))
}

/// `http://host[:port][/path]` → (host, port, origin-form path).
fn split_http_uri(uri: &str) -> std::result::Result<(String, u16, Option<String>), &'static str> {
    let scheme_end = uri.find("://").ok_or("not an absolute http:// URI")?;
    if !uri[..scheme_end].eq_ignore_ascii_case("http") {
        return Err("only http:// URIs are proxied (use CONNECT for others)");
    }
    let rest = &uri[scheme_end + 3..];
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err("user information in the URI");
    }
    let (host, port) = split_authority(authority).ok_or("malformed host in the URI")?;
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_string()
    };
    Ok((host, port.unwrap_or(80), Some(path)))
}

/// Connect to the target, trying each of its addresses; on failure the HTTP
/// status and why. The proxy itself is never a target (ncat's loop check: our
/// port on this address, a loopback or the unspecified address).
fn connect_target(
    host: &str,
    port: u16,
    family: Family,
    limit: Duration,
    info: &ConnInfo,
) -> std::result::Result<OwnedFd, (u16, String)> {
    let is_self = |a: &SocketAddr| {
        info.local.is_some_and(|l| {
            a.port() == l.port()
                && (a.ip() == l.ip() || a.ip().is_loopback() || a.ip().is_unspecified())
        })
    };
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| (502, format!("cannot resolve: {}", describe(&e))))?
        .filter(|a| match family {
            Family::V4 => a.is_ipv4(),
            Family::V6 => a.is_ipv6(),
            Family::Any => true,
        })
        .collect();
    if addrs.is_empty() {
        return Err((502, "no address of the allowed family".into()));
    }
    if addrs.iter().any(is_self) {
        return Err((403, "request loop: the target is this proxy".into()));
    }
    let deadline = Instant::now() + limit;
    let mut last = (502, String::new());
    for a in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = (504, "connection timed out".into());
            break;
        }
        let r = Socket::new(Domain::for_address(a), Type::STREAM, None)
            .and_then(|s| s.connect_timeout(&SockAddr::from(a), left).map(|_| s));
        match r {
            Ok(s) => return Ok(s.into()),
            Err(e)
                if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock =>
            {
                last = (504, "connection timed out".into())
            }
            Err(e) => last = (502, describe(&e)),
        }
    }
    Err(last)
}

/// `--proxy-auth` on the server: checks credentials and issues challenges.
/// Digest nonces are signed timestamps (no state until one is used); a used
/// nonce's highest `nc` is remembered for its lifetime, so a replayed request
/// is refused.
struct Guard {
    user: String,
    pass: String,
    key: hmac::Key,
    rng: SystemRandom,
    seen: Mutex<HashMap<String, (u64, Instant)>>,
}

impl Guard {
    fn new((user, pass): (String, String)) -> Result<Guard> {
        let rng = SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| crate::error::Error::usage("--proxy-auth", "no randomness for nonces"))?;
        Ok(Guard {
            user,
            pass,
            key,
            rng,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// `Err(stale)`: refused; `stale` when only the nonce was out of date.
    fn check(&self, req: &Request) -> std::result::Result<(), bool> {
        let value = req.header("proxy-authorization").ok_or(false)?;
        let creds = auth::parse(value).ok_or(false)?;
        let c = creds.first().ok_or(false)?;
        if c.is("basic") {
            let decoded = c.token.as_deref().and_then(auth::unbase64).ok_or(false)?;
            let expected = format!("{}:{}", self.user, self.pass);
            return auth::same(&decoded, expected.as_bytes())
                .then_some(())
                .ok_or(false);
        }
        if c.is("digest") {
            return self.check_digest(c, req);
        }
        Err(false)
    }

    fn check_digest(&self, c: &AuthHeader, req: &Request) -> std::result::Result<(), bool> {
        let p = |n: &str| c.param(n).ok_or(false);
        let (user, realm, nonce, uri, response) = (
            p("username")?,
            p("realm")?,
            p("nonce")?,
            p("uri")?,
            p("response")?,
        );
        if c.param("algorithm")
            .is_some_and(|a| !a.eq_ignore_ascii_case("md5"))
        {
            return Err(false);
        }
        // The credentials must be for this request: its target as sent, or
        // (what curl sends for an absolute URI) the target's path.
        let path = split_http_uri(&req.target).ok().and_then(|(_, _, p)| p);
        let for_this = uri == req.target || path.as_deref() == Some(uri);
        if user != self.user || realm != REALM || !for_this {
            return Err(false);
        }
        let qop = match c.param("qop") {
            None => None,
            Some("auth") => Some(("auth", p("nc")?, p("cnonce")?)),
            Some(_) => return Err(false),
        };
        let expected = auth::digest_response(&DigestInput {
            user: &self.user,
            realm: REALM,
            pass: &self.pass,
            method: &req.method,
            uri,
            nonce,
            qop,
        });
        if !auth::same(
            expected.as_bytes(),
            response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(false);
        }
        let issued = self.nonce_time(nonce).ok_or(false)?;
        let age = now_secs().saturating_sub(issued);
        if age > NONCE_LIFETIME.as_secs() {
            return Err(true);
        }
        // Without qop a nonce is good for one request; with it, each request
        // counts up.
        let nc = match qop {
            Some((_, nc, _)) => u64::from_str_radix(nc, 16).map_err(|_| false)?,
            None => 1,
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        seen.retain(|_, (_, at)| now.duration_since(*at) <= NONCE_LIFETIME);
        match seen.get_mut(nonce) {
            Some((last, _)) if nc <= *last => Err(false),
            Some((last, _)) => {
                *last = nc;
                Ok(())
            }
            None => {
                seen.insert(nonce.to_string(), (nc, now));
                Ok(())
            }
        }
    }

    /// A nonce: issue time, randomness, and a MAC over both.
    fn nonce(&self) -> String {
        let mut r = [0u8; 8];
        let _ = self.rng.fill(&mut r);
        let body = format!("{:016x}{}", now_secs(), auth::hex(&r));
        let tag = hmac::sign(&self.key, body.as_bytes());
        format!("{body}{}", auth::hex(&tag.as_ref()[..16]))
    }

    /// The issue time of a nonce we made; `None` for anything else.
    fn nonce_time(&self, nonce: &str) -> Option<u64> {
        if nonce.len() != 64 || !nonce.is_ascii() {
            return None;
        }
        let (body, tag) = nonce.split_at(32);
        let expected = hmac::sign(&self.key, body.as_bytes());
        if !auth::same(
            auth::hex(&expected.as_ref()[..16]).as_bytes(),
            tag.as_bytes(),
        ) {
            return None;
        }
        u64::from_str_radix(&body[..16], 16).ok()
    }

    /// The 407 answer: Basic and Digest challenges, as ncat offers both.
    fn challenge(&self, stale: bool) -> Vec<u8> {
        format!(
            "HTTP/1.0 407 Proxy Authentication Required\r\n\
             Proxy-Authenticate: Basic realm=\"{REALM}\"\r\n\
             Proxy-Authenticate: Digest realm=\"{REALM}\", nonce=\"{}\", qop=\"auth\", algorithm=MD5{}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.nonce(),
            if stale { ", stale=true" } else { "" }
        )
        .into_bytes()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(head: &str) -> Request {
        Request::parse(head.as_bytes()).expect("parses")
    }

    #[test]
    fn parses_request_heads() {
        let r = req("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nX:  y \r\n\r\n");
        assert_eq!((r.method.as_str(), r.target.as_str()), ("CONNECT", "h:443"));
        assert_eq!(r.header("x"), Some("y"));
        for bad in [
            "GET\r\n\r\n",
            "GET / HTTP/1.1 x\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/2\r\n\r\n",
            "GET / HTTP/1.1\r\nno colon\r\n\r\n",
            "GET / HTTP/1.1\r\nbad name: v\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n",
        ] {
            assert!(Request::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(Request::parse(b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n").is_err());
    }

    #[test]
    fn a_405_lists_the_methods_served() {
        assert_eq!(
            status(405),
            "HTTP/1.0 405 Method Not Allowed\r\nAllow: CONNECT, GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            status(413),
            "HTTP/1.0 413 Request Entity Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(head_end(b"GET / HTTP/1.0\r\n\r\nbody", 0), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nbody", 0), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.0\r\n", 0), None);
    }

    #[test]
    fn splits_authorities_and_uris() {
        assert_eq!(split_authority("h:1"), Some(("h".into(), Some(1))));
        assert_eq!(split_authority("[::1]:2"), Some(("::1".into(), Some(2))));
        assert_eq!(split_authority("h"), Some(("h".into(), None)));
        for bad in [
            "h:0", "h:x", "h:70000", "[::1", "[zz]:1", ":1", "a b:1", "h:+1",
        ] {
            assert_eq!(split_authority(bad), None, "{bad}");
        }
        assert_eq!(
            split_http_uri("http://h:8080/a?b").unwrap(),
            ("h".into(), 8080, Some("/a?b".into()))
        );
        assert_eq!(
            split_http_uri("HTTP://h").unwrap(),
            ("h".into(), 80, Some("/".into()))
        );
        assert_eq!(
            split_http_uri("http://[::1]?q").unwrap(),
            ("::1".into(), 80, Some("/?q".into()))
        );
        assert!(split_http_uri("/relative").is_err());
        assert!(split_http_uri("https://h/").is_err());
        assert!(split_http_uri("http://u:p@h/").is_err());
    }

    #[test]
    fn forwarded_heads_drop_hop_by_hop_headers() {
        let r = req("GET http://h:8080/x HTTP/1.1\r\nHost: wrong\r\nProxy-Authorization: Basic a\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nAccept: */*\r\n\r\n");
        let out = String::from_utf8(r.forward_head("/x", "h", 8080)).unwrap();
        assert_eq!(
            out,
            "GET /x HTTP/1.1\r\nHost: h:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        let out = String::from_utf8(r.forward_head("/", "::1", 80)).unwrap();
        assert!(out.contains("Host: [::1]\r\n"));
    }

    fn guard() -> Guard {
        Guard::new(("u".into(), "p".into())).unwrap()
    }

    fn digest_req(nonce: &str, nc: &str, pass: &str) -> Request {
        let response = auth::digest_response(&DigestInput {
            user: "u",
            realm: REALM,
            pass,
            method: "CONNECT",
            uri: "h:1",
            nonce,
            qop: Some(("auth", nc, "c0ffee")),
        });
        req(&format!(
            "CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: Digest username=\"u\", realm=\"Ncat\", nonce=\"{nonce}\", uri=\"h:1\", response=\"{response}\", qop=auth, nc={nc}, cnonce=\"c0ffee\"\r\n\r\n"
        ))
    }

    #[test]
    fn basic_credentials_are_checked() {
        let g = guard();
        let ok = req("CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\n\r\n");
        assert_eq!(g.check(&ok), Ok(()));
        let wrong = req("CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: Basic dTpx\r\n\r\n");
        assert_eq!(g.check(&wrong), Err(false));
        assert_eq!(g.check(&req("CONNECT h:1 HTTP/1.1\r\n\r\n")), Err(false));
        let junk = req("CONNECT h:1 HTTP/1.1\r\nProxy-Authorization: Basic !!!\r\n\r\n");
        assert_eq!(g.check(&junk), Err(false));
    }

    #[test]
    fn digest_accepts_once_and_refuses_replays_and_forgeries() {
        let g = guard();
        let nonce = g.nonce();
        assert!(String::from_utf8(g.challenge(false))
            .unwrap()
            .contains("Digest realm=\"Ncat\""));
        assert_eq!(g.check(&digest_req(&nonce, "00000001", "p")), Ok(()));
        // The same request again is a replay.
        assert_eq!(g.check(&digest_req(&nonce, "00000001", "p")), Err(false));
        // The next count is fine.
        assert_eq!(g.check(&digest_req(&nonce, "00000002", "p")), Ok(()));
        // Wrong password.
        assert_eq!(
            g.check(&digest_req(&g.nonce(), "00000001", "x")),
            Err(false)
        );
        // A nonce we did not issue.
        let forged = format!("{:016x}{}", now_secs(), "0".repeat(48));
        assert_eq!(g.check(&digest_req(&forged, "00000001", "p")), Err(false));
        // Another server's nonce (another key).
        let other = guard().nonce();
        assert_eq!(g.check(&digest_req(&other, "00000001", "p")), Err(false));
    }

    #[test]
    fn old_digest_nonces_are_stale() {
        let g = guard();
        let body = format!("{:016x}{}", now_secs() - 3600, "ab".repeat(8));
        let tag = hmac::sign(&g.key, body.as_bytes());
        let old = format!("{body}{}", auth::hex(&tag.as_ref()[..16]));
        assert_eq!(g.check(&digest_req(&old, "00000001", "p")), Err(true));
        assert!(String::from_utf8(g.challenge(true))
            .unwrap()
            .contains("stale=true"));
    }
}
