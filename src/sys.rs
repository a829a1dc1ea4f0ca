//! Thin, safe wrappers over the few system calls the relay needs: fd
//! classification, non-blocking mode (restored at exit), read/write/splice that
//! report `WouldBlock` the way `std::io` does, and a zero-timeout poll.

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag, SpliceFFlags};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::stat::{fstat, SFlag};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// What an fd is, as far as readiness and zero-copy are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdKind {
    /// The descriptor was closed when rnc started.
    Closed,
    Tty,
    Pipe,
    Socket,
    /// Regular files, /dev/null and other devices: never "not ready", and epoll
    /// refuses them.
    File,
}

impl FdKind {
    /// epoll can watch it (regular files and most devices it cannot).
    pub fn pollable(self) -> bool {
        matches!(self, FdKind::Tty | FdKind::Pipe | FdKind::Socket)
    }
    /// splice(2) can take it on one side (with a pipe on the other).
    pub fn spliceable(self) -> bool {
        matches!(self, FdKind::Pipe | FdKind::Socket | FdKind::File)
    }
}

pub fn classify(fd: BorrowedFd<'_>) -> FdKind {
    let st = match fstat(fd) {
        Ok(st) => st,
        Err(_) => return FdKind::Closed,
    };
    let fmt = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if fmt == SFlag::S_IFIFO {
        FdKind::Pipe
    } else if fmt == SFlag::S_IFSOCK {
        FdKind::Socket
    } else if fmt == SFlag::S_IFCHR && nix::unistd::isatty(fd).unwrap_or(false) {
        FdKind::Tty
    } else {
        FdKind::File
    }
}

/// Which of fds 0, 1, 2 were closed at start; they are then opened on /dev/null
/// so that no socket can take their number and be mistaken for stdio.
pub fn ensure_std_fds() -> [bool; 3] {
    let mut closed = [false; 3];
    for (fd, was_closed) in closed.iter_mut().enumerate() {
        if fcntl_getfd(fd as RawFd).is_err() {
            *was_closed = true;
            if let Ok(f) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                let raw = f.into_raw_fd();
                if raw != fd as RawFd {
                    // SAFETY: `raw` was just returned by open() and is owned by nobody else.
                    drop(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(raw) });
                }
            }
        }
    }
    closed
}

fn fcntl_getfd(fd: RawFd) -> nix::Result<i32> {
    // SAFETY: F_GETFD only inspects the descriptor table; an invalid fd yields EBADF.
    Errno::result(unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) })
}

/// Original file-status flags of fds 0 and 1, restored at exit (-1: untouched).
static SAVED_FLAGS: [AtomicI32; 2] = [AtomicI32::new(-1), AtomicI32::new(-1)];

/// Put stdin (0) or stdout (1) in non-blocking mode, remembering the old flags.
/// Never used on a tty: a terminal's file description is shared with the shell.
pub fn set_stdio_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?;
    let old = OFlag::from_bits_truncate(flags);
    if old.contains(OFlag::O_NONBLOCK) {
        return Ok(());
    }
    if let Some(slot) = SAVED_FLAGS.get(raw as usize) {
        slot.store(flags, Ordering::SeqCst);
    }
    fcntl(fd, FcntlArg::F_SETFL(old | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(())
}

/// Undo `set_stdio_nonblocking`. Async-signal-safe (only fcntl and atomics).
pub fn restore_stdio() {
    for (fd, slot) in SAVED_FLAGS.iter().enumerate() {
        let flags = slot.swap(-1, Ordering::SeqCst);
        if flags >= 0 {
            // SAFETY: F_SETFL on fd 0/1 with flags previously read from the same fd.
            unsafe { nix::libc::fcntl(fd as RawFd, nix::libc::F_SETFL, flags) };
        }
    }
}

pub fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(())
}

fn ioerr(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// read(2), retried on EINTR.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match nix::unistd::read(fd, buf) {
            Err(Errno::EINTR) => continue,
            r => return r.map_err(ioerr),
        }
    }
}

/// write(2), retried on EINTR.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        match nix::unistd::write(fd, buf) {
            Err(Errno::EINTR) => continue,
            r => return r.map_err(ioerr),
        }
    }
}

/// splice(2) without offsets, non-blocking on the pipe side.
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    let flags = SpliceFFlags::SPLICE_F_NONBLOCK | SpliceFFlags::SPLICE_F_MOVE;
    loop {
        match nix::fcntl::splice(from, None, to, None, len, flags) {
            Err(Errno::EINTR) => continue,
            r => return r.map_err(ioerr),
        }
    }
}

/// sendfile(2) from a regular file's current position, retried on EINTR.
pub fn sendfile(file: BorrowedFd<'_>, sock: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    loop {
        match nix::sys::sendfile::sendfile(sock, file, None, len) {
            Err(Errno::EINTR) => continue,
            r => return r.map_err(ioerr),
        }
    }
}

/// A pipe for splicing, enlarged (best effort) so one call moves a lot.
pub fn splice_pipe(size: usize) -> io::Result<(OwnedFd, OwnedFd, usize)> {
    let (r, w) =
        nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(io::Error::from)?;
    let got = fcntl(w.as_fd(), FcntlArg::F_SETPIPE_SZ(size as i32))
        .map(|n| n as usize)
        .unwrap_or(64 * 1024);
    Ok((r, w, got))
}

/// Whether `fd` is ready for `flags` right now (poll with a zero timeout).
/// Used for terminals, which are never switched to non-blocking mode.
pub fn ready_now(fd: BorrowedFd<'_>, flags: PollFlags) -> bool {
    let mut fds = [PollFd::new(fd, flags)];
    loop {
        match nix::poll::poll(&mut fds, PollTimeout::ZERO) {
            Err(Errno::EINTR) => continue,
            Ok(n) => return n > 0,
            Err(_) => return true,
        }
    }
}

/// read(2) on a local end of kind `kind`: a terminal (never non-blocking)
/// is asked first whether anything is there, and says `WouldBlock` if not.
pub fn read_local(fd: BorrowedFd<'_>, kind: FdKind, buf: &mut [u8]) -> io::Result<usize> {
    if kind == FdKind::Tty && !ready_now(fd, PollFlags::POLLIN) {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    read(fd, buf)
}

/// write(2) on a local end of kind `kind`, with the same care for terminals.
pub fn write_local(fd: BorrowedFd<'_>, kind: FdKind, buf: &[u8]) -> io::Result<usize> {
    if kind == FdKind::Tty && !ready_now(fd, PollFlags::POLLOUT) {
        return Err(io::ErrorKind::WouldBlock.into());
    }
    write(fd, buf)
}

pub fn stdin_fd() -> BorrowedFd<'static> {
    // SAFETY: fd 0 is kept open for the whole process life (`ensure_std_fds`).
    unsafe { BorrowedFd::borrow_raw(0) }
}

pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: fd 1 is kept open for the whole process life (`ensure_std_fds`).
    unsafe { BorrowedFd::borrow_raw(1) }
}

pub fn stderr_fd() -> BorrowedFd<'static> {
    // SAFETY: fd 2 is kept open for the whole process life (`ensure_std_fds`).
    unsafe { BorrowedFd::borrow_raw(2) }
}

extern "C" fn restore_and_reraise(sig: nix::libc::c_int) {
    restore_stdio();
    // SAFETY: signal() and raise() are async-signal-safe; the default action
    // then ends the process as the signal intended.
    unsafe {
        nix::libc::signal(sig, nix::libc::SIG_DFL);
        nix::libc::raise(sig);
    }
}

/// Make SIGINT, SIGTERM and SIGHUP restore stdin/stdout flags before dying.
pub fn restore_stdio_on_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(restore_and_reraise),
        SaFlags::SA_RESETHAND,
        SigSet::empty(),
    );
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only calls async-signal-safe functions.
        let _ = unsafe { sigaction(sig, &act) };
    }
}

/// Let go of stdout (its reader sees EOF) while keeping fd 1 occupied, on
/// /dev/null, so no later descriptor can take its number.
pub fn detach_stdout() {
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        restore_one(1);
        // SAFETY: dup2 onto fd 1, which this process owns for its whole life.
        unsafe { nix::libc::dup2(null.as_raw_fd(), 1) };
    }
}

fn restore_one(fd: usize) {
    if let Some(slot) = SAVED_FLAGS.get(fd) {
        let flags = slot.swap(-1, Ordering::SeqCst);
        if flags >= 0 {
            // SAFETY: F_SETFL with flags previously read from the same fd.
            unsafe { nix::libc::fcntl(fd as RawFd, nix::libc::F_SETFL, flags) };
        }
    }
}

/// writev(2), retried on EINTR.
pub fn writev(fd: BorrowedFd<'_>, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    loop {
        match nix::sys::uio::writev(fd, bufs) {
            Err(Errno::EINTR) => continue,
            r => return r.map_err(ioerr),
        }
    }
}
