//! `-l -k`: one process serving many clients at once (ncat's keep-open), and
//! its two variants `--broker` and `--chat`.
//!
//! Where data goes is the configuration's [`Fanout`]:
//!
//! - **Stdio** (`-k`): stdin is broadcast to every connected client and what
//!   clients send is merged onto stdout. Once stdin has ended, every client is
//!   half-closed when it has received everything, and every client that
//!   connects later is sent the whole of stdin (up to `REPLAY_LIMIT`) and then
//!   half-closed — so `echo -e "HTTP/1.1 200 OK\r\n" | rnc -lk …` answers every
//!   request, where ncat answers only the first (reference §2.10). A client is
//!   closed once it has finished sending and has everything queued for it.
//! - **Broker** (`--broker`): what a client sends goes to every *other*
//!   client, not back to it; stdout is not used. stdin takes part as one more
//!   sender (ncat 7.93 does the same); its end changes nothing. A client that
//!   finishes sending is closed at once, as ncat closes it.
//! - **Chat** (`--chat`): the broker, with ncat's names, announcements and
//!   escaping (see [`chat`]).
//!
//! A client costs a small struct and its socket: there is one read buffer for
//! the whole hub, and queued data is shared between clients (`Rc` chunks).
//! Connections over `-m` are accepted and closed; `--allow`/`--deny` are
//! applied at accept; when accept fails for lack of descriptors the hub keeps
//! its clients and tries again shortly (see `accept`).
//!
//! Flow control: stdin is not read while any client has more than
//! `CLIENT_QUEUE_LIMIT` queued; a client is not read while its data has
//! nowhere to go (stdout backed up past `STDOUT_QUEUE_LIMIT`, or, when
//! brokering, another client's queue full). Each client is read at most
//! `READ_BUDGET` bytes per turn of the loop, so one fast sender cannot starve
//! the others. `-o`/`-x` log each broadcast once, as ncat does, and each read
//! from a client. With `--on-close`, every client that has gone (or was
//! refused: `denied`, `limit`) is handed to the hook queue, with what it sent
//! up to `--hook-max-input`.

mod accept;
pub mod chat;

use crate::child::ConnInfo;
use crate::config::{Config, Fanout};
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::hook;
use crate::log::{describe, Log};
use crate::net::Listeners;
use crate::relay::{Stdio, Transport};
use crate::sys::{self, FdKind};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most of stdin kept to replay to clients that connect after it ended.
pub const REPLAY_LIMIT: usize = 1 << 20;
/// Queued bytes per client before its sources (stdin, other clients) pause.
const CLIENT_QUEUE_LIMIT: usize = 4 << 20;
/// Client bytes waiting for stdout before clients are no longer read.
const STDOUT_QUEUE_LIMIT: usize = 4 << 20;
const READ_CHUNK: usize = 64 * 1024;
/// Bytes read from one client per turn of the loop.
const READ_BUDGET: usize = 16 * READ_CHUNK;

const T_STDIN: Token = Token(0);
const T_STDOUT: Token = Token(1);
const FIRST_LISTENER: usize = 2;
const FIRST_CLIENT: usize = 1 << 20;

struct Client {
    transport: Transport,
    /// Chunks still to send, with the offset into the first.
    queue: VecDeque<Rc<[u8]>>,
    offset: usize,
    queued: usize,
    readable: bool,
    writable: bool,
    /// What the event loop watches its socket for (see `accept::admit`).
    watch: Watch,
    read_eof: bool,
    write_shut: bool,
    /// With `--on-close`: what the hook will be told.
    tap: Option<Box<Tap>>,
}

/// A client's place in the epoll set. A plain client enters it only when a
/// read would block, and asks for writable events only once a write would
/// block: a client that has sent everything by the time it is accepted is
/// served and closed without an epoll_ctl(2), and a new socket is writable
/// at once, which would cost a wake-up per connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    Nothing,
    Reads,
    ReadsAndWrites,
}

/// A client as `--on-close` sees it.
struct Tap {
    info: ConnInfo,
    started: Instant,
    bytes_in: u64,
    bytes_out: u64,
    /// What the client sent, up to `--hook-max-input`.
    payload: Vec<u8>,
    reason: &'static str,
}

impl Client {
    /// Its number in chat mode: the server-side descriptor.
    fn user(&self) -> i32 {
        self.transport.fd().as_raw_fd()
    }
}

/// How much of a client's pending work `step` may do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Turn {
    /// Send and receive.
    Full,
    /// Only send what is queued (it was woken by new data in this turn and
    /// has already had its chance to read).
    SendOnly,
}

struct Hub<'a> {
    cfg: &'a Config,
    log: &'a Log,
    fanout: Fanout,
    stdio: Stdio,
    poll: Poll,
    listeners: Listeners,
    tls: Option<Arc<rustls::ServerConfig>>,
    dump: Option<&'a mut Dump>,
    /// `--on-close`: where closed clients are reported.
    hooks: Option<hook::Sender>,
    clients: Vec<Option<Client>>,
    free: Vec<usize>,
    count: usize,
    /// Clients given new data to send in this turn of the loop.
    woken: Vec<usize>,
    /// Plain clients accepted in this turn: read before the next wait.
    fresh: Vec<usize>,
    /// Clients that used up their read budget: served again next turn.
    again: Vec<usize>,
    /// Some client was left unread because its data had nowhere to go.
    starved: bool,
    stdin_ready: bool,
    stdin_eof: bool,
    /// All of stdin so far, while it fits in `REPLAY_LIMIT` (stdio fanout).
    history: Option<Vec<Rc<[u8]>>>,
    history_len: usize,
    stdout: VecDeque<Vec<u8>>,
    stdout_queued: usize,
    stdout_ready: bool,
    /// Per listener: reported ready and not yet accepted from until empty.
    listener_ready: Vec<bool>,
    accept_paused_until: Option<Instant>,
    /// An out-of-descriptors episode has been reported.
    emfile_reported: bool,
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
    hooks: Option<hook::Sender>,
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
    // A broker never writes to stdout.
    if cfg.fanout == Fanout::Stdio && stdio.output.pollable() {
        if stdio.output != FdKind::Tty {
            let _ = sys::set_stdio_nonblocking(sys::stdout_fd());
        }
        let _ = poll
            .registry()
            .register(&mut SourceFd(&1), T_STDOUT, Interest::WRITABLE);
    }
    let listeners_len = listeners.socks.len();
    let mut hub = Hub {
        cfg,
        log,
        fanout: cfg.fanout,
        stdio,
        poll,
        listeners,
        tls,
        dump,
        hooks,
        clients: Vec::new(),
        free: Vec::new(),
        count: 0,
        woken: Vec::new(),
        fresh: Vec::new(),
        again: Vec::new(),
        starved: false,
        stdin_ready: true,
        stdin_eof: false,
        history: (cfg.fanout == Fanout::Stdio).then(Vec::new),
        history_len: 0,
        stdout: VecDeque::new(),
        stdout_queued: 0,
        stdout_ready: true,
        listener_ready: vec![false; listeners_len],
        accept_paused_until: None,
        emfile_reported: false,
        buf: vec![0u8; READ_CHUNK].into_boxed_slice(),
    };
    hub.run()
}

impl Hub<'_> {
    fn run(&mut self) -> Result<i32> {
        let mut events = Events::with_capacity(1024);
        let mut touched: Vec<usize> = Vec::new();
        loop {
            let timeout = if self.again.is_empty() {
                self.accept_paused_until
                    .map(|t| t.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ev_err(e)),
            }
            touched.clear();
            touched.append(&mut self.again);
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
                    Token(t) => {
                        if let Some(r) = self.listener_ready.get_mut(t - FIRST_LISTENER) {
                            *r = true;
                            accept = true;
                        }
                    }
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
                self.accept_all();
                touched.append(&mut self.fresh);
            }
            self.read_stdin();
            touched.sort_unstable();
            touched.dedup();
            for &id in &touched {
                self.service(id, Turn::Full);
            }
            self.serve_woken();
            self.flush_stdout();
            if self.starved && !self.sink_full() {
                // Clients left unread while their data had nowhere to go.
                self.starved = false;
                let waiting: Vec<usize> = self
                    .clients
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        c.as_ref().filter(|c| c.readable && !c.read_eof).map(|_| i)
                    })
                    .collect();
                for id in waiting {
                    self.service(id, Turn::Full);
                }
                self.serve_woken();
                self.flush_stdout();
            }
        }
    }

    /// Send to the clients that were given data; sending may close clients,
    /// whose departure (in chat mode) is news for the others.
    fn serve_woken(&mut self) {
        while !self.woken.is_empty() {
            let mut woken = std::mem::take(&mut self.woken);
            woken.sort_unstable();
            woken.dedup();
            for &id in &woken {
                self.service(id, Turn::SendOnly);
            }
            woken.clear();
            if self.woken.is_empty() {
                // Keep the allocation.
                self.woken = woken;
            }
        }
    }

    /// Whether client data has nowhere to go for now.
    fn sink_full(&self) -> bool {
        match self.fanout {
            Fanout::Stdio => self.stdout_queued >= STDOUT_QUEUE_LIMIT,
            Fanout::Broker | Fanout::Chat => self.some_queue_full(),
        }
    }

    fn some_queue_full(&self) -> bool {
        self.clients
            .iter()
            .flatten()
            .any(|c| c.queued >= CLIENT_QUEUE_LIMIT)
    }

    /// Queue `msg` for every client in the table that still takes data (a
    /// client being served is out of the table, so a sender never gets its own
    /// data back) and log it once as sent.
    fn broadcast(&mut self, msg: Rc<[u8]>) {
        if msg.is_empty() {
            return;
        }
        if let Some(d) = self.dump.as_deref_mut() {
            d.sent(&msg);
        }
        for (id, slot) in self.clients.iter_mut().enumerate() {
            let Some(c) = slot else { continue };
            if c.write_shut {
                continue;
            }
            if c.queue.is_empty() {
                self.woken.push(id);
            }
            c.queued += msg.len();
            c.queue.push_back(Rc::clone(&msg));
        }
    }

    /// Read stdin and queue it for every client.
    fn read_stdin(&mut self) {
        // Like ncat, stdin waits for a first client rather than being lost.
        if !self.cfg.eof.read_stdin || self.stdin_eof || self.count == 0 {
            return;
        }
        let chunk = match self.fanout {
            Fanout::Chat => chat::CHUNK,
            _ => READ_CHUNK,
        };
        while self.stdin_ready && !self.stdin_eof && !self.some_queue_full() {
            match sys::read_local(sys::stdin_fd(), self.stdio.input, &mut self.buf[..chunk]) {
                Ok(0) => self.end_of_stdin(),
                Ok(n) => {
                    let data = &self.buf[..n];
                    let msg: Rc<[u8]> = match self.fanout {
                        Fanout::Chat => chat::message(chat::STDIN_USER, data).into(),
                        _ => Rc::from(data),
                    };
                    self.remember(&msg);
                    self.broadcast(msg);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stdin_ready = false,
                // An unreadable stdin has ended, as far as anyone can tell.
                Err(_) => self.end_of_stdin(),
            }
        }
    }

    fn end_of_stdin(&mut self) {
        self.stdin_eof = true;
        if self.fanout == Fanout::Stdio {
            // Every client may now be due its half-close.
            self.woken.extend(
                self.clients
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.as_ref().map(|_| i)),
            );
        }
    }

    fn remember(&mut self, chunk: &Rc<[u8]>) {
        let Some(h) = self.history.as_mut() else {
            return;
        };
        self.history_len += chunk.len();
        if self.history_len > REPLAY_LIMIT {
            self.history = None;
        } else {
            h.push(Rc::clone(chunk));
        }
    }

    /// Move what can move for one client; close it when it is done.
    fn service(&mut self, id: usize, turn: Turn) {
        let Some(Some(mut c)) = self.clients.get_mut(id).map(Option::take) else {
            return;
        };
        let keep = self.step(id, &mut c, turn);
        if keep {
            self.clients[id] = Some(c);
            return;
        }
        let user = c.user();
        let tap = c.tap.take();
        let (tls_sni, tls_alpn) = match tap {
            Some(_) => c.transport.tls_names(),
            None => (None, None),
        };
        // Closing the socket also takes it out of the epoll set.
        drop(c);
        self.free.push(id);
        self.count -= 1;
        if self.fanout == Fanout::Chat {
            self.broadcast(chat::disconnected(user).into());
        }
        if let (Some(tx), Some(t)) = (&self.hooks, tap) {
            let _ = tx.send(Some(hook::Event {
                info: t.info,
                bytes_in: t.bytes_in,
                bytes_out: t.bytes_out,
                duration: t.started.elapsed(),
                reason: t.reason,
                payload: t.payload,
                tls_sni,
                tls_alpn,
            }));
        }
    }

    /// Returns whether the client stays.
    fn step(&mut self, id: usize, c: &mut Client, turn: Turn) -> bool {
        let mut budget = if turn == Turn::Full { READ_BUDGET } else { 0 };
        loop {
            let mut moved = false;
            // Queued data to the client.
            while c.writable {
                let Some(chunk) = c.queue.front() else {
                    break;
                };
                match c.transport.write(&chunk[c.offset..]) {
                    Ok(n) => {
                        if let Some(t) = c.tap.as_deref_mut() {
                            t.bytes_out += n as u64;
                        }
                        c.offset += n;
                        c.queued -= n;
                        moved = true;
                        if c.offset == chunk.len() {
                            c.queue.pop_front();
                            c.offset = 0;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        c.writable = false;
                        if let Err(e) = self.watch(id, c, Watch::ReadsAndWrites) {
                            return self.client_gone(c, &e);
                        }
                    }
                    Err(e) => return self.client_gone(c, &e),
                }
            }
            // What the client sends.
            while c.readable && !c.read_eof && budget > 0 {
                if self.sink_full() {
                    self.starved = true;
                    break;
                }
                match self.receive(c) {
                    Ok(0) => {
                        c.read_eof = true;
                        // A broker closes a client as soon as it has finished.
                        if self.fanout != Fanout::Stdio {
                            return false;
                        }
                    }
                    Ok(n) => {
                        budget = budget.saturating_sub(n);
                        moved = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        c.readable = false;
                        if let Err(e) = self.watch(id, c, Watch::Reads) {
                            return self.client_gone(c, &e);
                        }
                    }
                    Err(e) => return self.client_gone(c, &e),
                }
            }
            let flushed = match c.transport.flush() {
                Ok(f) => f,
                Err(e) => return self.client_gone(c, &e),
            };
            // Everything of a finished stdin is out: half-close. "Out" includes
            // the transport — a TLS client must first have finished its
            // handshake, or close_notify would overtake the reply.
            if self.fanout == Fanout::Stdio
                && c.queue.is_empty()
                && flushed
                && self.stdin_eof
                && !c.write_shut
                && self.cfg.eof.shutdown_on_stdin_eof
            {
                c.write_shut = true;
                let _ = c.transport.shutdown_write();
                let _ = c.transport.flush();
            }
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
                if turn == Turn::Full && budget == 0 && c.readable && !c.read_eof {
                    // More to read: its turn comes again after the others'.
                    self.again.push(id);
                }
                return true;
            }
        }
    }

    /// Have the event loop watch `c` for at least `want` (edge-triggered: an
    /// event comes for whatever is already pending when it is added).
    fn watch(&self, id: usize, c: &mut Client, want: Watch) -> io::Result<()> {
        if c.watch == want || c.watch == Watch::ReadsAndWrites {
            return Ok(());
        }
        let interest = match want {
            Watch::ReadsAndWrites => Interest::READABLE | Interest::WRITABLE,
            _ => Interest::READABLE,
        };
        let raw = c.transport.fd().as_raw_fd();
        let (registry, token) = (self.poll.registry(), Token(FIRST_CLIENT + id));
        match c.watch {
            Watch::Nothing => registry.register(&mut SourceFd(&raw), token, interest)?,
            _ => registry.reregister(&mut SourceFd(&raw), token, interest)?,
        }
        c.watch = want;
        Ok(())
    }

    /// Read once from `c` and pass the data on; returns what `read` returned.
    fn receive(&mut self, c: &mut Client) -> io::Result<usize> {
        let chunk = match self.fanout {
            Fanout::Chat => chat::CHUNK,
            _ => READ_CHUNK,
        };
        let n = c.transport.read(&mut self.buf[..chunk])?;
        if n == 0 {
            return Ok(0);
        }
        let data = &self.buf[..n];
        if let Some(d) = self.dump.as_deref_mut() {
            d.received(data);
        }
        if let Some(t) = c.tap.as_deref_mut() {
            t.bytes_in += n as u64;
            let room = self.cfg.on_close.as_ref().map_or(0, |h| h.max_input) - t.payload.len();
            t.payload.extend_from_slice(&data[..n.min(room)]);
        }
        match self.fanout {
            Fanout::Stdio => {
                if self.cfg.eof.write_stdout {
                    self.stdout_queued += n;
                    self.stdout.push_back(data.to_vec());
                }
            }
            Fanout::Broker => {
                let msg = Rc::from(data);
                self.broadcast(msg);
            }
            Fanout::Chat => {
                let msg = chat::message(c.user(), data).into();
                self.broadcast(msg);
            }
        }
        Ok(n)
    }

    fn client_gone(&self, c: &mut Client, e: &io::Error) -> bool {
        self.log.info(format!("Ncat: {}.", describe(e)));
        if let Some(t) = c.tap.as_deref_mut() {
            t.reason = "reset";
        }
        false
    }

    fn flush_stdout(&mut self) {
        while self.stdout_ready {
            let Some(front) = self.stdout.front_mut() else {
                break;
            };
            match sys::write_local(sys::stdout_fd(), self.stdio.output, front) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle client costs its slot in the table (and its socket): keep it
    /// small, for the C10k case (scripts/c10k.py).
    #[test]
    fn an_idle_client_is_small() {
        let size = std::mem::size_of::<Option<Client>>();
        assert!(size <= 96, "a client slot takes {size} bytes");
    }
}
