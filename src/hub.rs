//! `-l -k`: one process serving many clients at once (ncat's keep-open).
//!
//! stdin is broadcast to every connected client and what clients send is merged
//! onto stdout. Once stdin has ended, every client is half-closed when it has
//! received everything, and every client that connects later is sent the whole
//! of stdin (up to `REPLAY_LIMIT`) and then half-closed — so
//! `echo -e "HTTP/1.1 200 OK\r\n" | rnc -lk …` answers every request, where ncat
//! answers only the first (reference §2.10).
//!
//! A client costs a small struct and its socket: there is one read buffer for
//! the whole hub, and queued broadcast data is shared between clients.
//! Connections over `-m` are accepted and closed; `--allow`/`--deny` are
//! applied at accept; when accept fails for lack of descriptors the hub keeps
//! its clients and tries again shortly.

use crate::config::Config;
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::log::{describe, Log};
use crate::net::{self, Listeners};
use crate::relay::transport::Tls;
use crate::relay::{Stdio, Transport};
use crate::sys::{self, FdKind};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::poll::PollFlags;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most of stdin kept to replay to clients that connect after it ended.
pub const REPLAY_LIMIT: usize = 1 << 20;
/// Queued broadcast bytes per client before stdin is paused for it.
const CLIENT_QUEUE_LIMIT: usize = 4 << 20;
/// Client bytes waiting for stdout before clients are no longer read.
const STDOUT_QUEUE_LIMIT: usize = 4 << 20;
const READ_CHUNK: usize = 64 * 1024;
/// Pause after accept fails for lack of descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

const T_STDIN: Token = Token(0);
const T_STDOUT: Token = Token(1);
const FIRST_LISTENER: usize = 2;
const FIRST_CLIENT: usize = 1 << 20;

struct Client {
    transport: Transport,
    /// Broadcast chunks still to send, with the offset into the first.
    queue: VecDeque<Rc<[u8]>>,
    offset: usize,
    queued: usize,
    readable: bool,
    writable: bool,
    read_eof: bool,
    write_shut: bool,
}

struct Hub<'a> {
    cfg: &'a Config,
    log: &'a Log,
    stdio: Stdio,
    poll: Poll,
    listeners: Listeners,
    tls: Option<Arc<rustls::ServerConfig>>,
    dump: Option<&'a mut Dump>,
    clients: Vec<Option<Client>>,
    free: Vec<usize>,
    count: usize,
    stdin_ready: bool,
    stdin_eof: bool,
    /// All of stdin so far, while it fits in `REPLAY_LIMIT`.
    history: Option<Vec<Rc<[u8]>>>,
    history_len: usize,
    stdout: VecDeque<Vec<u8>>,
    stdout_queued: usize,
    stdout_ready: bool,
    accept_paused_until: Option<Instant>,
    buf: Box<[u8]>,
}

fn ev_err(e: io::Error) -> Error {
    Error::usage("event loop", describe(&e))
}

/// Serve clients until killed. Returns only on a fatal error.
pub fn serve(
    cfg: &Config,
    log: &Log,
    stdio: Stdio,
    listeners: Listeners,
    tls: Option<Arc<rustls::ServerConfig>>,
    dump: Option<&mut Dump>,
) -> Result<i32> {
    let poll = Poll::new().map_err(ev_err)?;
    for (i, (fd, _)) in listeners.socks.iter().enumerate() {
        let raw = fd.as_raw_fd();
        poll.registry()
            .register(
                &mut SourceFd(&raw),
                Token(FIRST_LISTENER + i),
                Interest::READABLE,
            )
            .map_err(ev_err)?;
    }
    if cfg.eof.read_stdin && stdio.input.pollable() {
        if stdio.input != FdKind::Tty {
            let _ = sys::set_stdio_nonblocking(sys::stdin_fd());
        }
        let _ = poll
            .registry()
            .register(&mut SourceFd(&0), T_STDIN, Interest::READABLE);
    }
    if stdio.output.pollable() {
        if stdio.output != FdKind::Tty {
            let _ = sys::set_stdio_nonblocking(sys::stdout_fd());
        }
        let _ = poll
            .registry()
            .register(&mut SourceFd(&1), T_STDOUT, Interest::WRITABLE);
    }
    let mut hub = Hub {
        cfg,
        log,
        stdio,
        poll,
        listeners,
        tls,
        dump,
        clients: Vec::new(),
        free: Vec::new(),
        count: 0,
        stdin_ready: true,
        stdin_eof: false,
        history: Some(Vec::new()),
        history_len: 0,
        stdout: VecDeque::new(),
        stdout_queued: 0,
        stdout_ready: true,
        accept_paused_until: None,
        buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
    };
    hub.run()
}

impl Hub<'_> {
    fn run(&mut self) -> Result<i32> {
        let mut events = Events::with_capacity(1024);
        let mut touched: Vec<usize> = Vec::new();
        loop {
            let timeout = self
                .accept_paused_until
                .map(|t| t.saturating_duration_since(Instant::now()));
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ev_err(e)),
            }
            touched.clear();
            let mut accept = false;
            for ev in events.iter() {
                match ev.token() {
                    T_STDIN => self.stdin_ready = true,
                    T_STDOUT => self.stdout_ready = true,
                    Token(t) if t >= FIRST_CLIENT => {
                        if let Some(Some(c)) = self.clients.get_mut(t - FIRST_CLIENT) {
                            c.readable |= ev.is_readable() || ev.is_read_closed() || ev.is_error();
                            c.writable |= ev.is_writable() || ev.is_error();
                            // TLS may need to read to write and the reverse.
                            if matches!(c.transport, Transport::Tls(_)) {
                                c.readable = true;
                                c.writable = true;
                            }
                            touched.push(t - FIRST_CLIENT);
                        }
                    }
                    _ => accept = true,
                }
            }
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
                accept = true;
            }
            if accept && self.accept_paused_until.is_none() {
                self.accept_all(&mut touched);
            }
            if self.read_stdin() {
                // New broadcast data: every client may have something to send.
                touched.extend(
                    self.clients
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.as_ref().map(|_| i)),
                );
            }
            touched.sort_unstable();
            touched.dedup();
            for &id in &touched {
                self.service(id);
            }
            let backlogged = self.stdout_queued >= STDOUT_QUEUE_LIMIT;
            self.flush_stdout()?;
            if backlogged && self.stdout_queued < STDOUT_QUEUE_LIMIT {
                // Clients left unread while stdout was backed up.
                let waiting: Vec<usize> = self
                    .clients
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        c.as_ref().filter(|c| c.readable && !c.read_eof).map(|_| i)
                    })
                    .collect();
                for id in waiting {
                    self.service(id);
                }
                self.flush_stdout()?;
            }
        }
    }

    fn accept_all(&mut self, touched: &mut Vec<usize>) {
        for i in 0..self.listeners.socks.len() {
            loop {
                let (fd, local) = &self.listeners.socks[i];
                let local = *local;
                match net::accept(fd) {
                    Ok((conn, peer)) => {
                        if let Some(id) = self.admit(conn, peer, local) {
                            if self.stdin_eof {
                                touched.push(id);
                            }
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e)
                        if matches!(
                            e.raw_os_error(),
                            Some(nix::libc::EMFILE) | Some(nix::libc::ENFILE)
                        ) =>
                    {
                        // Out of descriptors: keep the clients we have and retry soon.
                        self.log
                            .info(format!("Ncat: accept: {}; retrying.", describe(&e)));
                        self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                        return;
                    }
                    Err(e) => {
                        self.log.debug(format!("accept: {}", describe(&e)));
                        break;
                    }
                }
            }
        }
    }

    /// A new connection: checked against the access list and `-m`, then set up.
    fn admit(
        &mut self,
        conn: OwnedFd,
        peer: Option<SocketAddr>,
        local: Option<SocketAddr>,
    ) -> Option<usize> {
        if let (Some(acl), Some(p)) = (&self.cfg.access, peer) {
            if !acl.permits(p.ip()) {
                self.log.connection_denied(&p, local.as_ref());
                return None;
            }
        }
        if self.count >= self.cfg.max_conns {
            self.log.info(format!(
                "Ncat: New connection denied: connection limit reached ({})",
                self.cfg.max_conns
            ));
            return None;
        }
        self.log.connection_from(peer.as_ref(), local.as_ref());
        let transport = match &self.tls {
            Some(server) => match rustls::ServerConnection::new(Arc::clone(server)) {
                Ok(c) => Transport::Tls(Box::new(Tls::new(c.into(), conn, None))),
                Err(e) => {
                    self.log.info(format!("Ncat: {e}"));
                    return None;
                }
            },
            None => Transport::Plain {
                fd: conn,
                datagram: false,
            },
        };
        let id = self.free.pop().unwrap_or_else(|| {
            self.clients.push(None);
            self.clients.len() - 1
        });
        let raw = transport.fd().as_raw_fd();
        if let Err(e) = self.poll.registry().register(
            &mut SourceFd(&raw),
            Token(FIRST_CLIENT + id),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.log.info(format!("Ncat: {}", describe(&e)));
            self.free.push(id);
            return None;
        }
        let mut client = Client {
            transport,
            queue: VecDeque::new(),
            offset: 0,
            queued: 0,
            // epoll reports whatever is already pending when the socket is
            // registered, so there is nothing to try before the first event.
            readable: false,
            writable: true,
            read_eof: false,
            write_shut: false,
        };
        // A client that arrives after stdin ended gets all of it again.
        if self.stdin_eof {
            for chunk in self.history.iter().flatten() {
                client.queued += chunk.len();
                client.queue.push_back(Rc::clone(chunk));
            }
        }
        self.clients[id] = Some(client);
        self.count += 1;
        Some(id)
    }

    /// Read stdin and queue it for every client. Returns whether anything was
    /// queued (or stdin ended).
    fn read_stdin(&mut self) -> bool {
        // Like ncat, stdin waits for a first client rather than being lost.
        if !self.cfg.eof.read_stdin || self.stdin_eof || self.count == 0 {
            return false;
        }
        let mut any = false;
        while self.stdin_ready
            && !self.stdin_eof
            && self
                .clients
                .iter()
                .flatten()
                .all(|c| c.queued < CLIENT_QUEUE_LIMIT)
        {
            if self.stdio.input == FdKind::Tty
                && !sys::ready_now(sys::stdin_fd(), PollFlags::POLLIN)
            {
                self.stdin_ready = false;
                break;
            }
            match sys::read(sys::stdin_fd(), &mut self.buf) {
                Ok(0) => {
                    self.stdin_eof = true;
                    any = true;
                }
                Ok(n) => {
                    let chunk: Rc<[u8]> = Rc::from(&self.buf[..n]);
                    self.remember(&chunk);
                    for c in self.clients.iter_mut().flatten() {
                        c.queued += n;
                        c.queue.push_back(Rc::clone(&chunk));
                    }
                    any = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stdin_ready = false,
                // An unreadable stdin has ended, as far as anyone can tell.
                Err(_) => {
                    self.stdin_eof = true;
                    any = true;
                }
            }
        }
        any
    }

    fn remember(&mut self, chunk: &Rc<[u8]>) {
        self.history_len += chunk.len();
        if self.history_len > REPLAY_LIMIT {
            self.history = None;
        } else if let Some(h) = self.history.as_mut() {
            h.push(Rc::clone(chunk));
        }
    }

    /// Move what can move for one client; close it when it is done.
    fn service(&mut self, id: usize) {
        let Some(Some(mut c)) = self.clients.get_mut(id).map(Option::take) else {
            return;
        };
        let keep = self.step(&mut c);
        if keep {
            self.clients[id] = Some(c);
        } else {
            // Closing the socket also takes it out of the epoll set.
            drop(c);
            self.free.push(id);
            self.count -= 1;
        }
    }

    /// Returns whether the client stays.
    fn step(&mut self, c: &mut Client) -> bool {
        loop {
            let mut moved = false;
            // Broadcast data to the client.
            while c.writable {
                let Some(chunk) = c.queue.front().cloned() else {
                    break;
                };
                match c.transport.write(&chunk[c.offset..]) {
                    Ok(n) => {
                        if let Some(d) = self.dump.as_deref_mut() {
                            d.sent(&chunk[c.offset..c.offset + n]);
                        }
                        c.offset += n;
                        c.queued -= n;
                        moved = true;
                        if c.offset == chunk.len() {
                            c.queue.pop_front();
                            c.offset = 0;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.writable = false,
                    Err(e) => return self.client_gone(&e),
                }
            }
            if c.queue.is_empty()
                && self.stdin_eof
                && !c.write_shut
                && self.cfg.eof.shutdown_on_stdin_eof
            {
                c.write_shut = true;
                let _ = c.transport.shutdown_write();
            }
            // What the client sends goes to stdout.
            while c.readable && !c.read_eof && self.stdout_queued < STDOUT_QUEUE_LIMIT {
                match c.transport.read(&mut self.buf) {
                    Ok(0) => c.read_eof = true,
                    Ok(n) => {
                        if let Some(d) = self.dump.as_deref_mut() {
                            d.received(&self.buf[..n]);
                        }
                        if self.cfg.eof.write_stdout {
                            self.stdout_queued += n;
                            self.stdout.push_back(self.buf[..n].to_vec());
                        }
                        moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.readable = false,
                    Err(e) => return self.client_gone(&e),
                }
            }
            let flushed = match c.transport.flush() {
                Ok(f) => f,
                Err(e) => return self.client_gone(&e),
            };
            if c.transport.take_unstalled() {
                c.writable = true;
                continue;
            }
            // Done: the client has finished sending and has everything queued
            // for it (ncat closes a client when it closes).
            if c.read_eof && c.queue.is_empty() && flushed {
                return false;
            }
            if !moved {
                return true;
            }
        }
    }

    fn client_gone(&self, e: &io::Error) -> bool {
        self.log.info(format!("Ncat: {}.", describe(e)));
        false
    }

    fn flush_stdout(&mut self) -> Result<()> {
        while self.stdout_ready {
            let Some(front) = self.stdout.front_mut() else {
                break;
            };
            if self.stdio.output == FdKind::Tty
                && !sys::ready_now(sys::stdout_fd(), PollFlags::POLLOUT)
            {
                self.stdout_ready = false;
                break;
            }
            match sys::write(sys::stdout_fd(), front) {
                Ok(n) => {
                    self.stdout_queued -= n;
                    if n == front.len() {
                        self.stdout.pop_front();
                    } else {
                        front.drain(..n);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stdout_ready = false,
                // Nobody reads our stdout any more: client data has nowhere to
                // go, but the clients are still answered.
                Err(_) => {
                    self.stdout.clear();
                    self.stdout_queued = 0;
                    break;
                }
            }
        }
        Ok(())
    }
}
