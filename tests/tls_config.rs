//! src/tls.rs end to end: configurations built from real files, and in-memory
//! handshakes between a rustls client and server that show what is served,
//! verified and negotiated.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rnetcat::config::TlsOptions;
use rnetcat::tls;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

// ---------------------------------------------------------------- helpers

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rnc-tls-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A self-signed leaf for `names` (IP literals become IP SANs).
fn self_signed(names: &[&str]) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let cert = params.self_signed(&key).unwrap();
    (cert, key)
}

struct Ca {
    cert: rcgen::Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        cert,
        issuer: Issuer::new(params, key),
    }
}

/// A leaf for `names` signed by `ca`; `expired` puts not_after in the past.
fn leaf(ca: &Ca, names: &[&str], expired: bool) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Test Org");
    params.distinguished_name.push(DnType::CommonName, names[0]);
    if expired {
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    (cert, key)
}

/// Write cert and key PEM files; returns options using them.
fn pair_opts(dir: &TempDir, tag: &str, cert_pem: &str, key_pem: &str) -> TlsOptions {
    TlsOptions {
        cert: Some(dir.file(&format!("{tag}.crt"), cert_pem)),
        key: Some(dir.file(&format!("{tag}.key"), key_pem)),
        ..TlsOptions::default()
    }
}

fn move_tls(from: &mut Connection, to: &mut Connection) -> Result<bool, rustls::Error> {
    let mut wire = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut wire).unwrap();
    }
    let mut rd = &wire[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
        to.process_new_packets()?;
    }
    Ok(!wire.is_empty())
}

/// Handshake in memory. Err is the first side's failure, tagged.
fn handshake(
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
    name: ServerName<'static>,
) -> Result<(Connection, Connection), (&'static str, rustls::Error)> {
    let mut c = Connection::Client(ClientConnection::new(Arc::clone(client), name).unwrap());
    let mut s = Connection::Server(ServerConnection::new(Arc::clone(server)).unwrap());
    for _ in 0..20 {
        if !c.is_handshaking() && !s.is_handshaking() {
            return Ok((c, s));
        }
        move_tls(&mut c, &mut s).map_err(|e| ("server", e))?;
        move_tls(&mut s, &mut c).map_err(|e| ("client", e))?;
    }
    panic!("handshake did not finish");
}

fn served_cert(c: &Connection) -> CertificateDer<'static> {
    c.peer_certificates().unwrap()[0].clone().into_owned()
}

/// Send `msg` from `a` to `b` and read it back.
fn echo(a: &mut Connection, b: &mut Connection, msg: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    a.writer().write_all(msg).unwrap();
    move_tls(a, b).unwrap();
    let mut got = vec![0u8; msg.len()];
    b.reader().read_exact(&mut got).unwrap();
    got
}

fn name(s: &str) -> ServerName<'static> {
    ServerName::try_from(s.to_string()).unwrap()
}

fn plain_client() -> Arc<ClientConfig> {
    tls::client_config(&TlsOptions::default()).unwrap()
}

fn verifying_client(trust: &Path) -> Arc<ClientConfig> {
    tls::client_config(&TlsOptions {
        verify: true,
        trustfile: Some(trust.to_path_buf()),
        ..TlsOptions::default()
    })
    .unwrap()
}

fn openssl(args: &[&str]) -> bool {
    match Command::new("openssl").args(args).output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => panic!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            eprintln!("skipping: openssl CLI not runnable ({e})");
            false
        }
    }
}

fn err_line<T: std::fmt::Debug>(r: rnetcat::error::Result<T>) -> String {
    let e = r.expect_err("expected an error");
    assert_eq!(e.code, 2, "{}", e.line);
    assert!(!e.line.contains('\n'), "one line: {:?}", e.line);
    e.line
}

// ---------------------------------------------------------------- key formats

#[test]
fn pkcs8_ecdsa_pair_is_served() {
    let dir = TempDir::new("pkcs8");
    let (cert, key) = self_signed(&["localhost"]);
    let opts = pair_opts(&dir, "a", &cert.pem(), &key.serialize_pem());
    let server = tls::server_config(&opts, None, 0).unwrap();
    let (mut c, mut s) = handshake(&server, &plain_client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&c), *cert.der());
    assert_eq!(echo(&mut c, &mut s, b"hello"), b"hello");
    assert_eq!(echo(&mut s, &mut c, b"world"), b"world");
}

#[test]
fn pkcs1_rsa_key_from_openssl() {
    let dir = TempDir::new("pkcs1");
    let key = dir.path("rsa.key");
    let crt = dir.path("rsa.crt");
    let (k, c) = (key.to_str().unwrap(), crt.to_str().unwrap());
    if !openssl(&["genrsa", "-traditional", "-out", k, "2048"]) {
        return;
    }
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        k,
        "-subj",
        "/CN=localhost",
        "-days",
        "2",
        "-out",
        c,
    ]);
    let opts = TlsOptions {
        cert: Some(crt.clone()),
        key: Some(key),
        ..TlsOptions::default()
    };
    let server = tls::server_config(&opts, None, 0).unwrap();
    for ciphers in [
        "ECDHE-RSA-AES128-GCM-SHA256:!TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
    ] {
        let client = tls::client_config(&TlsOptions {
            ciphers: Some(ciphers.into()),
            ..TlsOptions::default()
        })
        .unwrap();
        let (c, _s) = handshake(&server, &client, name("localhost")).unwrap();
        assert_eq!(
            tls::openssl_name(c.negotiated_cipher_suite().unwrap().suite()),
            ciphers.trim_end_matches(":!TLSv1.3")
        );
    }
}

#[test]
fn sec1_ec_key_from_openssl_ecparam() {
    let dir = TempDir::new("sec1");
    let key = dir.path("ec.key");
    let crt = dir.path("ec.crt");
    let (k, c) = (key.to_str().unwrap(), crt.to_str().unwrap());
    // Without -noout: the file starts with an "EC PARAMETERS" block.
    if !openssl(&["ecparam", "-genkey", "-name", "prime256v1", "-out", k]) {
        return;
    }
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.contains("BEGIN EC PARAMETERS") && text.contains("BEGIN EC PRIVATE KEY"));
    openssl(&[
        "req",
        "-new",
        "-x509",
        "-key",
        k,
        "-subj",
        "/CN=localhost",
        "-days",
        "2",
        "-out",
        c,
    ]);
    let opts = TlsOptions {
        cert: Some(crt.clone()),
        key: Some(key),
        ..TlsOptions::default()
    };
    let server = tls::server_config(&opts, None, 0).unwrap();
    let (c, _s) = handshake(&server, &plain_client(), name("localhost")).unwrap();
    let pem = std::fs::read(&crt).unwrap();
    use rustls::pki_types::pem::PemObject;
    assert_eq!(
        served_cert(&c),
        CertificateDer::from_pem_slice(&pem).unwrap()
    );
}

// ---------------------------------------------------------------- bad files

#[test]
fn mismatched_key_is_a_usage_error() {
    let dir = TempDir::new("mismatch");
    let (cert, _key) = self_signed(&["localhost"]);
    let (_other_cert, other_key) = self_signed(&["localhost"]);
    let opts = pair_opts(&dir, "m", &cert.pem(), &other_key.serialize_pem());
    let line = err_line(tls::server_config(&opts, None, 0));
    assert!(line.starts_with("rnc: --ssl-key "), "{line}");
    assert!(line.contains("does not match the certificate"), "{line}");
    // The client side checks its certificate too.
    let line = err_line(tls::client_config(&opts));
    assert!(line.contains("does not match the certificate"), "{line}");
}

#[test]
fn unreadable_and_malformed_files() {
    let dir = TempDir::new("bad");
    let (cert, key) = self_signed(&["localhost"]);
    let good_cert = dir.file("good.crt", cert.pem());
    let good_key = dir.file("good.key", key.serialize_pem());
    let with = |c: &Path, k: &Path| TlsOptions {
        cert: Some(c.to_path_buf()),
        key: Some(k.to_path_buf()),
        ..TlsOptions::default()
    };

    let missing = dir.path("missing.pem");
    let line = err_line(tls::server_config(&with(&missing, &good_key), None, 0));
    assert_eq!(
        line,
        format!(
            "rnc: --ssl-cert {} : No such file or directory",
            missing.display()
        )
    );
    let line = err_line(tls::server_config(&with(&good_cert, &missing), None, 0));
    assert!(line.starts_with("rnc: --ssl-key ") && line.ends_with("No such file or directory"));

    let garbage = dir.file("garbage.pem", "hello, I am not PEM\n");
    let line = err_line(tls::server_config(&with(&garbage, &good_key), None, 0));
    assert!(line.contains("no certificate found"), "{line}");
    let line = err_line(tls::server_config(&with(&good_cert, &garbage), None, 0));
    assert!(line.contains("no private key found"), "{line}");

    // Truncated (half-written) files.
    let pem = cert.pem();
    let half = dir.file("half.crt", &pem[..pem.len() / 2]);
    let line = err_line(tls::server_config(&with(&half, &good_key), None, 0));
    assert!(line.contains("malformed PEM"), "{line}");
    let kpem = key.serialize_pem();
    let half_key = dir.file("half.key", &kpem[..kpem.len() / 2]);
    let line = err_line(tls::server_config(&with(&good_cert, &half_key), None, 0));
    assert!(line.contains("malformed PEM"), "{line}");

    // Well-formed PEM around garbage DER.
    let junk = dir.file(
        "junk.crt",
        "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
    );
    let line = err_line(tls::server_config(&with(&junk, &good_key), None, 0));
    assert!(line.contains("cannot be parsed"), "{line}");
    let junk_key = dir.file(
        "junk.key",
        "-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END PRIVATE KEY-----\n",
    );
    let line = err_line(tls::server_config(&with(&good_cert, &junk_key), None, 0));
    assert!(
        line.contains("unsupported or malformed private key"),
        "{line}"
    );

    let enc = dir.file(
        "enc.key",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAECAwQFBgcICQ==\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let line = err_line(tls::server_config(&with(&good_cert, &enc), None, 0));
    assert!(line.contains("encrypted private keys"), "{line}");

    // One without the other.
    let only_cert = TlsOptions {
        cert: Some(good_cert.clone()),
        ..TlsOptions::default()
    };
    let line = err_line(tls::server_config(&only_cert, None, 0));
    assert!(line.contains("must be used together"), "{line}");

    // A bad trust file fails early, verify or not.
    let line = err_line(tls::client_config(&TlsOptions {
        trustfile: Some(garbage.clone()),
        ..TlsOptions::default()
    }));
    assert!(line.starts_with("rnc: --ssl-trustfile "), "{line}");
}

// ---------------------------------------------------------------- verification

struct Pki {
    _dir: TempDir,
    trust: PathBuf,
    other_trust: PathBuf,
    server: Arc<ServerConfig>,
    expired_server: Arc<ServerConfig>,
    self_signed_server: Arc<ServerConfig>,
}

fn pki() -> Pki {
    let dir = TempDir::new("pki");
    let root = ca("Test Root");
    let other = ca("Other Root");
    let trust = dir.file("root.pem", root.cert.pem());
    let other_trust = dir.file("other.pem", other.cert.pem());
    let (good, good_key) = leaf(&root, &["localhost", "127.0.0.1", "::1"], false);
    let (old, old_key) = leaf(&root, &["localhost"], true);
    let (ss, ss_key) = self_signed(&["localhost"]);
    let server = tls::server_config(
        &pair_opts(&dir, "good", &good.pem(), &good_key.serialize_pem()),
        None,
        0,
    )
    .unwrap();
    let expired_server = tls::server_config(
        &pair_opts(&dir, "old", &old.pem(), &old_key.serialize_pem()),
        None,
        0,
    )
    .unwrap();
    let self_signed_server = tls::server_config(
        &pair_opts(&dir, "ss", &ss.pem(), &ss_key.serialize_pem()),
        None,
        0,
    )
    .unwrap();
    Pki {
        _dir: dir,
        trust,
        other_trust,
        server,
        expired_server,
        self_signed_server,
    }
}

fn verify_failure(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>, target: &str) -> String {
    let opts = TlsOptions::default();
    let (side, err) = handshake(server, client, tls::server_name(&opts, target).unwrap())
        .expect_err("handshake should fail");
    assert_eq!(side, "client", "{err}");
    let e = tls::handshake_error(&err);
    assert_eq!(e.code, 1);
    e.line
}

#[test]
fn trustfile_verification() {
    let pki = pki();
    let client = verifying_client(&pki.trust);
    let opts = TlsOptions::default();

    // Name and IP SANs.
    for target in ["localhost", "127.0.0.1", "::1", "[::1]"] {
        let sn = tls::server_name(&opts, target).unwrap();
        handshake(&pki.server, &client, sn).unwrap_or_else(|e| panic!("{target}: {e:?}"));
    }
    assert_eq!(
        verify_failure(&pki.server, &client, "example.com"),
        "Ncat: Certificate verification failed (hostname mismatch)."
    );
    assert_eq!(
        verify_failure(&pki.server, &client, "127.0.0.2"),
        "Ncat: Certificate verification failed (IP address mismatch)."
    );
    assert_eq!(
        verify_failure(&pki.expired_server, &client, "localhost"),
        "Ncat: Certificate verification failed (certificate has expired)."
    );
    assert_eq!(
        verify_failure(&pki.self_signed_server, &client, "localhost"),
        "Ncat: Certificate verification failed (self-signed certificate)."
    );
    let untrusting = verifying_client(&pki.other_trust);
    assert_eq!(
        verify_failure(&pki.server, &untrusting, "localhost"),
        "Ncat: Certificate verification failed (unable to get local issuer certificate)."
    );

    // --ssl-servername replaces the target for SNI and verification.
    let renamed = TlsOptions {
        servername: Some("localhost".into()),
        ..TlsOptions::default()
    };
    let sn = tls::server_name(&renamed, "10.9.8.7").unwrap();
    assert_eq!(sn, name("localhost"));
    handshake(&pki.server, &client, sn).unwrap();

    // Without --ssl-verify everything is accepted.
    for server in [&pki.server, &pki.expired_server, &pki.self_signed_server] {
        handshake(server, &plain_client(), name("example.com")).unwrap();
    }
}

#[test]
fn describe_lines() {
    let pki = pki();
    let (c, _s) = handshake(&pki.self_signed_server, &plain_client(), name("localhost")).unwrap();
    let chain = c.peer_certificates().unwrap();
    let fp = tls::fingerprint_sha1(&chain[0]);
    assert_eq!(fp.len(), 49);
    let lines = tls::describe_server_cert(
        &TlsOptions::default(),
        "127.0.0.1:8443",
        &name("localhost"),
        chain,
    );
    assert_eq!(
        lines,
        vec![
            "Ncat: SSL connection to 127.0.0.1:8443.".to_string(),
            "Ncat: Subject: CN=localhost".to_string(),
            "Ncat: Issuer: CN=localhost".to_string(),
            format!("Ncat: SHA-1 fingerprint: {fp}"),
            "Ncat: Certificate verification failed (self-signed certificate).".to_string(),
        ]
    );

    // A CA-issued leaf, unverified and without a trust file: no guessing.
    let (c, _s) = handshake(&pki.server, &plain_client(), name("localhost")).unwrap();
    let chain = c.peer_certificates().unwrap();
    let lines = tls::describe_server_cert(
        &TlsOptions::default(),
        "127.0.0.1:8443",
        &name("localhost"),
        chain,
    );
    assert_eq!(lines[0], "Ncat: SSL connection to 127.0.0.1:8443. Test Org");
    assert_eq!(lines[1], "Ncat: Subject: O=Test Org, CN=localhost");
    assert_eq!(lines[2], "Ncat: Issuer: CN=Test Root");
    assert!(
        lines[4].starts_with("Ncat: Certificate not verified"),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 5);
    // ...but a name mismatch needs no trust store.
    let lines =
        tls::describe_server_cert(&TlsOptions::default(), "h:1", &name("example.com"), chain);
    assert_eq!(
        lines[4],
        "Ncat: Certificate verification failed (hostname mismatch)."
    );
    // With a trust file (no --ssl-verify): checked against it.
    let with_trust = TlsOptions {
        trustfile: Some(pki.trust.clone()),
        ..TlsOptions::default()
    };
    let lines = tls::describe_server_cert(&with_trust, "h:1", &name("localhost"), chain);
    assert_eq!(lines.len(), 4, "{lines:?}");
    let other_trust = TlsOptions {
        trustfile: Some(pki.other_trust.clone()),
        ..TlsOptions::default()
    };
    let lines = tls::describe_server_cert(&other_trust, "h:1", &name("localhost"), chain);
    assert_eq!(
        lines[4],
        "Ncat: Certificate verification failed (unable to get local issuer certificate)."
    );
    // Verified: the handshake itself vouches; nothing added.
    let verified = TlsOptions {
        verify: true,
        ..with_trust
    };
    let lines = tls::describe_server_cert(&verified, "h:1", &name("localhost"), chain);
    assert_eq!(lines.len(), 4);

    // Expired, unverified.
    let (c, _s) = handshake(&pki.expired_server, &plain_client(), name("localhost")).unwrap();
    let lines = tls::describe_server_cert(
        &TlsOptions::default(),
        "h:1",
        &name("localhost"),
        c.peer_certificates().unwrap(),
    );
    assert_eq!(
        lines[4],
        "Ncat: Certificate verification failed (certificate has expired)."
    );
    assert_eq!(
        tls::describe_session(&c).unwrap(),
        "TLSv1.3 TLS_AES_256_GCM_SHA384"
    );
}

#[test]
fn server_names() {
    let opts = TlsOptions::default();
    let ip = |s: &str| match tls::server_name(&opts, s).unwrap() {
        ServerName::IpAddress(ip) => std::net::IpAddr::from(ip).to_string(),
        other => panic!("{s}: {other:?}"),
    };
    assert_eq!(ip("127.0.0.1"), "127.0.0.1");
    assert_eq!(ip("::1"), "::1");
    assert_eq!(ip("[2001:db8::1]"), "2001:db8::1");
    assert_eq!(ip("fe80::1%eth0"), "fe80::1");
    assert_eq!(
        tls::server_name(&opts, "Example.COM").unwrap(),
        name("Example.COM")
    );
    let line = err_line(tls::server_name(&opts, "bad name!"));
    assert_eq!(
        line,
        "rnc: host bad name! : not a valid TLS server name (a DNS name or an IP address)"
    );
    let over = TlsOptions {
        servername: Some("10.0.0.1".into()),
        ..TlsOptions::default()
    };
    assert!(matches!(
        tls::server_name(&over, "example.com").unwrap(),
        ServerName::IpAddress(_)
    ));
}

// ---------------------------------------------------------------- temporary cert

#[test]
fn temporary_certificate_names() {
    for (host, target) in [
        (None, "localhost"),
        (Some("127.0.0.1"), "127.0.0.1"),
        (Some("::1"), "::1"),
        (Some("myhost.example"), "myhost.example"),
    ] {
        let server = tls::server_config(&TlsOptions::default(), host, 0).unwrap();
        let (c, _s) = handshake(&server, &plain_client(), name("ignored.invalid")).unwrap();
        let cert = served_cert(&c);
        // Described as self-signed, named after the listen host.
        let sn = tls::server_name(&TlsOptions::default(), target).unwrap();
        let lines = tls::describe_server_cert(
            &TlsOptions::default(),
            "x:1",
            &sn,
            std::slice::from_ref(&cert),
        );
        assert_eq!(lines[1], format!("Ncat: Subject: CN={target}"));
        assert_eq!(
            lines[4],
            "Ncat: Certificate verification failed (self-signed certificate)."
        );
        assert_eq!(lines.len(), 5, "{lines:?}");
        // Pinned with --ssl-trustfile, it verifies for that name (an IP SAN
        // for an IP literal) and for no other.
        let dir = TempDir::new("tmpcert");
        let trust = dir.file(
            "t.pem",
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                rnetcat::proxy::auth::base64(&cert)
            ),
        );
        let client = verifying_client(&trust);
        handshake(&server, &client, sn).unwrap_or_else(|e| panic!("{target}: {e:?}"));
        assert_eq!(
            verify_failure(&server, &client, "other.example"),
            "Ncat: Certificate verification failed (hostname mismatch)."
        );
    }
}

// ---------------------------------------------------------------- ALPN, ciphers

#[test]
fn alpn_negotiation() {
    let server_opts = TlsOptions {
        alpn: vec!["h2".into(), "http/1.1".into()],
        ..TlsOptions::default()
    };
    let server = tls::server_config(&server_opts, None, 0).unwrap();
    let client_with = |protos: &[&str]| {
        tls::client_config(&TlsOptions {
            alpn: protos.iter().map(|s| s.to_string()).collect(),
            ..TlsOptions::default()
        })
        .unwrap()
    };
    let (c, s) = handshake(
        &server,
        &client_with(&["http/1.1", "h2"]),
        name("localhost"),
    )
    .unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(s.alpn_protocol(), Some(&b"h2"[..]));
    assert_eq!(
        tls::describe_session(&c).unwrap(),
        "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2"
    );
    let (c, _) = handshake(&server, &client_with(&["http/1.1"]), name("localhost")).unwrap();
    assert_eq!(c.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (c, _) = handshake(&server, &plain_client(), name("localhost")).unwrap();
    assert_eq!(c.alpn_protocol(), None);
    let (side, err) = handshake(&server, &client_with(&["imap"]), name("localhost")).unwrap_err();
    assert_eq!(side, "server");
    assert_eq!(err, rustls::Error::NoApplicationProtocol);

    let line = err_line(tls::client_config(&TlsOptions {
        alpn: vec![String::new()],
        ..TlsOptions::default()
    }));
    assert!(line.starts_with("rnc: --ssl-alpn : "), "{line}");
}

#[test]
fn cipher_strings_reach_the_wire() {
    let server = tls::server_config(&TlsOptions::default(), None, 0).unwrap();
    let client = |spec: &str| {
        tls::client_config(&TlsOptions {
            ciphers: Some(spec.into()),
            ..TlsOptions::default()
        })
    };
    let negotiated = |spec: &str| {
        let (c, _) = handshake(&server, &client(spec).unwrap(), name("localhost")).unwrap();
        tls::describe_session(&c).unwrap()
    };
    assert_eq!(
        negotiated("TLS_CHACHA20_POLY1305_SHA256"),
        "TLSv1.3 TLS_CHACHA20_POLY1305_SHA256"
    );
    // TLS 1.2 when the server has no TLS 1.3 suite left.
    let server12 = tls::server_config(
        &TlsOptions {
            ciphers: Some(
                "!TLS_AES_256_GCM_SHA384:!TLS_AES_128_GCM_SHA256:\
                 !TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"
                    .into(),
            ),
            ..TlsOptions::default()
        },
        None,
        0,
    )
    .unwrap();
    let (c, _) = handshake(&server12, &plain_client(), name("localhost")).unwrap();
    assert_eq!(
        tls::describe_session(&c).unwrap(),
        "TLSv1.2 ECDHE-ECDSA-CHACHA20-POLY1305"
    );
    assert_eq!(
        negotiated("ALL:!aNULL:!eNULL:!LOW:!EXP:!RC4:!MD5:@STRENGTH"),
        "TLSv1.3 TLS_AES_256_GCM_SHA384"
    );
    let line = err_line(client("HIGH:NOPE"));
    assert!(
        line.starts_with("rnc: --ssl-ciphers : unknown cipher name NOPE;"),
        "{line}"
    );
    let line = err_line(client("RC4"));
    assert!(line.contains("no cipher suite matches"), "{line}");
}

// ---------------------------------------------------------------- renewal

#[test]
fn renewed_certificate_is_picked_up() {
    let dir = TempDir::new("reload");
    let (cert_a, key_a) = self_signed(&["localhost"]);
    let (cert_b, key_b) = self_signed(&["localhost"]);
    let opts = pair_opts(&dir, "live", &cert_a.pem(), &key_a.serialize_pem());
    let (cert_path, key_path) = (opts.cert.clone().unwrap(), opts.key.clone().unwrap());
    // The configuration the listener would use (1 s check interval).
    let server = tls::server_config(&opts, None, 1).unwrap();
    // A fresh client each time: a client that remembers a session resumes it,
    // and a resumed session carries the certificate of the original one.
    let client = &plain_client;

    let (mut old_c, mut old_s) = handshake(&server, &client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&old_c), *cert_a.der());

    // acme.sh writes the certificate first: for a moment it does not match the
    // key. New connections keep getting A.
    std::fs::write(&cert_path, cert_b.pem()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (c, _) = handshake(&server, &client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&c), *cert_a.der());

    // Then the key: the next connection after the check interval gets B.
    std::fs::write(&key_path, key_b.serialize_pem()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (c, _) = handshake(&server, &client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&c), *cert_b.der());

    // The connection opened before the renewal still works.
    assert_eq!(echo(&mut old_c, &mut old_s, b"still here"), b"still here");
    assert_eq!(echo(&mut old_s, &mut old_c, b"yes"), b"yes");

    // A file removed or garbled keeps B; a good pair again is picked up.
    std::fs::write(&key_path, "garbage").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (c, _) = handshake(&server, &client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&c), *cert_b.der());
    std::fs::remove_file(&cert_path).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (c, _) = handshake(&server, &client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&c), *cert_b.der());
    std::fs::write(&cert_path, cert_a.pem()).unwrap();
    std::fs::write(&key_path, key_a.serialize_pem()).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let (c, _) = handshake(&server, &client(), name("localhost")).unwrap();
    assert_eq!(served_cert(&c), *cert_a.der());
}

#[test]
fn resolver_checks_at_most_once_per_interval() {
    let dir = TempDir::new("interval");
    let (cert_a, key_a) = self_signed(&["localhost"]);
    let (cert_b, key_b) = self_signed(&["localhost"]);
    let opts = pair_opts(&dir, "i", &cert_a.pem(), &key_a.serialize_pem());
    let provider = tls::provider(&opts).unwrap();
    let slow = tls::ReloadingCertResolver::new(
        opts.cert.as_ref().unwrap(),
        opts.key.as_ref().unwrap(),
        Arc::clone(&provider),
        0,
    )
    .unwrap()
    .with_check_interval(Duration::from_secs(3600));
    let eager = tls::ReloadingCertResolver::new(
        opts.cert.as_ref().unwrap(),
        opts.key.as_ref().unwrap(),
        provider,
        0,
    )
    .unwrap()
    .with_check_interval(Duration::ZERO);
    std::fs::write(opts.cert.as_ref().unwrap(), cert_b.pem()).unwrap();
    std::fs::write(opts.key.as_ref().unwrap(), key_b.serialize_pem()).unwrap();
    assert_eq!(slow.current().cert[0], *cert_a.der());
    assert_eq!(eager.current().cert[0], *cert_b.der());
}
