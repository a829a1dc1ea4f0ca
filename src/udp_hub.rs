//! `-u -l -k`: a UDP listener that serves every peer.
//!
//! Without a program (`serve_stdio`), datagrams from every peer go to stdout
//! and each read from stdin is sent, as one datagram, to every peer heard from
//! so far (stdin is not read before the first peer, so nothing is lost).
//!
//! With `--exec`/`--sh-exec` (`serve`): one child per UDP peer (ncat's UDP
//! inetd mode).
//!
//! Each datagram from a peer is written to that peer's child's stdin (the first
//! one starts the child); each read from a child's stdout goes back to its peer
//! as one datagram. A child whose stdout ends is reaped and its peer forgotten —
//! the peer's next datagram starts a new child. `-m` bounds the children at
//! once, `--allow`/`--deny` apply per datagram, and `--on-close` runs when a
//! peer's child is done. A datagram a child cannot take right now (its stdin
//! pipe is full) is dropped, as a full socket buffer would drop it.

use crate::child::{self, ConnInfo};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::hook;
use crate::log::{describe, Log};
use crate::net;
use crate::relay::Stdio;
use crate::sys::{self, FdKind};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::poll::PollFlags;
use socket2::SockAddr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Child;
use std::time::{Duration, Instant};

/// Tokens below this are listening sockets; from it on, children.
const FIRST_CHILD: usize = 1024;
const DGRAM: usize = 65536;

struct Peer {
    /// Which listening socket the peer talks to (IPv4 or IPv6).
    sock: usize,
    addr: SockAddr,
    child: Child,
    to_child: OwnedFd,
    from_child: OwnedFd,
    info: ConnInfo,
    started: Instant,
    bytes_in: u64,
    bytes_out: u64,
    payload: Vec<u8>,
}

/// A poll watching the listening sockets, token = index.
fn listening_poll(socks: &[OwnedFd]) -> Result<Poll> {
    let poll = Poll::new().map_err(ev_err)?;
    for (i, sock) in socks.iter().enumerate() {
        let raw = sock.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&raw), Token(i), Interest::READABLE)
            .map_err(ev_err)?;
    }
    Ok(poll)
}

fn ev_err(e: io::Error) -> Error {
    Error::usage("event loop", describe(&e))
}

pub fn serve(
    cfg: &Config,
    log: &Log,
    socks: Vec<OwnedFd>,
    hooks: Option<hook::Sender>,
) -> Result<i32> {
    let Some(argv) = &cfg.exec else {
        return Err(Error::usage("-u -l -k", "needs --exec or --sh-exec"));
    };
    let mut poll = listening_poll(&socks)?;
    let max_input = cfg.on_close.as_ref().map_or(0, |h| h.max_input);
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut events = Events::with_capacity(64);
    let mut buf = vec![0u8; DGRAM];
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ev_err(e)),
        }
        let mut ready: Vec<usize> = Vec::new();
        let mut socks_ready: Vec<usize> = Vec::new();
        for ev in events.iter() {
            match ev.token() {
                Token(t) if t < FIRST_CHILD => socks_ready.push(t),
                Token(t) => ready.push(t - FIRST_CHILD),
            }
        }
        // Children first: what they said goes back to their peers.
        for id in ready {
            let Some(Some(p)) = peers.get_mut(id) else {
                continue;
            };
            let ended = loop {
                match sys::read(p.from_child.as_fd(), &mut buf) {
                    Ok(0) => break true,
                    Ok(n) => {
                        let s = socket2::SockRef::from(&socks[p.sock]);
                        if s.send_to(&buf[..n], &p.addr).is_ok() {
                            p.bytes_out += n as u64;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                    Err(_) => break true,
                }
            };
            if ended {
                if let Some(mut p) = peers[id].take() {
                    let fd = p.from_child.as_raw_fd();
                    let _ = poll.registry().deregister(&mut SourceFd(&fd));
                    drop(p.to_child);
                    child::reap(&mut p.child, Duration::from_secs(2));
                    if let Some(tx) = &hooks {
                        let _ = tx.send(Some(hook::Event {
                            info: p.info,
                            bytes_in: p.bytes_in,
                            bytes_out: p.bytes_out,
                            duration: p.started.elapsed(),
                            reason: "eof",
                            payload: p.payload,
                            tls_sni: None,
                            tls_alpn: None,
                        }));
                    }
                }
            }
        }
        // Datagrams: each to its peer's child, started on first contact.
        for si in socks_ready {
            serve_socket(
                cfg, log, &poll, &socks, si, &mut peers, &mut buf, argv, max_input,
            )?;
        }
    }
}

/// Read every datagram waiting on `socks[si]` and hand each to its peer's child.
#[allow(clippy::too_many_arguments)]
fn serve_socket(
    cfg: &Config,
    log: &Log,
    poll: &Poll,
    socks: &[OwnedFd],
    si: usize,
    peers: &mut Vec<Option<Peer>>,
    buf: &mut [u8],
    argv: &[String],
    max_input: usize,
) -> Result<()> {
    let sock = &socks[si];
    let local = net::local_addr(sock);
    {
        loop {
            let (n, from) = match net::recv_from(sock, buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // ICMP errors from earlier sends: nothing to do for them.
                Err(_) => continue,
            };
            let peer_ip = from.as_socket();
            if !crate::access::admit(cfg.access.as_ref(), log, peer_ip, local) {
                continue;
            }
            let id = match peers
                .iter()
                .position(|p| p.as_ref().is_some_and(|p| p.sock == si && p.addr == from))
            {
                Some(id) => id,
                None => {
                    if peers.iter().flatten().count() >= cfg.max_conns {
                        log.info(format!(
                            "Ncat: New connection denied: connection limit reached ({})",
                            cfg.max_conns
                        ));
                        continue;
                    }
                    log.connection_from(peer_ip.as_ref(), local.as_ref());
                    let info = ConnInfo {
                        local,
                        remote: peer_ip,
                        proto: cfg.proto,
                    };
                    let sp = match child::spawn(argv, &info) {
                        Ok(sp) => sp,
                        Err(e) => {
                            log.info(&e.line);
                            continue;
                        }
                    };
                    let _ = sys::set_nonblocking(sp.from_child.as_fd());
                    let _ = sys::set_nonblocking(sp.to_child.as_fd());
                    let id = peers.iter().position(Option::is_none).unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    let fd = sp.from_child.as_raw_fd();
                    poll.registry()
                        .register(
                            &mut SourceFd(&fd),
                            Token(FIRST_CHILD + id),
                            Interest::READABLE,
                        )
                        .map_err(ev_err)?;
                    peers[id] = Some(Peer {
                        sock: si,
                        addr: from.clone(),
                        child: sp.child,
                        to_child: sp.to_child,
                        from_child: sp.from_child,
                        info,
                        started: Instant::now(),
                        bytes_in: 0,
                        bytes_out: 0,
                        payload: Vec::new(),
                    });
                    id
                }
            };
            if let Some(Some(p)) = peers.get_mut(id) {
                p.bytes_in += n as u64;
                let room = max_input.saturating_sub(p.payload.len());
                p.payload.extend_from_slice(&buf[..n.min(room)]);
                // A pipe too full for the whole datagram drops it, like a
                // full socket buffer would.
                let _ = sys::write(p.to_child.as_fd(), &buf[..n]);
            }
        }
    }
    Ok(())
}

/// `-u -l -k` with rnc's own stdin and stdout (see the module comment).
pub fn serve_stdio(cfg: &Config, log: &Log, stdio: Stdio, socks: Vec<OwnedFd>) -> Result<i32> {
    const T_STDIN: Token = Token(FIRST_CHILD);
    let mut poll = listening_poll(&socks)?;
    let locals: Vec<_> = socks.iter().map(net::local_addr).collect();
    let read_stdin = cfg.eof.read_stdin;
    if read_stdin && stdio.input.pollable() {
        if stdio.input != FdKind::Tty {
            let _ = sys::set_stdio_nonblocking(sys::stdin_fd());
        }
        let _ = poll
            .registry()
            .register(&mut SourceFd(&0), T_STDIN, Interest::READABLE);
    }
    let mut peers: Vec<(usize, SockAddr)> = Vec::new();
    let mut stdin_ready = true;
    let mut stdin_eof = !read_stdin;
    let mut events = Events::with_capacity(64);
    let mut buf = vec![0u8; DGRAM];
    loop {
        // stdin, once someone is there to hear it.
        while stdin_ready && !stdin_eof && !peers.is_empty() {
            match sys::read_local(sys::stdin_fd(), stdio.input, &mut buf[..16 * 1024]) {
                Ok(0) => stdin_eof = true,
                Ok(n) => {
                    for (si, addr) in &peers {
                        let _ = socket2::SockRef::from(&socks[*si]).send_to(&buf[..n], addr);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => stdin_ready = false,
                Err(_) => stdin_eof = true,
            }
        }
        let unpollable_stdin = !stdin_eof && !peers.is_empty() && !stdio.input.pollable();
        let timeout = unpollable_stdin.then_some(Duration::ZERO);
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ev_err(e)),
        }
        let mut ready: Vec<usize> = Vec::new();
        for ev in events.iter() {
            match ev.token() {
                T_STDIN => stdin_ready = true,
                Token(t) => ready.push(t),
            }
        }
        for si in ready {
            loop {
                let (n, from) = match net::recv_from(&socks[si], &mut buf) {
                    Ok(r) => r,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => continue,
                };
                let ip = from.as_socket();
                if !crate::access::admit(cfg.access.as_ref(), log, ip, locals[si]) {
                    continue;
                }
                if !peers.iter().any(|(s, a)| *s == si && *a == from) {
                    if peers.len() >= cfg.max_conns {
                        log.info(format!(
                            "Ncat: New connection denied: connection limit reached ({})",
                            cfg.max_conns
                        ));
                        continue;
                    }
                    log.connection_from(ip.as_ref(), locals[si].as_ref());
                    peers.push((si, from));
                    stdin_ready = true;
                }
                if cfg.eof.write_stdout {
                    write_all_stdout(&buf[..n]);
                }
            }
        }
    }
}

/// Datagram contents to stdout, whole (waiting out a full pipe).
fn write_all_stdout(mut b: &[u8]) {
    while !b.is_empty() {
        match sys::write(sys::stdout_fd(), b) {
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                sys::ready_now(sys::stdout_fd(), PollFlags::POLLOUT);
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return,
        }
    }
}
