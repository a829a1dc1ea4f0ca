//! Addresses and sockets: name resolution, connecting (with `-s`, `-p`, `-w`),
//! listening (v4 + v6, Unix paths and abstract names, stale-socket recovery) and
//! the socket options of `Config::sock`.

use crate::config::{Address, Config, Family, Proto, SockOptions};
use crate::error::{Error, Result};
use crate::log::{describe, Log};
use socket2::{Domain, SockAddr, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixDatagram, UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// A connected socket, ready for the relay.
#[derive(Debug)]
pub struct Remote {
    pub fd: OwnedFd,
    pub proto: Proto,
    pub local: Option<SocketAddr>,
    pub peer: Option<SocketAddr>,
}

/// Resolve `host` to addresses of the requested family, in resolver order.
pub fn resolve(
    host: &str,
    port: u16,
    family: Family,
    numeric: bool,
    log: &Log,
) -> Result<Vec<SocketAddr>> {
    let literal = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let addrs: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None if numeric => {
            return Err(Error::usage(
                host,
                "not a numeric address, and -n forbids name lookups",
            ))
        }
        None => match (host, port).to_socket_addrs() {
            Ok(it) => it.collect(),
            Err(e) => {
                let why = e.to_string();
                let why = why
                    .rsplit(": ")
                    .next()
                    .unwrap_or("lookup failed")
                    .to_string();
                return Err(log.resolve_failed(host, &why));
            }
        },
    };
    let filtered: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match family {
            Family::Any => true,
            Family::V4 => a.is_ipv4(),
            Family::V6 => a.is_ipv6(),
        })
        .collect();
    if filtered.is_empty() {
        return Err(log.resolve_failed(host, "Address family for hostname not supported"));
    }
    Ok(filtered)
}

fn apply(sock: &Socket, o: &SockOptions, v6: bool) -> io::Result<()> {
    if let Some(n) = o.send_buffer {
        sock.set_send_buffer_size(n)?;
    }
    if let Some(n) = o.recv_buffer {
        sock.set_recv_buffer_size(n)?;
    }
    if o.broadcast {
        sock.set_broadcast(true)?;
    }
    if o.keepalive {
        sock.set_keepalive(true)?;
    }
    if let Some(tos) = o.tos {
        if v6 {
            sock.set_tclass_v6(u32::from(tos))?;
        } else {
            sock.set_tos_v4(u32::from(tos))?;
        }
    }
    if let Some(ttl) = o.ttl {
        if v6 {
            sock.set_unicast_hops_v6(ttl)?;
        } else {
            sock.set_ttl_v4(ttl)?;
        }
    }
    Ok(())
}

fn sock_err(what: &str, e: &io::Error) -> Error {
    Error::usage(what, describe(e))
}

fn new_socket(addr: &SocketAddr, ty: Type, cfg: &Config) -> Result<Socket> {
    let domain = Domain::for_address(*addr);
    let proto = if ty == Type::STREAM {
        socket2::Protocol::TCP
    } else {
        socket2::Protocol::UDP
    };
    let sock =
        Socket::new(domain, ty.cloexec(), Some(proto)).map_err(|e| sock_err("socket", &e))?;
    apply(&sock, &cfg.sock, addr.is_ipv6()).map_err(|e| sock_err("socket option", &e))?;
    Ok(sock)
}

/// The local address to bind before connecting (`-s`, `-p`), for `target`'s family.
fn source_addr(cfg: &Config, target: &SocketAddr, log: &Log) -> Result<Option<SocketAddr>> {
    let ip = match &cfg.source {
        Some(s) => {
            let fam = if target.is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            Some(resolve(s, 0, fam, cfg.numeric, log)?[0].ip())
        }
        None => None,
    };
    Ok(match (ip, cfg.source_port) {
        (None, None) => None,
        (ip, port) => {
            let unspec = if target.is_ipv4() {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            };
            Some(SocketAddr::new(ip.unwrap_or(unspec), port.unwrap_or(0)))
        }
    })
}

/// A socket for connecting to `addr`, with the socket options applied and
/// bound to the source address and port (`-s`, `-p`) when they are given.
pub(crate) fn client_socket(
    addr: &SocketAddr,
    ty: Type,
    cfg: &Config,
    log: &Log,
) -> Result<Socket> {
    let sock = new_socket(addr, ty, cfg)?;
    if let Some(src) = source_addr(cfg, addr, log)? {
        if src.port() != 0 {
            let _ = sock.set_reuse_address(true);
        }
        sock.bind(&src.into())
            .map_err(|e| Error::network(format!("rnc: bind to {src} : {}", describe(&e))))?;
    }
    Ok(sock)
}

/// Connect mode: a connected socket to the configured target.
pub fn connect(cfg: &Config, log: &Log) -> Result<Remote> {
    match (&cfg.address, cfg.proto) {
        (Address::Unix(path), Proto::UnixStream) => connect_unix_stream(path, log),
        (Address::Unix(path), Proto::UnixDgram) => connect_unix_dgram(path, cfg, log),
        (
            Address::Inet {
                host: Some(host),
                port,
            },
            proto,
        ) => connect_inet(host, *port, proto, cfg, log),
        _ => Err(Error::usage("address", "no target to connect to")),
    }
}

pub(crate) fn connect_inet(
    host: &str,
    port: u16,
    proto: Proto,
    cfg: &Config,
    log: &Log,
) -> Result<Remote> {
    let addrs = resolve(host, port, cfg.family, cfg.numeric, log)?;
    let ty = if proto == Proto::Udp {
        Type::DGRAM
    } else {
        Type::STREAM
    };
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for addr in &addrs {
        let sock = client_socket(addr, ty, cfg, log)?;
        let res = match cfg.timeouts.connect {
            Some(t) if ty == Type::STREAM => sock.connect_timeout(&(*addr).into(), t),
            _ => sock.connect(&(*addr).into()),
        };
        match res {
            Ok(()) => {
                sock.set_nonblocking(true)
                    .map_err(|e| sock_err("socket", &e))?;
                if ty == Type::STREAM {
                    let _ = sock.set_tcp_nodelay(false);
                }
                let local = sock.local_addr().ok().and_then(|a| a.as_socket());
                return Ok(Remote {
                    fd: sock.into(),
                    proto,
                    local,
                    peer: Some(*addr),
                });
            }
            Err(e) => last = Some((*addr, e)),
        }
    }
    let (addr, e) = last.unwrap_or((
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        io::Error::from(io::ErrorKind::AddrNotAvailable),
    ));
    Err(log.connect_failed(host, Some(&addr), port, proto, &e))
}

/// A Unix socket address; `@name` is a Linux abstract name.
pub fn unix_addr(path: &Path) -> Result<UnixAddr> {
    let s = path.as_os_str().as_encoded_bytes();
    let r = if let Some(name) = s.strip_prefix(b"@") {
        UnixAddr::from_abstract_name(name)
    } else {
        UnixAddr::from_pathname(path)
    };
    r.map_err(|e| Error::usage(path.display(), describe(&e)))
}

fn connect_unix_stream(path: &Path, log: &Log) -> Result<Remote> {
    let addr = unix_addr(path)?;
    let s = UnixStream::connect_addr(&addr).map_err(|e| {
        log.connect_failed(&path.display().to_string(), None, 0, Proto::UnixStream, &e)
    })?;
    s.set_nonblocking(true)
        .map_err(|e| sock_err("socket", &e))?;
    Ok(Remote {
        fd: s.into(),
        proto: Proto::UnixStream,
        local: None,
        peer: None,
    })
}

fn connect_unix_dgram(path: &Path, cfg: &Config, log: &Log) -> Result<Remote> {
    let target = unix_addr(path)?;
    // A datagram client needs an address of its own for replies: `-s PATH`, or an
    // abstract name private to this process.
    let local = match &cfg.source {
        Some(p) => unix_addr(Path::new(p))?,
        None => {
            let name = format!("rnc-{}-{}", std::process::id(), nanos());
            UnixAddr::from_abstract_name(name.as_bytes()).map_err(|e| sock_err("socket", &e))?
        }
    };
    let s = UnixDatagram::bind_addr(&local).map_err(|e| sock_err("bind", &e))?;
    s.connect_addr(&target).map_err(|e| {
        log.connect_failed(&path.display().to_string(), None, 0, Proto::UnixDgram, &e)
    })?;
    s.set_nonblocking(true)
        .map_err(|e| sock_err("socket", &e))?;
    Ok(Remote {
        fd: s.into(),
        proto: Proto::UnixDgram,
        local: None,
        peer: None,
    })
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// Bound listening sockets (not yet accepting), with the cleanup they need.
#[derive(Debug)]
pub struct Listeners {
    pub socks: Vec<(OwnedFd, Option<SocketAddr>)>,
    pub proto: Proto,
    /// A Unix socket file to remove at exit.
    pub unix_path: Option<PathBuf>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        if let Some(p) = &self.unix_path {
            let _ = std::fs::remove_file(p);
        }
    }
}

const BACKLOG: i32 = 1024;

/// Listening sockets handed over by systemd socket activation
/// (`LISTEN_PID` = our pid, `LISTEN_FDS` = N: fds 3 .. 3+N). They replace
/// binding; the variables are removed so that children do not see them.
fn activated_sockets(proto: Proto) -> Result<Option<Listeners>> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let n = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<i32>().ok())
        .unwrap_or(0);
    if !pid_ok || n < 1 {
        return Ok(None);
    }
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    let mut socks = Vec::new();
    for raw in 3..3 + n {
        // SAFETY: systemd passes these descriptors to this process for it to
        // own; nothing else in rnc has opened or owns fds 3.. at this point.
        let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) };
        let sock = socket2::SockRef::from(&fd);
        if sock.r#type().ok() != Some(Type::STREAM) {
            return Err(Error::usage(
                format!("LISTEN_FDS (fd {raw})"),
                "only stream sockets can be passed (use ListenStream=)",
            ));
        }
        let _ = sock.set_nonblocking(true);
        let _ = sock.set_cloexec(true);
        let local = sock.local_addr().ok().and_then(|a| a.as_socket());
        socks.push((fd, local));
    }
    let proto = if socks.iter().all(|(_, a)| a.is_none()) {
        Proto::UnixStream
    } else {
        proto
    };
    Ok(Some(Listeners {
        socks,
        proto,
        unix_path: None,
    }))
}

/// Listen mode: bind every socket the configuration asks for (or take the
/// ones systemd passed).
pub fn listen(cfg: &Config, log: &Log) -> Result<Listeners> {
    if !cfg.proto.is_datagram() {
        if let Some(l) = activated_sockets(cfg.proto)? {
            return Ok(l);
        }
    }
    match &cfg.address {
        Address::Unix(path) => listen_unix(path, cfg.proto, log),
        Address::Inet { host, port } => listen_inet(host.as_deref(), *port, cfg, log),
    }
}

fn listen_inet(host: Option<&str>, port: u16, cfg: &Config, log: &Log) -> Result<Listeners> {
    // Port 0 on both families: the port the system picked for IPv6 may be in
    // use for IPv4. Pick again rather than quietly serving IPv6 only.
    let dual_any = host.is_none() && port == 0 && cfg.family == Family::Any;
    let mut attempt = 0;
    loop {
        let l = listen_inet_once(host, port, cfg, log)?;
        attempt += 1;
        if !dual_any || l.socks.len() == 2 || attempt == 16 {
            return Ok(l);
        }
    }
}

fn listen_inet_once(host: Option<&str>, port: u16, cfg: &Config, log: &Log) -> Result<Listeners> {
    let ty = if cfg.proto == Proto::Udp {
        Type::DGRAM
    } else {
        Type::STREAM
    };
    let addrs: Vec<SocketAddr> = match host {
        Some(h) => {
            let mut a = resolve(h, port, cfg.family, cfg.numeric, log)?;
            a.truncate(1);
            a
        }
        None => {
            let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
            match cfg.family {
                Family::Any => vec![v6, v4],
                Family::V4 => vec![v4],
                Family::V6 => vec![v6],
            }
        }
    };
    let mut socks = Vec::new();
    let mut chosen_port = port;
    let mut first_err = None;
    for mut addr in addrs.iter().copied() {
        if host.is_none() && chosen_port != 0 {
            // Port 0 on a dual listener: the second socket takes the first one's port.
            addr.set_port(chosen_port);
        }
        let sock = new_socket(&addr, ty, cfg)?;
        let _ = sock.set_reuse_address(true);
        if addr.is_ipv6() {
            let _ = sock.set_only_v6(true);
        }
        let res = sock.bind(&addr.into()).and_then(|()| {
            if ty == Type::STREAM {
                sock.listen(BACKLOG)
            } else {
                Ok(())
            }
        });
        match res {
            Ok(()) => {
                let _ = sock.set_nonblocking(true);
                let local = sock.local_addr().ok().and_then(|a| a.as_socket());
                if let Some(l) = local {
                    chosen_port = l.port();
                }
                socks.push((OwnedFd::from(sock), local));
            }
            Err(e) => {
                // A host without IPv6 still serves IPv4 (and vice versa).
                if first_err.is_none() {
                    first_err = Some((addr, e));
                }
            }
        }
    }
    if socks.is_empty() || (host.is_some() && first_err.is_some()) {
        let (addr, e) = first_err.unwrap_or((
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            io::Error::from(io::ErrorKind::AddrNotAvailable),
        ));
        return Err(Error::with_code(bind_failed(log, &addr.to_string(), &e), 2));
    }
    Ok(Listeners {
        socks,
        proto: cfg.proto,
        unix_path: None,
    })
}

fn bind_failed(log: &Log, what: &str, e: &io::Error) -> String {
    match log.personality {
        crate::config::Personality::Ncat => {
            format!("Ncat: bind to {what}: {}. QUITTING.", describe(e))
        }
        _ => format!("{}: bind to {what} : {}", log.prog, describe(e)),
    }
}

fn listen_unix(path: &Path, proto: Proto, log: &Log) -> Result<Listeners> {
    let addr = unix_addr(path)?;
    let abstract_name = addr.as_abstract_name().is_some();
    if !abstract_name {
        remove_stale_socket(path, proto, log)?;
    }
    let fd: OwnedFd = if proto == Proto::UnixDgram {
        let s = UnixDatagram::bind_addr(&addr)
            .map_err(|e| Error::with_code(bind_failed(log, &path.display().to_string(), &e), 2))?;
        s.set_nonblocking(true)
            .map_err(|e| sock_err("socket", &e))?;
        s.into()
    } else {
        let s = UnixListener::bind_addr(&addr)
            .map_err(|e| Error::with_code(bind_failed(log, &path.display().to_string(), &e), 2))?;
        s.set_nonblocking(true)
            .map_err(|e| sock_err("socket", &e))?;
        s.into()
    };
    Ok(Listeners {
        socks: vec![(fd, None)],
        proto,
        unix_path: (!abstract_name).then(|| path.to_path_buf()),
    })
}

/// A socket file left behind by an earlier listener that is gone is removed, so
/// that a Unix listener can be restarted on the same path; a live one is not.
fn remove_stale_socket(path: &Path, proto: Proto, log: &Log) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    let in_use = io::Error::from_raw_os_error(nix::libc::EADDRINUSE);
    if !meta.file_type().is_socket() {
        return Err(Error::with_code(
            bind_failed(log, &path.display().to_string(), &in_use),
            2,
        ));
    }
    let alive = if proto == Proto::UnixDgram {
        UnixDatagram::unbound()
            .and_then(|s| s.connect(path))
            .is_ok()
    } else {
        UnixStream::connect(path).is_ok()
    };
    if alive {
        return Err(Error::with_code(
            bind_failed(log, &path.display().to_string(), &in_use),
            2,
        ));
    }
    std::fs::remove_file(path).map_err(|e| Error::usage(path.display(), describe(&e)))
}

/// Accept one stream connection on a non-blocking listener.
pub fn accept(listener: &OwnedFd) -> io::Result<(OwnedFd, Option<SocketAddr>)> {
    let sock = socket2::SockRef::from(listener);
    // One system call: non-blocking and close-on-exec from the start.
    let (s, addr) = sock.accept4(nix::libc::SOCK_NONBLOCK | nix::libc::SOCK_CLOEXEC)?;
    Ok((s.into(), addr.as_socket()))
}

/// Whether a listening socket has a connection waiting to be accepted.
///
/// Asking poll(2) costs a fraction of an accept(2) that finds the backlog
/// empty: Linux allocates the new socket's inode and file before it looks at
/// the queue, and frees them again on EAGAIN (about 5 us against 0.5 us on
/// the benchmark VM).
pub fn backlog_pending(listener: &OwnedFd) -> bool {
    // (A failed poll counts as ready: accept(2) then finds out.)
    crate::sys::ready_now(listener.as_fd(), nix::poll::PollFlags::POLLIN)
}

/// Receive a datagram on an unconnected socket, with its sender.
pub fn recv_from(sock: &OwnedFd, buf: &mut [u8]) -> io::Result<(usize, SockAddr)> {
    let s = socket2::SockRef::from(sock);
    // SAFETY: `MaybeUninit<u8>` has the same layout as `u8`, and an initialised
    // buffer is a valid uninitialised one; recv only writes into it.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
    s.recv_from(uninit)
}

/// Lock a datagram socket onto its first peer.
pub fn connect_to(sock: &OwnedFd, peer: &SockAddr) -> io::Result<()> {
    socket2::SockRef::from(sock).connect(peer)
}

pub fn local_addr(fd: &OwnedFd) -> Option<SocketAddr> {
    socket2::SockRef::from(fd)
        .local_addr()
        .ok()
        .and_then(|a| a.as_socket())
}

pub fn shutdown_write(fd: &OwnedFd) -> io::Result<()> {
    socket2::SockRef::from(fd).shutdown(std::net::Shutdown::Write)
}

/// How long a listener waits before accepting again after a shortage.
pub const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether accept(2) failed for want of descriptors or memory, which time
/// (clients leaving) can cure.
pub fn accept_shortage(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EMFILE | nix::libc::ENFILE | nix::libc::ENOBUFS | nix::libc::ENOMEM)
    )
}

/// Split `HOST[:PORT]`, `[V6]` or `[V6]:PORT` (a bare IPv6 address, with its
/// several colons, has no port): the host without brackets and the port text.
pub fn split_host_port(s: &str) -> std::result::Result<(&str, Option<&str>), &'static str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, tail) = rest.split_once(']').ok_or("missing ]")?;
        match tail {
            "" => (h, None),
            t => (h, Some(t.strip_prefix(':').ok_or("junk after ]")?)),
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) if !p.contains(':') => (h, Some(p)),
            _ => (s, None),
        }
    };
    if host.is_empty() {
        return Err("no host");
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn splits_hosts_and_ports() {
        for (s, want) in [
            ("h", Ok(("h", None))),
            ("h:80", Ok(("h", Some("80")))),
            ("[::1]", Ok(("::1", None))),
            ("[::1]:80", Ok(("::1", Some("80")))),
            ("::1", Ok(("::1", None))),
            ("h:", Ok(("h", Some("")))),
            ("[::1", Err("missing ]")),
            ("[::1]80", Err("junk after ]")),
            (":80", Err("no host")),
            ("[]:80", Err("no host")),
        ] {
            assert_eq!(split_host_port(s), want, "{s}");
        }
    }
}
