//! The proxy client (`--proxy`, OpenBSD `-x`/`-X`/`-P`; reference §3.6): the
//! built rnc against scripted fake proxies running in threads of this test —
//! HTTP CONNECT, SOCKS4a and SOCKS5 handshakes, data through the tunnel, TLS
//! over a tunnel, and hostile or stalled proxies.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A fake proxy: one connection, handled by `script`, which returns what it
/// wants checked (or panics, which the test reports through `join`).
struct Fake {
    port: u16,
    handle: JoinHandle<Vec<u8>>,
}

fn fake<F>(script: F) -> Fake
where
    F: FnOnce(TcpStream) -> Vec<u8> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").expect("bind fake proxy");
    let port = l.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(FAIL)).unwrap();
        s.set_write_timeout(Some(FAIL)).unwrap();
        script(s)
    });
    Fake { port, handle }
}

/// A fake proxy that takes several connections: `script` gets the listener
/// and accepts with `accept`.
fn fake_listener<F>(script: F) -> Fake
where
    F: FnOnce(TcpListener) -> Vec<u8> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").expect("bind fake proxy");
    let port = l.local_addr().unwrap().port();
    let handle = thread::spawn(move || script(l));
    Fake { port, handle }
}

/// The next connection, waited for at most FAIL (so a test whose rnc never
/// comes back fails instead of hanging).
fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let end = Instant::now() + FAIL;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(FAIL)).unwrap();
                s.set_write_timeout(Some(FAIL)).unwrap();
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < end,
                    "rnc did not connect to the fake proxy"
                );
                thread::sleep(POLL);
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A 407 with these `Proxy-Authenticate` values, a body and `Connection:
/// close`, as squid or tinyproxy send it; then the connection is closed.
fn challenge(mut s: TcpStream, values: &[&str]) -> String {
    let head = read_head(&mut s);
    let mut reply = "HTTP/1.1 407 Proxy Authentication Required\r\n".to_string();
    for v in values {
        reply.push_str(&format!("Proxy-Authenticate: {v}\r\n"));
    }
    reply.push_str("Content-Length: 12\r\nConnection: close\r\n\r\nauth needed\n");
    s.write_all(reply.as_bytes()).unwrap();
    head
}

/// The value of header `name` in a request head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

impl Fake {
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    fn join(self) -> Vec<u8> {
        self.handle.join().expect("fake proxy script")
    }
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).expect("read from rnc");
    b
}

/// The request head up to the blank line.
fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut b).expect("read head"), 1, "EOF in request head");
        head.push(b[0]);
    }
    String::from_utf8(head).unwrap()
}

/// After the handshake: send `greeting`, then read what rnc sends until EOF.
fn tunnel_end(mut s: TcpStream, greeting: &[u8]) -> Vec<u8> {
    s.write_all(greeting).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read tunnel data");
    got
}

/// Run rnc with `args`, stdin "ping\n", and check it relayed both ways.
fn expect_tunnel(cmd: Cmd, proxy: Fake) -> Vec<u8> {
    let mut p = cmd.stdin(In::Data(b"ping\n".to_vec())).spawn();
    let d = p.finish(FAIL);
    assert_eq!(d.code, Some(0), "{}", p.context());
    assert_eq!(d.stdout, b"hello from target\n", "{}", p.context());
    proxy.join()
}

#[test]
fn http_connect_with_basic_auth_relays_both_ways() {
    // Like ncat: no credentials until the proxy asks, then Basic on a new
    // connection when Basic is all it offers.
    let proxy = fake_listener(|l| {
        let first = challenge(accept(&l), &[r#"Basic realm="fake""#]);
        let mut s = accept(&l);
        let head = read_head(&mut s);
        // The extra bytes after the reply head must reach stdout, not be lost.
        s.write_all(b"HTTP/1.1 200 Connection established\r\nVia: fake\r\n\r\nhello ")
            .unwrap();
        thread::sleep(Duration::from_millis(50));
        let mut out = first.into_bytes();
        out.extend(head.into_bytes());
        out.extend(tunnel_end(s, b"from target\n"));
        out
    });
    let cmd = Cmd::rnc([
        "--proxy",
        &proxy.addr(),
        "--proxy-auth",
        "user:pass",
        "target.invalid",
        "8080",
    ]);
    let got = String::from_utf8(expect_tunnel(cmd, proxy)).unwrap();
    let (first, second) = got.split_at(got.find("\r\n\r\n").unwrap() + 4);
    assert_eq!(
        first,
        "CONNECT target.invalid:8080 HTTP/1.1\r\nHost: target.invalid:8080\r\n\r\n"
    );
    assert!(
        second.starts_with("CONNECT target.invalid:8080 HTTP/1.1\r\n"),
        "{got:?}"
    );
    assert!(
        second.contains("\r\nHost: target.invalid:8080\r\n"),
        "{got:?}"
    );
    assert!(
        second.contains("\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n"),
        "{got:?}"
    );
    assert!(second.ends_with("\r\n\r\nping\n"), "{got:?}");
}

#[test]
fn http_auth_from_environment() {
    let proxy = fake_listener(|l| {
        challenge(accept(&l), &["Basic"]);
        let mut s = accept(&l);
        let head = read_head(&mut s);
        s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        let mut out = head.into_bytes();
        out.extend(tunnel_end(s, b"hello from target\n"));
        out
    });
    let cmd = Cmd::rnc(["--proxy", &proxy.addr(), "127.0.0.1", "22"]).env("NCAT_PROXY_AUTH", "a:b");
    let got = String::from_utf8(expect_tunnel(cmd, proxy)).unwrap();
    assert!(
        got.starts_with("CONNECT 127.0.0.1:22 HTTP/1.1\r\n"),
        "{got:?}"
    );
    assert!(
        got.contains("Proxy-Authorization: Basic YTpi\r\n"),
        "{got:?}"
    );
}

#[test]
fn http_407_without_credentials_is_an_error() {
    let proxy = fake(|s| {
        challenge(s, &["Basic"]);
        Vec::new()
    });
    let addr = proxy.addr();
    let mut p = Cmd::rnc(["--proxy", &addr, "t.invalid", "80"]).spawn();
    let d = p.finish(FAIL);
    proxy.join();
    assert_eq!(d.code, Some(1), "{}", p.context());
    assert_eq!(
        d.stderr,
        format!(
            "rnc: proxy {addr} : HTTP proxy refused the connection: 407 Proxy Authentication Required (it wants credentials: --proxy-auth)\n"
        )
    );
}

/// Check a Digest answer the way a server would: recompute the response
/// from the password and the fields the client sent.
fn check_digest(head: &str, nonce: &str, opaque: Option<&str>, uri: &str) {
    use rnetcat::proxy::auth::{digest_response, parse, DigestInput};
    let value = header(head, "Proxy-Authorization").expect("Proxy-Authorization");
    let creds = parse(value).expect("parse Proxy-Authorization");
    assert_eq!(creds.len(), 1, "{value}");
    let d = &creds[0];
    assert!(d.is("Digest"), "{value}");
    assert_eq!(d.param("username"), Some("alice"), "{value}");
    assert_eq!(d.param("realm"), Some("Ncat"), "{value}");
    assert_eq!(d.param("nonce"), Some(nonce), "{value}");
    assert_eq!(d.param("uri"), Some(uri), "{value}");
    assert_eq!(d.param("algorithm"), Some("MD5"), "{value}");
    assert_eq!(d.param("opaque"), opaque, "{value}");
    assert_eq!(d.param("qop"), Some("auth"), "{value}");
    assert_eq!(d.param("nc"), Some("00000001"), "{value}");
    let cnonce = d.param("cnonce").expect("cnonce");
    assert!(cnonce.len() >= 16, "{value}");
    let want = digest_response(&DigestInput {
        user: "alice",
        realm: "Ncat",
        pass: "s3cret:with colon",
        method: "CONNECT",
        uri,
        nonce,
        qop: Some(("auth", "00000001", cnonce)),
    });
    assert_eq!(d.param("response"), Some(want.as_str()), "{value}");
}

#[test]
fn http_digest_auth_answers_the_challenge() {
    // Basic and Digest both offered: Digest is used, as ncat does.
    let proxy = fake_listener(|l| {
        let first = challenge(
            accept(&l),
            &[
                r#"Basic realm="Ncat""#,
                r#"Digest realm="Ncat", nonce="1700000000.123:abc\"def", qop="auth,auth-int", opaque="op-aque", algorithm=MD5"#,
            ],
        );
        assert!(header(&first, "Proxy-Authorization").is_none(), "{first}");
        let mut s = accept(&l);
        let head = read_head(&mut s);
        check_digest(
            &head,
            "1700000000.123:abc\"def",
            Some("op-aque"),
            "target.invalid:443",
        );
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        tunnel_end(s, b"hello from target\n")
    });
    let cmd = Cmd::rnc([
        "--proxy",
        &proxy.addr(),
        "--proxy-type",
        "http",
        "--proxy-auth",
        "alice:s3cret:with colon",
        "target.invalid",
        "443",
    ]);
    assert_eq!(expect_tunnel(cmd, proxy), b"ping\n");
}

#[test]
fn http_digest_to_an_ipv6_target_uses_the_bracketed_uri() {
    let proxy = fake_listener(|l| {
        challenge(
            accept(&l),
            &[r#"Digest realm="Ncat", nonce="n6", qop="auth""#],
        );
        let mut s = accept(&l);
        let head = read_head(&mut s);
        assert!(head.starts_with("CONNECT [::1]:22 HTTP/1.1\r\n"), "{head}");
        check_digest(&head, "n6", None, "[::1]:22");
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        tunnel_end(s, b"hello from target\n")
    });
    let cmd = Cmd::rnc(["--proxy", &proxy.addr(), "::1", "22"])
        .env("NCAT_PROXY_AUTH", "alice:s3cret:with colon");
    assert_eq!(expect_tunnel(cmd, proxy), b"ping\n");
}

#[test]
fn http_second_407_is_authentication_failed() {
    for offer in [
        r#"Digest realm="Ncat", nonce="n1", qop="auth""#,
        "Basic realm=\"x\"",
    ] {
        let proxy = fake_listener(move |l| {
            challenge(accept(&l), &[offer]);
            let head = challenge(accept(&l), &[offer]);
            assert!(header(&head, "Proxy-Authorization").is_some(), "{head}");
            // No third try.
            l.set_nonblocking(true).unwrap();
            thread::sleep(Duration::from_millis(100));
            assert!(l.accept().is_err(), "rnc tried a third time");
            Vec::new()
        });
        let addr = proxy.addr();
        let mut p = Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-auth",
            "u:wrong",
            "t.invalid",
            "80",
        ])
        .spawn();
        let d = p.finish(FAIL);
        assert_eq!(d.code, Some(1), "{}", p.context());
        assert_eq!(
            d.stderr,
            format!("rnc: proxy {addr} : proxy authentication failed: 407 Proxy Authentication Required (credentials refused)\n"),
            "{offer}"
        );
        assert!(d.stdout.is_empty(), "{}", p.context());
        proxy.join();
    }
}

#[test]
fn http_unusable_challenges_are_one_line_errors() {
    for (offer, why) in [
        (
            r#"Digest realm="r", nonce="n", algorithm=SHA-256"#,
            "unsupported Digest algorithm SHA-256",
        ),
        (
            r#"Digest realm="r", nonce="n", qop="auth-int""#,
            "unsupported Digest qop auth-int",
        ),
        (
            "NTLM",
            "proxy asks for NTLM authentication; rnc speaks Basic and Digest",
        ),
    ] {
        let proxy = fake(move |s| {
            challenge(s, &[offer]);
            Vec::new()
        });
        let addr = proxy.addr();
        let mut p = Cmd::rnc(["--proxy", &addr, "--proxy-auth", "u:p", "t.invalid", "80"]).spawn();
        let d = p.finish(FAIL);
        assert_eq!(d.code, Some(1), "{}", p.context());
        assert_eq!(d.stderr, format!("rnc: proxy {addr} : {why}\n"));
        proxy.join();
    }
}

#[test]
fn http_auth_retry_stays_within_the_one_deadline() {
    // The 407 comes late and the second connection never gets an answer: rnc
    // gives up when the first deadline (-w 2) runs out, not 2 s after the
    // reconnect. Timed inside the proxy, so rnc's start-up does not count.
    let proxy = fake_listener(|l| {
        let s = accept(&l);
        let t0 = Instant::now();
        thread::sleep(Duration::from_millis(900));
        challenge(s.try_clone().unwrap(), &[r#"Digest realm="r", nonce="n""#]);
        let _ = s.shutdown(std::net::Shutdown::Both);
        let mut s = accept(&l);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        t0.elapsed().as_millis().to_string().into_bytes()
    });
    let addr = proxy.addr();
    let mut p = Cmd::rnc([
        "-w",
        "2",
        "--proxy",
        &addr,
        "--proxy-auth",
        "u:p",
        "t.invalid",
        "80",
    ])
    .spawn();
    let d = p.finish(FAIL);
    assert_eq!(d.code, Some(1), "{}", p.context());
    assert_eq!(
        d.stderr,
        format!("rnc: proxy {addr} : no complete reply within 2s\n")
    );
    let ms: u128 = String::from_utf8(proxy.join()).unwrap().parse().unwrap();
    assert!((1900..2700).contains(&ms), "rnc gave up after {ms} ms");
}

#[test]
fn socks5_no_auth_sends_the_name_for_remote_dns() {
    let proxy = fake(|mut s| {
        let mut got = read_n(&mut s, 3);
        s.write_all(&[5, 0]).unwrap();
        got.extend(read_n(&mut s, 5));
        let len = got[7] as usize;
        got.extend(read_n(&mut s, len + 2));
        s.write_all(&[5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90]).unwrap();
        got.extend(tunnel_end(s, b"hello from target\n"));
        got
    });
    let cmd = Cmd::rnc([
        "--proxy",
        &proxy.addr(),
        "--proxy-type",
        "socks5",
        "name.invalid",
        "443",
    ]);
    let got = expect_tunnel(cmd, proxy);
    let mut want = vec![5, 1, 0, 5, 1, 0, 3, 12];
    want.extend(b"name.invalid");
    want.extend([1, 0xbb]);
    want.extend(b"ping\n");
    assert_eq!(got, want);
}

#[test]
fn socks5_user_password_and_local_dns() {
    let proxy = fake(|mut s| {
        let mut got = read_n(&mut s, 4);
        s.write_all(&[5, 2]).unwrap();
        got.extend(read_n(&mut s, 1 + 1 + 4 + 1 + 6));
        s.write_all(&[1, 0]).unwrap();
        got.extend(read_n(&mut s, 10));
        // A bound address given as a name: read fully, then the data.
        s.write_all(&[5, 0, 0, 3, 4]).unwrap();
        s.write_all(b"bndh\x00\x50hello ").unwrap();
        got.extend(tunnel_end(s, b"from target\n"));
        got
    });
    let cmd = Cmd::rnc([
        "-4",
        "--proxy",
        &proxy.addr(),
        "-X",
        "5",
        "--proxy-auth",
        "user:secret",
        "--proxy-dns",
        "local",
        "localhost",
        "80",
    ]);
    let got = expect_tunnel(cmd, proxy);
    let mut want = vec![5, 2, 0, 2, 1, 4];
    want.extend(b"user");
    want.push(6);
    want.extend(b"secret");
    want.extend([5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
    want.extend(b"ping\n");
    assert_eq!(got, want);
}

#[test]
fn socks4a_sends_user_and_name() {
    let proxy = fake(|mut s| {
        let mut got = Vec::new();
        let mut b = [0u8; 1];
        let mut nuls = 0;
        while nuls < 2 {
            s.read_exact(&mut b).unwrap();
            got.push(b[0]);
            if got.len() > 8 && b[0] == 0 {
                nuls += 1;
            }
        }
        s.write_all(&[0, 90, 0, 0, 0, 0, 0, 0]).unwrap();
        got.extend(tunnel_end(s, b"hello from target\n"));
        got
    });
    let cmd = Cmd::rnc([
        "--proxy",
        &proxy.addr(),
        "-X",
        "4",
        "--proxy-auth",
        "bob",
        "name.invalid",
        "21",
    ]);
    let got = expect_tunnel(cmd, proxy);
    let mut want = vec![4, 1, 0, 21, 0, 0, 0, 1];
    want.extend(b"bob\0name.invalid\0ping\n");
    assert_eq!(got, want);
}

#[test]
fn openbsd_x_and_capital_x_connect() {
    let proxy = fake(|mut s| {
        let head = read_head(&mut s);
        s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
        let mut out = head.into_bytes();
        out.extend(tunnel_end(s, b"hello from target\n"));
        out
    });
    let cmd = Cmd::rnc([
        "--compat",
        "openbsd",
        "-X",
        "connect",
        "-x",
        &proxy.addr(),
        "t.invalid",
        "25",
    ]);
    let got = String::from_utf8(expect_tunnel(cmd, proxy)).unwrap();
    assert!(
        got.starts_with("CONNECT t.invalid:25 HTTP/1.1\r\n"),
        "{got:?}"
    );
    assert!(!got.contains("Proxy-Authorization"), "{got:?}");
}

/// A proxy that answers `reply` (after reading a SOCKS5 greeting and request,
/// or an HTTP head) and then closes or stalls.
fn hostile(kind: &str, reply: Vec<u8>, stall: bool) -> Fake {
    let kind = kind.to_string();
    fake(move |mut s| {
        if kind == "http" {
            read_head(&mut s);
            let _ = s.write_all(&reply);
        } else {
            read_n(&mut s, 3);
            if reply.len() > 2 {
                let _ = s.write_all(&reply[..2]);
                let mut req = [0u8; 64];
                let _ = s.read(&mut req);
                let _ = s.write_all(&reply[2..]);
            } else {
                let _ = s.write_all(&reply);
            }
        }
        if stall {
            let mut b = [0u8; 1];
            let _ = s.read(&mut b);
        }
        Vec::new()
    })
}

#[test]
fn hostile_replies_are_one_line_errors() {
    let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
    while huge.len() < 20_000 {
        huge.extend(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("socks5", vec![4, 0], "SOCKS5 reply has wrong version 4"),
        (
            "socks5",
            vec![5, 0xff],
            "SOCKS5 proxy accepts none of our authentication methods (no --proxy-auth given)",
        ),
        (
            "socks5",
            vec![5, 0, 5, 0, 0, 9, 1, 2, 3, 4],
            "SOCKS5 reply has unknown address type 9",
        ),
        (
            "socks5",
            vec![5, 0, 5, 0, 0, 1, 1, 2],
            "connection closed after 2 of 6 bytes of the SOCKS5 reply",
        ),
        (
            "socks5",
            vec![5, 0, 5, 5, 0, 1],
            "SOCKS5 request failed: connection refused (5)",
        ),
        (
            "socks5",
            vec![5, 0, 6, 0, 0, 1],
            "SOCKS5 reply has wrong version 6",
        ),
        (
            "http",
            b"SSH-2.0-OpenSSH_9\r\n\r\n".to_vec(),
            "bad HTTP reply status line \"SSH-2.0-OpenSSH_9\"",
        ),
        (
            "http",
            b"HTTP/1.1 200 OK\r\nX: y".to_vec(),
            "connection closed in the middle of the HTTP reply headers",
        ),
        (
            "http",
            Vec::new(),
            "connection closed before any HTTP reply",
        ),
        ("http", huge, "HTTP reply headers exceed 16384 bytes"),
    ];
    for (kind, reply, why) in cases {
        let proxy = hostile(kind, reply, false);
        let addr = proxy.addr();
        let mut p = Cmd::rnc(["--proxy", &addr, "--proxy-type", kind, "t.invalid", "80"]).spawn();
        let d = p.finish(FAIL);
        assert_eq!(d.code, Some(1), "{why}: {}", p.context());
        assert_eq!(
            d.stderr,
            format!("rnc: proxy {addr} : {why}\n"),
            "{}",
            p.context()
        );
        proxy.join();
    }
}

#[test]
fn stalled_proxy_hits_the_timeout() {
    for kind in ["http", "socks5", "socks4"] {
        let proxy = fake(|mut s| {
            let mut b = [0u8; 1024];
            // Read whatever comes and never answer, until rnc gives up.
            while matches!(s.read(&mut b), Ok(n) if n > 0) {}
            Vec::new()
        });
        let addr = proxy.addr();
        let t0 = Instant::now();
        let mut p = Cmd::rnc(["-w", "1", "--proxy", &addr, "-X", kind, "1.2.3.4", "80"]).spawn();
        let d = p.finish(FAIL);
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "{}",
            p.context()
        );
        assert_eq!(d.code, Some(1), "{}", p.context());
        assert_eq!(
            d.stderr,
            format!("rnc: proxy {addr} : no complete reply within 1s\n"),
            "{kind}"
        );
        proxy.join();
    }
}

#[test]
fn proxy_refusing_connections_is_a_network_error() {
    let port = free_port();
    let d = Cmd::rnc(["--proxy", &format!("127.0.0.1:{port}"), "t.invalid", "80"])
        .spawn()
        .finish(FAIL);
    assert_eq!(d.code, Some(1), "{}", d.stderr);
    assert_eq!(d.stderr, "Ncat: Connection refused.\n");
}

#[test]
fn proxy_with_listen_is_a_usage_error() {
    let d = Cmd::rnc(["-l", "--proxy", "127.0.0.1:1", "5"])
        .spawn()
        .finish(FAIL);
    assert_eq!(d.code, Some(2), "{}", d.stderr);
    assert!(
        d.stderr
            .contains("a proxy to connect through is for connect mode"),
        "{}",
        d.stderr
    );
}

#[test]
fn ssl_through_an_http_connect_tunnel() {
    let port = free_port();
    let ps = port.to_string();
    let mut server = Cmd::rnc(["-l", "--ssl", "127.0.0.1", &ps])
        .stdin(In::Open)
        .spawn();
    wait_port_listening(port, &mut server, FAIL);
    // A real forwarding proxy: CONNECT, then splice both ways.
    let proxy = fake(move |mut s| {
        let head = read_head(&mut s);
        let target = TcpStream::connect(("127.0.0.1", port)).expect("connect to target");
        s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
        let (mut a, mut b) = (s.try_clone().unwrap(), target.try_clone().unwrap());
        let up = thread::spawn(move || {
            let _ = std::io::copy(&mut a, &mut b);
            let _ = b.shutdown(std::net::Shutdown::Write);
        });
        let (mut c, mut d) = (target, s);
        let _ = std::io::copy(&mut c, &mut d);
        let _ = d.shutdown(std::net::Shutdown::Write);
        up.join().unwrap();
        head.into_bytes()
    });
    let mut client = Cmd::rnc(["--ssl", "--proxy", &proxy.addr(), "127.0.0.1", &ps])
        .stdin(In::Data(b"hello over tls\n".to_vec()))
        .spawn();
    server.expect_stdout(b"hello over tls\n", FAIL);
    server.write(b"answer over tls\n");
    client.expect_stdout(b"answer over tls\n", FAIL);
    server.close_stdin();
    let c = client.finish(FAIL);
    assert_eq!(c.code, Some(0), "{}", client.context());
    server.finish(FAIL);
    let head = String::from_utf8(proxy.join()).unwrap();
    assert!(
        head.starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")),
        "{head:?}"
    );
}

// ---------------------------------------------------------------------------
// Real proxies and servers (Debian packages that scripts/test.sh installs).
// Each runs as a `Proc`, so it is killed when the test ends, even on failure.

/// Start a real server on a free port (`make` gets the port) and wait until it
/// takes connections. A port that another socket grabs between our probe and
/// the server's bind (the machine can have many sockets in TIME-WAIT) makes
/// the server exit at once: then another port is tried.
fn daemon(what: &str, make: impl Fn(u16) -> Cmd) -> (Proc, u16) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut p = make(port).stdin(In::DevNull).spawn();
        let end = Instant::now() + FAIL;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (p, port);
            }
            if !p.is_running() {
                break;
            }
            assert!(
                Instant::now() < end,
                "{what} did not listen on port {port} within {FAIL:?}\n{}",
                p.context()
            );
            thread::sleep(POLL);
        }
        last = p.kill().describe();
    }
    panic!("{what} would not start on a free port; last try:\n{last}");
}

/// A target for the tunnel, on 127.0.0.1 and (where there is IPv6) on ::1 at
/// the same port, so a proxy that resolves `localhost` to either reaches it.
/// Its one connection gets "hello from target\n"; it returns what it read.
fn target() -> (u16, JoinHandle<Vec<u8>>) {
    let v4 = TcpListener::bind("127.0.0.1:0").expect("bind target");
    let port = v4.local_addr().unwrap().port();
    let mut ls = vec![v4];
    if let Ok(v6) = TcpListener::bind(("::1", port)) {
        ls.push(v6);
    }
    let h = thread::spawn(move || {
        for l in &ls {
            l.set_nonblocking(true).unwrap();
        }
        let end = Instant::now() + FAIL;
        let s = 'found: loop {
            for l in &ls {
                if let Ok((s, _)) = l.accept() {
                    break 'found s;
                }
            }
            assert!(Instant::now() < end, "nothing reached the target");
            thread::sleep(POLL);
        };
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(FAIL)).unwrap();
        tunnel_end(s, b"hello from target\n")
    });
    (port, h)
}

/// Run `cmd` (rnc through a proxy) to a `target()`: the greeting must arrive
/// before stdin ends (some proxies drop what is in flight once the client
/// half-closes), then "ping\n" must reach the target.
fn talk(cmd: Cmd, target: JoinHandle<Vec<u8>>) -> Done {
    let mut p = cmd.stdin(In::Open).spawn();
    p.write(b"ping\n");
    p.expect_stdout(b"hello from target\n", FAIL);
    p.close_stdin();
    let d = p.finish(FAIL);
    assert_eq!(d.code, Some(0), "{}", p.context());
    assert_eq!(join(target, &mut p), b"ping\n", "{}", p.context());
    d
}

/// ncat's own HTTP proxy server offers Basic and Digest; rnc answers with
/// Digest, and a wrong password is refused in one line.
#[test]
fn digest_auth_through_a_real_ncat_proxy() {
    let (mut proxy, pport) = daemon("ncat --proxy-type http", |port| {
        Cmd::tool(
            "ncat",
            [
                "-l",
                "-k",
                "127.0.0.1",
                &port.to_string(),
                "--proxy-type",
                "http",
                "--proxy-auth",
                "alice:s3cret",
            ],
        )
    });
    let addr = format!("127.0.0.1:{pport}");
    let (tport, t) = target();
    let d = talk(
        Cmd::rnc([
            "-vv",
            "--proxy",
            &addr,
            "--proxy-auth",
            "alice:s3cret",
            "127.0.0.1",
            &tport.to_string(),
        ]),
        t,
    );
    assert!(
        d.stderr.contains(&format!(
            "proxy {addr} asks for authentication; answering with Digest"
        )),
        "{}\n{}",
        d.describe(),
        proxy.context()
    );
    let d = run(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-auth",
            "alice:wrong",
            "127.0.0.1",
            "9",
        ]),
        FAIL,
    );
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert_eq!(
        d.stderr,
        format!("rnc: proxy {addr} : proxy authentication failed: 407 Proxy Authentication Required (credentials refused)\n")
    );
    assert!(proxy.is_running(), "{}", proxy.context());
}

fn microsocks(auth: Option<(&str, &str)>) -> (Proc, String) {
    let (p, port) = daemon("microsocks", |port| {
        let mut args = vec![
            "-i".to_string(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        if let Some((u, pw)) = auth {
            args.extend(["-u".into(), u.into(), "-P".into(), pw.into()]);
        }
        Cmd::tool("microsocks", args)
    });
    (p, format!("127.0.0.1:{port}"))
}

/// A real SOCKS5 server (Debian's microsocks): a tunnel by address, and by
/// name with remote DNS, which microsocks resolves itself (its log names the
/// host it connected to), against local DNS, where it only sees the address.
#[test]
fn socks5_through_a_real_microsocks() {
    let (mut proxy, addr) = microsocks(None);
    let (tport, t) = target();
    talk(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-type",
            "socks5",
            "127.0.0.1",
            &tport.to_string(),
        ]),
        t,
    );
    let (tport, t) = target();
    talk(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-type",
            "socks5",
            "--proxy-dns",
            "remote",
            "localhost",
            &tport.to_string(),
        ]),
        t,
    );
    proxy.expect_stderr(&format!("connected to localhost:{tport}"), FAIL);
    let (tport, t) = target();
    talk(
        Cmd::rnc([
            "-4",
            "--proxy",
            &addr,
            "--proxy-type",
            "socks5",
            "--proxy-dns",
            "local",
            "localhost",
            &tport.to_string(),
        ]),
        t,
    );
    proxy.expect_stderr(&format!("connected to 127.0.0.1:{tport}"), FAIL);
    // A name only the proxy could resolve, and it cannot: its failure code.
    let d = run(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-type",
            "socks5",
            "no-such-host.invalid",
            "80",
        ]),
        FAIL,
    );
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert!(
        d.stderr
            .starts_with(&format!("rnc: proxy {addr} : SOCKS5 request failed: ")),
        "{}",
        d.describe()
    );
    assert_eq!(d.stderr.lines().count(), 1, "{}", d.describe());
    assert!(proxy.is_running(), "{}", proxy.context());
}

/// microsocks with a user and password (RFC 1929): the right password
/// tunnels (also in OpenBSD's -X 5 -x form), a wrong one and none at all are
/// one-line errors, exit 1.
#[test]
fn socks5_user_password_through_a_real_microsocks() {
    let (mut proxy, addr) = microsocks(Some(("bob", "pa55")));
    let (tport, t) = target();
    talk(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-type",
            "socks5",
            "--proxy-auth",
            "bob:pa55",
            "localhost",
            &tport.to_string(),
        ]),
        t,
    );
    let (tport, t) = target();
    talk(
        Cmd::rnc_as(
            "nc",
            ["-X", "5", "-x", &addr, "127.0.0.1", &tport.to_string()],
        )
        .env("NCAT_PROXY_AUTH", "bob:pa55"),
        t,
    );
    for (auth, why) in [
        (
            Some("bob:wrong"),
            "SOCKS5 authentication failed (user name or password refused)",
        ),
        (
            None,
            "SOCKS5 proxy accepts none of our authentication methods (no --proxy-auth given)",
        ),
    ] {
        let mut args = vec!["--proxy", &addr, "--proxy-type", "socks5"];
        if let Some(a) = auth {
            args.extend(["--proxy-auth", a]);
        }
        args.extend(["127.0.0.1", "9"]);
        let d = run(Cmd::rnc(args).env_remove("NCAT_PROXY_AUTH"), FAIL);
        assert_eq!(d.code, Some(1), "{}", d.describe());
        assert_eq!(d.stderr, format!("rnc: proxy {addr} : {why}\n"));
    }
    assert!(proxy.is_running(), "{}", proxy.context());
}

/// Debian's tinyproxy on a free port, allowing CONNECT to `ports` only, with
/// `extra` configuration lines; its config lives in `dir`.
fn tinyproxy(dir: &TempDir, ports: &[u16], extra: &str) -> (Proc, String) {
    let (p, port) = daemon("tinyproxy", |port| {
        let mut conf = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nLogLevel Error\n{extra}"
        );
        for p in ports {
            conf.push_str(&format!("ConnectPort {p}\n"));
        }
        let path = dir.file("tinyproxy.conf", conf.as_bytes());
        Cmd::tool("tinyproxy", ["-d", "-c"]).arg(path)
    });
    (p, format!("127.0.0.1:{port}"))
}

/// A real HTTP proxy: Debian's tinyproxy tunnels rnc to a target, and its
/// refusal (a port it does not allow) is one line, exit 1.
#[test]
fn through_a_real_tinyproxy() {
    let dir = TempDir::new();
    let (tport, t) = target();
    let (mut proxy, addr) = tinyproxy(&dir, &[tport], "");
    talk(
        Cmd::rnc(["--proxy", &addr, "127.0.0.1", &tport.to_string()]),
        t,
    );
    // A port tinyproxy does not allow: its 403, in one line.
    let d = run(Cmd::rnc(["--proxy", &addr, "127.0.0.1", "9"]), FAIL);
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert!(
        d.stderr.starts_with(&format!(
            "rnc: proxy {addr} : HTTP proxy refused the connection: 403"
        )),
        "{}",
        d.describe()
    );
    assert_eq!(d.stderr.lines().count(), 1, "{}", d.describe());
    assert!(proxy.is_running(), "{}", proxy.context());
}

/// tinyproxy with BasicAuth: it challenges with Basic only, so rnc answers
/// with Basic on a second connection; a wrong password gets tinyproxy's 401,
/// reported as an authentication failure.
#[test]
fn basic_auth_through_a_real_tinyproxy() {
    let dir = TempDir::new();
    let (tport, t) = target();
    let (mut proxy, addr) = tinyproxy(&dir, &[tport, 9], "BasicAuth carol hunter2\n");
    let d = talk(
        Cmd::rnc([
            "-vv",
            "--proxy",
            &addr,
            "--proxy-auth",
            "carol:hunter2",
            "127.0.0.1",
            &tport.to_string(),
        ]),
        t,
    );
    assert!(
        d.stderr
            .contains("asks for authentication; answering with Basic"),
        "{}",
        d.describe()
    );
    let d = run(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-auth",
            "carol:nope",
            "127.0.0.1",
            "9",
        ]),
        FAIL,
    );
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert_eq!(
        d.stderr,
        format!("rnc: proxy {addr} : proxy authentication failed: 401 Unauthorized (credentials refused)\n")
    );
    let d = run(
        Cmd::rnc(["--proxy", &addr, "127.0.0.1", "9"]).env_remove("NCAT_PROXY_AUTH"),
        FAIL,
    );
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert_eq!(
        d.stderr,
        format!("rnc: proxy {addr} : HTTP proxy refused the connection: 407 Proxy Authentication Required (it wants credentials: --proxy-auth)\n")
    );
    assert!(proxy.is_running(), "{}", proxy.context());
}

/// sshd's absolute path (it refuses to start from a relative one).
fn sshd_path() -> std::path::PathBuf {
    let in_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("sshd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    in_path
        .into_iter()
        .chain(["/usr/sbin/sshd".into()])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "required peer `sshd` is not installed. Run scripts/test.sh, which installs it, \
                 or: apt-get install -y openssh-server"
            )
        })
}

fn id(flag: &str) -> String {
    let d = run(Cmd::new("id", [flag]), FAIL);
    assert_eq!(d.code, Some(0), "{}", d.describe());
    d.stdout_str().trim().to_string()
}

/// What ssh users type: `ProxyCommand nc -X connect -x PROXY %h %p`, with rnc
/// as `nc` (OpenBSD personality), through a real HTTP proxy (tinyproxy) to a
/// real sshd of this test (its own host key, a client key in its own
/// authorized_keys file, the current user), running a remote command.
#[test]
fn ssh_proxycommand_through_a_real_http_proxy() {
    let sshd = sshd_path();
    let user = id("-un");
    if id("-u") == "0" {
        // sshd running as root wants its privilege separation directory, which
        // only the ssh service's start script creates.
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
    }
    let dir = TempDir::new();
    for key in ["host_key", "client_key"] {
        let d = run(
            Cmd::tool(
                "ssh-keygen",
                ["-q", "-t", "ed25519", "-N", "", "-C", "rnc-test", "-f"],
            )
            .arg(dir.join(key)),
            FAIL,
        );
        assert_eq!(d.code, Some(0), "{}", d.describe());
    }
    let pubkey = std::fs::read(dir.join("client_key.pub")).unwrap();
    let authorized = dir.file("authorized_keys", &pubkey);
    let (mut server, sport) = daemon("sshd", |port| {
        let opt = |o: String| ["-o".to_string(), o];
        let mut args = vec![
            "-D".to_string(),
            "-e".into(),
            "-f".into(),
            "/dev/null".into(),
        ];
        for o in [
            format!("Port={port}"),
            "ListenAddress=127.0.0.1".into(),
            format!("HostKey={}", dir.join("host_key").display()),
            format!("AuthorizedKeysFile={}", authorized.display()),
            "StrictModes=no".into(),
            "UsePAM=no".into(),
            "PidFile=none".into(),
            "PasswordAuthentication=no".into(),
            "KbdInteractiveAuthentication=no".into(),
            "PermitRootLogin=prohibit-password".into(),
            format!("AllowUsers={user}"),
        ] {
            args.extend(opt(o));
        }
        Cmd::new(&sshd, args)
    });
    let (proxy, paddr) = tinyproxy(&dir, &[sport], "");
    let nc = rnc_named("nc");
    let ssh = |proxy_command: String| {
        let mut p = Cmd::tool(
            "ssh",
            [
                "-F",
                "/dev/null",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "GlobalKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "LogLevel=ERROR",
                "-o",
                &format!("ConnectTimeout={}", FAIL.as_secs()),
                "-o",
                &format!("ProxyCommand={proxy_command}"),
                "-i",
            ],
        )
        .arg(dir.join("client_key"))
        .args(["-p", &sport.to_string(), &format!("{user}@127.0.0.1")])
        .args(["echo", "hello-through-proxy"])
        .spawn();
        let d = p.finish(FAIL + FAIL);
        (d, p.context())
    };
    // As ssh users write it, and the same with ncat's own spelling (ssh
    // runs the command with `exec` already).
    for pc in [
        format!("{} -X connect -x {paddr} %h %p", nc.display()),
        format!(
            "{} --proxy-type http --proxy {paddr} %h %p",
            rnc_bin().display()
        ),
    ] {
        let (d, ctx) = ssh(pc.clone());
        assert_eq!(
            (d.code, d.stdout_str().as_str()),
            (Some(0), "hello-through-proxy\n"),
            "ProxyCommand {pc}\n{ctx}\nsshd:\n{}\nproxy:\n{}",
            server.context(),
            proxy.context()
        );
    }
    // A proxy that refuses (a port tinyproxy does not allow): ssh fails, and
    // rnc's one line is what the user sees.
    let (d, ctx) = ssh(format!("{} -X connect -x {paddr} %h 9", nc.display()));
    assert_eq!(d.code, Some(255), "{ctx}");
    assert!(
        d.stderr.contains(&format!(
            "rnc: proxy {paddr} : HTTP proxy refused the connection: 403"
        )),
        "{ctx}"
    );
    // The same through rnc's own proxy server with Digest auth: rnc at both
    // ends of the tunnel, ssh inside it.
    let (mut rproxy, rport) = daemon("rnc -l --proxy-type http", |port| {
        Cmd::rnc([
            "-l",
            "--proxy-type",
            "http",
            "--proxy-auth",
            "dave:pw",
            "127.0.0.1",
            &port.to_string(),
        ])
    });
    let pc = format!(
        "{} --proxy 127.0.0.1:{rport} --proxy-auth dave:pw %h %p",
        rnc_bin().display()
    );
    let (d, ctx) = ssh(pc.clone());
    assert_eq!(
        (d.code, d.stdout_str().as_str()),
        (Some(0), "hello-through-proxy\n"),
        "ProxyCommand {pc}\n{ctx}\nsshd:\n{}\nproxy:\n{}",
        server.context(),
        rproxy.context()
    );
    assert!(rproxy.is_running(), "{}", rproxy.context());
    assert!(server.is_running(), "{}", server.context());
}

/// rnc's client against rnc's proxy server: the server offers Basic and
/// Digest, the client answers with Digest; a wrong password is refused.
#[test]
fn digest_auth_through_rnc_own_proxy_server() {
    let (mut proxy, pport) = daemon("rnc -l --proxy-type http", |port| {
        Cmd::rnc([
            "-l",
            "--proxy-type",
            "http",
            "--proxy-auth",
            "erin:pa:ss",
            "127.0.0.1",
            &port.to_string(),
        ])
    });
    let addr = format!("127.0.0.1:{pport}");
    let (tport, t) = target();
    let d = talk(
        Cmd::rnc([
            "-vv",
            "--proxy",
            &addr,
            "--proxy-auth",
            "erin:pa:ss",
            "localhost",
            &tport.to_string(),
        ]),
        t,
    );
    assert!(
        d.stderr
            .contains("asks for authentication; answering with Digest"),
        "{}\n{}",
        d.describe(),
        proxy.context()
    );
    let d = run(
        Cmd::rnc([
            "--proxy",
            &addr,
            "--proxy-auth",
            "erin:pa:sx",
            "127.0.0.1",
            "9",
        ]),
        FAIL,
    );
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert!(
        d.stderr.starts_with(&format!(
            "rnc: proxy {addr} : proxy authentication failed: 407"
        )),
        "{}",
        d.describe()
    );
    assert!(proxy.is_running(), "{}", proxy.context());
}
