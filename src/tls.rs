//! TLS (`--ssl*`): builds the rustls configurations that the relay drives, and
//! the ncat-style messages around them.
//!
//! The relay owns the I/O: it wraps each TCP socket in a
//! [`rustls::ServerConnection`] (listen mode, from [`server_config`]) or a
//! [`rustls::ClientConnection`] (connect mode, from [`client_config`] and
//! [`server_name`]). This module builds those configurations once, before any
//! socket exists, so every problem with the user's files is a usage error
//! (exit 2) printed before listening or connecting.
//!
//! # Crypto
//! One provider, *ring*, compiled in alone and passed explicitly to every
//! builder (`builder_with_provider`); nothing depends on rustls's process-wide
//! default. TLS 1.2 and 1.3, the nine AEAD suites ring offers (see
//! [Cipher strings](self#cipher-strings)), key exchange X25519, P-256, P-384.
//! Keys: RSA 2048–8192 bits, ECDSA P-256 and P-384, Ed25519 (ring has no
//! P-521 signing).
//!
//! # Behaviour, compared with ncat
//! - Connect mode encrypts but does not verify unless `--ssl-verify` is given
//!   (like ncat). Unverified, the server's handshake signature is still checked
//!   against its certificate's key, and `-v` describes the certificate
//!   ([`describe_server_cert`]).
//! - `--ssl-verify` checks the chain and the name against the system trust
//!   store (rustls-native-certs, which honours `SSL_CERT_FILE` and
//!   `SSL_CERT_DIR`), read only when verification is asked for: plain `--ssl`
//!   and non-TLS runs never pay for reading the CA bundle. `--ssl-trustfile
//!   FILE` replaces the system store.
//! - IP SANs are matched, and no SNI is sent for an IP-literal target (ncat
//!   7.93 sends the literal as SNI and ignores IP SANs).
//! - A listener without `--ssl-cert`/`--ssl-key` generates a temporary
//!   ECDSA P-256 certificate (ncat: 2048-bit RSA, which takes ~0.4 s), named
//!   after the listen host. With the files given, a renewed pair is picked up
//!   without a restart: see [`ReloadingCertResolver`].
//! - Listeners do not ask for client certificates (neither does ncat).
//!
//! # Cipher strings
//! `--ssl-ciphers` takes an OpenSSL cipher string; the mapping onto rustls's
//! suites is documented in the `ciphers` submodule ([`select_ciphers`]).
//!
//! # For the relay: throughput and buffering
//! Records are full size (16 KiB of plaintext, rustls's default; nothing here
//! lowers `max_fragment_size`). Measured on the 2-core dev VM
//! (`examples/tls_bench.rs`), one core seals ~4.5–6 GB/s with AES-GCM and
//! ~2 GB/s with ChaCha20 through rustls, so TLS costs little next to loopback
//! relaying (~0.5–1 GB/s). What matters is syscall count:
//! - `read_tls` reads at most ~4 KiB per call when handed the socket itself.
//!   Read the socket into your own large buffer (64 KiB or more) and feed
//!   rustls from the slice (`conn.read_tls(&mut &buf[..n])` in a loop), calling
//!   `process_new_packets()` and draining `conn.reader()` between calls: rustls
//!   holds at most 16 KiB of decrypted plaintext, and `read_tls` fails with
//!   "received plaintext buffer full" if it is not drained.
//! - `conn.writer().write()` accepts plaintext until 64 KiB of TLS records are
//!   queued (`set_buffer_limit` raises that); `write_tls(&mut socket)` sends
//!   the queue with one `writev`. Hand the writer big chunks (a multiple of
//!   16 KiB), so that records are full and few.
//! - TLS half-close: at stdin EOF call `send_close_notify()`, flush with
//!   `write_tls`, keep reading (reference §2.8). A peer's close_notify shows as
//!   `reader().read()` returning `Ok(0)`; a TCP EOF without it as
//!   `ErrorKind::UnexpectedEof`.
//!
//! # For the relay: what to call and print when
//! - Before listening: `let cfg = tls::server_config(&opts, listen_host,
//!   verbose)?;` (prints the temporary-certificate notice itself under `-v`).
//!   Per accepted socket: `ServerConnection::new(cfg.clone())`. Renewal needs
//!   nothing more: the configuration's certificate resolver re-reads the files
//!   during ClientHello processing (inside `process_new_packets`).
//! - Before connecting: `let cfg = tls::client_config(&opts)?;` and
//!   `let name = tls::server_name(&opts, target_host)?;` then
//!   `ClientConnection::new(cfg, name.clone())`.
//! - After the client handshake, under `-v`: emit (`log::emit`) each line of
//!   `describe_server_cert(&opts, "HOST:PORT", &name,
//!   conn.peer_certificates().unwrap_or_default())`, in place of
//!   "Connected to HOST:PORT.". This module's own messages (temporary
//!   certificate, renewal) go through `log::emit` too, so they are safe while
//!   stderr shares a non-blocking file description with stdout.
//! - A handshake that fails: `tls::handshake_error(&err)` gives the message
//!   (e.g. "Ncat: Certificate verification failed (hostname mismatch).") and
//!   exit code 1.

mod certinfo;
mod ciphers;
mod reload;

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, CommonState, DigitallySignedStruct, RootCertStore,
    ServerConfig, SignatureScheme, SupportedProtocolVersion,
};

use crate::config::TlsOptions;
use crate::error::{Error, Result};

pub use certinfo::fingerprint_sha1;
pub use ciphers::{openssl_name, select as select_ciphers};
pub use reload::ReloadingCertResolver;

/// The crypto provider for these options: ring, with the cipher suites that
/// `--ssl-ciphers` leaves (all nine when it is absent).
pub fn provider(opts: &TlsOptions) -> Result<Arc<CryptoProvider>> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(spec) = &opts.ciphers {
        provider.cipher_suites = ciphers::select(spec, &provider.cipher_suites)
            .map_err(|why| Error::usage("--ssl-ciphers", why))?;
    }
    Ok(Arc::new(provider))
}

/// TLS 1.3 and 1.2, minus a version left without cipher suites.
fn versions(provider: &CryptoProvider) -> Vec<&'static SupportedProtocolVersion> {
    let has = |v: &SupportedProtocolVersion| {
        provider
            .cipher_suites
            .iter()
            .any(|s| s.version().version == v.version)
    };
    [&rustls::version::TLS13, &rustls::version::TLS12]
        .into_iter()
        .filter(|v| has(v))
        .collect()
}

/// Server side, built once before listening.
///
/// With `--ssl-cert` and `--ssl-key` the pair is read and checked now (a
/// certificate chain; a PKCS#8, PKCS#1 or SEC1 key; the key must match the
/// certificate) and re-read when renewed ([`ReloadingCertResolver`]). Without
/// them a temporary self-signed certificate is generated, named after
/// `listen_host` (or `localhost`; an IP literal goes in an IP SAN), and under
/// `-v` its notice and SHA-1 fingerprint are printed to stderr.
///
/// `--ssl-alpn` on a listener: the first protocol in its list that the client
/// also offers is chosen; a client offering only others is refused (RFC 7301),
/// one offering none is served without ALPN.
///
/// Errors (unreadable or malformed PEM, a key that does not match the
/// certificate, an unsupported key type, a bad `--ssl-ciphers` or
/// `--ssl-alpn`) are [`Error::usage`], exit 2.
pub fn server_config(
    opts: &TlsOptions,
    listen_host: Option<&str>,
    verbose: u8,
) -> Result<Arc<ServerConfig>> {
    let provider = provider(opts)?;
    let alpn = alpn_protocols(opts)?;
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions(&provider))
        .map_err(|e| Error::usage("--ssl-ciphers", e))?
        .with_no_client_auth();
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let resolver = ReloadingCertResolver::new(cert, key, Arc::clone(&provider), verbose)?;
            builder.with_cert_resolver(Arc::new(resolver))
        }
        (None, None) => {
            if verbose > 0 {
                crate::log::emit(
                    "Ncat: Generating a temporary ECDSA P-256 key. \
                     Use --ssl-key and --ssl-cert to use a permanent one.",
                );
            }
            let ck = temporary_certificate(listen_host, &provider)?;
            if verbose > 0 {
                if let Some(cert) = ck.cert.first() {
                    crate::log::emit(&format!(
                        "Ncat: SHA-1 fingerprint: {}",
                        fingerprint_sha1(cert)
                    ));
                }
            }
            builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(ck)))
        }
        _ => return Err(cert_key_together()),
    };
    config.alpn_protocols = alpn;
    Ok(Arc::new(config))
}

/// Client side, built once before connecting.
///
/// Without `--ssl-verify`: any certificate is accepted (the handshake
/// signature is still checked against it). With it: chain and name are
/// verified against `--ssl-trustfile` if given, else the system store, which
/// is read only here and only then. `--ssl-trustfile` without `--ssl-verify`
/// is read now too (so a bad file fails early), and used only by
/// [`describe_server_cert`]. `--ssl-cert`/`--ssl-key` present a client
/// certificate when the server asks for one.
pub fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>> {
    let provider = provider(opts)?;
    let alpn = alpn_protocols(opts)?;
    let trust = match &opts.trustfile {
        Some(path) => Some(load_trust_file(path)?),
        None if opts.verify => Some(load_system_roots()?),
        None => None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        Some(roots) if opts.verify => Arc::new(Verifier {
            inner: webpki_verifier(roots, &provider)?,
        }),
        _ => Arc::new(NoVerifier {
            algs: provider.signature_verification_algorithms,
        }),
    };
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions(&provider))
        .map_err(|e| Error::usage("--ssl-ciphers", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match (&opts.cert, &opts.key) {
        (Some(cert), Some(key)) => {
            let ck = load_certified_key(cert, key, &provider)?;
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(ck)))
        }
        (None, None) => builder.with_no_client_auth(),
        _ => return Err(cert_key_together()),
    };
    config.alpn_protocols = alpn;
    Ok(Arc::new(config))
}

/// The name to verify and send as SNI for a connection to `target_host`.
///
/// `--ssl-servername` overrides the target. An IP literal (also `[v6]` or
/// `v6%zone`) becomes [`ServerName::IpAddress`]: rustls then sends no SNI and
/// verification matches IP SANs. Anything else must be a valid DNS name.
pub fn server_name(opts: &TlsOptions, target_host: &str) -> Result<ServerName<'static>> {
    let (what, host) = match &opts.servername {
        Some(name) => ("--ssl-servername", name.as_str()),
        None => ("host", target_host),
    };
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let no_zone = bare.split_once('%').map_or(bare, |(addr, _zone)| addr);
    if let Ok(ip) = no_zone.parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(bare.to_string()).map_err(|_| {
        Error::usage(
            format!("{what} {host}"),
            "not a valid TLS server name (a DNS name or an IP address)",
        )
    })
}

/// Lines to print to stderr under `-v` after a client handshake, ncat style:
///
/// ```text
/// Ncat: SSL connection to 127.0.0.1:8443. Example Org
/// Ncat: Subject: O=Example Org, CN=localhost
/// Ncat: Issuer: O=Example Org, CN=localhost
/// Ncat: SHA-1 fingerprint: 1A2B 3C4D 5E6F 7081 92A3 B4C5 D6E7 F809 1A2B 3C4D
/// Ncat: Certificate verification failed (self-signed certificate).
/// ```
///
/// `peer` is "HOST:PORT" as the relay prints it; the organisation is appended
/// to the first line when the subject has one, as ncat does. `chain` is
/// `conn.peer_certificates()`, leaf first.
///
/// The last line tells the truth about verification:
/// - with `--ssl-verify` the handshake only completes if the chain verified,
///   so nothing is added (ncat prints nothing either);
/// - without it but with `--ssl-trustfile`, the chain is verified against that
///   file now, and each failure is reported as "Certificate verification
///   failed (REASON)." with OpenSSL's wording;
/// - with neither, the system trust store is not read, so only what needs no
///   trust store is judged — self-signed, expired or not yet valid, name
///   mismatch — and if none applies the line says the certificate was not
///   verified rather than guessing.
pub fn describe_server_cert(
    opts: &TlsOptions,
    peer: &str,
    server_name: &ServerName<'_>,
    chain: &[CertificateDer<'_>],
) -> Vec<String> {
    let mut lines = Vec::new();
    let Some(leaf) = chain.first() else {
        lines.push(format!("Ncat: SSL connection to {peer}."));
        return lines;
    };
    let fields = certinfo::cert_fields(leaf);
    let org = fields
        .as_ref()
        .and_then(|f| certinfo::organization(f.subject))
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    lines.push(format!("Ncat: SSL connection to {peer}.{org}"));
    if let Some(f) = &fields {
        lines.push(format!("Ncat: Subject: {}", certinfo::name_text(f.subject)));
        lines.push(format!("Ncat: Issuer: {}", certinfo::name_text(f.issuer)));
    }
    lines.push(format!(
        "Ncat: SHA-1 fingerprint: {}",
        fingerprint_sha1(leaf)
    ));
    if opts.verify {
        return lines;
    }
    let now = UnixTime::now();
    let failures: Vec<String> = match &opts.trustfile {
        Some(path) => {
            let result = load_trust_file(path)
                .and_then(|roots| webpki_verifier(roots, &provider_or_default(opts)));
            match result {
                Ok(inner) => {
                    let v = Verifier { inner };
                    let rest = chain.get(1..).unwrap_or_default();
                    match v.verify_server_cert(leaf, rest, server_name, &[], now) {
                        Ok(_) => Vec::new(),
                        Err(e) => vec![failure_reason(&e)],
                    }
                }
                Err(e) => vec![format!("cannot read the trust file: {}", e.line)],
            }
        }
        None => {
            let problems = standalone_problems(leaf, fields.as_ref(), server_name, now);
            if problems.is_empty() {
                lines.push(
                    "Ncat: Certificate not verified (no --ssl-verify; \
                     the system trust store was not consulted)."
                        .to_string(),
                );
            }
            problems
        }
    };
    for why in failures {
        lines.push(format!("Ncat: Certificate verification failed ({why})."));
    }
    lines
}

/// The negotiated protocol, suite and ALPN, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384,
/// ALPN h2" (for `-vv` or the exec environment). `None` before the handshake.
pub fn describe_session(conn: &CommonState) -> Option<String> {
    let version = match conn.protocol_version()? {
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
        v => format!("{v:?}"),
    };
    let suite = openssl_name(conn.negotiated_cipher_suite()?.suite());
    let mut s = format!("{version} {suite}");
    if let Some(proto) = conn.alpn_protocol() {
        s.push_str(", ALPN ");
        s.push_str(&certinfo::sanitize(&String::from_utf8_lossy(proto)));
    }
    Some(s)
}

/// The message and exit code (1) for a failed TLS handshake, e.g.
/// "Ncat: Certificate verification failed (certificate has expired)."
pub fn handshake_error(err: &rustls::Error) -> Error {
    match err {
        rustls::Error::InvalidCertificate(_) => Error::network(format!(
            "Ncat: Certificate verification failed ({}).",
            failure_reason(err)
        )),
        rustls::Error::NoApplicationProtocol => {
            Error::network("Ncat: TLS handshake failed: no ALPN protocol in common with the peer.")
        }
        rustls::Error::AlertReceived(alert) => Error::network(format!(
            "Ncat: TLS handshake failed: the peer sent alert {alert:?}."
        )),
        other => Error::network(format!("Ncat: TLS handshake failed: {other}.")),
    }
}

/// OpenSSL's wording (`X509_verify_cert_error_string`) for a verification error.
fn failure_reason(err: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(ce) = err else {
        return err.to_string();
    };
    match ce {
        CertificateError::UnknownIssuer => "unable to get local issuer certificate".into(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "certificate has expired".into()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "certificate is not yet valid".into()
        }
        CertificateError::NotValidForNameContext {
            expected: ServerName::IpAddress(_),
            ..
        } => "IP address mismatch".into(),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "hostname mismatch".into()
        }
        CertificateError::BadSignature
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
            "certificate signature failure".into()
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            "unsupported certificate purpose".into()
        }
        CertificateError::BadEncoding => "unable to decode certificate".into(),
        CertificateError::Revoked => "certificate revoked".into(),
        CertificateError::Other(other) => other.to_string(),
        other => format!("{other:?}"),
    }
}

/// What can be said about a leaf without any trust store.
fn standalone_problems(
    leaf: &CertificateDer<'_>,
    fields: Option<&certinfo::CertFields<'_>>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(f) = fields else {
        problems.push("unable to decode certificate".to_string());
        return problems;
    };
    if f.issuer == f.subject {
        problems.push("self-signed certificate".to_string());
    }
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if f.not_after.is_some_and(|t| now > t) {
        problems.push("certificate has expired".to_string());
    } else if f.not_before.is_some_and(|t| now < t) {
        problems.push("certificate is not yet valid".to_string());
    }
    match ParsedCertificate::try_from(leaf) {
        Ok(parsed) => {
            if rustls::client::verify_server_name(&parsed, server_name).is_err() {
                problems.push(match server_name {
                    ServerName::IpAddress(_) => "IP address mismatch".to_string(),
                    _ => "hostname mismatch".to_string(),
                });
            }
        }
        Err(_) => problems.push("unable to decode certificate".to_string()),
    }
    problems
}

fn provider_or_default(opts: &TlsOptions) -> Arc<CryptoProvider> {
    provider(opts).unwrap_or_else(|_| Arc::new(rustls::crypto::ring::default_provider()))
}

fn cert_key_together() -> Error {
    Error::usage(
        "--ssl-cert",
        "the --ssl-key and --ssl-cert options must be used together",
    )
}

fn alpn_protocols(opts: &TlsOptions) -> Result<Vec<Vec<u8>>> {
    opts.alpn
        .iter()
        .map(|p| {
            if p.is_empty() || p.len() > 255 {
                Err(Error::usage(
                    "--ssl-alpn",
                    format!("protocol name {p:?} must be 1 to 255 bytes"),
                ))
            } else {
                Ok(p.as_bytes().to_vec())
            }
        })
        .collect()
}

/// An io::Error's text without Rust's " (os error N)" suffix.
fn io_why(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn pem_why(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error as P;
    match e {
        P::MissingSectionEnd { .. } => "malformed PEM: a section has no END line".into(),
        P::IllegalSectionStart { .. } => "malformed PEM: bad BEGIN line".into(),
        P::Base64Decode(_) => "malformed PEM: bad base64".into(),
        P::NoItemsFound => "nothing usable found".into(),
        P::SectionTooLarge => "malformed PEM: section too large".into(),
        other => format!("malformed PEM: {other}"),
    }
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::usage(format!("{what} {}", path.display()), io_why(&e)))
}

/// Read `--ssl-cert` and `--ssl-key` and check that they belong together.
pub(crate) fn load_certified_key(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey> {
    let cert_what = format!("--ssl-cert {}", cert_path.display());
    let key_what = format!("--ssl-key {}", key_path.display());

    let pem = read_file("--ssl-cert", cert_path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::usage(&cert_what, pem_why(&e)))?;
    let Some(leaf) = chain.first() else {
        return Err(Error::usage(
            &cert_what,
            "no certificate found (expected a PEM \"CERTIFICATE\" block)",
        ));
    };
    if let Err(e) = ParsedCertificate::try_from(leaf) {
        return Err(Error::usage(
            &cert_what,
            format!("the certificate cannot be parsed ({e})"),
        ));
    }

    let pem = read_file("--ssl-key", key_path)?;
    if contains(&pem, b"ENCRYPTED PRIVATE KEY") || contains(&pem, b"Proc-Type: 4,ENCRYPTED") {
        return Err(Error::usage(
            &key_what,
            "encrypted private keys are not supported (decrypt it with `openssl pkey`)",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => Error::usage(
            &key_what,
            "no private key found (expected a PEM \"PRIVATE KEY\", \"RSA PRIVATE KEY\" \
             or \"EC PRIVATE KEY\" block)",
        ),
        e => Error::usage(&key_what, pem_why(&e)),
    })?;
    let signing_key = provider.key_provider.load_private_key(key).map_err(|_| {
        Error::usage(
            &key_what,
            "unsupported or malformed private key (rnc takes RSA 2048-8192 bits, \
             ECDSA P-256 or P-384, Ed25519)",
        )
    })?;
    let ck = CertifiedKey::new(chain, signing_key);
    match ck.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(ck),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(Error::usage(
                &key_what,
                format!(
                    "the private key does not match the certificate in {}",
                    cert_path.display()
                ),
            ))
        }
        Err(e) => Err(Error::usage(&cert_what, e)),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A temporary self-signed ECDSA P-256 certificate for a listener without
/// `--ssl-cert`: CN and SAN are the listen host (an IP literal as an IP SAN),
/// or `localhost`; valid from a day ago for a year.
pub fn temporary_certificate(
    listen_host: Option<&str>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey> {
    let fail = |e: rcgen::Error| {
        Error::usage(
            "--ssl",
            format!("cannot generate a temporary certificate: {e}"),
        )
    };
    let host = listen_host
        .map(|h| {
            h.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(h)
        })
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, host);
    let no_zone = host.split_once('%').map_or(host, |(a, _)| a);
    if let Ok(ip) = no_zone.parse::<IpAddr>() {
        params.subject_alt_names = vec![rcgen::SanType::IpAddress(ip)];
    } else if let Ok(dns) = rcgen::string::Ia5String::try_from(host) {
        params.subject_alt_names = vec![rcgen::SanType::DnsName(dns)];
    }
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let day = Duration::from_secs(86_400);
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + since_epoch.saturating_sub(day);
    params.not_after = epoch + since_epoch + day * 365;
    let cert = params.self_signed(&key).map_err(fail)?;
    let key_der = PrivateKeyDer::Pkcs8(key.serialize_der().into());
    CertifiedKey::from_der(vec![cert.der().clone()], key_der, provider)
        .map_err(|e| Error::usage("--ssl", format!("temporary certificate: {e}")))
}

fn load_trust_file(path: &Path) -> Result<RootCertStore> {
    let what = format!("--ssl-trustfile {}", path.display());
    let pem = read_file("--ssl-trustfile", path)?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| Error::usage(&what, pem_why(&e)))?;
        roots
            .add(cert)
            .map_err(|e| Error::usage(&what, format!("unusable certificate ({e})")))?;
    }
    if roots.is_empty() {
        return Err(Error::usage(
            &what,
            "no certificate found (expected PEM \"CERTIFICATE\" blocks)",
        ));
    }
    Ok(roots)
}

/// The system trust store; only for `--ssl-verify` without `--ssl-trustfile`.
fn load_system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (_added, _ignored) = roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = match found.errors.first() {
            Some(e) => {
                format!("no trusted certificates in the system store ({e}); use --ssl-trustfile")
            }
            None => "no trusted certificates in the system store; use --ssl-trustfile".to_string(),
        };
        return Err(Error::usage("--ssl-verify", why));
    }
    Ok(roots)
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| Error::usage("--ssl-verify", e))
}

/// "self-signed certificate": OpenSSL's name for an untrusted self-issued
/// leaf, carried in `CertificateError::Other`.
#[derive(Debug)]
struct SelfSigned;

impl std::fmt::Display for SelfSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("self-signed certificate")
    }
}

impl std::error::Error for SelfSigned {}

/// `--ssl-verify`: webpki's verdict, with an untrusted self-issued leaf
/// reported as "self-signed certificate" rather than "unknown issuer".
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| match e {
                // `openssl req -x509` marks its certificate CA:TRUE, which webpki
                // reports as "CA used as end entity": for a self-issued leaf
                // that is the same story.
                rustls::Error::InvalidCertificate(
                    CertificateError::UnknownIssuer | CertificateError::Other(_),
                ) if certinfo::is_self_issued(end_entity) => rustls::Error::InvalidCertificate(
                    CertificateError::Other(rustls::OtherError(Arc::new(SelfSigned))),
                ),
                e => e,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Plain `--ssl`: any certificate is accepted, but the handshake signature must
/// still verify against the certificate's key, with the provider's algorithms.
#[derive(Debug)]
struct NoVerifier {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
