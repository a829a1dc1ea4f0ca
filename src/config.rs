//! The resolved, validated configuration that the runtime runs on.
//!
//! `cli` turns argv (and argv[0]) into a `Config`; nothing after that looks at raw
//! flags. Every field here has a meaning rather than a letter: personalities,
//! letter conflicts and defaults are already settled when a `Config` exists.

use crate::access::AccessList;
use std::path::PathBuf;
use std::time::Duration;

/// Which netcat family's meanings the conflicting letters take (reference §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    Ncat,
    OpenBsd,
    Traditional,
}

impl Personality {
    pub fn name(self) -> &'static str {
        match self {
            Personality::Ncat => "ncat",
            Personality::OpenBsd => "openbsd",
            Personality::Traditional => "traditional",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Connect,
    Listen,
}

/// Listen mode with many clients: where each client's data goes (`hub`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fanout {
    /// stdin to every client, every client to stdout (`-k`).
    #[default]
    Stdio,
    /// Every client's data to every other client; stdin to all (`--broker`).
    Broker,
    /// The broker with named users, announcements and escaped control
    /// characters (`--chat`).
    Chat,
}

/// Transport of the remote endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    UnixStream,
    UnixDgram,
}

impl Proto {
    pub fn is_unix(self) -> bool {
        matches!(self, Proto::UnixStream | Proto::UnixDgram)
    }
    pub fn is_datagram(self) -> bool {
        matches!(self, Proto::Udp | Proto::UnixDgram)
    }
    /// ncat's NCAT_PROTO / message spelling.
    pub fn label(self) -> &'static str {
        match self {
            Proto::Tcp | Proto::UnixStream => "TCP",
            Proto::Udp | Proto::UnixDgram => "UDP",
        }
    }
}

/// Address family restriction (`-4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Any,
    V4,
    V6,
}

/// Where to connect to, or where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A host name or literal address and a port. For a listener the host is the
    /// bind address; `None` means "every local address" (v4 and v6).
    Inet { host: Option<String>, port: u16 },
    /// A Unix socket path; a leading `@` names a Linux abstract socket.
    Unix(PathBuf),
}

/// The EOF and half-close policy of one session (reference §2 and §6).
///
/// The relay consults only this; `relay::eof` turns it into actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EofPolicy {
    /// Read standard input at all (false: `--recv-only`, `--no-stdin`, OpenBSD `-d`).
    pub read_stdin: bool,
    /// Deliver what the peer sends to standard output (false: `--send-only`).
    pub write_stdout: bool,
    /// Half-close the connection (SHUT_WR, TLS close_notify) once stdin has ended
    /// and its data is sent (false: `--no-shutdown`).
    pub shutdown_on_stdin_eof: bool,
    /// Quit this long after stdin EOF (`-q T`; `--send-only` quits at once).
    /// `None`: stdin EOF alone never ends the session.
    pub quit_after_stdin_eof: Option<Duration>,
    /// Quit when the peer has finished sending (false: connect-mode `-k`).
    pub quit_on_socket_eof: bool,
}

impl Default for EofPolicy {
    fn default() -> Self {
        EofPolicy {
            read_stdin: true,
            write_stdout: true,
            shutdown_on_stdin_eof: true,
            quit_after_stdin_eof: None,
            quit_on_socket_eof: true,
        }
    }
}

/// Timers other than the EOF policy's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Bound on connection establishment (`-w`).
    pub connect: Option<Duration>,
    /// Quit when nothing has moved in either direction for this long (ncat `-i`,
    /// OpenBSD `-w`).
    pub idle: Option<Duration>,
    /// Like `idle`, but armed only once stdin has ended (traditional `-w`).
    pub idle_after_stdin_eof: Option<Duration>,
}

/// Files that record the session's data (`-o`, `-x`, traditional `-o`);
/// `dump::Dump::open` opens them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// Raw bytes of both directions in time order (`-o`, `--output`).
    pub raw: Option<PathBuf>,
    /// Hex dump in ncat's format (`-x`, `--hex-dump`).
    pub hex: Option<PathBuf>,
    /// Hex dump in traditional nc's format (traditional `-o`).
    pub trad_hex: Option<PathBuf>,
    /// Append to the files instead of truncating them (`--append-output`).
    pub append: bool,
}

impl DumpOptions {
    pub fn any(&self) -> bool {
        self.raw.is_some() || self.hex.is_some() || self.trad_hex.is_some()
    }
}

/// Options that look at the bytes themselves; any of them turns off the
/// zero-copy path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByteOptions {
    /// Sleep this long after each chunk read from stdin (ncat `-d`).
    pub delay: Option<Duration>,
    /// Send stdin one line at a time, sleeping this long after each (OpenBSD and
    /// traditional `-i`).
    pub line_interval: Option<Duration>,
    /// LF → CRLF on data read from stdin (`-C`); see `transform::Crlf`.
    pub crlf: bool,
    /// Answer telnet negotiation from the peer (`-t`); see `transform::Telnet`.
    pub telnet: bool,
    /// Session logs; see `dump::Dump`.
    pub dump: DumpOptions,
}

impl ByteOptions {
    pub fn any(&self) -> bool {
        self.delay.is_some()
            || self.line_interval.is_some()
            || self.crlf
            || self.telnet
            || self.dump.any()
    }
}

/// Socket options passed through to the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SockOptions {
    /// SO_SNDBUF (`-O`).
    pub send_buffer: Option<usize>,
    /// SO_RCVBUF (`-I`).
    pub recv_buffer: Option<usize>,
    /// SO_BROADCAST (`-b`).
    pub broadcast: bool,
    /// SO_KEEPALIVE (traditional `-k`).
    pub keepalive: bool,
    /// IP_TOS (`-T`).
    pub tos: Option<u8>,
    /// IP_TTL / IPV6_UNICAST_HOPS (`-M`).
    pub ttl: Option<u32>,
}

/// TLS settings (`--ssl*`), consumed by `tls`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub verify: bool,
    pub trustfile: Option<PathBuf>,
    pub servername: Option<String>,
    pub alpn: Vec<String>,
    pub ciphers: Option<String>,
}

/// The protocol spoken to a proxy (`--proxy-type`, `-X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP `CONNECT` (`-X connect`).
    Http,
    /// SOCKS4, or SOCKS4a when the proxy resolves the name (`-X 4`).
    Socks4,
    /// SOCKS5, RFC 1928 (`-X 5`).
    Socks5,
}

impl ProxyKind {
    /// The default port of a proxy of this kind.
    pub fn default_port(self) -> u16 {
        match self {
            ProxyKind::Http => 3128,
            ProxyKind::Socks4 | ProxyKind::Socks5 => 1080,
        }
    }
}

/// Who resolves the target's name when connecting through a proxy (`--proxy-dns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyDns {
    /// rnc resolves it and sends the address.
    Local,
    /// The proxy resolves it: rnc sends the name.
    Remote,
    /// rnc tries first; a name it cannot resolve goes to the proxy.
    Both,
    /// Nobody: the target must be a numeric address.
    None,
}

/// Serve as an HTTP proxy (`-l --proxy-type http`); see `proxy::server`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyServer {
    /// `--proxy-auth USER:PASS`: clients must authenticate, Basic or Digest.
    pub auth: Option<(String, String)>,
}

/// Connect through a proxy (`--proxy`, OpenBSD `-x`); see `proxy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySpec {
    /// The proxy's host name or literal address (without brackets).
    pub host: String,
    pub port: u16,
    pub kind: ProxyKind,
    /// User and password (`--proxy-auth`, NCAT_PROXY_AUTH, OpenBSD `-P`).
    pub auth: Option<(String, String)>,
    pub dns: ProxyDns,
}

impl ProxySpec {
    /// `host:port`, with brackets around an IPv6 address, for messages.
    pub fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// `--on-close`: what to run after a connection closes, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookSpec {
    /// The program and its arguments (see `hook::resolve`).
    pub argv: Vec<String>,
    /// At most this much of what the client sent is given to the hook (`--hook-max-input`).
    pub max_input: usize,
    /// A hook still running after this long is killed (`--hook-timeout`).
    pub timeout: Option<std::time::Duration>,
    /// With `-k`: a burst of connections runs the hook once, with the latest
    /// connection's data (`--hook-coalesce`).
    pub coalesce: bool,
}

/// Everything a run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub personality: Personality,
    /// Program name for messages that carry it (OpenBSD prints argv[0]).
    pub prog: String,
    pub role: Role,
    pub proto: Proto,
    pub family: Family,
    /// Connect: the target. Listen: the bind address.
    pub address: Address,
    /// Connect mode: local address to bind before connecting (`-s`); for Unix
    /// datagram sockets, the local socket path.
    pub source: Option<String>,
    /// Connect mode: local port to bind before connecting (`-p`).
    pub source_port: Option<u16>,
    /// Never resolve names (`-n`).
    pub numeric: bool,
    /// Connect mode: do not quit on socket EOF; listen mode: serve many clients.
    pub keep_open: bool,
    /// Listen mode with `keep_open`: clients served at once (`-m`).
    pub max_conns: usize,
    /// Run this program per connection (`-e`, split on blanks; `-c` becomes
    /// `/bin/sh -c CMD`), its stdin and stdout joined to the socket.
    pub exec: Option<Vec<String>>,
    /// Run a hook after each connection has closed (`--on-close`).
    pub on_close: Option<HookSpec>,
    /// Listen mode with `keep_open`: where client data goes (`--broker`,
    /// `--chat`; both imply `keep_open`).
    pub fanout: Fanout,
    pub eof: EofPolicy,
    pub timeouts: Timeouts,
    pub bytes: ByteOptions,
    pub sock: SockOptions,
    pub tls: Option<TlsOptions>,
    /// 0 = quiet; 1 = `-v`; 2+ = debug.
    pub verbose: u8,
    /// Print `NCAT TEST: LISTEN` once listening (ncat's `--test`).
    pub test_banner: bool,
    /// Listen mode: which clients are admitted (`--allow`, `--deny` and their
    /// file forms); `None` admits everyone. Names are already resolved.
    pub access: Option<AccessList>,
    /// Zero-I/O mode (`-z`): instead of a session, probe these ports of the
    /// target, in this order (lists and ranges expanded; see `scan`).
    pub zero_io: Option<Vec<u16>>,
    /// Connect mode: reach the target through this proxy.
    pub proxy: Option<ProxySpec>,
    /// Listen mode: be an HTTP proxy (`proxy::server`).
    pub proxy_server: Option<ProxyServer>,
}
