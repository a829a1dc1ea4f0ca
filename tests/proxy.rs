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
    let proxy = fake(|mut s| {
        let head = read_head(&mut s);
        // The extra bytes after the reply head must reach stdout, not be lost.
        s.write_all(b"HTTP/1.1 200 Connection established\r\nVia: fake\r\n\r\nhello ")
            .unwrap();
        thread::sleep(Duration::from_millis(50));
        let mut out = head.into_bytes();
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
    assert!(
        got.starts_with("CONNECT target.invalid:8080 HTTP/1.1\r\n"),
        "{got:?}"
    );
    assert!(got.contains("\r\nHost: target.invalid:8080\r\n"), "{got:?}");
    assert!(
        got.contains("\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n"),
        "{got:?}"
    );
    assert!(got.ends_with("\r\n\r\nping\n"), "{got:?}");
}

#[test]
fn http_auth_from_environment() {
    let proxy = fake(|mut s| {
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
fn http_407_is_an_error() {
    let proxy = fake(|mut s| {
        read_head(&mut s);
        s.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n",
        )
        .unwrap();
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
            "rnc: proxy {addr} : HTTP proxy refused the connection: 407 Proxy Authentication Required\n"
        )
    );
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
            "SOCKS5 proxy accepts none of our authentication methods",
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

/// A real HTTP proxy: Debian's tinyproxy tunnels rnc to a target, and its
/// refusal (a port it does not allow) is one line, exit 1.
#[test]
fn through_a_real_tinyproxy() {
    assert!(
        std::process::Command::new("sh")
            .args(["-c", "command -v tinyproxy"])
            .output()
            .is_ok_and(|o| o.status.success()),
        "tinyproxy is missing: apt-get install -y tinyproxy (scripts/test.sh does)"
    );
    let target = TcpListener::bind("127.0.0.1:0").unwrap();
    let tport = target.local_addr().unwrap().port();
    let t = thread::spawn(move || {
        let (s, _) = target.accept().expect("accept from tinyproxy");
        s.set_read_timeout(Some(FAIL)).unwrap();
        tunnel_end(s, b"hello from target\n")
    });
    let pport = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("rnc-tinyproxy-{}-{pport}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("tinyproxy.conf");
    std::fs::write(
        &conf,
        format!(
            "Port {pport}\nListen 127.0.0.1\nTimeout 30\nAllow 127.0.0.1\nConnectPort {tport}\nLogLevel Error\n"
        ),
    )
    .unwrap();
    let mut proxy = std::process::Command::new("tinyproxy")
        .arg("-d")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tinyproxy");
    let deadline = Instant::now() + FAIL;
    while TcpStream::connect(("127.0.0.1", pport)).is_err() {
        assert!(
            Instant::now() < deadline,
            "tinyproxy did not listen on {pport}"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let addr = format!("127.0.0.1:{pport}");
    let mut p = Cmd::rnc(["--proxy", &addr, "127.0.0.1", &tport.to_string()])
        .stdin(In::Data(b"ping\n".to_vec()))
        .spawn();
    let d = p.finish(FAIL);
    let ok = d.code == Some(0) && d.stdout == b"hello from target\n";
    let got = t.join();
    // A port tinyproxy does not allow: its 403, in one line.
    let mut q = Cmd::rnc(["--proxy", &addr, "127.0.0.1", "9"]).spawn();
    let refused = q.finish(FAIL);
    let _ = proxy.kill();
    let _ = proxy.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{}", p.context());
    assert_eq!(got.expect("target thread"), b"ping\n");
    assert_eq!(refused.code, Some(1), "{}", q.context());
    assert!(
        q.context().contains("rnc: proxy 127.0.0.1:") && q.context().contains("403"),
        "{}",
        q.context()
    );
}
