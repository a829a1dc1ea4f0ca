//! The listener's certificate: `--ssl-cert`/`--ssl-key`, re-read when renewed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::Result;

/// Serves the certificate chain and key of `--ssl-cert` and `--ssl-key`, and
/// picks up renewed files without a restart.
///
/// **Certificate renewal.** A listener started with `--ssl-cert FILE
/// --ssl-key FILE` (typically `-l -k --ssl`, long-running) notices when the
/// two files are replaced, for example by certbot or acme.sh renewing them:
/// when a client connects, rnc looks at the files' size, modification time and
/// inode (at most about once a second) and, if either file changed, reads and
/// checks the pair again. New connections then get the new certificate;
/// connections already open keep the one they started with and are not
/// interrupted. If the new pair cannot be used — a file half-written, missing
/// for a moment, malformed, or a key that does not match the certificate (as
/// between writing the new certificate and writing the new key) — rnc keeps
/// serving the previous pair, says so once under `-v`, and tries again when
/// the files change next. No signal or restart is needed.
///
/// The files are only read on a ClientHello, in the thread that runs the
/// handshake; reading two small PEM files once per renewal costs well under a
/// millisecond, and the size/time check otherwise costs two `stat` calls per
/// second at most.
pub struct ReloadingCertResolver {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    verbose: u8,
    interval: Duration,
    state: Mutex<State>,
}

struct State {
    current: Arc<CertifiedKey>,
    /// What the files looked like when `current` was read.
    loaded: Stamp,
    /// What the files looked like when they last failed to load (not retried
    /// until they change again, and reported once).
    rejected: Option<Stamp>,
    last_check: Instant,
}

/// Enough of two files' metadata to notice a rewrite or a rename over them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    cert: Option<FileStamp>,
    key: Option<FileStamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

fn file_stamp(path: &Path) -> Option<FileStamp> {
    let md = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&md);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        len: md.len(),
        modified: md.modified().ok(),
        inode,
    })
}

impl ReloadingCertResolver {
    /// Read and check the pair now; any problem is a usage error (exit 2), so a
    /// listener never starts with a bad certificate.
    pub fn new(
        cert_path: &Path,
        key_path: &Path,
        provider: Arc<CryptoProvider>,
        verbose: u8,
    ) -> Result<Self> {
        let loaded = Self::stamp_of(cert_path, key_path);
        let current = Arc::new(super::load_certified_key(cert_path, key_path, &provider)?);
        Ok(ReloadingCertResolver {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            verbose,
            interval: Duration::from_secs(1),
            state: Mutex::new(State {
                current,
                loaded,
                rejected: None,
                last_check: Instant::now(),
            }),
        })
    }

    /// How often at most the files are looked at (default one second).
    pub fn with_check_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    fn stamp_of(cert: &Path, key: &Path) -> Stamp {
        Stamp {
            cert: file_stamp(cert),
            key: file_stamp(key),
        }
    }

    /// The pair new connections get now, after looking at the files if the
    /// check interval has passed.
    pub fn current(&self) -> Arc<CertifiedKey> {
        // A panic elsewhere while holding the lock must not stop the listener.
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.last_check.elapsed() >= self.interval {
            st.last_check = Instant::now();
            self.check(&mut st);
        }
        Arc::clone(&st.current)
    }

    fn check(&self, st: &mut State) {
        let stamp = Self::stamp_of(&self.cert_path, &self.key_path);
        if stamp == st.loaded || st.rejected.as_ref() == Some(&stamp) {
            return;
        }
        match super::load_certified_key(&self.cert_path, &self.key_path, &self.provider) {
            Ok(ck) => {
                if self.verbose > 0 {
                    let fp = ck
                        .cert
                        .first()
                        .map(|c| super::certinfo::fingerprint_sha1(c))
                        .unwrap_or_default();
                    crate::log::emit(&format!(
                        "Ncat: Loaded the renewed certificate from {}. SHA-1 fingerprint: {fp}",
                        self.cert_path.display()
                    ));
                }
                st.current = Arc::new(ck);
                st.loaded = stamp;
                st.rejected = None;
            }
            Err(e) => {
                if self.verbose > 0 {
                    // e.line is "rnc: <what> : <why>"; drop our prefix.
                    let why = e.line.strip_prefix("rnc: ").unwrap_or(&e.line);
                    crate::log::emit(&format!(
                        "Ncat: The changed certificate or key cannot be used ({why}); \
                         still serving the previous certificate."
                    ));
                }
                st.rejected = Some(stamp);
            }
        }
    }
}

impl fmt::Debug for ReloadingCertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertResolver")
            .field("cert_path", &self.cert_path)
            .field("key_path", &self.key_path)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}
