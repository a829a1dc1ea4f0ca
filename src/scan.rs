//! `-z`: zero-I/O connect checks of one host's ports (reference §1.1, §2.11,
//! §3.10, §3.11).
//!
//! The ports come from `Config::zero_io`, already expanded from lists and
//! ranges (`22`, `20-25`, `22,80,443`, several arguments) in the order to
//! probe them: as given, ranges ascending, except in the traditional
//! personality, which walks each range downwards as traditional nc does.
//! ncat itself takes a single port; rnc accepts lists and ranges in every
//! personality. Each port is tried on the target's addresses in resolver
//! order until one answers.
//!
//! **TCP:** a connect with the `-w` timeout, or [`TCP_TIMEOUT`] without `-w`
//! (so that a filtered port cannot stall a scan for the kernel's two minutes),
//! then an immediate close.
//!
//! **UDP** (`-u`): connect the socket, send one zero-length datagram, then wait
//! `-w` (default [`UDP_WAIT`]) for an answer. A closed port answers with an
//! ICMP port-unreachable, which the kernel reports as ECONNREFUSED on the
//! connected socket; any datagram back means open; silence counts as open too
//! (open or filtered: UDP cannot tell).
//!
//! With OpenBSD and traditional `-i T`, rnc sleeps T between ports.
//!
//! **Reports** go to stderr, only with `-v` (nothing is printed without it):
//! - ncat: `Ncat: Connected to 127.0.0.1:22.` for each open port, and at the
//!   end, when a port was open, `Ncat: 0 bytes sent, 0 bytes received in 0.01
//!   seconds.`. A single closed port gives `Ncat: Connection refused.` (or
//!   `Ncat: TIMEOUT.`), as in ncat; with several ports, closed ones are shown
//!   only with `-vv`: `Ncat: Connection to 127.0.0.1:23 failed: Connection
//!   refused.`;
//! - OpenBSD: `Connection to 127.0.0.1 22 port [tcp/ssh] succeeded!` and
//!   `nc: connect to 127.0.0.1 port 23 (tcp) failed: Connection refused`
//!   (`localhost (127.0.0.1)` when a name was given; service names come from
//!   /etc/services, `*` when unknown);
//! - traditional: `localhost [127.0.0.1] 22 (ssh) open` (`(UNKNOWN)` for a
//!   numeric host, as `nc.traditional -n` prints, since rnc does no reverse
//!   lookups; `?` for an unknown service); a closed port is shown with `-v`
//!   when it is the only one, else with `-vv`; `-vv` ends with ` sent 0, rcvd 0`.
//!
//! **Exit status:** 0 if any port is open, 1 otherwise.

use crate::config::{Address, Config, Personality, Proto};
use crate::error::{Error, Result};
use crate::log::{describe, emit, ncat_addr, Log};
use crate::net;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use socket2::{Socket, Type};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// TCP connect timeout when `-w` is not given.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a UDP probe waits for a refusal when `-w` is not given.
pub const UDP_WAIT: Duration = Duration::from_secs(1);

/// What probing one port found.
#[derive(Debug)]
enum Outcome {
    Open(SocketAddr),
    Closed(SocketAddr, io::Error),
}

/// The whole of a `-z` run: standard descriptors made safe, the version
/// banner (ncat `-v`), then [`run`].
pub fn main(cfg: &Config) -> Result<i32> {
    // A closed fd 2 must not become a socket that messages get written to.
    crate::sys::ensure_std_fds();
    let log = Log {
        personality: cfg.personality,
        prog: cfg.prog.clone(),
        verbose: cfg.verbose,
    };
    log.version_banner();
    run(cfg, &log)
}

/// Probe every port of `cfg.zero_io` (or the address's port) and report;
/// returns the exit code. Setup failures (resolution, socket creation, `-s`
/// or `-p` bind) are errors; closed ports are not.
pub fn run(cfg: &Config, log: &Log) -> Result<i32> {
    let started = Instant::now();
    let (host, port) = match &cfg.address {
        Address::Inet {
            host: Some(h),
            port,
        } => (h.as_str(), *port),
        _ => return Err(Error::usage("-z", "needs a host and a port")),
    };
    if !matches!(cfg.proto, Proto::Tcp | Proto::Udp) {
        return Err(Error::usage("-z", "only TCP and UDP ports can be checked"));
    }
    let single = [port];
    let ports: &[u16] = cfg.zero_io.as_deref().unwrap_or(&single);
    let addrs = net::resolve(host, 0, cfg.family, cfg.numeric, log)?;
    let mut report = Reporter::new(cfg, log, host, ports.len());
    let mut any_open = false;
    for (i, &port) in ports.iter().enumerate() {
        if i > 0 {
            if let Some(pause) = cfg.bytes.line_interval {
                std::thread::sleep(pause);
            }
        }
        let outcome = probe_port(cfg, log, &addrs, port)?;
        any_open |= matches!(outcome, Outcome::Open(_));
        report.outcome(&outcome);
    }
    if any_open || cfg.personality != Personality::Ncat {
        log.summary(0, 0, started.elapsed().as_secs_f64());
    }
    Ok(if any_open { 0 } else { 1 })
}

fn probe_port(cfg: &Config, log: &Log, addrs: &[SocketAddr], port: u16) -> Result<Outcome> {
    let mut last = None;
    for a in addrs {
        let addr = SocketAddr::new(a.ip(), port);
        let res = if cfg.proto == Proto::Udp {
            probe_udp(&addr, cfg, log)?
        } else {
            probe_tcp(&addr, cfg, log)?
        };
        match res {
            Ok(()) => return Ok(Outcome::Open(addr)),
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, e) = last.unwrap_or_else(|| {
        (
            SocketAddr::new(IpAddr::from([0, 0, 0, 0]), port),
            io::Error::from(io::ErrorKind::AddrNotAvailable),
        )
    });
    Ok(Outcome::Closed(addr, e))
}

/// A timeout as the kernel words it ("Connection timed out").
fn timed_out() -> io::Error {
    io::Error::from_raw_os_error(nix::libc::ETIMEDOUT)
}

fn probe_tcp(addr: &SocketAddr, cfg: &Config, log: &Log) -> Result<io::Result<()>> {
    let sock = net::client_socket(addr, Type::STREAM, cfg, log)?;
    let limit = cfg.timeouts.connect.unwrap_or(TCP_TIMEOUT);
    Ok(match sock.connect_timeout(&(*addr).into(), limit) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(timed_out()),
        Err(e) => Err(e),
    })
}

fn probe_udp(addr: &SocketAddr, cfg: &Config, log: &Log) -> Result<io::Result<()>> {
    let sock = net::client_socket(addr, Type::DGRAM, cfg, log)?;
    let wait = cfg.timeouts.connect.unwrap_or(UDP_WAIT);
    Ok(udp_exchange(&sock, addr, wait))
}

fn udp_exchange(sock: &Socket, addr: &SocketAddr, wait: Duration) -> io::Result<()> {
    sock.connect(&(*addr).into())?;
    sock.set_nonblocking(true)?;
    sock.send(&[])?;
    let deadline = Instant::now() + wait;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, timeout) {
            Ok(0) => return Ok(()),
            Ok(_) => match sock.recv(&mut buf) {
                // Any answer, even an empty datagram, means something listens.
                Ok(_) => return Ok(()),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            },
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// Service names from /etc/services, by (port, "tcp"/"udp").
fn load_services() -> HashMap<(u16, String), String> {
    let text = std::fs::read("/etc/services").unwrap_or_default();
    parse_services(&String::from_utf8_lossy(&text))
}

fn parse_services(text: &str) -> HashMap<(u16, String), String> {
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
            continue;
        };
        let Some((port, proto)) = port_proto.split_once('/') else {
            continue;
        };
        if let Ok(port) = port.parse::<u16>() {
            map.entry((port, proto.to_ascii_lowercase()))
                .or_insert_with(|| name.to_string());
        }
    }
    map
}

/// Prints each port's outcome in the personality's words.
struct Reporter<'a> {
    log: &'a Log,
    host: &'a str,
    /// The host was given as a literal address.
    numeric: bool,
    proto: &'static str,
    several: bool,
    services: Option<HashMap<(u16, String), String>>,
}

impl<'a> Reporter<'a> {
    fn new(cfg: &Config, log: &'a Log, host: &'a str, ports: usize) -> Reporter<'a> {
        let wants_services = log.verbose > 0 && log.personality != Personality::Ncat;
        Reporter {
            log,
            host,
            numeric: host.parse::<IpAddr>().is_ok(),
            proto: if cfg.proto == Proto::Udp {
                "udp"
            } else {
                "tcp"
            },
            several: ports > 1,
            services: wants_services.then(load_services),
        }
    }

    fn service(&self, port: u16) -> Option<&str> {
        self.services
            .as_ref()
            .and_then(|m| m.get(&(port, self.proto.to_string())))
            .map(String::as_str)
    }

    fn outcome(&mut self, o: &Outcome) {
        if let Some(line) = self.line(o) {
            emit(&line);
        }
    }

    /// The line to print for `o` at this verbosity, if any.
    fn line(&self, o: &Outcome) -> Option<String> {
        let v = self.log.verbose;
        if v == 0 {
            return None;
        }
        match (self.log.personality, o) {
            (Personality::Ncat, Outcome::Open(a)) => {
                Some(format!("Ncat: Connected to {}.", ncat_addr(a)))
            }
            (Personality::Ncat, Outcome::Closed(a, e)) => {
                if !self.several {
                    Some(if e.raw_os_error() == Some(nix::libc::ETIMEDOUT) {
                        "Ncat: TIMEOUT.".to_string()
                    } else {
                        format!("Ncat: {}.", describe(e))
                    })
                } else if v > 1 {
                    Some(format!(
                        "Ncat: Connection to {} failed: {}.",
                        ncat_addr(a),
                        describe(e)
                    ))
                } else {
                    None
                }
            }
            (Personality::OpenBsd, Outcome::Open(a)) => Some(format!(
                "Connection to {} {} port [{}/{}] succeeded!",
                self.obsd_host(a.ip()),
                a.port(),
                self.proto,
                self.service(a.port()).unwrap_or("*")
            )),
            (Personality::OpenBsd, Outcome::Closed(a, e)) => Some(format!(
                "{}: connect to {} port {} ({}) failed: {}",
                self.log.prog,
                self.obsd_host(a.ip()),
                a.port(),
                self.proto,
                describe(e)
            )),
            (Personality::Traditional, Outcome::Open(a)) => Some(format!(
                "{} {} ({}) open",
                self.trad_host(a.ip()),
                a.port(),
                self.service(a.port()).unwrap_or("?")
            )),
            (Personality::Traditional, Outcome::Closed(a, e)) => {
                (v > 1 || !self.several).then(|| {
                    format!(
                        "{} {} ({}) : {}",
                        self.trad_host(a.ip()),
                        a.port(),
                        self.service(a.port()).unwrap_or("?"),
                        describe(e)
                    )
                })
            }
        }
    }

    /// `127.0.0.1`, or `localhost (127.0.0.1)` for a name.
    fn obsd_host(&self, ip: IpAddr) -> String {
        if self.numeric {
            ip.to_string()
        } else {
            format!("{} ({ip})", self.host)
        }
    }

    /// `localhost [127.0.0.1]`, or `(UNKNOWN) [127.0.0.1]` for a literal.
    fn trad_host(&self, ip: IpAddr) -> String {
        if self.numeric {
            format!("(UNKNOWN) [{ip}]")
        } else {
            format!("{} [{ip}]", self.host)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(
        p: Personality,
        verbose: u8,
        host: &str,
        outcomes: &[Outcome],
        udp: bool,
    ) -> Vec<String> {
        let log = Log {
            personality: p,
            prog: "nc".into(),
            verbose,
        };
        let mut services = HashMap::new();
        services.insert((22, "tcp".to_string()), "ssh".to_string());
        services.insert((53, "udp".to_string()), "domain".to_string());
        let r = Reporter {
            log: &log,
            host,
            numeric: host.parse::<IpAddr>().is_ok(),
            proto: if udp { "udp" } else { "tcp" },
            several: outcomes.len() > 1,
            services: Some(services),
        };
        outcomes.iter().filter_map(|o| r.line(o)).collect()
    }

    fn open(s: &str) -> Outcome {
        Outcome::Open(s.parse().unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    fn refused(s: &str) -> Outcome {
        Outcome::Closed(
            s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
            io::Error::from_raw_os_error(nix::libc::ECONNREFUSED),
        )
    }

    fn timeout(s: &str) -> Outcome {
        Outcome::Closed(
            s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
            timed_out(),
        )
    }

    #[test]
    fn quiet_without_v() {
        for p in [
            Personality::Ncat,
            Personality::OpenBsd,
            Personality::Traditional,
        ] {
            let l = lines(
                p,
                0,
                "127.0.0.1",
                &[open("127.0.0.1:22"), refused("127.0.0.1:23")],
                false,
            );
            assert!(l.is_empty(), "{p:?}");
        }
    }

    #[test]
    fn ncat_lines() {
        let p = Personality::Ncat;
        assert_eq!(
            lines(p, 1, "127.0.0.1", &[open("127.0.0.1:22")], false),
            ["Ncat: Connected to 127.0.0.1:22."]
        );
        assert_eq!(
            lines(p, 1, "127.0.0.1", &[refused("127.0.0.1:23")], false),
            ["Ncat: Connection refused."]
        );
        assert_eq!(
            lines(p, 1, "127.0.0.1", &[timeout("127.0.0.1:23")], false),
            ["Ncat: TIMEOUT."]
        );
        let scan = [
            refused("127.0.0.1:21"),
            open("127.0.0.1:22"),
            refused("127.0.0.1:23"),
        ];
        assert_eq!(
            lines(p, 1, "127.0.0.1", &scan, false),
            ["Ncat: Connected to 127.0.0.1:22."]
        );
        assert_eq!(
            lines(p, 2, "127.0.0.1", &scan, false),
            [
                "Ncat: Connection to 127.0.0.1:21 failed: Connection refused.",
                "Ncat: Connected to 127.0.0.1:22.",
                "Ncat: Connection to 127.0.0.1:23 failed: Connection refused."
            ]
        );
        assert_eq!(
            lines(p, 1, "::1", &[open("[::1]:80")], false),
            ["Ncat: Connected to ::1:80."]
        );
    }

    #[test]
    fn openbsd_lines() {
        let p = Personality::OpenBsd;
        let scan = [
            refused("127.0.0.1:21"),
            open("127.0.0.1:22"),
            open("127.0.0.1:8080"),
        ];
        assert_eq!(
            lines(p, 1, "127.0.0.1", &scan, false),
            [
                "nc: connect to 127.0.0.1 port 21 (tcp) failed: Connection refused",
                "Connection to 127.0.0.1 22 port [tcp/ssh] succeeded!",
                "Connection to 127.0.0.1 8080 port [tcp/*] succeeded!"
            ]
        );
        assert_eq!(
            lines(
                p,
                1,
                "localhost",
                &[open("127.0.0.1:22"), refused("127.0.0.1:23")],
                false
            ),
            [
                "Connection to localhost (127.0.0.1) 22 port [tcp/ssh] succeeded!",
                "nc: connect to localhost (127.0.0.1) port 23 (tcp) failed: Connection refused"
            ]
        );
        assert_eq!(
            lines(
                p,
                1,
                "127.0.0.1",
                &[open("127.0.0.1:53"), timeout("127.0.0.1:54")],
                true
            ),
            [
                "Connection to 127.0.0.1 53 port [udp/domain] succeeded!",
                "nc: connect to 127.0.0.1 port 54 (udp) failed: Connection timed out"
            ]
        );
    }

    #[test]
    fn traditional_lines() {
        let p = Personality::Traditional;
        let scan = [
            open("127.0.0.1:23"),
            refused("127.0.0.1:22"),
            open("127.0.0.1:21"),
        ];
        assert_eq!(
            lines(p, 1, "localhost", &scan, false),
            [
                "localhost [127.0.0.1] 23 (?) open",
                "localhost [127.0.0.1] 21 (?) open"
            ]
        );
        assert_eq!(
            lines(p, 2, "localhost", &scan, false),
            [
                "localhost [127.0.0.1] 23 (?) open",
                "localhost [127.0.0.1] 22 (ssh) : Connection refused",
                "localhost [127.0.0.1] 21 (?) open"
            ]
        );
        // One port: a closed one shows with -v.
        assert_eq!(
            lines(p, 1, "127.0.0.1", &[refused("127.0.0.1:22")], false),
            ["(UNKNOWN) [127.0.0.1] 22 (ssh) : Connection refused"]
        );
        assert_eq!(
            lines(p, 1, "127.0.0.1", &[open("127.0.0.1:22")], false),
            ["(UNKNOWN) [127.0.0.1] 22 (ssh) open"]
        );
    }

    #[test]
    fn services_file() {
        let m = parse_services(
            "# comment\nssh\t\t22/tcp\t\t\t\t# SSH\nssh 22/udp\ndomain 53/udp\n\nbad line\nx y/z\nhttp 80/TCP www\nhttp-alt 80/tcp\n",
        );
        assert_eq!(m.get(&(22, "tcp".into())).map(String::as_str), Some("ssh"));
        assert_eq!(
            m.get(&(53, "udp".into())).map(String::as_str),
            Some("domain")
        );
        assert_eq!(m.get(&(80, "tcp".into())).map(String::as_str), Some("http"));
        assert_eq!(m.get(&(53, "tcp".into())), None);
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn udp_probe_on_loopback() {
        // A bound UDP socket: silence (open). A port nothing uses: refused.
        let server = std::net::UdpSocket::bind("127.0.0.1:0");
        let Ok(server) = server else { return };
        let Ok(open_addr) = server.local_addr() else {
            return;
        };
        let closed_addr =
            match std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()) {
                Ok(a) => a,
                Err(_) => return,
            };
        let probe = |a: &SocketAddr| -> io::Result<()> {
            let s = Socket::new(socket2::Domain::IPV4, Type::DGRAM, None)?;
            udp_exchange(&s, a, Duration::from_millis(300))
        };
        assert!(probe(&open_addr).is_ok());
        let e = probe(&closed_addr).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::libc::ECONNREFUSED), "{e}");
        // The empty datagram arrived.
        let mut buf = [0u8; 8];
        let _ = server.set_read_timeout(Some(Duration::from_secs(2)));
        assert!(matches!(server.recv_from(&mut buf), Ok((0, _))));
    }
}
