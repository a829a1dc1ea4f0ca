//! `--on-close HOOK`: a program run after each connection has closed.
//!
//! How HOOK is resolved (once, at start-up):
//! - the path of an existing file (relative to the directory rnc starts in):
//!   run directly when it is executable, otherwise with `bash FILE` (or
//!   `/bin/sh FILE` where there is no bash) — so `--on-close hook.sh` behaves
//!   like the `nc …; bash hook.sh` it replaces;
//! - anything else is a command line for `/bin/sh -c HOOK`.
//!
//! What the hook gets: on stdin, the bytes the client sent (at most
//! `--hook-max-input`, default 1 MiB); in its environment NCAT_LOCAL_ADDR,
//! NCAT_LOCAL_PORT, NCAT_REMOTE_ADDR, NCAT_REMOTE_PORT, NCAT_PROTO and
//! RNC_BYTES_IN, RNC_BYTES_OUT, RNC_DURATION_MS, RNC_CLOSE_REASON (eof, reset,
//! timeout, limit, denied), RNC_TLS_SNI and RNC_TLS_ALPN (when there are). Peer
//! data never reaches a command line. Its stdout and stderr are rnc's.
//!
//! In `-k` mode hooks run on a thread of their own, one at a time and in order,
//! so they never hold up accepting or relaying; `--hook-coalesce` runs one hook
//! for a burst, with the latest connection's data; `--hook-timeout` kills a
//! hook that runs too long. A failing hook is logged and the service goes on.

use crate::child::ConnInfo;
use crate::config::HookSpec;
use crate::error::{Error, Result};
use crate::log::{describe, emit};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Default bound on the client bytes handed to a hook.
pub const DEFAULT_MAX_INPUT: usize = 1 << 20;

/// A closed connection, as a hook sees it.
#[derive(Debug, Clone)]
pub struct Event {
    pub info: ConnInfo,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration: Duration,
    pub reason: &'static str,
    pub payload: Vec<u8>,
    pub tls_sni: Option<String>,
    pub tls_alpn: Option<String>,
}

/// Turn HOOK into the argv that runs it (see the module comment).
pub fn resolve(hook: &str) -> Result<Vec<String>> {
    if hook.trim().is_empty() {
        return Err(Error::usage("--on-close", "no hook given"));
    }
    let path = Path::new(hook);
    if path.is_file() {
        let abs = std::fs::canonicalize(path).map_err(|e| Error::usage(hook, describe(&e)))?;
        let abs = abs.to_string_lossy().into_owned();
        if nix::unistd::access(path, nix::unistd::AccessFlags::X_OK).is_ok() {
            return Ok(vec![abs]);
        }
        let shell = if Path::new("/bin/bash").exists() {
            "/bin/bash"
        } else {
            "/bin/sh"
        };
        return Ok(vec![shell.to_string(), abs]);
    }
    Ok(vec!["/bin/sh".into(), "-c".into(), hook.to_string()])
}

/// Run the hook for `ev` and wait for it (bounded by the spec's timeout).
/// Returns its exit code; failures are reported on stderr.
pub fn run(spec: &HookSpec, ev: &Event) -> i32 {
    let Some((prog, args)) = spec.argv.split_first() else {
        return 2;
    };
    // Messages name the hook itself, not the shell that runs it.
    let name = spec.argv.last().unwrap_or(prog);
    let mut cmd = Command::new(prog);
    crate::child::ncat_env(&mut cmd, &ev.info);
    cmd.args(args)
        .stdin(Stdio::piped())
        .env("RNC_BYTES_IN", ev.bytes_in.to_string())
        .env("RNC_BYTES_OUT", ev.bytes_out.to_string())
        .env("RNC_DURATION_MS", ev.duration.as_millis().to_string())
        .env("RNC_CLOSE_REASON", ev.reason)
        .env("RNC_TLS_SNI", ev.tls_sni.as_deref().unwrap_or(""))
        .env("RNC_TLS_ALPN", ev.tls_alpn.as_deref().unwrap_or(""));
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            emit(&format!("rnc: --on-close {name} : {}", describe(&e)));
            return 127;
        }
    };
    // The payload is written from a thread: a hook that does not read its
    // stdin must not block us.
    let writer = child.stdin.take().map(|mut stdin| {
        let payload = ev.payload.clone();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&payload);
        })
    });
    let code = match spec.timeout {
        None => match child.wait() {
            Ok(st) => crate::child::exit_code(st),
            Err(_) => 1,
        },
        Some(t) => {
            let started = Instant::now();
            let code = crate::child::reap(&mut child, t);
            if started.elapsed() >= t {
                emit(&format!(
                    "rnc: --on-close {name} : killed after {} ms",
                    t.as_millis()
                ));
                // Already reported as killed; not again as a failure.
                return code;
            }
            code
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    if code != 0 {
        emit(&format!(
            "rnc: --on-close {name} : exited with status {code}"
        ));
    }
    code
}

/// Hooks of a `-k` listener: run in order on their own thread.
pub struct Queue {
    tx: mpsc::Sender<Option<Event>>,
    worker: Option<JoinHandle<()>>,
}

/// Where connections send their events; `None` (from `Queue::finish`) tells
/// the worker to stop after what is already queued.
pub type Sender = mpsc::Sender<Option<Event>>;

impl Queue {
    pub fn start(spec: HookSpec) -> Queue {
        let (tx, rx) = mpsc::channel::<Option<Event>>();
        let worker = std::thread::Builder::new()
            .name("on-close".into())
            .spawn(move || {
                while let Ok(Some(mut ev)) = rx.recv() {
                    let mut stop = false;
                    if spec.coalesce {
                        // A burst (a push of many commits) runs the hook once,
                        // with the latest data.
                        while let Ok(newer) = rx.try_recv() {
                            match newer {
                                Some(n) => ev = n,
                                None => {
                                    stop = true;
                                    break;
                                }
                            }
                        }
                    }
                    run(&spec, &ev);
                    if stop {
                        break;
                    }
                }
            })
            .ok();
        Queue { tx, worker }
    }

    /// A sender for other threads (exec sessions).
    pub fn sender(&self) -> Sender {
        self.tx.clone()
    }

    /// Let the hooks already queued run (each bounded by its timeout), then
    /// stop; later events are not run.
    pub fn finish(mut self) {
        let _ = self.tx.send(None);
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_runs_with_sh() {
        assert_eq!(
            resolve("echo $RNC_CLOSE_REASON").unwrap_or_default(),
            vec!["/bin/sh", "-c", "echo $RNC_CLOSE_REASON"]
        );
    }

    #[test]
    fn a_script_file_runs_directly_or_with_a_shell() {
        let dir = std::env::temp_dir().join(format!("rnc-hook-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("hook.sh");
        let _ = std::fs::write(&f, "echo hi\n");
        let argv = resolve(&f.to_string_lossy()).unwrap_or_default();
        assert_eq!(argv.len(), 2, "{argv:?}");
        assert!(argv[0].ends_with("sh"), "{argv:?}");
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755));
        let argv = resolve(&f.to_string_lossy()).unwrap_or_default();
        assert_eq!(argv.len(), 1, "{argv:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
