//! The one place that starts processes: exec children (`-e`, `-c`).
//!
//! A child gets fresh pipes for stdin and stdout (stderr is rnc's), the
//! connection in NCAT_LOCAL_ADDR, NCAT_LOCAL_PORT, NCAT_REMOTE_ADDR,
//! NCAT_REMOTE_PORT and NCAT_PROTO, and no other descriptor of rnc's: every
//! descriptor rnc opens is close-on-exec, and `seal_inherited_fds` marks the
//! ones rnc itself inherited. Children are always waited for; one still running
//! when its session is over is sent SIGTERM (then SIGKILL) and reaped, so none
//! is left orphaned.

use crate::config::Proto;
use crate::error::{Error, Result};
use crate::log::describe;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The connection a child serves, for its environment.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub proto: Proto,
}

/// A running exec child and the two ends the relay uses.
pub struct Spawned {
    pub child: Child,
    /// The child's stdout (read end).
    pub from_child: OwnedFd,
    /// The child's stdin (write end).
    pub to_child: OwnedFd,
}

/// Mark every inherited descriptor above 2 close-on-exec, so that a child
/// sees only 0, 1 and 2 — once, at start-up, when children will be run.
pub fn seal_inherited_fds() {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag on
    // descriptors; it closes nothing and touches no memory.
    let r = unsafe {
        nix::libc::syscall(
            nix::libc::SYS_close_range,
            3u32,
            u32::MAX,
            nix::libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return;
    }
    // Kernels before 5.11: walk /proc/self/fd instead.
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        let fds: Vec<i32> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
            .filter(|&fd| fd > 2)
            .collect();
        for fd in fds {
            // SAFETY: F_SETFD on a descriptor number; an fd closed meanwhile
            // (the directory's own) just yields EBADF.
            unsafe { nix::libc::fcntl(fd, nix::libc::F_SETFD, nix::libc::FD_CLOEXEC) };
        }
    }
}

/// Start `argv` for one connection.
pub fn spawn(argv: &[String], info: &ConnInfo) -> Result<Spawned> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| Error::usage("--exec", "no program given"))?;
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    ncat_env(&mut cmd, info);
    let mut child = cmd.spawn().map_err(|e| Error::usage(prog, describe(&e)))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        reap(&mut child, Duration::ZERO);
        return Err(Error::usage(prog, "no pipes to the child"));
    };
    Ok(Spawned {
        child,
        from_child: stdout.into(),
        to_child: stdin.into(),
    })
}

/// The connection in ncat's variables, for exec children and hooks alike.
pub fn ncat_env(cmd: &mut Command, info: &ConnInfo) {
    let (la, lp) = split(info.local);
    let (ra, rp) = split(info.remote);
    cmd.env("NCAT_LOCAL_ADDR", la)
        .env("NCAT_LOCAL_PORT", lp)
        .env("NCAT_REMOTE_ADDR", ra)
        .env("NCAT_REMOTE_PORT", rp)
        .env("NCAT_PROTO", info.proto.label());
}

fn split(a: Option<SocketAddr>) -> (String, String) {
    match a {
        Some(a) => (a.ip().to_string(), a.port().to_string()),
        None => (String::new(), String::new()),
    }
}

/// Wait for `child` up to `grace`, then end it (SIGTERM, then SIGKILL two
/// seconds later) and reap it. Returns its exit code (128 + signal when killed
/// by one). Waiting is a poll(2) on a pidfd: no sleeping loop.
pub fn reap(child: &mut Child, grace: Duration) -> i32 {
    let pid = child.id() as i32;
    let pidfd = pidfd_open(pid);
    if !exited_within(child, pidfd.as_ref(), grace) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        if !exited_within(child, pidfd.as_ref(), Duration::from_secs(2)) {
            let _ = child.kill();
        }
    }
    match child.wait() {
        Ok(st) => exit_code(st),
        Err(_) => 1,
    }
}

/// A shell's idea of an exit status: the code, or 128 + the signal.
pub fn exit_code(st: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) returns a new descriptor or -1; no memory is passed.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
    Some(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// Whether the child has exited (and is ready to be reaped) within `limit`.
fn exited_within(child: &mut Child, pidfd: Option<&OwnedFd>, limit: Duration) -> bool {
    if let Ok(Some(_)) = child.try_wait() {
        return true;
    }
    match pidfd {
        Some(fd) => {
            use std::os::fd::AsFd;
            let ms = limit.as_millis().min(i32::MAX as u128) as i32;
            let mut fds = [nix::poll::PollFd::new(
                fd.as_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            let timeout =
                nix::poll::PollTimeout::try_from(ms).unwrap_or(nix::poll::PollTimeout::MAX);
            let deadline = Instant::now() + limit;
            loop {
                match nix::poll::poll(&mut fds, timeout) {
                    Ok(n) if n > 0 => return true,
                    Err(nix::errno::Errno::EINTR) if Instant::now() < deadline => continue,
                    _ => return false,
                }
            }
        }
        // Kernels without pidfd_open: poll the child every few milliseconds.
        None => {
            let deadline = Instant::now() + limit;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            false
        }
    }
}
