//! TLS (`--ssl*`) end to end: the built rnc against real peers — curl, wget,
//! openssl s_client/s_server, python3 ssl, ncat --ssl — with verification on
//! wherever the peer allows it (reference §2.8, §3.8).
//!
//! Certificates come from a throw-away PKI made with the openssl CLI
//! (tls_support): root → intermediate → leaves (EC and RSA), plus expired,
//! untrusted and self-signed ones. Servers present the leaf and intermediate.

mod common;
mod tls_support;

use common::*;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};
use tls_support::*;

/// Bound for one 64 MiB transfer (debug build, loaded 2-core machine).
const TRANSFER: Duration = Duration::from_secs(90);

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn port_str(port: u16) -> String {
    port.to_string()
}

/// rnc listening with `--ssl` and the given certificate, extra options first.
fn rnc_tls_listener(cert: &Cert, extra: &[&str], port: u16) -> Cmd {
    Cmd::rnc(extra)
        .args(["-l", "--ssl", "--ssl-cert", s(&cert.chain), "--ssl-key"])
        .args([s(&cert.key), "-p", &port_str(port)])
}

/// rnc connecting to `host port` with `--ssl-verify` against the test root.
fn rnc_verified_client(host: &str, port: u16, extra: &[&str]) -> Cmd {
    Cmd::rnc(["--ssl-verify", "--ssl-trustfile", s(&pki().root)])
        .args(extra)
        .args([host, &port_str(port)])
}

fn listening(cmd: Cmd, port: u16) -> Proc {
    let mut p = cmd.spawn();
    wait_tcp_listen(&mut p, V4, port, FAIL);
    p
}

/// `openssl s_server` for one client on `port`, presenting `cert` and the
/// intermediate; -nbio because the blocking s_server can wait in read(2)
/// for a client that has nothing to say.
fn s_server(cert: &Cert, port: u16, extra: &[&str]) -> Cmd {
    Cmd::tool("openssl", ["s_server", "-naccept", "1", "-nbio"])
        .args(["-accept", &port_str(port), "-cert", s(&cert.cert)])
        .args(["-key", s(&cert.key), "-cert_chain", s(&pki().inter.cert)])
        .args(extra)
}

/// `openssl s_client` to 127.0.0.1:port that verifies the name `localhost`.
fn s_client_verified(port: u16, extra: &[&str]) -> Cmd {
    Cmd::tool("openssl", ["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        .args(["-CAfile", s(&pki().root), "-verify_return_error"])
        .args(extra)
}

/// curl against `https://localhost:port/path` trusting the test root;
/// stdout is the body, then a line with the HTTP status.
fn curl(port: u16, path: &str, extra: &[&str]) -> Cmd {
    Cmd::tool(
        "curl",
        ["-sS", "--max-time", "20", "--cacert", s(&pki().root)],
    )
    .args(["-w", "\n%{http_code}"])
    .args(extra)
    .arg(format!("https://localhost:{port}{path}"))
}

/// $PATH with the binary under test first, as `rnc` (for shell one-liners).
fn path_with_rnc() -> String {
    rnc_named("rnc");
    format!(
        "{}:{}",
        name_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// An HTTP response with a body, for listeners that answer curl.
fn http_ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// stderr must be exactly `line`, nothing else; exit code `code`, no stdout.
fn fails_with(d: &Done, code: i32, line: &str) {
    d.code_is(code);
    assert_eq!(
        d.stderr.lines().collect::<Vec<_>>(),
        vec![line],
        "expected exactly one stderr line\n{}",
        d.describe()
    );
    assert!(d.stdout.is_empty(), "expected no stdout\n{}", d.describe());
}

// ===========================================================================
// Interoperability: curl, wget, openssl, ncat

/// The issue's one-liner, verbatim apart from the port: curl posts a JSON
/// file, gets 200, the request lands on rnc's stdout, and `OK` follows once
/// rnc has exited.
#[test]
fn oneliner_answers_curl_with_cacert_fullchain() {
    let dir = TempDir::new();
    let pki = pki();
    fs::copy(&pki.leaf_rsa.chain, dir.join("fullchain.cer")).unwrap();
    fs::copy(&pki.leaf_rsa.key, dir.join("domain.key")).unwrap();
    let json = br#"{"event":"push","ref":"refs/heads/main","n":42}"#;
    dir.file("push.json", json);
    let port = free_port();
    let script = format!(
        r#"echo -e "HTTP/1.1 200 OK\r\n" | rnc -l -p {port} --ssl --ssl-cert fullchain.cer --ssl-key domain.key; echo "OK""#
    );
    let mut sh = Cmd::bash(&script)
        .env("PATH", path_with_rnc())
        .env_remove("RNC_COMPAT")
        .cwd(&dir.path)
        .spawn();
    wait_port_listening(port, &mut sh, FAIL);

    let c = Cmd::tool(
        "curl",
        ["-sS", "--max-time", "20", "--cacert", "fullchain.cer"],
    )
    .args(["-w", "%{http_code}"])
    .arg(format!("https://localhost:{port}/"))
    .args(["--data-binary", "@push.json"])
    .cwd(&dir.path);
    let dc = run(c, FAIL);
    dc.ok();
    assert_eq!(dc.stdout_str(), "200", "curl's status\n{}", dc.describe());

    let d = sh.finish(FAIL);
    d.ok();
    let mut tail = json.to_vec();
    tail.extend_from_slice(b"OK\n");
    assert!(
        d.stdout.starts_with(b"POST / HTTP/1.1\r\n") && d.stdout.ends_with(&tail),
        "expected the request (ending with the JSON body) on stdout, then OK\n{}",
        d.describe()
    );
}

#[test]
fn wget_gets_the_reply_of_a_listener() {
    let port = free_port();
    let mut l = listening(
        rnc_tls_listener(&pki().leaf, &[], port).stdin(In::Data(http_ok("hello from rnc\n"))),
        port,
    );
    let w = Cmd::tool("wget", ["-q", "-O", "-", "--tries=1", "--timeout=20"])
        .arg(format!("--ca-certificate={}", s(&pki().root)))
        .arg(format!("https://localhost:{port}/wget"));
    let dw = run(w, FAIL);
    dw.ok().stdout_is(b"hello from rnc\n");
    let dl = l.finish(FAIL);
    dl.no_panic();
    assert!(
        dl.stdout_str().starts_with("GET /wget HTTP/1.1\r\n"),
        "wget's request on stdout\n{}",
        dl.describe()
    );
    // wget (GnuTLS) closes once it has the Content-Length body, leaving rnc's
    // close_notify unread, so its kernel answers with RST. The exchange was
    // complete: it must not end in an error.
    assert_eq!(
        dl.code,
        Some(0),
        "rnc reported a successful exchange as an error\n{}",
        dl.describe()
    );
}

/// s_client verifies rnc's chain and name; data goes both ways; rnc's
/// close_notify ends s_client, whose close ends rnc.
#[test]
fn openssl_s_client_and_listener_talk_both_ways() {
    let port = free_port();
    let mut l = listening(
        rnc_tls_listener(&pki().leaf, &[], port).stdin(In::Open),
        port,
    );
    let mut c = s_client_verified(port, &["-quiet"]).stdin(In::Open).spawn();
    c.write(b"from s_client\n");
    l.expect_stdout(b"from s_client\n", FAIL);
    l.write(b"from rnc\n");
    c.expect_stdout(b"from rnc\n", FAIL);
    l.close_stdin();
    let dc = c.finish(FAIL);
    dc.ok().stdout_is(b"from rnc\n");
    assert!(
        !dc.stderr.contains("verify error"),
        "s_client could not verify rnc's certificate\n{}",
        dc.describe()
    );
    l.finish(FAIL).ok().stdout_is(b"from s_client\n");
}

/// `--ssl-verify --ssl-trustfile ROOT` against s_server presenting leaf +
/// intermediate; data both ways; close_notify ends s_server, which ends rnc.
#[test]
fn verified_connection_to_openssl_s_server() {
    let port = free_port();
    let mut srv = listening(
        s_server(&pki().leaf, port, &["-quiet"]).stdin(In::Open),
        port,
    );
    let mut c = rnc_verified_client("localhost", port, &[])
        .stdin(In::Open)
        .spawn();
    c.write(b"from rnc\n");
    srv.expect_stdout(b"from rnc\n", FAIL);
    srv.write(b"from s_server\n");
    c.expect_stdout(b"from s_server\n", FAIL);
    c.close_stdin();
    c.finish(FAIL).ok().stdout_is(b"from s_server\n");
    srv.finish(FAIL).ok();
}

#[test]
fn ncat_ssl_client_talks_to_listener() {
    let port = free_port();
    let mut l = listening(
        rnc_tls_listener(&pki().leaf, &[], port).stdin(In::Open),
        port,
    );
    let mut n = Cmd::tool("ncat", ["--ssl-verify", "--ssl-trustfile", s(&pki().root)])
        .args(["localhost", &port_str(port)])
        .stdin(In::Open)
        .spawn();
    n.write(b"from ncat\n");
    l.expect_stdout(b"from ncat\n", FAIL);
    l.write(b"from rnc\n");
    n.expect_stdout(b"from rnc\n", FAIL);
    // ncat 7.93 tears the connection down at its stdin EOF.
    n.close_stdin();
    n.finish(FAIL).ok().stdout_is(b"from rnc\n");
    l.finish(FAIL).ok().stdout_is(b"from ncat\n");
}

#[test]
fn connects_verified_to_ncat_ssl_listener() {
    let port = free_port();
    let n = Cmd::tool("ncat", ["-l", "--ssl", "--ssl-cert", s(&pki().leaf.chain)])
        .args([
            "--ssl-key",
            s(&pki().leaf.key),
            "127.0.0.1",
            &port_str(port),
        ])
        .stdin(In::Open);
    let mut n = listening(n, port);
    let mut c = rnc_verified_client("localhost", port, &[])
        .stdin(In::Open)
        .spawn();
    c.write(b"from rnc\n");
    n.expect_stdout(b"from rnc\n", FAIL);
    n.write(b"from ncat\n");
    c.expect_stdout(b"from ncat\n", FAIL);
    c.close_stdin();
    c.finish(FAIL).ok().stdout_is(b"from ncat\n");
    n.finish(FAIL).ok().stdout_is(b"from rnc\n");
}

// ===========================================================================
// close_notify half-close (reference §2.8)

/// Connect mode: at stdin EOF rnc sends close_notify then FIN, and keeps
/// reading: the server's reply, sent after it saw close_notify, reaches stdout.
#[test]
fn connect_half_close_delivers_the_reply_sent_after_close_notify() {
    let pki = pki();
    let mut srv = py_peer(["server", "--cert", s(&pki.leaf.chain), "--key"])
        .args([s(&pki.leaf.key), "--reply", "late reply\n"])
        .spawn();
    let port = py_listening_port(&mut srv);
    let mut c = rnc_verified_client("localhost", port, &[])
        .stdin(In::Data(b"request\n".to_vec()))
        .spawn();
    let dp = srv.finish(FAIL);
    let dc = c.finish(FAIL);
    dc.ok().stdout_is(b"late reply\n");
    dp.ok();
    let out = &dp.stdout;
    assert_eq!(
        value_of(out, "SNI").as_deref(),
        Some("localhost"),
        "{}",
        dp.describe()
    );
    assert_eq!(
        value_of(out, "RECEIVED"),
        Some(hex(b"request\n")),
        "{}",
        dp.describe()
    );
    for fact in ["CLOSE_NOTIFY", "REPLY_SENT", "FIN"] {
        assert!(
            value_of(out, fact).is_some(),
            "python saw no {fact}\n{}",
            dp.describe()
        );
    }
}

/// Listen mode: the same with rnc as server and python as client.
#[test]
fn listen_half_close_delivers_the_reply_sent_after_close_notify() {
    let port = free_port();
    let mut l = listening(
        rnc_tls_listener(&pki().leaf, &[], port).stdin(In::Data(b"greeting\n".to_vec())),
        port,
    );
    let p = py_peer([
        "client",
        "--port",
        &port_str(port),
        "--cafile",
        s(&pki().root),
    ])
    .args(["--reply", "late reply\n"]);
    let dp = run(p, FAIL);
    dp.ok();
    let out = &dp.stdout;
    assert_eq!(
        value_of(out, "RECEIVED"),
        Some(hex(b"greeting\n")),
        "{}",
        dp.describe()
    );
    for fact in ["HANDSHAKE", "CLOSE_NOTIFY", "REPLY_SENT", "FIN"] {
        assert!(
            value_of(out, fact).is_some(),
            "python saw no {fact}\n{}",
            dp.describe()
        );
    }
    l.finish(FAIL).ok().stdout_is(b"late reply\n");
}

// ===========================================================================
// Temporary certificate

/// `-l --ssl` without a certificate: `-v` announces the temporary one and its
/// SHA-1 fingerprint, which is the fingerprint s_client is shown.
#[test]
fn temporary_certificate_fingerprint_matches_what_s_client_sees() {
    let port = free_port();
    let mut l = listening(
        Cmd::rnc(["-v", "-l", "--ssl", "-p", &port_str(port)]).stdin(In::Open),
        port,
    );
    let c = Cmd::tool("openssl", ["s_client", "-connect"]).arg(format!("127.0.0.1:{port}"));
    let dc = run(c, FAIL);
    let pem = first_pem(&dc.stdout_str())
        .unwrap_or_else(|| panic!("s_client showed no certificate\n{}", dc.describe()));
    let t = TempDir::new();
    let seen = fingerprint(&t.file("seen.pem", pem.as_bytes()));

    l.expect_stderr("SHA-1 fingerprint: ", FAIL);
    let dl = l.kill();
    assert!(
        dl.stderr.contains("Ncat: Generating a temporary")
            && dl
                .stderr
                .contains("Use --ssl-key and --ssl-cert to use a permanent one."),
        "no temporary-certificate notice\n{}",
        dl.describe()
    );
    let line = dl
        .stderr
        .lines()
        .find(|l| l.starts_with("Ncat: SHA-1 fingerprint: "))
        .unwrap();
    let printed = &line["Ncat: SHA-1 fingerprint: ".len()..];
    assert!(
        printed.len() == 49 && printed.split(' ').all(|g| g.len() == 4),
        "fingerprint not in ncat's `XXXX XXXX ...` form: {line:?}"
    );
    assert_eq!(
        normalize_fingerprint(printed),
        seen,
        "rnc printed {printed}, s_client saw a certificate with SHA-1 {seen}\n{}",
        dl.describe()
    );
}

// ===========================================================================
// Verification failures: exit 1, one line

/// rnc with `--ssl-verify --ssl-trustfile ROOT` to `target` against s_server
/// presenting `cert`: exit 1 and exactly `message` on stderr.
fn verify_fails(cert: &Cert, target: &str, extra: &[&str], message: &str) {
    let port = free_port();
    let _srv = listening(s_server(cert, port, &["-quiet"]).stdin(In::Open), port);
    let d = run(rnc_verified_client(target, port, extra), FAIL);
    fails_with(&d, 1, message);
}

#[test]
fn verify_fails_for_a_wrong_host_name() {
    verify_fails(
        &pki().custom,
        "localhost",
        &[],
        "Ncat: Certificate verification failed (hostname mismatch).",
    );
}

#[test]
fn verify_fails_for_an_ip_address_not_in_the_certificate() {
    verify_fails(
        &pki().dns_only,
        "127.0.0.1",
        &[],
        "Ncat: Certificate verification failed (IP address mismatch).",
    );
}

#[test]
fn verify_fails_for_an_untrusted_issuer() {
    verify_fails(
        &pki().untrusted,
        "localhost",
        &[],
        "Ncat: Certificate verification failed (unable to get local issuer certificate).",
    );
}

/// A self-signed certificate made the usual way (`openssl req -x509`, which
/// marks it CA:TRUE) is reported in OpenSSL's words, as ncat does.
#[test]
fn verify_fails_for_a_self_signed_certificate() {
    verify_fails(
        &pki().self_signed,
        "localhost",
        &[],
        "Ncat: Certificate verification failed (self-signed certificate).",
    );
}

#[test]
fn verify_fails_for_an_expired_certificate() {
    verify_fails(
        &pki().expired,
        "localhost",
        &[],
        "Ncat: Certificate verification failed (certificate has expired).",
    );
}

// ===========================================================================
// Names: IP SANs, SNI, --ssl-servername

/// A certificate whose only name is `IP:127.0.0.1` verifies for target
/// 127.0.0.1, and no SNI is sent for an IP literal.
#[test]
fn ip_san_verifies_and_no_sni_is_sent_for_an_ip_literal() {
    let pki = pki();
    let mut srv = py_peer(["server", "--cert", s(&pki.ip_only.chain), "--key"])
        .arg(s(&pki.ip_only.key))
        .spawn();
    let port = py_listening_port(&mut srv);
    let c = rnc_verified_client("127.0.0.1", port, &[]).stdin(In::Data(b"by ip\n".to_vec()));
    let dc = run(c, FAIL);
    let dp = srv.finish(FAIL);
    dc.ok().stdout_is(b"reply\n");
    dp.ok();
    assert_eq!(
        value_of(&dp.stdout, "SNI").as_deref(),
        Some("None"),
        "{}",
        dp.describe()
    );
    assert_eq!(value_of(&dp.stdout, "RECEIVED"), Some(hex(b"by ip\n")));
}

/// The same seen by s_server with `-servername_fatal`: any SNI other than
/// `nomatch.invalid` aborts the handshake. The IP literal passes; `localhost`
/// (which does send SNI) is refused, which shows the check is live.
#[test]
fn no_sni_for_an_ip_literal_per_openssl_servername_fatal() {
    let pki = pki();
    let strict = |port| {
        s_server(
            &pki.leaf,
            port,
            &[
                "-quiet",
                "-servername",
                "nomatch.invalid",
                "-servername_fatal",
            ],
        )
        .args(["-cert2", s(&pki.leaf.cert), "-key2", s(&pki.leaf.key)])
        .stdin(In::Open)
    };
    let port = free_port();
    let mut srv = listening(strict(port), port);
    let c = rnc_verified_client("127.0.0.1", port, &[]).stdin(In::Open);
    let mut c = c.spawn();
    c.write(b"no sni\n");
    srv.expect_stdout(b"no sni\n", FAIL);
    c.close_stdin();
    c.finish(FAIL).ok();
    srv.kill();

    let port = free_port();
    let _srv = listening(strict(port), port);
    let d = run(rnc_verified_client("localhost", port, &[]), FAIL);
    d.code_is(1);
    assert!(
        d.stderr.contains("UnrecognisedName") || d.stderr.contains("unrecognized"),
        "expected the unrecognized_name alert for SNI `localhost`\n{}",
        d.describe()
    );
}

/// `--ssl-servername` is both the SNI sent and the name verified.
#[test]
fn ssl_servername_sets_sni_and_the_verified_name() {
    let pki = pki();
    let mut srv = py_peer(["server", "--cert", s(&pki.custom.chain), "--key"])
        .arg(s(&pki.custom.key))
        .spawn();
    let port = py_listening_port(&mut srv);
    let c = rnc_verified_client("127.0.0.1", port, &["--ssl-servername", "custom.test"])
        .stdin(In::Data(b"named\n".to_vec()));
    let dc = run(c, FAIL);
    let dp = srv.finish(FAIL);
    dc.ok().stdout_is(b"reply\n");
    dp.ok();
    assert_eq!(
        value_of(&dp.stdout, "SNI").as_deref(),
        Some("custom.test"),
        "{}",
        dp.describe()
    );
}

// ===========================================================================
// ALPN

#[test]
fn alpn_list_is_offered_to_openssl_s_server() {
    let port = free_port();
    let mut srv = listening(
        s_server(&pki().leaf, port, &["-alpn", "h2"]).stdin(In::Open),
        port,
    );
    let c = rnc_verified_client("localhost", port, &["--ssl-alpn", "h2,http/1.1"])
        .stdin(In::Data(b"alpn\n".to_vec()));
    let mut c = c.spawn();
    srv.expect_stdout(b"alpn\n", FAIL);
    c.finish(FAIL).ok();
    let ds = srv.kill();
    let out = ds.stdout_str();
    assert!(
        out.contains("ALPN protocols advertised by the client: h2, http/1.1")
            && out.contains("ALPN protocols selected: h2"),
        "s_server's view of ALPN\n{}",
        ds.describe()
    );
}

#[test]
fn listener_alpn_is_accepted_by_curl() {
    let port = free_port();
    let mut l = listening(
        rnc_tls_listener(&pki().leaf, &["--ssl-alpn", "http/1.1"], port)
            .stdin(In::Data(http_ok("ok"))),
        port,
    );
    let dc = run(curl(port, "/alpn", &["-v"]), FAIL);
    dc.ok();
    assert!(
        dc.stderr.contains("ALPN: server accepted http/1.1") && dc.stdout_str() == "ok\n200",
        "curl should have negotiated http/1.1\n{}",
        dc.describe()
    );
    let dl = l.finish(FAIL);
    dl.ok();
    assert!(
        dl.stdout_str().starts_with("GET /alpn HTTP/1.1\r\n"),
        "{}",
        dl.describe()
    );
}

/// The listener's preference wins; a client with nothing in common is refused.
#[test]
fn listener_alpn_with_openssl_s_client() {
    let pki = pki();
    let port = free_port();
    let _l = listening(
        rnc_tls_listener(&pki.leaf, &["--ssl-alpn", "h2,http/1.1"], port).stdin(In::DevNull),
        port,
    );
    let d = run(s_client_verified(port, &["-alpn", "http/1.1,h2"]), FAIL);
    assert!(
        d.stdout_str().contains("ALPN protocol: h2"),
        "expected h2 (the listener's first choice)\n{}",
        d.describe()
    );

    let port = free_port();
    let mut l = listening(
        rnc_tls_listener(&pki.leaf, &["--ssl-alpn", "h2"], port).stdin(In::DevNull),
        port,
    );
    let d = run(s_client_verified(port, &["-alpn", "spdy/3"]), FAIL);
    assert!(
        d.code != Some(0) && d.stderr.contains("no application protocol"),
        "expected the no_application_protocol alert\n{}",
        d.describe()
    );
    l.finish(FAIL).no_panic();
}

// ===========================================================================
// Start-up errors: exit 2, one line

#[test]
fn key_not_matching_the_certificate_exits_2_before_listening() {
    let pki = pki();
    for keep_open in [false, true] {
        let port = free_port();
        let mut args = vec!["-l", "--ssl", "--ssl-cert", s(&pki.leaf.chain)];
        args.extend(["--ssl-key", s(&pki.dns_only.key)]);
        if keep_open {
            args.push("-k");
        }
        let p = port_str(port);
        args.extend(["-p", &p]);
        let d = run(Cmd::rnc(&args), FAIL);
        d.usage_error();
        assert!(
            d.stderr.contains("does not match"),
            "the message should say the key does not match\n{}",
            d.describe()
        );
        let dv = run(Cmd::rnc(["-v"]).args(&args), FAIL);
        dv.code_is(2);
        assert!(
            !dv.stderr.contains("Listening"),
            "rnc listened before checking the key\n{}",
            dv.describe()
        );
    }
}

#[test]
fn malformed_pem_exits_2() {
    let pki = pki();
    let t = TempDir::new();
    let cert = fs::read_to_string(&pki.leaf.cert).unwrap();
    let key = fs::read_to_string(&pki.leaf.key).unwrap();
    let no_end = t.file(
        "no-end.pem",
        cert.replace("-----END CERTIFICATE-----", "").as_bytes(),
    );
    let mut lines: Vec<&str> = cert.lines().collect();
    lines[2] = "!!!! this is not base64 !!!!";
    let bad_b64 = t.file("bad-b64.pem", lines.join("\n").as_bytes());
    let mut klines: Vec<&str> = key.lines().collect();
    klines[1] = "@@@@";
    let bad_key = t.file("bad.key", klines.join("\n").as_bytes());
    let good_key = s(&pki.leaf.key);
    let good_cert = s(&pki.leaf.cert);
    let port = port_str(free_port());
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "-l",
            "--ssl-cert",
            s(&no_end),
            "--ssl-key",
            good_key,
            "-p",
            &port,
        ],
        vec![
            "-l",
            "--ssl-cert",
            s(&bad_b64),
            "--ssl-key",
            good_key,
            "-p",
            &port,
        ],
        vec![
            "-l",
            "--ssl-cert",
            good_cert,
            "--ssl-key",
            s(&bad_key),
            "-p",
            &port,
        ],
        vec![
            "--ssl-verify",
            "--ssl-trustfile",
            s(&bad_b64),
            "127.0.0.1",
            &port,
        ],
    ];
    for args in cases {
        let d = run(Cmd::rnc(["--ssl"]).args(&args), FAIL);
        d.usage_error();
    }
}

#[test]
fn ssl_with_udp_exits_2() {
    let port = port_str(free_port());
    for args in [
        vec!["--ssl", "-u", "127.0.0.1", &port],
        vec!["--ssl", "-u", "-l", "-p", &port],
    ] {
        run(Cmd::rnc(&args), FAIL).usage_error();
    }
}

// ===========================================================================
// 64 MiB transfers, checked by SHA-256

fn sends(c: Cmd) -> Cmd {
    c.stdin(In::FilePath(payload_64m().path.clone()))
        .stdout(Out::Capture)
}

/// Receivers run with stdin at /dev/null (as under cron or systemd): rnc then
/// sends close_notify at once, and the sender must still deliver everything.
fn receives(c: Cmd) -> Cmd {
    c.stdin(In::DevNull).stdout(Out::Sha256)
}

/// Run `listener` until it listens on `port`, then `connector`; both exit 0
/// and the receiver's stdout is the payload.
fn transfer(listener: Cmd, port: u16, connector: Cmd, listener_sends: bool) {
    let p = payload_64m();
    let mut l = listening(listener, port);
    let mut c = connector.spawn();
    let dc = c.finish(TRANSFER);
    let dl = l.finish(FAIL);
    let (snd, rcv) = if listener_sends {
        (&dl, &dc)
    } else {
        (&dc, &dl)
    };
    let (n, sha) = rcv.sha256.clone().expect("receiver stdout hashed");
    assert!(
        n == p.len && sha == p.sha256,
        "receiver got {n} bytes (sha256 {sha}), expected {} bytes (sha256 {})\n\
         receiver {}\nsender {}",
        p.len,
        p.sha256,
        rcv.describe(),
        snd.describe()
    );
    snd.ok();
    rcv.ok();
}

#[test]
fn transfer_64mib_rnc_client_to_rnc_listener() {
    let port = free_port();
    transfer(
        receives(rnc_tls_listener(&pki().leaf, &[], port)),
        port,
        sends(rnc_verified_client("localhost", port, &[])),
        false,
    );
}

#[test]
fn transfer_64mib_rnc_listener_to_rnc_client() {
    let port = free_port();
    transfer(
        sends(rnc_tls_listener(&pki().leaf_rsa, &[], port)),
        port,
        receives(rnc_verified_client("localhost", port, &[])),
        true,
    );
}

/// Reads stdin slowly (64 KiB, then a 2 ms pause) and prints the
/// byte count and SHA-256: a receiver slower than the sender.
const SLOW_READER: &str = r#"
import hashlib, sys, time
h, n = hashlib.sha256(), 0
while True:
    b = sys.stdin.buffer.read1(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
    time.sleep(0.002)
print(n, h.hexdigest())
"#;

/// The receiver half-closes at once (stdin /dev/null) and drains slowly, so
/// the sender's socket is full when its stdin ends: the records rustls still
/// holds must go out before close_notify (reference §2.6: a FIN — here a
/// close_notify — from the peer ends only the receive direction).
#[test]
fn transfer_64mib_to_a_slow_receiver_that_half_closed_at_once() {
    let p = payload_64m();
    let pki = pki();
    let port = free_port();
    let script = format!(
        r#"rnc -l --ssl --ssl-cert "$CERT" --ssl-key "$KEY" -p {port} </dev/null | python3 -c "$SLOW"; echo "rnc=${{PIPESTATUS[0]}}""#
    );
    require_tool("python3");
    let mut rcv = Cmd::bash(&script)
        .env("PATH", path_with_rnc())
        .env_remove("RNC_COMPAT")
        .env("CERT", &pki.leaf.chain)
        .env("KEY", &pki.leaf.key)
        .env("SLOW", SLOW_READER)
        .spawn();
    wait_port_listening(port, &mut rcv, FAIL);
    let mut snd = sends(rnc_verified_client("localhost", port, &[])).spawn();
    let ds = snd.finish(TRANSFER);
    let dr = rcv.finish(TRANSFER);
    let expect = format!("{} {}\nrnc=0\n", p.len, p.sha256);
    assert!(
        dr.stdout_str() == expect,
        "the receiver should have got all {} bytes and exited 0\nreceiver {}\nsender {}",
        p.len,
        dr.describe(),
        ds.describe()
    );
    ds.ok();
}

fn ncat_listener(port: u16, extra: &[&str]) -> Cmd {
    Cmd::tool("ncat", ["-l", "--ssl", "--ssl-cert", s(&pki().leaf.chain)])
        .args(["--ssl-key", s(&pki().leaf.key)])
        .args(extra)
        .args(["127.0.0.1", &port_str(port)])
}

fn ncat_client(port: u16, extra: &[&str]) -> Cmd {
    Cmd::tool("ncat", ["--ssl-verify", "--ssl-trustfile", s(&pki().root)])
        .args(extra)
        .args(["localhost", &port_str(port)])
}

// ncat 7.93 tears the whole connection down when it sees close_notify or
// its own stdin EOF, so ncat receives with --recv-only, and so does rnc when
// ncat sends (these tests are about the data, not about ncat's EOF quirks).

#[test]
fn transfer_64mib_rnc_client_to_ncat_listener() {
    let port = free_port();
    transfer(
        receives(ncat_listener(port, &["--recv-only"])),
        port,
        sends(rnc_verified_client("localhost", port, &[])),
        false,
    );
}

#[test]
fn transfer_64mib_ncat_client_to_rnc_listener() {
    let port = free_port();
    transfer(
        receives(rnc_tls_listener(&pki().leaf, &["--recv-only"], port)),
        port,
        sends(ncat_client(port, &[])),
        false,
    );
}

#[test]
fn transfer_64mib_rnc_listener_to_ncat_client() {
    let port = free_port();
    transfer(
        sends(rnc_tls_listener(&pki().leaf, &[], port)),
        port,
        receives(ncat_client(port, &["--recv-only"])),
        true,
    );
}

#[test]
fn transfer_64mib_ncat_listener_to_rnc_client() {
    let port = free_port();
    transfer(
        sends(ncat_listener(port, &[])),
        port,
        receives(rnc_verified_client("localhost", port, &["--recv-only"])),
        true,
    );
}

// openssl: s_server reads stdin and would treat its EOF as the end of the
// session, so when it receives its stdin stays open; s_client sends with
// -nocommands (binary data is not a command) and -no_ign_eof.

#[test]
fn transfer_64mib_rnc_client_to_openssl_s_server() {
    let port = free_port();
    transfer(
        s_server(&pki().leaf, port, &["-quiet"])
            .stdin(In::Open)
            .stdout(Out::Sha256),
        port,
        sends(rnc_verified_client("localhost", port, &[])),
        false,
    );
}

#[test]
fn transfer_64mib_openssl_s_server_to_rnc_client() {
    let port = free_port();
    transfer(
        sends(s_server(&pki().leaf, port, &["-quiet"])),
        port,
        receives(rnc_verified_client("localhost", port, &["--recv-only"])),
        true,
    );
}

#[test]
fn transfer_64mib_rnc_listener_to_openssl_s_client() {
    let port = free_port();
    transfer(
        sends(rnc_tls_listener(&pki().leaf, &[], port)),
        port,
        receives(s_client_verified(port, &["-quiet"])),
        true,
    );
}

#[test]
fn transfer_64mib_openssl_s_client_to_rnc_listener() {
    let port = free_port();
    transfer(
        receives(rnc_tls_listener(&pki().leaf, &["--recv-only"], port)),
        port,
        sends(s_client_verified(
            port,
            &["-quiet", "-no_ign_eof", "-nocommands"],
        )),
        false,
    );
}

// ===========================================================================
// -l -k --ssl: many clients

fn keep_open_listener(cert: &Cert, extra: &[&str], port: u16) -> Cmd {
    Cmd::rnc([
        "-l",
        "-k",
        "--ssl",
        "--ssl-cert",
        s(&cert.chain),
        "--ssl-key",
    ])
    .args([s(&cert.key), "-p", &port_str(port)])
    .args(extra)
}

/// curl gets the reply, and the hub is still running afterwards.
fn curl_is_served(l: &mut Proc, port: u16, path: &str) {
    let d = run(curl(port, path, &[]), FAIL);
    assert!(
        d.code == Some(0) && d.stdout_str() == "ok\n200",
        "curl {path} was not served\n{}\nlistener: {}",
        d.describe(),
        l.context()
    );
    let request = format!("GET {path} HTTP/1.1\r\n");
    l.expect_stdout(request.as_bytes(), FAIL);
    assert!(l.is_running(), "the listener exited\n{}", l.context());
}

#[test]
fn keep_open_listener_serves_several_curl_requests_in_a_row() {
    let port = free_port();
    let mut l = listening(
        keep_open_listener(&pki().leaf_rsa, &[], port).stdin(In::Data(http_ok("ok"))),
        port,
    );
    for i in 1..=4 {
        curl_is_served(&mut l, port, &format!("/request/{i}"));
    }
    let d = l.kill();
    assert_eq!(
        count(&d.stdout, b"User-Agent: curl/"),
        4,
        "{}",
        d.describe()
    );
}

/// Read what a bad peer gets back until the hub closes it (EOF or reset).
fn read_until_closed(sock: &mut TcpStream, what: &str) -> Vec<u8> {
    let end = Instant::now() + FAIL;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        assert!(
            Instant::now() < end,
            "{what}: the listener did not close the connection within {FAIL:?} (got {got:?})"
        );
        sock.set_read_timeout(Some(end - Instant::now())).unwrap();
        match sock.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("{what}: read error {e}"),
        }
    }
}

/// For the bad-peer tests the listener's stdin stays open and each answer is
/// typed once the request has arrived (so these tests do not depend on how
/// a finished stdin is replayed): curl gets it, and the hub keeps running.
fn curl_is_answered(l: &mut Proc, port: u16, path: &str) {
    let mut c = curl(port, path, &[]).spawn();
    l.expect_stdout(format!("GET {path} HTTP/1.1\r\n").as_bytes(), FAIL);
    l.write(&http_ok("ok"));
    let d = c.finish(FAIL);
    assert!(
        d.code == Some(0) && d.stdout_str() == "ok\n200",
        "curl {path} was not served\n{}\nlistener: {}",
        d.describe(),
        l.context()
    );
    assert!(l.is_running(), "the listener exited\n{}", l.context());
}

#[test]
fn keep_open_survives_garbage_instead_of_a_client_hello() {
    let port = free_port();
    let mut l = listening(
        keep_open_listener(&pki().leaf, &[], port).stdin(In::Open),
        port,
    );
    curl_is_answered(&mut l, port, "/before");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for (i, garbage) in [
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        pseudo_random(4096, 7),
    ]
    .into_iter()
    .enumerate()
    {
        let mut g = TcpStream::connect(addr).expect("connect");
        let _ = g.write_all(&garbage);
        read_until_closed(&mut g, "garbage client");
        curl_is_answered(&mut l, port, &format!("/after-garbage/{i}"));
    }
}

#[test]
fn keep_open_survives_clients_stalled_mid_handshake() {
    let port = free_port();
    let mut l = listening(
        keep_open_listener(&pki().leaf, &[], port).stdin(In::Open),
        port,
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // One says nothing at all; one sends the first bytes of a ClientHello
    // record (announcing 512 bytes) and then stalls.
    let silent = TcpStream::connect(addr).expect("connect");
    let mut partial = TcpStream::connect(addr).expect("connect");
    partial
        .write_all(&[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ])
        .unwrap();
    curl_is_answered(&mut l, port, "/while-stalled/1");
    curl_is_answered(&mut l, port, "/while-stalled/2");
    let _ = partial.shutdown(Shutdown::Both);
    drop(silent);
    curl_is_answered(&mut l, port, "/after-stalled");
}

/// Certificate renewal: the files are rewritten under a running `-lk`
/// listener. The open connection carries on; a new one (once the listener
/// has looked at the files again, at most once a second) gets the new
/// certificate.
#[test]
fn keep_open_picks_up_a_renewed_certificate() {
    let pki = pki();
    let t = TempDir::new();
    let (cert, key) = (t.join("cert.pem"), t.join("key.pem"));
    fs::copy(&pki.leaf.chain, &cert).unwrap();
    fs::copy(&pki.leaf.key, &key).unwrap();
    let old_fp = fingerprint(&pki.leaf.cert);
    let renewed = pki.issue_leaf(
        &format!("renewed-{}", std::process::id()),
        "renewed.localhost",
        "DNS:localhost,IP:127.0.0.1",
        Key::Rsa,
    );
    let new_fp = fingerprint(&renewed.cert);
    assert_ne!(old_fp, new_fp);

    let port = free_port();
    let l = Cmd::rnc(["-v", "-l", "-k", "--ssl", "--ssl-cert", s(&cert)])
        .args(["--ssl-key", s(&key), "-p", &port_str(port)])
        .stdin(In::Open);
    let mut l = listening(l, port);
    let probe = |until_not: Option<&str>| {
        let mut c = py_peer(["fingerprint", "--port", &port_str(port)]);
        if let Some(fp) = until_not {
            c = c.args(["--until-not", fp, "--within", "10"]);
        }
        let d = run(c, FAIL);
        d.ok();
        value_of(&d.stdout, "FINGERPRINT").unwrap()
    };
    assert_eq!(probe(None), old_fp, "before renewal");

    // A verified connection that stays open across the renewal.
    let mut a = s_client_verified(port, &["-quiet"]).stdin(In::Open).spawn();
    a.write(b"before renewal\n");
    l.expect_stdout(b"before renewal\n", FAIL);

    fs::write(&key, fs::read(&renewed.key).unwrap()).unwrap();
    fs::write(&cert, fs::read(&renewed.chain).unwrap()).unwrap();

    let seen = probe(Some(&old_fp));
    assert_eq!(
        seen,
        new_fp,
        "a new connection should get the renewed certificate\n{}",
        l.context()
    );
    a.write(b"after renewal\n");
    l.expect_stdout(b"after renewal\n", FAIL);
    l.write(b"to every client\n");
    a.expect_stdout(b"to every client\n", FAIL);
    assert!(a.is_running(), "the open connection ended\n{}", a.context());

    let spaced = new_fp
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    l.expect_stderr(
        &format!("Loaded the renewed certificate from {}", s(&cert)),
        FAIL,
    );
    l.expect_stderr(&spaced, FAIL);
    let dl = l.kill();
    dl.no_panic();
}
