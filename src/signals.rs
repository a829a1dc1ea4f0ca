//! Orderly shutdown of a long-running listener: on SIGTERM or SIGINT, stop
//! accepting, let the hook that is running (and those already queued) finish —
//! each bounded by `--hook-timeout` — then exit 0.
//!
//! The handler only writes the signal number to a pipe; a thread of its own
//! reads it and does the work. (Signals are not blocked: children would
//! inherit the mask and ignore the SIGTERM that `--hook-timeout` sends.)

use crate::hook::Queue;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::os::fd::{AsFd, IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

static PIPE_W: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_termination(sig: nix::libc::c_int) {
    let fd = PIPE_W.load(Ordering::SeqCst);
    if fd >= 0 {
        let b = [sig as u8];
        // SAFETY: write(2) is async-signal-safe; `b` outlives the call.
        unsafe { nix::libc::write(fd, b.as_ptr().cast(), 1) };
    }
}

/// On SIGTERM/SIGINT: shut the listening sockets for reading (accept stops,
/// new clients are refused), finish the hooks and exit 0.
pub fn shutdown_on_termination(listeners: Vec<RawFd>, hooks: Queue) {
    let Ok((r, w)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
        crate::log::emit("rnc: signals : no pipe for orderly shutdown");
        return;
    };
    PIPE_W.store(w.into_raw_fd(), Ordering::SeqCst);
    let act = SigAction::new(
        SigHandler::Handler(on_termination),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only calls write(2), which is async-signal-safe.
        let _ = unsafe { sigaction(sig, &act) };
    }
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut b = [0u8; 1];
            loop {
                match nix::unistd::read(r.as_fd(), &mut b) {
                    Ok(1) => break,
                    Err(nix::errno::Errno::EINTR) => continue,
                    _ => return,
                }
            }
            for fd in &listeners {
                // SAFETY: shutdown(2) on descriptors the listener keeps open
                // for the life of the process; it changes socket state only.
                unsafe { nix::libc::shutdown(*fd, nix::libc::SHUT_RD) };
            }
            hooks.finish();
            crate::sys::restore_stdio();
            std::process::exit(0);
        });
    if spawned.is_err() {
        crate::log::emit("rnc: signals : cannot start the shutdown thread");
    }
}
