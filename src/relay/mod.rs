//! One session: stdin and stdout on one side, a connected transport on the other,
//! and two `Direction`s moving bytes between them on a mio event loop.
//!
//! Each direction moves bytes with read/write through a buffer that exists only
//! while data is in flight, or — when both of its ends are plain fds and no
//! option looks at the bytes — with splice(2), zero-copy, chosen once at set-up
//! and abandoned for read/write if the kernel refuses. Readiness is
//! edge-triggered: a direction moves bytes until an end would block, and tries
//! again when an event arrives for one of its ends. What happens at EOF is not
//! decided here but in `eof`.

pub mod eof;
pub mod transport;

use crate::config::{Config, Role};
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::log::Log;
use crate::sys::{self, FdKind};
use crate::transform::{Crlf, Telnet};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use nix::poll::PollFlags;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};
pub use transport::Transport;

/// Read size of the copy path for streams: large reads are what make bulk
/// transfers cheap (the peers use 8–16 KiB).
const STREAM_CHUNK: usize = 256 * 1024;
/// Read size for datagram sockets: any datagram fits.
const DGRAM_RECV_CHUNK: usize = 65536;
/// Stdin read size when each read becomes one outgoing datagram.
const DGRAM_SEND_CHUNK: usize = 16 * 1024;
/// After the peer's FIN, how long a non-terminal stdin may pause before rnc
/// concludes it has nothing more to send (socat's `-t` default is the same).
const STDIN_LINGER: Duration = Duration::from_millis(500);
/// Bytes per sendfile(2) call; it returns early when the socket is full.
const SENDFILE_CHUNK: usize = 1 << 30;
/// Requested size of splice(2)'s intermediate pipe.
const SPLICE_PIPE: usize = 1 << 20;

const T_STDIN: Token = Token(0);
const T_STDOUT: Token = Token(1);
const T_REMOTE: Token = Token(2);

/// What stdin and stdout are (classified once, at start).
#[derive(Debug, Clone, Copy)]
pub struct Stdio {
    pub input: FdKind,
    pub output: FdKind,
}

/// The local side of a session: rnc's own stdin and stdout, the pipes of an
/// exec child (its stdout is read, its stdin written), or a second socket (the
/// proxy server's tunnel to a target).
pub enum Local {
    Stdio(Stdio),
    Child {
        from_child: OwnedFd,
        to_child: Option<OwnedFd>,
    },
    /// A connected stream socket, as two fds (`dup`'d) so that epoll can watch
    /// its reading and writing under separate tokens; done writing means
    /// shutdown(SHUT_WR), not close (the writer fd stays open, and registered,
    /// until the session ends).
    Socket {
        sock: OwnedFd,
        writer: OwnedFd,
        writing: bool,
    },
}

impl Local {
    fn input_kind(&self) -> FdKind {
        match self {
            Local::Stdio(s) => s.input,
            Local::Child { .. } => FdKind::Pipe,
            Local::Socket { .. } => FdKind::Socket,
        }
    }

    fn output_kind(&self) -> FdKind {
        match self {
            Local::Stdio(s) => s.output,
            Local::Child { .. } => FdKind::Pipe,
            Local::Socket { .. } => FdKind::Socket,
        }
    }

    /// A socket as a local end.
    pub fn socket(sock: OwnedFd) -> io::Result<Local> {
        let writer = sock.try_clone()?;
        Ok(Local::Socket {
            sock,
            writer,
            writing: true,
        })
    }

    fn input(&self) -> BorrowedFd<'_> {
        match self {
            Local::Stdio(_) => sys::stdin_fd(),
            Local::Child { from_child, .. } => from_child.as_fd(),
            Local::Socket { sock, .. } => sock.as_fd(),
        }
    }

    /// `None` once the output has been closed.
    fn output(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Local::Stdio(_) => Some(sys::stdout_fd()),
            Local::Child { to_child, .. } => to_child.as_ref().map(|f| f.as_fd()),
            Local::Socket {
                writer, writing, ..
            } => writing.then(|| writer.as_fd()),
        }
    }

    /// Nothing more will be written: let the reader see EOF now (a child's
    /// stdin is closed; our stdout is let go if a pipe or socket reads it).
    fn close_output(&mut self) {
        match self {
            Local::Stdio(s) => {
                if matches!(s.output, FdKind::Pipe | FdKind::Socket) {
                    sys::detach_stdout();
                }
            }
            Local::Child { to_child, .. } => *to_child = None,
            Local::Socket { sock, writing, .. } => {
                if std::mem::take(writing) {
                    let _ = crate::net::shutdown_write(sock);
                }
            }
        }
    }

    /// Non-blocking mode for what epoll watches; a terminal is left alone
    /// (its file description is shared with the shell).
    fn set_nonblocking(&self) {
        match self {
            Local::Stdio(s) => {
                if s.input.pollable() && s.input != FdKind::Tty {
                    let _ = sys::set_stdio_nonblocking(sys::stdin_fd());
                }
                if s.output.pollable() && s.output != FdKind::Tty {
                    let _ = sys::set_stdio_nonblocking(sys::stdout_fd());
                }
            }
            Local::Child {
                from_child,
                to_child,
            } => {
                let _ = sys::set_nonblocking(from_child.as_fd());
                if let Some(t) = to_child {
                    let _ = sys::set_nonblocking(t.as_fd());
                }
            }
            // (The dup shares the file description, so one call covers both.)
            Local::Socket { sock, .. } => {
                let _ = sys::set_nonblocking(sock.as_fd());
            }
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    Eof,
    Timeout,
    StdoutClosed,
}

/// What a session did.
#[derive(Debug, Clone)]
pub struct Report {
    pub sent: u64,
    pub received: u64,
    pub duration: Duration,
    pub reason: CloseReason,
    /// What the peer sent, up to `Config::on_close`'s input bound (kept only
    /// when a hook will want it).
    pub payload: Vec<u8>,
    /// TLS: the server name the client asked for, and the negotiated ALPN.
    pub tls_sni: Option<String>,
    pub tls_alpn: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Stdin,
    Stdout,
    Remote,
}

enum Mover {
    /// read/write through a buffer allocated on first use and dropped when drained.
    Copy {
        buf: Option<Box<[u8]>>,
        start: usize,
        end: usize,
        chunk: usize,
    },
    /// splice(2); `pipe` is the intermediate pipe, `None` when one end is a pipe.
    Splice {
        pipe: Option<(OwnedFd, OwnedFd, usize)>,
        in_pipe: usize,
    },
    /// sendfile(2), from a regular file to a socket.
    Sendfile,
}

/// A failure on one end of a direction.
struct EndError {
    end: End,
    err: io::Error,
}

struct Direction {
    src: End,
    dst: End,
    mover: Mover,
    /// false: this direction never runs (`--recv-only` for stdin → peer).
    enabled: bool,
    src_eof: bool,
    /// Since when reads have found nothing to read (None: data flowed last).
    src_idle_since: Option<Instant>,
    src_ready: bool,
    dst_ready: bool,
    /// Direct splice hit EAGAIN (it cannot tell which end); cleared by any event.
    blocked: bool,
    /// Read and drop (`--send-only` for peer → stdout).
    discard: bool,
    bytes: u64,
    read_pause: Option<Instant>,
    write_pause: Option<Instant>,
    /// Keep what is read, up to `capture_limit` bytes (for `--on-close`).
    capture: Vec<u8>,
    capture_limit: usize,
    /// The mover to use once the bytes a session started with are written
    /// (see `preload`).
    after_preload: Option<Mover>,
}

impl Direction {
    fn new(src: End, dst: End, mover: Mover) -> Direction {
        Direction {
            src,
            dst,
            mover,
            enabled: true,
            src_eof: false,
            src_idle_since: None,
            src_ready: true,
            dst_ready: true,
            blocked: false,
            discard: false,
            bytes: 0,
            read_pause: None,
            write_pause: None,
            capture: Vec::new(),
            capture_limit: 0,
            after_preload: None,
        }
    }

    /// Start with `data` to write, through a copy buffer; then go on with
    /// the mover chosen at set-up (zero-copy, if it was).
    fn preload(&mut self, data: Vec<u8>, chunk: usize) {
        let len = data.len();
        let mut b = data;
        b.resize(chunk.max(len), 0);
        let copy = Mover::Copy {
            buf: Some(b.into_boxed_slice()),
            start: 0,
            end: len,
            chunk,
        };
        self.after_preload = Some(std::mem::replace(&mut self.mover, copy));
    }

    fn pending(&self) -> usize {
        match &self.mover {
            Mover::Copy { start, end, .. } => end - start,
            Mover::Splice { in_pipe, .. } => *in_pipe,
            Mover::Sendfile => 0,
        }
    }

    /// Source ended and everything read has been passed on.
    fn done(&self) -> bool {
        self.src_eof && self.pending() == 0
    }

    fn copy(chunk: usize) -> Mover {
        Mover::Copy {
            buf: None,
            start: 0,
            end: 0,
            chunk,
        }
    }
}

/// The session's surroundings: its ends, and what looks at the bytes.
struct Env<'a> {
    local: Local,
    transport: &'a mut Transport,
    delay: Option<Duration>,
    line_interval: Option<Duration>,
    /// `-C`, applied to what is read from stdin.
    crlf: Option<Crlf>,
    /// `-t`, applied to what is read from the peer; its answers wait in `replies`.
    telnet: Option<Telnet>,
    replies: Vec<u8>,
    /// `-o`/`-x`: every byte sent to and received from the peer.
    dump: Option<&'a mut Dump>,
    scratch: Vec<u8>,
}

impl Env<'_> {
    fn fd(&self, end: End) -> BorrowedFd<'_> {
        match end {
            End::Stdin => self.local.input(),
            End::Stdout => self.local.output().unwrap_or(sys::stdout_fd()),
            End::Remote => self.transport.fd(),
        }
    }

    fn read(&mut self, end: End, buf: &mut [u8]) -> io::Result<usize> {
        match end {
            End::Stdin => sys::read_local(self.local.input(), self.local.input_kind(), buf),
            End::Remote => self.transport.read(buf),
            End::Stdout => Err(io::ErrorKind::Unsupported.into()),
        }
    }

    fn write(&mut self, end: End, buf: &[u8]) -> io::Result<usize> {
        match end {
            End::Stdout => {
                let Some(fd) = self.local.output() else {
                    return Err(io::ErrorKind::BrokenPipe.into());
                };
                sys::write_local(fd, self.local.output_kind(), buf)
            }
            End::Remote => self.transport.write(buf),
            End::Stdin => Err(io::ErrorKind::Unsupported.into()),
        }
    }
}

impl Env<'_> {
    /// Apply the byte options to a chunk just read into `b[..n]`, in place;
    /// returns the chunk's new length.
    fn transform(&mut self, src: End, b: &mut [u8], n: usize) -> usize {
        if src == End::Remote {
            if let Some(dump) = self.dump.as_deref_mut() {
                dump.received(&b[..n]);
            }
        }
        let t = match src {
            End::Stdin => self.crlf.as_mut().map(|c| c as &mut dyn FnMutBytes),
            End::Remote => self.telnet.as_mut().map(|t| t as &mut dyn FnMutBytes),
            End::Stdout => None,
        };
        let Some(t) = t else { return n };
        self.scratch.clear();
        t.apply_bytes(&b[..n], &mut self.scratch);
        let m = self.scratch.len().min(b.len());
        b[..m].copy_from_slice(&self.scratch[..m]);
        if let Some(telnet) = self.telnet.as_mut().filter(|t| t.has_replies()) {
            self.replies.extend(telnet.take_replies());
        }
        m
    }
}

/// The stateful byte transforms (`-C`, `-t`) behind one call.
trait FnMutBytes {
    fn apply_bytes(&mut self, input: &[u8], out: &mut Vec<u8>);
}

impl FnMutBytes for Crlf {
    fn apply_bytes(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.apply(input, out)
    }
}

impl FnMutBytes for Telnet {
    fn apply_bytes(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.apply(input, out)
    }
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

/// Errors that mean "splice cannot do this pair of fds".
fn splice_unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(nix::libc::EINVAL)
            | Some(nix::libc::ENOSYS)
            | Some(nix::libc::EOPNOTSUPP)
            | Some(nix::libc::EBADF)
    )
}

/// Move bytes in one direction until nothing more can move now. Returns whether
/// anything moved.
fn pump(d: &mut Direction, env: &mut Env<'_>, now: Instant) -> std::result::Result<bool, EndError> {
    if !d.enabled {
        return Ok(false);
    }
    let mut any = false;
    loop {
        let moved = match d.mover {
            Mover::Copy { .. } => pump_copy(d, env, now)?,
            Mover::Splice { pipe: Some(_), .. } => pump_splice_via_pipe(d, env)?,
            Mover::Splice { pipe: None, .. } | Mover::Sendfile => pump_direct(d, env)?,
        };
        if !moved {
            return Ok(any);
        }
        any = true;
        if d.pending() == 0 {
            if let Some(m) = d.after_preload.take() {
                d.mover = m;
            }
        }
    }
}

fn pump_copy(
    d: &mut Direction,
    env: &mut Env<'_>,
    now: Instant,
) -> std::result::Result<bool, EndError> {
    let datagram_src = d.src == End::Remote && env.transport.is_datagram();
    let Mover::Copy {
        buf,
        start,
        end,
        chunk,
    } = &mut d.mover
    else {
        return Ok(false);
    };
    let mut moved = false;
    let read_paused = d.read_pause.is_some_and(|t| now < t);
    if start == end && !d.src_eof && d.src_ready && !read_paused {
        let b = buf.get_or_insert_with(|| vec![0u8; *chunk].into_boxed_slice());
        // -C may double a chunk's size: read only half a buffer then.
        let room = if d.src == End::Stdin && env.crlf.is_some() {
            b.len() / 2
        } else {
            b.len()
        };
        match env.read(d.src, &mut b[..room]) {
            Ok(0) if datagram_src => moved = true,
            Ok(0) => {
                d.src_eof = true;
                moved = true;
            }
            Ok(n) => {
                let room = d.capture_limit - d.capture.len();
                d.capture.extend_from_slice(&b[..n.min(room)]);
                *start = 0;
                *end = env.transform(d.src, b, n);
                d.src_idle_since = None;
                moved = true;
                if d.src == End::Remote {
                    d.bytes += n as u64;
                }
                if let Some(delay) = env.delay {
                    d.read_pause = Some(now + delay);
                }
            }
            Err(e) if would_block(&e) => {
                d.src_ready = false;
                d.src_idle_since.get_or_insert(now);
            }
            // A stdin that fails to read has ended, as far as anyone can tell.
            Err(_) if d.src == End::Stdin => {
                d.src_eof = true;
                moved = true;
            }
            Err(err) => return Err(EndError { end: d.src, err }),
        }
    }
    let write_paused = d.write_pause.is_some_and(|t| now < t);
    if start < end && d.dst_ready && !write_paused {
        let b = buf.as_deref().unwrap_or(&[]);
        let mut limit = *end;
        if let Some(_interval) = env.line_interval {
            if let Some(nl) = b[*start..*end].iter().position(|&c| c == b'\n') {
                limit = *start + nl + 1;
            }
        }
        if d.discard {
            *start = *end;
            moved = true;
        } else {
            match env.write(d.dst, &b[*start..limit]) {
                Ok(n) => {
                    if d.dst == End::Remote {
                        d.bytes += n as u64;
                        if let Some(dump) = env.dump.as_deref_mut() {
                            dump.sent(&b[*start..*start + n]);
                        }
                    }
                    *start += n;
                    moved |= n > 0;
                    if let Some(interval) = env.line_interval {
                        if *start == limit && b.get(limit.wrapping_sub(1)) == Some(&b'\n') {
                            d.write_pause = Some(now + interval);
                        }
                    }
                }
                Err(e) if would_block(&e) => d.dst_ready = false,
                Err(err) => return Err(EndError { end: d.dst, err }),
            }
        }
    }
    if start == end {
        *start = 0;
        *end = 0;
        if d.src_eof {
            *buf = None;
        }
    }
    Ok(moved)
}

fn pump_splice_via_pipe(
    d: &mut Direction,
    env: &mut Env<'_>,
) -> std::result::Result<bool, EndError> {
    let Mover::Splice {
        pipe: Some((_, pw, cap)),
        in_pipe,
    } = &mut d.mover
    else {
        return Ok(false);
    };
    let mut moved = false;
    if !d.src_eof && *in_pipe < *cap && d.src_ready {
        match sys::splice(env.fd(d.src), pw.as_fd(), *cap - *in_pipe) {
            Ok(0) => {
                d.src_eof = true;
                moved = true;
            }
            Ok(n) => {
                *in_pipe += n;
                d.src_idle_since = None;
                moved = true;
                if d.src == End::Remote {
                    d.bytes += n as u64;
                }
            }
            // With bytes in the pipe, EAGAIN may mean the pipe is full: drain first.
            Err(e) if would_block(&e) && *in_pipe > 0 => {}
            Err(e) if would_block(&e) => {
                d.src_ready = false;
                d.src_idle_since.get_or_insert_with(Instant::now);
            }
            Err(e) if splice_unsupported(&e) && *in_pipe == 0 && d.bytes == 0 => {
                d.mover = Direction::copy(STREAM_CHUNK);
                return Ok(true);
            }
            Err(_) if d.src == End::Stdin => {
                d.src_eof = true;
                moved = true;
            }
            Err(err) => return Err(EndError { end: d.src, err }),
        }
    }
    let Mover::Splice {
        pipe: Some((pr, _, _)),
        in_pipe,
    } = &mut d.mover
    else {
        return Ok(moved);
    };
    if *in_pipe > 0 && d.dst_ready {
        match sys::splice(pr.as_fd(), env.fd(d.dst), *in_pipe) {
            Ok(n) => {
                *in_pipe -= n;
                moved |= n > 0;
                if d.dst == End::Remote {
                    d.bytes += n as u64;
                }
            }
            Err(e) if would_block(&e) => d.dst_ready = false,
            Err(err) => return Err(EndError { end: d.dst, err }),
        }
    }
    Ok(moved)
}

/// One call moves bytes straight from source to destination: splice(2) when one
/// end is a pipe, sendfile(2) from a regular file.
fn pump_direct(d: &mut Direction, env: &mut Env<'_>) -> std::result::Result<bool, EndError> {
    if d.src_eof || d.blocked {
        return Ok(false);
    }
    let r = if matches!(d.mover, Mover::Sendfile) {
        sys::sendfile(env.fd(d.src), env.fd(d.dst), SENDFILE_CHUNK)
    } else {
        sys::splice(env.fd(d.src), env.fd(d.dst), SPLICE_PIPE)
    };
    match r {
        Ok(0) => {
            d.src_eof = true;
            Ok(true)
        }
        Ok(n) => {
            d.bytes += n as u64;
            d.src_idle_since = None;
            Ok(true)
        }
        Err(e) if would_block(&e) => {
            // One of the two ends would block; which one matters only for stdin
            // ("is there more to send?"), so ask it.
            d.blocked = true;
            if d.src != End::Stdin || !sys::ready_now(env.fd(d.src), PollFlags::POLLIN) {
                d.src_idle_since.get_or_insert_with(Instant::now);
            }
            Ok(false)
        }
        Err(e) if splice_unsupported(&e) && d.bytes == 0 => {
            d.mover = Direction::copy(STREAM_CHUNK);
            Ok(true)
        }
        Err(_) if d.src == End::Stdin => {
            d.src_eof = true;
            Ok(true)
        }
        Err(err) => {
            // Attribute the failure: a socket error is the remote's, a pipe error
            // (EPIPE on stdout) the local end's.
            let end = if d.src == End::Remote && err.raw_os_error() != Some(nix::libc::EPIPE) {
                End::Remote
            } else {
                d.dst
            };
            Err(EndError { end, err })
        }
    }
}

/// Pick each direction's mover once, at set-up.
fn choose_mover(src: FdKind, dst: FdKind, zero_copy: bool, chunk: usize) -> Mover {
    if !zero_copy || !src.spliceable() || !dst.spliceable() {
        return Direction::copy(chunk);
    }
    if src == FdKind::Pipe || dst == FdKind::Pipe {
        return Mover::Splice {
            pipe: None,
            in_pipe: 0,
        };
    }
    if src == FdKind::File && dst == FdKind::Socket {
        return Mover::Sendfile;
    }
    match sys::splice_pipe(SPLICE_PIPE) {
        Ok((r, w, cap)) => Mover::Splice {
            pipe: Some((r, w, cap)),
            in_pipe: 0,
        },
        Err(_) => Direction::copy(chunk),
    }
}

/// Bytes that belong to a session before it starts.
#[derive(Debug, Default)]
pub struct Initial {
    /// Already received from the peer (a first datagram; what followed a proxy
    /// request's head): delivered to the local end first.
    pub from_remote: Vec<u8>,
    /// A first word for the peer (the proxy's `200` to a CONNECT), sent once
    /// the session is set up, so that a session that cannot start never
    /// promised anything.
    pub to_remote: Vec<u8>,
}

impl Initial {
    pub fn received(from_remote: Vec<u8>) -> Initial {
        Initial {
            from_remote,
            to_remote: Vec::new(),
        }
    }
}

/// Run one session to its end.
pub fn run(
    cfg: &Config,
    log: &Log,
    local: Local,
    mut transport: Transport,
    initial: Initial,
    dump: Option<&mut Dump>,
) -> Result<Report> {
    let r = run_on(cfg, log, local, &mut transport, initial, dump);
    r.map(|mut rep| {
        (rep.tls_sni, rep.tls_alpn) = transport.tls_names();
        rep
    })
}

fn run_on(
    cfg: &Config,
    log: &Log,
    local: Local,
    transport: &mut Transport,
    initial: Initial,
    dump: Option<&mut Dump>,
) -> Result<Report> {
    let (input_kind, output_kind) = (local.input_kind(), local.output_kind());
    let started = Instant::now();
    let policy = &cfg.eof;
    let datagram = transport.is_datagram();
    // A hook wants the peer's bytes, which splice(2) would not show us.
    let zero_copy = transport.is_plain_stream() && !cfg.bytes.any() && cfg.on_close.is_none();

    let up_chunk = if datagram {
        DGRAM_SEND_CHUNK
    } else {
        STREAM_CHUNK
    };
    let down_chunk = if datagram {
        DGRAM_RECV_CHUNK
    } else {
        STREAM_CHUNK
    };
    let remote_kind = FdKind::Socket;
    let mut up = Direction::new(
        End::Stdin,
        End::Remote,
        choose_mover(input_kind, remote_kind, zero_copy, up_chunk),
    );
    up.enabled = policy.read_stdin;
    if !initial.to_remote.is_empty() {
        up.preload(initial.to_remote, up_chunk);
    }
    let from_remote = initial.from_remote;
    let down_zero_copy = zero_copy && policy.write_stdout;
    let mut down = Direction::new(
        End::Remote,
        End::Stdout,
        choose_mover(remote_kind, output_kind, down_zero_copy, down_chunk),
    );
    down.discard = !policy.write_stdout;
    down.capture_limit = cfg.on_close.as_ref().map_or(0, |h| h.max_input);
    if !from_remote.is_empty() {
        down.capture = from_remote[..from_remote.len().min(down.capture_limit)].to_vec();
        down.bytes += from_remote.len() as u64;
        down.preload(from_remote, down_chunk);
    }

    let mut poll = Poll::new().map_err(|e| Error::usage("event loop", crate::log::describe(&e)))?;
    let reg = poll.registry();
    let remote_raw = transport.fd().as_raw_fd();
    reg.register(
        &mut SourceFd(&remote_raw),
        T_REMOTE,
        Interest::READABLE | Interest::WRITABLE,
    )
    .map_err(|e| Error::usage("event loop", crate::log::describe(&e)))?;
    local.set_nonblocking();
    // Regular files and the like cannot be watched: they are always ready.
    if up.enabled && input_kind.pollable() {
        let raw = local.input().as_raw_fd();
        let _ = reg.register(&mut SourceFd(&raw), T_STDIN, Interest::READABLE);
    }
    if let (true, Some(out)) = (output_kind.pollable(), local.output()) {
        let raw = out.as_raw_fd();
        let _ = reg.register(&mut SourceFd(&raw), T_STDOUT, Interest::WRITABLE);
    }

    let mut env = Env {
        local,
        transport,
        delay: cfg.bytes.delay,
        line_interval: cfg.bytes.line_interval,
        crlf: cfg.bytes.crlf.then(Crlf::new),
        telnet: cfg.bytes.telnet.then(Telnet::transparent),
        replies: Vec::new(),
        dump,
        scratch: Vec::new(),
    };
    let mut events = Events::with_capacity(16);
    let mut write_shut = false;
    let mut quit_at: Option<Instant> = None;
    let mut last_activity = Instant::now();
    let mut reason = CloseReason::Eof;
    let mut stdout_closed = false;

    loop {
        let now = Instant::now();
        // Telnet answers go out ahead of further stdin data.
        send_replies(&mut env, write_shut).map_err(|e| remote_error(log, &e))?;
        let moved_up = pump(&mut up, &mut env, now);
        let moved_down = pump(&mut down, &mut env, now);
        // ... and as soon as reading the peer produced them.
        send_replies(&mut env, write_shut).map_err(|e| remote_error(log, &e))?;
        let flushed = env.transport.flush();
        let mut moved = false;
        for r in [moved_up, moved_down] {
            match r {
                Ok(m) => moved |= m,
                Err(EndError {
                    end: End::Stdout, ..
                }) => {
                    if output_gone(&mut down, &mut env) {
                        reason = CloseReason::StdoutClosed;
                        return Ok(report(&up, &down, started, reason));
                    }
                    moved = true;
                }
                Err(EndError { err, .. }) => return Err(remote_error(log, &err)),
            }
        }
        let flushed = flushed.map_err(|e| remote_error(log, &e))?;
        if env.transport.take_unstalled() {
            up.dst_ready = true;
            continue;
        }
        if moved {
            last_activity = now;
        }

        // Our reader should see EOF as soon as the peer's data is all out.
        // (Not between the clients of a listener that serves one after another.)
        // (Nor when a hook will run: its output goes to our stdout.)
        let last_session = !(cfg.keep_open && cfg.role == Role::Listen) && cfg.on_close.is_none();
        let owned_local = !matches!(env.local, Local::Stdio(_));
        if down.done() && !stdout_closed && (last_session || owned_local) {
            stdout_closed = true;
            if let Some(out) = env.local.output() {
                let raw = out.as_raw_fd();
                let _ = poll.registry().deregister(&mut SourceFd(&raw));
            }
            env.local.close_output();
        }

        // The EOF policy decides what the new state of things means.
        let linger = if input_kind == FdKind::Tty {
            Duration::ZERO
        } else {
            STDIN_LINGER
        };
        let stdin_quiet_at = up.src_idle_since.map(|t| t + linger);
        loop {
            let progress = eof::Progress {
                stdin_done: up.enabled && up.done() && flushed,
                // (Nothing pending means nothing in the transport either: TLS
                // records still queued in rustls are stdin data not yet sent.)
                stdin_idle: !up.enabled
                    || (up.pending() == 0
                        && flushed
                        && (up.src_eof || stdin_quiet_at.is_some_and(|t| now >= t))),
                socket_done: down.done(),
                stream: !datagram,
                write_shut,
                quit_armed: quit_at.is_some(),
            };
            match eof::next(policy, &progress) {
                eof::Step::Continue => break,
                eof::Step::HalfClose => {
                    write_shut = true;
                    let _ = env.transport.shutdown_write();
                    let _ = env.transport.flush();
                }
                eof::Step::ArmQuit(d) => quit_at = Some(now + d),
                eof::Step::Quit => return Ok(report(&up, &down, started, reason)),
            }
        }

        // Timers.
        let mut deadline: Option<Instant> = quit_at;
        let idle = match cfg.timeouts.idle_after_stdin_eof {
            Some(t) if up.src_eof => Some(cfg.timeouts.idle.map_or(t, |i| i.min(t))),
            _ => cfg.timeouts.idle,
        };
        let idle_at = idle.map(|t| last_activity + t);
        // Waking when a pausing stdin counts as idle matters only if the peer
        // is done and that would end the session.
        let linger_at = if down.done() && up.pending() == 0 && policy.quit_on_socket_eof {
            stdin_quiet_at.filter(|t| *t > now)
        } else {
            None
        };
        for t in [idle_at, up.read_pause, up.write_pause, linger_at]
            .into_iter()
            .flatten()
        {
            deadline = Some(deadline.map_or(t, |d| d.min(t)));
        }
        let now = Instant::now();
        if quit_at.is_some_and(|t| now >= t) {
            flush_down(&mut down, &mut env);
            return Ok(report(&up, &down, started, reason));
        }
        if let (Some(at), Some(t)) = (idle_at, idle) {
            if now >= at {
                reason = CloseReason::Timeout;
                flush_down(&mut down, &mut env);
                return idle_expired(cfg, log, t, report(&up, &down, started, reason));
            }
        }
        if up.read_pause.is_some_and(|t| now >= t) {
            up.read_pause = None;
            continue;
        }
        if up.write_pause.is_some_and(|t| now >= t) {
            up.write_pause = None;
            continue;
        }
        let timeout = deadline.map(|d| d.saturating_duration_since(now));
        // Unpollable ends never wake us: if one of them can still move, loop.
        if moved
            && (unpollable_ready(&up, input_kind, output_kind)
                || unpollable_ready(&down, input_kind, output_kind))
        {
            continue;
        }
        match poll.poll(&mut events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::usage("event loop", crate::log::describe(&e))),
        }
        for ev in events.iter() {
            match ev.token() {
                T_STDIN => {
                    up.src_ready = true;
                    up.blocked = false;
                }
                T_STDOUT => {
                    down.dst_ready = true;
                    down.blocked = false;
                    if (ev.is_error() || ev.is_write_closed())
                        && policy.write_stdout
                        && output_gone(&mut down, &mut env)
                    {
                        return Ok(report(&up, &down, started, CloseReason::StdoutClosed));
                    }
                }
                _ => {
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        down.src_ready = true;
                        up.dst_ready = true;
                    }
                    if ev.is_writable() || ev.is_error() {
                        up.dst_ready = true;
                        down.src_ready = true;
                    }
                    up.blocked = false;
                    down.blocked = false;
                }
            }
        }
    }
}

fn send_replies(env: &mut Env<'_>, write_shut: bool) -> io::Result<()> {
    while !env.replies.is_empty() && !write_shut {
        match env.transport.write(&env.replies) {
            Ok(n) => drop(env.replies.drain(..n)),
            Err(e) if would_block(&e) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The local output's reader has gone. For rnc's stdout that ends the session
/// (returns true); an exec child (or a tunnel's target) that stops reading may
/// still be talking, so what the peer sends from now on is read and dropped.
fn output_gone(down: &mut Direction, env: &mut Env<'_>) -> bool {
    if matches!(env.local, Local::Stdio(_)) {
        return true;
    }
    env.local.close_output();
    down.discard = true;
    down.mover = Direction::copy(STREAM_CHUNK);
    down.after_preload = None;
    false
}

/// Whether a direction with an always-ready (unpollable) end can still move.
fn unpollable_ready(d: &Direction, input: FdKind, output: FdKind) -> bool {
    if !d.enabled || d.done() {
        return false;
    }
    let src_unpollable = d.src == End::Stdin && !input.pollable();
    let dst_unpollable = d.dst == End::Stdout && !output.pollable();
    (src_unpollable && d.pending() == 0 && !d.src_eof && d.dst_ready)
        || (dst_unpollable && d.pending() > 0)
}

/// Best effort, without waiting: hand what has been received to stdout.
fn flush_down(down: &mut Direction, env: &mut Env<'_>) {
    down.src_eof = true;
    let now = Instant::now();
    for _ in 0..64 {
        match pump(down, env, now) {
            Ok(true) => continue,
            _ => break,
        }
    }
}

/// A failure of the remote end, in the personality's words (TLS failures in
/// the TLS layer's).
fn remote_error(log: &Log, err: &io::Error) -> Error {
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(e) => crate::tls::handshake_error(e),
        None => log.session_error(err),
    }
}

fn idle_expired(cfg: &Config, log: &Log, t: Duration, r: Report) -> Result<Report> {
    if log.personality != crate::config::Personality::Ncat {
        return Ok(r);
    }
    let ms = t.as_millis();
    Err(match cfg.role {
        Role::Connect => Error::network(format!("Ncat: Idle timeout expired ({ms} ms).")),
        Role::Listen => Error::with_code(
            format!("Ncat: Idle timeout expired ({ms} ms). QUITTING."),
            2,
        ),
    })
}

fn report(up: &Direction, down: &Direction, started: Instant, reason: CloseReason) -> Report {
    Report {
        sent: up.bytes,
        received: down.bytes,
        duration: started.elapsed(),
        reason,
        payload: down.capture.clone(),
        tls_sni: None,
        tls_alpn: None,
    }
}
