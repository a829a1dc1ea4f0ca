//! rnc as an HTTP proxy (`-l --proxy-type http`; reference §3.6): real curl,
//! ncat and nc.openbsd as clients, CONNECT tunnels and plain absolute-URI
//! requests to origins running in threads of this test, Basic and Digest
//! authentication (with replays refused), several clients at once, -m,
//! --allow/--deny, the -l address, and hostile clients that must not disturb
//! the others.

mod common;

use common::*;
use rnetcat::proxy::auth;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

struct Proxy {
    p: Proc,
    port: u16,
}

/// `rnc -v --test -l --proxy-type http ARGS ADDR 0`, once it listens.
fn proxy(args: &[&str]) -> Proxy {
    proxy_at("127.0.0.1", args)
}

fn proxy_at(addr: &str, args: &[&str]) -> Proxy {
    start(
        Cmd::rnc(["-v", "--test", "-l", "--proxy-type", "http"])
            .args(args)
            .args([addr, "0"]),
    )
}

/// Start `cmd` (a proxy listening on port 0 with `-v --test`) and wait until
/// it listens.
fn start(cmd: Cmd) -> Proxy {
    let mut p = cmd.stdin(In::Open).spawn();
    let port = announced_port(&mut p);
    Proxy { p, port }
}

impl Proxy {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn connect(&mut self) -> TcpStream {
        let s = connect_retry(SocketAddr::new(V4, self.port), &mut self.p, FAIL);
        s.set_read_timeout(Some(FAIL)).unwrap();
        s
    }
    /// Send `req` on a new connection and return everything the proxy says
    /// until it closes.
    fn ask(&mut self, req: &[u8]) -> String {
        let mut s = self.connect();
        s.write_all(req).expect("send request");
        read_to_close(&mut s)
    }
    fn alive(&mut self) {
        assert!(self.p.is_running(), "proxy exited\n{}", self.p.context());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.p.kill();
    }
}

fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// An HTTP origin: answers each request (head, then a Content-Length body)
/// with `200` and `body`, and reports what it received.
struct Origin {
    port: u16,
    got: mpsc::Receiver<(String, Vec<u8>)>,
}

fn origin(body: &'static str) -> Origin {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind origin");
    let port = l.local_addr().unwrap().port();
    let (tx, got) = mpsc::channel();
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            let tx = tx.clone();
            thread::spawn(move || {
                s.set_read_timeout(Some(FAIL)).unwrap();
                let head = read_head(&mut s);
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                let mut b = vec![0u8; len];
                let _ = s.read_exact(&mut b);
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes());
                let _ = tx.send((head, b));
            });
        }
    });
    Origin { port, got }
}

impl Origin {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    fn next(&self) -> (String, Vec<u8>) {
        self.got
            .recv_timeout(FAIL)
            .expect("the origin got a request")
    }
}

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A TCP echo server; every connection echoes until EOF, then closes.
fn echo_server() -> u16 {
    echo_server_at("127.0.0.1:0")
}

fn echo_server_at(addr: &str) -> u16 {
    let l = TcpListener::bind(addr).expect("bind echo");
    let port = l.local_addr().unwrap().port();
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            thread::spawn(move || {
                let mut r = s.try_clone().unwrap();
                let _ = std::io::copy(&mut r, &mut s);
                let _ = s.shutdown(Shutdown::Write);
            });
        }
    });
    port
}

fn curl(args: &[&str]) -> Done {
    let mut c = Cmd::tool("curl", ["-sS", "--max-time", "20"])
        .args(args)
        .stdin(In::DevNull)
        .spawn();
    c.finish(Duration::from_secs(30))
}

/// curl's `-w` report: the final status, and CONNECT's.
const CODES: &str = "%{http_code} %{http_connect}";

#[test]
fn curl_plain_get_and_connect_through_the_proxy() {
    let o = origin("hello from origin\n");
    let mut px = proxy(&[]);
    // Plain GET with an absolute URI: sent on in origin form, hop-by-hop
    // headers dropped.
    let d = curl(&[
        "-x",
        &px.url(),
        "-H",
        "X-Keep: 1",
        "-H",
        "Proxy-Connection: keep-alive",
        &o.url("/a/b?c=d"),
    ]);
    assert_eq!(d.stdout, b"hello from origin\n", "{}", d.describe());
    let (head, _) = o.next();
    assert!(head.starts_with("GET /a/b?c=d HTTP/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("Host: 127.0.0.1:{}\r\n", o.port)),
        "{head}"
    );
    assert!(head.contains("X-Keep: 1\r\n"), "{head}");
    assert!(head.contains("Connection: close\r\n"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("proxy-connection"),
        "{head}"
    );
    // CONNECT (curl -p): the tunnel carries curl's own request unchanged.
    let d = curl(&["-p", "-x", &px.url(), "-w", CODES, &o.url("/tunnel")]);
    assert_eq!(d.stdout, b"hello from origin\n200 200", "{}", d.describe());
    let (head, _) = o.next();
    assert!(head.starts_with("GET /tunnel HTTP/1.1\r\n"), "{head}");
    // POST with a body, and HEAD.
    let d = curl(&["-x", &px.url(), "--data-binary", "a=1&b=2", &o.url("/post")]);
    assert_eq!(d.stdout, b"hello from origin\n", "{}", d.describe());
    let (head, body) = o.next();
    assert!(head.starts_with("POST /post HTTP/1.1\r\n"), "{head}");
    assert_eq!(body, b"a=1&b=2");
    let d = curl(&["-I", "-x", &px.url(), "-w", "%{http_code}", &o.url("/h")]);
    assert!(
        String::from_utf8_lossy(&d.stdout).ends_with("200"),
        "{}",
        d.describe()
    );
    assert!(o.next().0.starts_with("HEAD /h HTTP/1.1\r\n"));
    px.alive();
}

#[test]
fn a_tunnel_passes_half_closes_both_ways() {
    let echo = echo_server();
    let mut px = proxy(&[]);
    let mut s = px.connect();
    s.write_all(format!("CONNECT 127.0.0.1:{echo} HTTP/1.1\r\nHost: x\r\n\r\nearly").as_bytes())
        .unwrap();
    // Bytes sent right after the head (before the 200) are not lost.
    let mut want = b"HTTP/1.0 200 OK\r\n\r\nearly".to_vec();
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got)
        .expect("200 and the early bytes echoed");
    assert_eq!(got, want);
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut w = s.try_clone().unwrap();
    let big2 = big.clone();
    let writer = thread::spawn(move || {
        w.write_all(&big2).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    want = big;
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).expect("the echo, then EOF");
    writer.join().unwrap();
    assert_eq!(rest.len(), want.len());
    assert!(rest == want, "echoed bytes differ");
    px.alive();
}

#[test]
fn several_clients_at_once() {
    let echo = echo_server();
    let o = origin("ok\n");
    let mut px = proxy(&[]);
    // Two tunnels held open while a third client is served.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = px.connect();
        s.write_all(format!("CONNECT 127.0.0.1:{echo} HTTP/1.0\r\n\r\n").as_bytes())
            .unwrap();
        let mut b = [0u8; 19];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"HTTP/1.0 200 OK\r\n\r\n");
        held.push(s);
    }
    let d = curl(&["-x", &px.url(), &o.url("/")]);
    assert_eq!(d.stdout, b"ok\n", "{}", d.describe());
    for (i, s) in held.iter_mut().enumerate() {
        let msg = format!("still here {i}\n");
        s.write_all(msg.as_bytes()).unwrap();
        let mut b = vec![0u8; msg.len()];
        s.read_exact(&mut b).unwrap();
        assert_eq!(b, msg.as_bytes());
    }
}

#[test]
fn basic_and_digest_auth_with_curl() {
    let o = origin("secret page\n");
    let mut px = proxy(&["--proxy-auth", "bob:s3 cret"]);
    let pu = px.url();
    for scheme in ["--proxy-basic", "--proxy-digest", "--proxy-anyauth"] {
        for tunnel in [false, true] {
            let mut a = vec![scheme, "-U", "bob:s3 cret", "-x", &pu, "-w", CODES];
            if tunnel {
                a.push("-p");
            }
            let url = o.url("/s");
            a.push(&url);
            let d = curl(&a);
            let want: &[u8] = if tunnel {
                b"secret page\n200 200"
            } else {
                b"secret page\n200 000"
            };
            assert_eq!(d.stdout, want, "{scheme} tunnel={tunnel}\n{}", d.describe());
            o.next();
        }
    }
    // Wrong or missing credentials: 407, and nothing reaches the origin.
    for a in [
        vec!["--proxy-basic", "-U", "bob:wrong"],
        vec!["--proxy-digest", "-U", "bob:wrong"],
        vec!["--proxy-digest", "-U", "eve:s3 cret"],
        vec![],
    ] {
        let mut args = a.clone();
        let url = o.url("/s");
        let pu = px.url();
        args.extend(["-x", &pu, "-w", "%{http_code}", "-o", "/dev/null", &url]);
        let d = curl(&args);
        assert_eq!(d.stdout, b"407", "{a:?}\n{}", d.describe());
    }
    assert!(
        o.got.try_recv().is_err(),
        "an unauthenticated request got through"
    );
    px.alive();
}

/// Ask for a challenge and answer it with a Digest for `uri`.
fn digest_request(px: &mut Proxy, method: &str, uri: &str, nc: &str, pass: &str) -> String {
    let challenge = px.ask(format!("{method} {uri} HTTP/1.1\r\n\r\n").as_bytes());
    assert!(challenge.starts_with("HTTP/1.0 407 "), "{challenge}");
    assert!(challenge.contains("Proxy-Authenticate: Basic realm=\"Ncat\"\r\n"));
    let line = challenge
        .lines()
        .find(|l| l.starts_with("Proxy-Authenticate: Digest "))
        .expect("a Digest challenge");
    let h = auth::parse(line.trim_start_matches("Proxy-Authenticate: ")).unwrap();
    let nonce = h[0].param("nonce").unwrap().to_string();
    assert_eq!(h[0].param("qop"), Some("auth"));
    digest_with(method, uri, &nonce, nc, pass)
}

fn digest_with(method: &str, uri: &str, nonce: &str, nc: &str, pass: &str) -> String {
    let response = auth::digest_response(&auth::DigestInput {
        user: "bob",
        realm: "Ncat",
        pass,
        method,
        uri,
        nonce,
        qop: Some(("auth", nc, "0a4f113b")),
    });
    format!(
        "{method} {uri} HTTP/1.1\r\nProxy-Authorization: Digest username=\"bob\", realm=\"Ncat\", \
         nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", qop=auth, nc={nc}, \
         cnonce=\"0a4f113b\", algorithm=MD5\r\n\r\n"
    )
}

#[test]
fn digest_replays_and_forged_nonces_are_refused() {
    let echo = echo_server();
    let mut px = proxy(&["--proxy-auth", "bob:pw"]);
    let target = format!("127.0.0.1:{echo}");
    let req = digest_request(&mut px, "CONNECT", &target, "00000001", "pw");
    let mut s = px.connect();
    s.write_all(req.as_bytes()).unwrap();
    let mut b = [0u8; 19];
    s.read_exact(&mut b).expect("the first use is accepted");
    assert_eq!(&b, b"HTTP/1.0 200 OK\r\n\r\n");
    drop(s);
    // The very same request again: a replay.
    let again = px.ask(req.as_bytes());
    assert!(
        again.starts_with("HTTP/1.0 407 "),
        "replay accepted: {again}"
    );
    // The next nonce count is a new request, and fine.
    let nonce = auth::parse(
        req.lines()
            .find_map(|l| l.strip_prefix("Proxy-Authorization: "))
            .unwrap(),
    )
    .unwrap()[0]
        .param("nonce")
        .unwrap()
        .to_string();
    let next = digest_with("CONNECT", &target, &nonce, "00000002", "pw");
    let mut s = px.connect();
    s.write_all(next.as_bytes()).unwrap();
    s.read_exact(&mut b).expect("nc 2 is accepted");
    assert_eq!(&b, b"HTTP/1.0 200 OK\r\n\r\n");
    drop(s);
    // A nonce the proxy never issued; a wrong password; a request whose
    // credentials were made for another target.
    let forged = format!("{:032x}{:032x}", 1u8, 2u8);
    for bad in [
        digest_with("CONNECT", &target, &forged, "00000001", "pw"),
        digest_request(&mut px, "CONNECT", &target, "00000001", "nope"),
        digest_request(&mut px, "CONNECT", &target, "00000001", "pw").replacen(
            &format!("CONNECT {target}"),
            "CONNECT 127.0.0.1:1",
            1,
        ),
    ] {
        let r = px.ask(bad.as_bytes());
        assert!(r.starts_with("HTTP/1.0 407 "), "accepted: {bad}\n{r}");
    }
    px.alive();
}

#[test]
fn hostile_and_broken_requests_get_an_error_and_the_proxy_serves_on() {
    let o = origin("fine\n");
    let mut px = proxy(&["-i", "2"]);
    // A client that stalls mid-head does not hold up the others.
    let mut staller = px.connect();
    staller
        .write_all(b"GET http://127.0.0.1/ HTTP/1.1\r\nX: ")
        .unwrap();
    let huge = format!(
        "GET {} HTTP/1.1\r\nX: {}\r\n\r\n",
        o.url("/"),
        "a".repeat(20_000)
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (huge.into_bytes(), "HTTP/1.0 413 "),
        (b"garbage\r\n\r\n".to_vec(), "HTTP/1.0 400 "),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.0 400 "),
        (b"GET https://h/ HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.0 400 "),
        (b"GET http://h/ HTTP/9.9\r\n\r\n".to_vec(), "HTTP/1.0 400 "),
        (b"BREW http://h/ HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.0 405 "),
        (
            b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n".to_vec(),
            "HTTP/1.0 400 ",
        ),
        (
            b"CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n".to_vec(),
            "HTTP/1.0 400 ",
        ),
        (
            b"GET http://127.0.0.1:1/ HTTP/1.1\r\n\r\n".to_vec(),
            "HTTP/1.0 502 ",
        ),
        (
            b"CONNECT no.such.host.invalid:80 HTTP/1.1\r\n\r\n".to_vec(),
            "HTTP/1.0 502 ",
        ),
        (
            b"GET http://x/ HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(),
            "HTTP/1.0 400 ",
        ),
        (
            b"GET http://x/ HTTP/1.1\r\nX: \x00\r\n\r\n".to_vec(),
            "HTTP/1.0 400 ",
        ),
    ];
    for (req, want) in cases {
        let r = px.ask(&req);
        assert!(
            r.starts_with(want),
            "{:?} -> {r:?}",
            String::from_utf8_lossy(&req[..req.len().min(60)])
        );
    }
    // The proxy's own address is not a target (a request loop).
    let r = px.ask(format!("GET {}/ HTTP/1.1\r\n\r\n", px.url()).as_bytes());
    assert!(r.starts_with("HTTP/1.0 403 "), "{r}");
    // The stalled client is answered 408 once -i passes.
    staller.set_read_timeout(Some(FAIL)).unwrap();
    let r = read_to_close(&mut staller);
    assert!(r.starts_with("HTTP/1.0 408 "), "{r}");
    // And real clients are still served.
    let d = curl(&["-x", &px.url(), &o.url("/")]);
    assert_eq!(d.stdout, b"fine\n", "{}", d.describe());
    let err = px.p.stderr();
    assert!(err.contains("413: request head over 16 KiB"), "{err}");
    px.alive();
}

#[test]
fn max_conns_and_access_lists_are_honoured() {
    let echo = echo_server();
    let o = origin("ok\n");
    let mut px = proxy(&["-m", "1"]);
    let mut first = px.connect();
    first
        .write_all(format!("CONNECT 127.0.0.1:{echo} HTTP/1.0\r\n\r\n").as_bytes())
        .unwrap();
    let mut b = [0u8; 19];
    first.read_exact(&mut b).unwrap();
    // The second client is over the limit: closed without an answer.
    let r = px.ask(format!("GET {} HTTP/1.0\r\n\r\n", o.url("/")).as_bytes());
    assert_eq!(r, "");
    px.p.expect_stderr("connection limit reached (1)", FAIL);
    drop(first);
    // Once the tunnel is gone, clients are served again.
    wait_for("a free slot", FAIL, || {
        px.ask(format!("GET {} HTTP/1.0\r\n\r\n", o.url("/")).as_bytes())
            .ends_with("ok\n")
    });
    drop(px);

    let mut px = proxy(&["--deny", "127.0.0.1"]);
    let r = px.ask(format!("GET {} HTTP/1.0\r\n\r\n", o.url("/")).as_bytes());
    assert_eq!(r, "");
    px.p.expect_stderr("Ncat: New connection denied: not allowed", FAIL);
    drop(px);
    let mut px = proxy(&["--allow", "127.0.0.0/8"]);
    let r = px.ask(format!("GET {} HTTP/1.0\r\n\r\n", o.url("/")).as_bytes());
    assert!(r.ends_with("ok\n"), "{r}");
}

#[test]
fn the_proxy_listens_only_where_told() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let mut px = proxy_at("127.0.0.1", &[]);
    let v6 = TcpStream::connect_timeout(&SocketAddr::new(V6, px.port), FAIL);
    assert!(v6.is_err(), "-l 127.0.0.1 also served ::1");
    px.alive();
    // Bound to ::1, it serves there (and proxies to a v4 target).
    let o = origin("six\n");
    let mut px = proxy_at("::1", &[]);
    let url = format!("http://[::1]:{}", px.port);
    let d = curl(&["-x", &url, &o.url("/")]);
    assert_eq!(d.stdout, b"six\n", "{}", d.describe());
    px.alive();
}

/// IPv6 and host names at each hop: client to proxy over ::1, CONNECT to
/// `[::1]:port` and to `localhost:port`, a GET for `http://localhost:port/`.
#[test]
fn ipv6_and_names_at_each_hop() {
    if TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let echo6 = echo_server_at("[::1]:0");
    let echo4 = echo_server();
    let o = origin("by name\n");
    let mut px = proxy_at("::", &[]);
    for target in [format!("[::1]:{echo6}"), format!("localhost:{echo4}")] {
        let mut s = connect_retry(SocketAddr::new(V6, px.port), &mut px.p, FAIL);
        s.set_read_timeout(Some(FAIL)).unwrap();
        s.write_all(format!("CONNECT {target} HTTP/1.1\r\n\r\nhi").as_bytes())
            .unwrap();
        let mut b = [0u8; 21];
        s.read_exact(&mut b).expect("200 and the echo");
        assert_eq!(&b, b"HTTP/1.0 200 OK\r\n\r\nhi", "{target}");
    }
    let d = curl(&[
        "-x",
        &format!("http://[::1]:{}", px.port),
        &format!("http://localhost:{}/", o.port),
    ]);
    assert_eq!(d.stdout, b"by name\n", "{}", d.describe());
    // rnc's own client, with an IPv6 literal or a name at each hop.
    // (-l :: is IPv6 only, as in ncat, and localhost may be 127.0.0.1 only.)
    let px4 = proxy(&[]);
    let (p6, pn) = (
        format!("[::1]:{}", px.port),
        format!("localhost:{}", px4.port),
    );
    let (e6, e4) = (echo6.to_string(), echo4.to_string());
    for args in [
        [&*p6, "localhost", &*e4],
        [&*pn, "::1", &*e6],
        [&*p6, "::1", &*e6],
    ] {
        let mut c = Cmd::rnc(["--proxy"])
            .args(args)
            .stdin(In::Data(b"six and names\n".to_vec()))
            .spawn();
        c.expect_stdout(b"six and names\n", FAIL);
        let d = c.finish(FAIL);
        assert_eq!(d.code, Some(0), "{args:?}\n{}", d.describe());
    }
    px.alive();
}

#[test]
fn netcat_clients_through_rnc_proxy() {
    let echo = echo_server();
    let px = proxy(&["--proxy-auth", "u:p"]);
    let pa = format!("127.0.0.1:{}", px.port);
    let es = echo.to_string();
    // rnc's own client and ncat's (both answer the 407 challenge, with Digest), and
    // OpenBSD nc's -X connect (no credentials: refused).
    let clients = [
        Cmd::rnc(["--proxy", &pa, "--proxy-auth", "u:p", "127.0.0.1", &es]),
        Cmd::tool(
            "ncat",
            [
                "--proxy",
                &pa,
                "--proxy-type",
                "http",
                "--proxy-auth",
                "u:p",
                "127.0.0.1",
                &es,
            ],
        ),
    ];
    for c in clients {
        let mut p = c
            .stdin(In::Data(b"ping through the proxy\n".to_vec()))
            .spawn();
        p.expect_stdout(b"ping through the proxy\n", FAIL);
        let d = p.finish(FAIL);
        assert_eq!(d.code, Some(0), "{}", d.describe());
    }
    drop(px);
    let mut px = proxy(&[]);
    let pa = format!("127.0.0.1:{}", px.port);
    let mut p = Cmd::tool("nc.openbsd", ["-X", "connect", "-x", &pa, "127.0.0.1", &es])
        .stdin(In::Data(b"obsd\n".to_vec()))
        .spawn();
    p.expect_stdout(b"obsd\n", FAIL);
    p.kill();
    px.alive();
}

#[test]
fn a_tls_proxy_server() {
    let o = origin("over tls\n");
    let mut px = proxy(&["--ssl"]);
    let url = format!("https://127.0.0.1:{}", px.port);
    let d = curl(&["--proxy-insecure", "-x", &url, &o.url("/")]);
    assert_eq!(d.stdout, b"over tls\n", "{}", d.describe());
    px.alive();
}

#[test]
fn options_that_mean_nothing_to_the_proxy_are_refused() {
    for (args, want) in [
        (
            vec!["-l", "--proxy-type", "http", "--sh-exec", "cat", "1"],
            "rnc: --sh-exec : cannot be used with the HTTP proxy server (--proxy-type http)",
        ),
        (
            vec!["-l", "--proxy-type", "socks5", "1"],
            "rnc: --proxy-type : the proxy server speaks http only, not 'socks5'",
        ),
        (
            vec!["-l", "--proxy-auth", "a:b", "1"],
            "rnc: --proxy-auth : in listen mode needs --proxy-type http",
        ),
    ] {
        let d = Cmd::rnc(&args).stdin(In::DevNull).spawn().finish(FAIL);
        assert_eq!(d.code, Some(2), "{}", d.describe());
        assert_eq!(d.stderr.trim_end(), want);
    }
}

/// Under `ulimit -n 40` more tunnels are asked for than there are
/// descriptors: the proxy says so, keeps the tunnels it has, and serves again
/// once they are gone.
#[test]
fn out_of_descriptors_the_proxy_keeps_its_tunnels_and_recovers() {
    let echo = echo_server();
    let o = origin("recovered\n");
    let bin = rnc_bin();
    let mut px = start(
        Cmd::new(
            "/bin/sh",
            [
                "-c",
                "ulimit -n 40 && exec \"$0\" -v --test -l --proxy-type http 127.0.0.1 0",
                bin.to_str().unwrap(),
            ],
        )
        .env_remove("RNC_COMPAT"),
    );
    let mut tunnels: Vec<TcpStream> = (0..30)
        .map(|_| {
            let mut s = px.connect();
            s.write_all(format!("CONNECT 127.0.0.1:{echo} HTTP/1.0\r\n\r\n").as_bytes())
                .unwrap();
            s
        })
        .collect();
    px.p.expect_stderr("Too many open files", FAIL);
    px.alive();
    // Tunnels that got their 200 still work.
    let mut working = 0;
    for s in tunnels.iter_mut() {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut b = [0u8; 19];
        if s.read_exact(&mut b).is_ok() && &b == b"HTTP/1.0 200 OK\r\n\r\n" {
            s.set_read_timeout(Some(FAIL)).unwrap();
            s.write_all(b"x").unwrap();
            let mut e = [0u8; 1];
            s.read_exact(&mut e).expect("echo through a held tunnel");
            working += 1;
        }
    }
    assert!(working >= 1, "no tunnel survived\n{}", px.p.context());
    tunnels.clear();
    wait_for("the proxy to serve again", FAIL, || {
        px.ask(format!("GET {} HTTP/1.0\r\n\r\n", o.url("/")).as_bytes())
            .ends_with("recovered\n")
    });
    px.alive();
}
