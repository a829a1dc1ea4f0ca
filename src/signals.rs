//! Orderly shutdown of a long-running listener: on SIGTERM or SIGINT, stop
//! accepting, let the hook that is running (and those already queued) finish —
//! each bounded by `--hook-timeout` — then exit 0.
//!
//! The signals are blocked in every thread and taken by one thread with
//! sigwait(2), so no work happens in a signal handler.

use crate::hook::Queue;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use std::os::fd::RawFd;

/// Call before any other thread starts: the mask is inherited.
pub fn block_termination() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGINT);
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    set
}

/// Wait for SIGTERM/SIGINT on a thread of its own; then shut the listening
/// sockets for reading (accept stops, new clients are refused), finish the
/// hooks and exit.
pub fn shutdown_on_termination(set: SigSet, listeners: Vec<RawFd>, hooks: Queue) {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if set.wait().is_err() {
                return;
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
