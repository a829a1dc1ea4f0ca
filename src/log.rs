//! Messages on stderr, worded as each personality's netcat words them
//! (reference §3.11), and the writer that gets them out even when stderr shares a
//! non-blocking file description with stdout.

use crate::config::{Personality, Proto};
use crate::error::Error;
use crate::sys;
use nix::poll::PollFlags;
use std::io;
use std::net::SocketAddr;

/// Write a whole line to stderr; waits out EAGAIN (stderr may be the same pipe
/// as a non-blocking stdout) and gives up silently on any other error.
pub fn emit(line: &str) {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let fd = sys::stderr_fd();
    let mut off = 0;
    while off < buf.len() {
        match sys::write(fd, &buf[off..]) {
            Ok(0) => return,
            Ok(n) => off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [nix::poll::PollFd::new(fd, PollFlags::POLLOUT)];
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(1000u16));
            }
            Err(_) => return,
        }
    }
}

/// A socket address as ncat prints it (`[::1]:80` style for v6 is not used by
/// ncat: it prints `::1:80`).
pub fn ncat_addr(a: &SocketAddr) -> String {
    format!("{}:{}", a.ip(), a.port())
}

/// The personality-aware message catalogue.
#[derive(Debug, Clone)]
pub struct Log {
    pub personality: Personality,
    pub prog: String,
    pub verbose: u8,
}

impl Log {
    fn ncat(&self) -> bool {
        self.personality == Personality::Ncat
    }

    /// A verbose-only line.
    pub fn info(&self, line: impl AsRef<str>) {
        if self.verbose > 0 {
            emit(line.as_ref());
        }
    }

    /// A debug line (-vv).
    pub fn debug(&self, line: impl AsRef<str>) {
        if self.verbose > 1 {
            emit(&format!("{}: {}", self.prefix(), line.as_ref()));
        }
    }

    fn prefix(&self) -> &str {
        match self.personality {
            Personality::Ncat => "Ncat",
            _ => &self.prog,
        }
    }

    pub fn version_banner(&self) {
        if self.ncat() {
            self.info(format!(
                "Ncat: Version {} ( rnc, ncat-compatible )",
                env!("CARGO_PKG_VERSION")
            ));
        }
    }

    pub fn listening(&self, addr: &SocketAddr) {
        match self.personality {
            Personality::Ncat => self.info(format!("Ncat: Listening on {}", ncat_addr(addr))),
            Personality::OpenBsd => {
                self.info(format!("Listening on {} {}", addr.ip(), addr.port()))
            }
            Personality::Traditional => {
                let host = if addr.ip().is_unspecified() {
                    "any".to_string()
                } else {
                    addr.ip().to_string()
                };
                self.info(format!("listening on [{host}] {} ...", addr.port()))
            }
        }
    }

    pub fn listening_unix(&self, path: &str) {
        match self.personality {
            Personality::Ncat => self.info(format!("Ncat: Listening on {path}")),
            _ => self.info(format!("Listening on {path}")),
        }
    }

    pub fn connection_from(&self, peer: Option<&SocketAddr>, local: Option<&SocketAddr>) {
        // Said for every client of a keep-open listener: format nothing that
        // will not be shown.
        if self.verbose == 0 {
            return;
        }
        match (self.personality, peer) {
            (Personality::Ncat, Some(p)) => {
                self.info(format!("Ncat: Connection from {}.", p.ip()));
                self.info(format!("Ncat: Connection from {}.", ncat_addr(p)));
            }
            (Personality::Ncat, None) => {
                self.info("Ncat: Connection from a client on Unix domain socket.")
            }
            (Personality::OpenBsd, Some(p)) => {
                self.info(format!("Connection received on {} {}", p.ip(), p.port()))
            }
            (Personality::Traditional, Some(p)) => {
                let l = local.map(|l| l.ip().to_string()).unwrap_or_default();
                self.info(format!(
                    "connect to [{l}] from (UNKNOWN) [{}] {}",
                    p.ip(),
                    p.port()
                ))
            }
            (_, None) => self.info("Connection received on Unix domain socket"),
        }
    }

    pub fn connected(&self, addr: Option<&SocketAddr>, path: Option<&str>, proto: Proto) {
        match (self.personality, addr) {
            (Personality::Ncat, Some(a)) => {
                self.info(format!("Ncat: Connected to {}.", ncat_addr(a)))
            }
            (Personality::Ncat, None) => {
                self.info(format!("Ncat: Connected to {}.", path.unwrap_or("")))
            }
            (Personality::OpenBsd, Some(a)) if proto == Proto::Tcp => self.info(format!(
                "Connection to {} {} port [tcp/*] succeeded!",
                a.ip(),
                a.port()
            )),
            (Personality::Traditional, Some(a)) => {
                self.info(format!("(UNKNOWN) [{}] {} (?) open", a.ip(), a.port()))
            }
            _ => {}
        }
    }

    /// A client that `--allow`/`--deny` refuses (it is accepted, then closed).
    pub fn connection_denied(&self, peer: &SocketAddr, local: Option<&SocketAddr>) {
        match self.personality {
            Personality::Ncat => self.info("Ncat: New connection denied: not allowed"),
            Personality::OpenBsd => self.info(format!(
                "Connection from {} {} denied: not allowed",
                peer.ip(),
                peer.port()
            )),
            Personality::Traditional => {
                let l = local.map(|l| l.ip().to_string()).unwrap_or_default();
                self.info(format!(
                    "invalid connection to [{l}] from (UNKNOWN) [{}] {}",
                    peer.ip(),
                    peer.port()
                ))
            }
        }
    }

    /// ncat's closing summary under -v.
    pub fn summary(&self, sent: u64, received: u64, secs: f64) {
        match self.personality {
            Personality::Ncat => self.info(format!(
                "Ncat: {sent} bytes sent, {received} bytes received in {secs:.2} seconds."
            )),
            Personality::Traditional if self.verbose > 1 => {
                emit(&format!(" sent {sent}, rcvd {received}"))
            }
            _ => {}
        }
    }

    /// A failed connect to `addr` as an `Error` (exit 1) in the personality's words.
    pub fn connect_failed(
        &self,
        host: &str,
        addr: Option<&SocketAddr>,
        port: u16,
        proto: Proto,
        err: &io::Error,
    ) -> Error {
        let why = describe(err);
        match self.personality {
            Personality::Ncat => {
                if err.kind() == io::ErrorKind::TimedOut {
                    Error::network("Ncat: TIMEOUT.")
                } else {
                    Error::network(format!("Ncat: {why}."))
                }
            }
            Personality::OpenBsd => {
                let ip = addr
                    .map(|a| a.ip().to_string())
                    .unwrap_or_else(|| host.to_string());
                let p = if proto == Proto::Udp { "udp" } else { "tcp" };
                let line = format!(
                    "{}: connect to {ip} port {port} ({p}) failed: {why}",
                    self.prog
                );
                // OpenBSD nc reports connect failures only under -v.
                Error::with_code(
                    if self.verbose > 0 {
                        line
                    } else {
                        String::new()
                    },
                    1,
                )
            }
            Personality::Traditional => {
                let ip = addr
                    .map(|a| a.ip().to_string())
                    .unwrap_or_else(|| host.to_string());
                Error::network(format!("(UNKNOWN) [{ip}] {port} (?) : {why}"))
            }
        }
    }

    /// A host name that does not resolve (ncat: exit 2).
    pub fn resolve_failed(&self, host: &str, why: &str) -> Error {
        match self.personality {
            Personality::Ncat => Error::with_code(
                format!("Ncat: Could not resolve hostname \"{host}\": {why}. QUITTING."),
                2,
            ),
            Personality::OpenBsd => Error::network(format!(
                "{}: getaddrinfo for host \"{host}\": {why}",
                self.prog
            )),
            Personality::Traditional => {
                Error::network(format!("{host}: forward host lookup failed: {why}"))
            }
        }
    }

    /// A mid-session socket error (reset, broken pipe): ncat reports it and
    /// exits 1; the nc family exits 0 silently.
    pub fn session_error(&self, err: &io::Error) -> Error {
        match self.personality {
            Personality::Ncat => Error::network(format!("Ncat: {}.", describe(err))),
            _ => Error::with_code(String::new(), 0),
        }
    }
}

/// strerror-style text without Rust's " (os error N)" suffix.
pub fn describe(err: &io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}

use nix::errno::Errno;
