//! Helpers for tests/tls.rs: a throw-away PKI made with the `openssl` CLI, and a
//! python3 `ssl` peer that checks close_notify half-close, records SNI and
//! ALPN, and reports certificate fingerprints.

use crate::common::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// A certificate with its key; `chain` is the leaf followed by the
/// intermediate (what a server presents: a "fullchain" file).
pub struct Cert {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub chain: PathBuf,
    /// An intermediate CA: certificates it issues carry it in their chain.
    intermediate: bool,
}

#[derive(Clone, Copy)]
pub enum Key {
    Rsa,
    Ec,
}

/// root CA → intermediate CA → leaves. Made once per test binary.
pub struct Pki {
    pub dir: PathBuf,
    /// Trust anchor for `--ssl-trustfile` / `--cacert` / `-CAfile`.
    pub root: PathBuf,
    pub inter: Cert,
    /// EC P-256, SAN DNS:localhost + IP:127.0.0.1.
    pub leaf: Cert,
    /// RSA 2048, SAN DNS:localhost + IP:127.0.0.1.
    pub leaf_rsa: Cert,
    /// SAN IP:127.0.0.1 only.
    pub ip_only: Cert,
    /// SAN DNS:localhost only.
    pub dns_only: Cert,
    /// SAN DNS:custom.test only.
    pub custom: Cert,
    /// Valid names, but notAfter in 2020.
    pub expired: Cert,
    /// Valid names, issued by a CA nobody trusts.
    pub untrusted: Cert,
    /// `openssl req -x509` with the system's default configuration, as users
    /// make self-signed certificates.
    pub self_signed: Cert,
    _keep: TempDir,
}

const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
[dn]
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ca]
default_ca = testca
[testca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
";

/// Run `openssl ARGS` in `dir`; fail with its output if it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(require_tool("openssl"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn next_serial() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("{}", base * 1000 + N.fetch_add(1, Ordering::SeqCst))
}

fn genkey(dir: &Path, name: &str, key: Key) -> PathBuf {
    let file = format!("{name}.key");
    match key {
        Key::Rsa => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &file,
            ],
        ),
        Key::Ec => openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &file,
            ],
        ),
    };
    dir.join(file)
}

impl Pki {
    fn create() -> Pki {
        let keep = TempDir::new();
        let dir = keep.path.clone();
        fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();

        genkey(&dir, "root", Key::Rsa);
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "root.key",
                "-out",
                "root.pem",
                "-subj",
                "/CN=rnc test root CA",
                "-days",
                "30",
                "-config",
                "openssl.cnf",
                "-extensions",
                "ca_ext",
            ],
        );
        let root_ca = Cert {
            cert: dir.join("root.pem"),
            key: dir.join("root.key"),
            chain: dir.join("root.pem"),
            intermediate: false,
        };
        let inter = issue_ca(&dir, "inter", "rnc test intermediate CA", &root_ca);
        genkey(&dir, "other-root", Key::Ec);
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "other-root.key",
                "-out",
                "other-root.pem",
                "-subj",
                "/CN=some other CA",
                "-days",
                "30",
                "-config",
                "openssl.cnf",
                "-extensions",
                "ca_ext",
            ],
        );
        let other_ca = Cert {
            cert: dir.join("other-root.pem"),
            key: dir.join("other-root.key"),
            chain: dir.join("other-root.pem"),
            intermediate: false,
        };
        let both = "DNS:localhost,IP:127.0.0.1";
        let leaf = issue(&dir, "leaf", "localhost", both, Key::Ec, &inter, None);
        let leaf_rsa = issue(&dir, "leaf-rsa", "localhost", both, Key::Rsa, &inter, None);
        let ip_only = issue(
            &dir,
            "ip-only",
            "127.0.0.1",
            "IP:127.0.0.1",
            Key::Ec,
            &inter,
            None,
        );
        let dns_only = issue(
            &dir,
            "dns-only",
            "localhost",
            "DNS:localhost",
            Key::Ec,
            &inter,
            None,
        );
        let custom = issue(
            &dir,
            "custom",
            "custom.test",
            "DNS:custom.test",
            Key::Ec,
            &inter,
            None,
        );
        let expired = issue(
            &dir,
            "expired",
            "localhost",
            both,
            Key::Ec,
            &inter,
            Some(("20200101000000Z", "20200201000000Z")),
        );
        let untrusted = issue(
            &dir,
            "untrusted",
            "localhost",
            both,
            Key::Ec,
            &other_ca,
            None,
        );

        // The way users make one: the system openssl.cnf (v3_ca: CA:TRUE).
        openssl(
            &dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "self-signed.key",
                "-out",
                "self-signed.pem",
                "-subj",
                "/CN=localhost",
                "-days",
                "30",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ],
        );
        let self_signed = Cert {
            cert: dir.join("self-signed.pem"),
            key: dir.join("self-signed.key"),
            chain: dir.join("self-signed.pem"),
            intermediate: false,
        };
        Pki {
            root: dir.join("root.pem"),
            dir,
            inter,
            leaf,
            leaf_rsa,
            ip_only,
            dns_only,
            custom,
            expired,
            untrusted,
            self_signed,
            _keep: keep,
        }
    }

    /// A new leaf from the intermediate (e.g. a renewed certificate).
    pub fn issue_leaf(&self, name: &str, cn: &str, san: &str, key: Key) -> Cert {
        issue(&self.dir, name, cn, san, key, &self.inter, None)
    }
}

/// The shared PKI (generated on first use).
pub fn pki() -> &'static Pki {
    static P: OnceLock<Pki> = OnceLock::new();
    P.get_or_init(Pki::create)
}

fn issue_ca(dir: &Path, name: &str, cn: &str, by: &Cert) -> Cert {
    genkey(dir, name, Key::Rsa);
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
            "-config",
            "openssl.cnf",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            by.cert.to_str().unwrap(),
            "-CAkey",
            by.key.to_str().unwrap(),
            "-set_serial",
            &next_serial(),
            "-days",
            "30",
            "-extfile",
            "openssl.cnf",
            "-extensions",
            "ca_ext",
            "-out",
            &pem,
        ],
    );
    Cert {
        cert: dir.join(&pem),
        key: dir.join(&key),
        chain: dir.join(&pem),
        intermediate: true,
    }
}

/// A server leaf signed by `by`; `dates` = (notBefore, notAfter) as
/// YYYYMMDDHHMMSSZ, through `openssl ca` (OpenSSL 3.0's x509 has no
/// -not_before/-not_after).
fn issue(
    dir: &Path,
    name: &str,
    cn: &str,
    san: &str,
    key: Key,
    by: &Cert,
    dates: Option<(&str, &str)>,
) -> Cert {
    genkey(dir, name, key);
    let (keyf, csr, pem, ext, chain) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
        format!("{name}.chain.pem"),
    );
    fs::write(
        dir.join(&ext),
        format!(
            "[leaf]\nbasicConstraints = critical,CA:FALSE\n\
             keyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = serverAuth,clientAuth\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n\
             subjectAltName = {san}\n"
        ),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            &keyf,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
            "-config",
            "openssl.cnf",
        ],
    );
    let (ca_cert, ca_key) = (by.cert.to_str().unwrap(), by.key.to_str().unwrap());
    match dates {
        None => {
            openssl(
                dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    ca_cert,
                    "-CAkey",
                    ca_key,
                    "-set_serial",
                    &next_serial(),
                    "-days",
                    "30",
                    "-extfile",
                    &ext,
                    "-extensions",
                    "leaf",
                    "-out",
                    &pem,
                ],
            );
        }
        Some((start, end)) => {
            // `openssl ca` keeps a database; give this certificate its own.
            let db = dir.join(format!("{name}.db"));
            fs::create_dir_all(&db).unwrap();
            fs::write(db.join("index.txt"), "").unwrap();
            fs::write(db.join("serial"), "1000\n").unwrap();
            openssl(
                &db,
                &[
                    "ca",
                    "-batch",
                    "-notext",
                    "-config",
                    dir.join("openssl.cnf").to_str().unwrap(),
                    "-cert",
                    ca_cert,
                    "-keyfile",
                    ca_key,
                    "-in",
                    dir.join(&csr).to_str().unwrap(),
                    "-out",
                    dir.join(&pem).to_str().unwrap(),
                    "-startdate",
                    start,
                    "-enddate",
                    end,
                    "-extfile",
                    dir.join(&ext).to_str().unwrap(),
                    "-extensions",
                    "leaf",
                ],
            );
        }
    }
    // The chain a server presents: the leaf, then the issuer unless it is a
    // root (self-issued: chain == cert).
    let mut full = fs::read(dir.join(&pem)).unwrap();
    if by.intermediate {
        full.extend_from_slice(&fs::read(&by.cert).unwrap());
    }
    fs::write(dir.join(&chain), full).unwrap();
    Cert {
        cert: dir.join(&pem),
        key: dir.join(&keyf),
        chain: dir.join(&chain),
        intermediate: false,
    }
}

/// SHA-1 fingerprint of a PEM certificate file, as uppercase hex without
/// separators (openssl prints `SHA1 Fingerprint=AB:CD:...`).
pub fn fingerprint(cert: &Path) -> String {
    let out = openssl(
        Path::new("."),
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha1",
            "-in",
            cert.to_str().unwrap(),
        ],
    );
    normalize_fingerprint(
        String::from_utf8_lossy(&out)
            .split('=')
            .nth(1)
            .unwrap_or(""),
    )
}

/// `01BB F6A8 ...` / `01:BB:F6:A8...` / `01bbf6a8...` → `01BBF6A8...`.
pub fn normalize_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_uppercase()
}

/// The PEM of the first certificate in `text` (e.g. `openssl s_client` output).
pub fn first_pem(text: &str) -> Option<String> {
    let start = text.find("-----BEGIN CERTIFICATE-----")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = text[start..].find(end_marker)? + start + end_marker.len();
    Some(format!("{}\n", &text[start..end]))
}

// ---------------------------------------------------------------------------
// python3 ssl peer

const PEER_PY: &str = r#"
"""TLS peer for rnc's tests (tests/tls.rs). Prints one KEY value line per fact."""
import argparse, hashlib, socket, ssl, sys, time

def say(*a):
    print(*a, flush=True)

def read_until_close_notify(s):
    # suppress_ragged_eofs=False: a TCP EOF without close_notify raises
    # SSLEOFError; recv() returning b'' means close_notify arrived.
    got = b""
    while True:
        try:
            d = s.recv(65536)
        except ssl.SSLEOFError as e:
            say("RECEIVED", got.hex())
            say("RAGGED_EOF", e)
            sys.exit(3)
        if not d:
            return got
        got += d

def half_close(s, reply):
    got = read_until_close_notify(s)
    say("RECEIVED", got.hex())
    say("CLOSE_NOTIFY")
    # rnc has closed its sending side; ours stays open and must still work.
    s.sendall(reply)
    say("REPLY_SENT")
    raw = s.unwrap()  # our close_notify; theirs was already received
    raw.settimeout(20)
    rest = raw.recv(1)
    say("FIN" if rest == b"" else "DATA_AFTER_CLOSE_NOTIFY " + rest.hex())
    raw.close()

def server(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.alpn:
        ctx.set_alpn_protocols(a.alpn.split(","))
    sni = []
    ctx.sni_callback = lambda sock, name, c: sni.append(name)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(a.timeout)
    say("LISTENING", ls.getsockname()[1])
    conn, _ = ls.accept()
    conn.settimeout(a.timeout)
    s = ctx.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False)
    say("SNI", sni[0] if sni else None)
    say("ALPN", s.selected_alpn_protocol())
    half_close(s, a.reply.encode())

def client(a):
    ctx = ssl.create_default_context(cafile=a.cafile)
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    s = ctx.wrap_socket(raw, server_hostname=a.name, suppress_ragged_eofs=False)
    say("HANDSHAKE", s.version())
    half_close(s, a.reply.encode())

def fingerprint(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + a.within
    while True:
        with socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                fp = hashlib.sha1(s.getpeercert(binary_form=True)).hexdigest().upper()
        if a.until_not is None or fp != a.until_not.upper():
            say("FINGERPRINT", fp)
            return
        if time.monotonic() > deadline:
            say("UNCHANGED", fp)
            sys.exit(4)
        time.sleep(0.05)

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="mode", required=True)
s = sub.add_parser("server")
s.add_argument("--cert", required=True)
s.add_argument("--key", required=True)
s.add_argument("--alpn")
s.add_argument("--reply", default="reply\n")
s.add_argument("--timeout", type=float, default=20)
c = sub.add_parser("client")
c.add_argument("--port", type=int, required=True)
c.add_argument("--cafile", required=True)
c.add_argument("--name", default="localhost")
c.add_argument("--reply", default="reply\n")
c.add_argument("--timeout", type=float, default=20)
f = sub.add_parser("fingerprint")
f.add_argument("--port", type=int, required=True)
f.add_argument("--until-not")
f.add_argument("--within", type=float, default=0)
f.add_argument("--timeout", type=float, default=20)
a = p.parse_args()
{"server": server, "client": client, "fingerprint": fingerprint}[a.mode](a)
"#;

/// `python3 peer.py ARGS` (the script is written once per test binary).
pub fn py_peer<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    static SCRIPT: OnceLock<PathBuf> = OnceLock::new();
    let script = SCRIPT.get_or_init(|| {
        let p = pki().dir.join("peer.py");
        fs::write(&p, PEER_PY).unwrap();
        p
    });
    Cmd::tool("python3", [script.as_os_str()]).args(args)
}

/// The value of the first `KEY value` line in a peer's output.
pub fn value_of(out: &[u8], key: &str) -> Option<String> {
    String::from_utf8_lossy(out).lines().find_map(|l| {
        let (k, v) = l.split_once(' ').unwrap_or((l, ""));
        (k == key).then(|| v.to_string())
    })
}

/// Wait for the python server's `LISTENING port` line.
pub fn py_listening_port(p: &mut Proc) -> u16 {
    p.expect_stdout(b"LISTENING ", FAIL);
    let mut port = None;
    wait_for("the python server's port", FAIL, || {
        let out = p.stdout();
        port = String::from_utf8_lossy(&out)
            .lines()
            .find_map(|l| l.strip_prefix("LISTENING ")?.trim().parse::<u16>().ok());
        port.is_some() && out.ends_with(b"\n")
    });
    port.unwrap()
}

/// Lower-case hex of `b` (the peer prints received bytes that way).
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
