//! Shared harness for rnc's integration tests.
//!
//! Tests drive the built binary the way users do: real sockets on 127.0.0.1 / ::1,
//! real clients (curl, wget, python3) and real peers (ncat, nc.openbsd). This module
//! spawns a program with a chosen kind of stdin (pipe with data, pipe kept open,
//! regular file, /dev/null, closed fd, tty) and stdout (captured, hashed, closed,
//! broken pipe), collects its output, and waits for it with a deadline.
//!
//! Rules kept here: no fixed sleeps to wait for readiness (connect-retry every 10 ms
//! or poll /proc), every wait is bounded and fails with a message that shows the
//! command and what it printed, and every spawned process group is killed on drop.
//!
//! `RNC_TEST_BIN=/path/to/binary` points the suite at another binary (e.g. ncat, to
//! check a test's logic); the default is the `rnc` that cargo built.

#![allow(dead_code)]

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound for anything that must eventually happen (generous: the machine is a
/// loaded 2-core box). Hitting it is a test failure.
pub const FAIL: Duration = Duration::from_secs(10);
/// Bound for "promptly" (the issue says "within a second"; the slack is for load).
pub const PROMPT: Duration = Duration::from_millis(1500);
/// How long a negative check ("still running", "sent nothing") watches.
pub const QUIET: Duration = Duration::from_millis(400);
/// Poll interval for readiness checks.
pub const POLL: Duration = Duration::from_millis(10);

// ---------------------------------------------------------------------------
// libc bits (std links libc; no extra crate needed)

mod sys {
    use std::os::raw::c_int;
    extern "C" {
        pub fn close(fd: c_int) -> c_int;
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
    }
    pub const SIGKILL: c_int = 9;
}

fn kill_group(pgid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names the
    // process group that `spawn` created for this child (process_group(0)).
    unsafe {
        sys::kill(-(pgid as i32), sys::SIGKILL);
    }
}

// ---------------------------------------------------------------------------
// Binaries and names

/// The binary under test: `RNC_TEST_BIN` if set, else the `rnc` cargo built.
pub fn rnc_bin() -> PathBuf {
    match std::env::var_os("RNC_TEST_BIN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_rnc")),
    }
}

/// True when the suite runs against the real rnc (not an `RNC_TEST_BIN` stand-in).
pub fn testing_rnc() -> bool {
    !matches!(std::env::var_os("RNC_TEST_BIN"), Some(p) if !p.is_empty())
}

/// A directory (per test process) holding symlinks to the binary under test
/// under the names users invoke it by: `nc`, `ncat`, `nc.openbsd`, ...
pub fn name_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = scratch_root().join(format!("rnc-test-{}-names", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("create symlink dir");
        for n in [
            "rnc",
            "ncat",
            "nc",
            "netcat",
            "nc.openbsd",
            "nc.traditional",
        ] {
            std::os::unix::fs::symlink(rnc_bin(), d.join(n)).expect("symlink");
        }
        d
    })
}

/// Path of the binary under test invoked as `name` (a symlink, so argv[0] is `name`).
pub fn rnc_named(name: &str) -> PathBuf {
    let p = name_dir().join(name);
    if !p.exists() {
        match std::os::unix::fs::symlink(rnc_bin(), &p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("symlink {}: {e}", p.display()),
        }
    }
    p
}

/// Debian package that provides a peer tool (for the error message).
fn package_of(tool: &str) -> &str {
    match tool {
        "nc.openbsd" => "netcat-openbsd",
        "nc.traditional" => "netcat-traditional",
        "sha256sum" | "cat" | "sh" => "coreutils",
        "python3" => "python3",
        "ssh" | "ssh-keygen" => "openssh-client",
        "sshd" => "openssh-server",
        other => other,
    }
}

/// Absolute path of a peer tool, or a test failure that says how to get it.
/// Tests never skip silently when a peer is missing.
pub fn require_tool(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if let Ok(md) = fs::metadata(&p) {
                use std::os::unix::fs::PermissionsExt;
                if md.is_file() && md.permissions().mode() & 0o111 != 0 {
                    return p;
                }
            }
        }
    }
    panic!(
        "required peer `{name}` is not installed (not found in PATH). \
         Run scripts/test.sh, which installs it, or: apt-get install -y {}",
        package_of(name)
    );
}

/// Which netcat family's meanings rnc gives conflicting letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pers {
    Ncat,
    OpenBsd,
    Traditional,
}

pub const PERSONALITIES: [Pers; 3] = [Pers::Ncat, Pers::OpenBsd, Pers::Traditional];

impl Pers {
    /// The argv[0] that selects this personality.
    pub fn argv0(self) -> &'static str {
        match self {
            Pers::Ncat => "rnc",
            Pers::OpenBsd => "nc",
            Pers::Traditional => "nc.traditional",
        }
    }
    /// `--compat` value.
    pub fn compat(self) -> &'static str {
        match self {
            Pers::Ncat => "ncat",
            Pers::OpenBsd => "openbsd",
            Pers::Traditional => "traditional",
        }
    }
    /// rnc with this personality (selected by argv[0]).
    pub fn cmd<I, S>(self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Cmd::rnc_as(self.argv0(), args)
    }
}

// ---------------------------------------------------------------------------
// Scratch files

/// Root for scratch dirs: /tmp (short paths keep Unix socket names < 108 bytes).
pub fn scratch_root() -> PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let root = std::env::temp_dir();
        // Remove leftovers of earlier runs whose process is gone.
        if let Ok(rd) = fs::read_dir(&root) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(rest) = name.strip_prefix("rnc-test-") {
                    let pid = rest.split('-').next().unwrap_or("");
                    if pid.parse::<u32>().is_ok() && !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        root
    })
    .clone()
}

/// A temporary directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path = scratch_root().join(format!("rnc-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
    /// Write `data` to a file in this dir and return its path.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.join(name);
        fs::write(&p, data).expect("write temp file");
        p
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

// ---------------------------------------------------------------------------
// Spawning

/// What the program's stdin is.
pub enum In {
    /// A pipe: these bytes are written, then the pipe is closed (EOF).
    /// Up to 32 KiB is written before `spawn` returns (it fits the pipe buffer).
    Data(Vec<u8>),
    /// A pipe kept open until the test writes to it or closes it.
    Open,
    /// A pipe fed from this file by a thread (like `cat FILE |`), then closed.
    PipeFrom(PathBuf),
    /// A regular file with these contents.
    File(Vec<u8>),
    /// An existing regular file.
    FilePath(PathBuf),
    /// /dev/null.
    DevNull,
    /// File descriptor 0 is closed.
    Closed,
    /// A pseudo-terminal that stays open and idle (python3 holds the master).
    Tty,
}

/// What the program's stdout is.
pub enum Out {
    /// A pipe read by the test.
    Capture,
    /// A pipe whose contents are counted and hashed with sha256sum, not stored.
    Sha256,
    /// /dev/null.
    DevNull,
    /// File descriptor 1 is closed.
    Closed,
    /// A pipe whose read end the test closes at once (writes get EPIPE).
    Broken,
}

/// A command to spawn.
pub struct Cmd {
    prog: PathBuf,
    label: String,
    args: Vec<OsString>,
    stdin: In,
    stdout: Out,
    envs: Vec<(OsString, Option<OsString>)>,
    cwd: Option<PathBuf>,
}

impl Cmd {
    pub fn new<P, I, S>(prog: P, args: I) -> Cmd
    where
        P: Into<PathBuf>,
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let prog = prog.into();
        let label = prog
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Cmd {
            prog,
            label,
            args: args
                .into_iter()
                .map(|a| a.as_ref().to_os_string())
                .collect(),
            stdin: In::DevNull,
            stdout: Out::Capture,
            envs: Vec::new(),
            cwd: None,
        }
    }

    /// The binary under test as `rnc` (ncat personality). `RNC_COMPAT` is removed
    /// from its environment so the caller's shell cannot change the personality.
    pub fn rnc<I, S>(args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Cmd::new(rnc_bin(), args).env_remove("RNC_COMPAT");
        c.label = "rnc".into();
        c
    }

    /// The binary under test invoked through a symlink called `name`.
    pub fn rnc_as<I, S>(name: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Cmd::new(rnc_named(name), args).env_remove("RNC_COMPAT");
        c.label = name.into();
        c
    }

    /// A peer tool from PATH (fails clearly when it is not installed).
    pub fn tool<I, S>(name: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Cmd::new(require_tool(name), args)
    }

    /// `/bin/bash -c SCRIPT`.
    pub fn bash(script: &str) -> Cmd {
        Cmd::new("/bin/bash", ["-c", script])
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Cmd {
        self.args.push(a.as_ref().to_os_string());
        self
    }
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }
    pub fn stdin(mut self, i: In) -> Cmd {
        self.stdin = i;
        self
    }
    pub fn stdout(mut self, o: Out) -> Cmd {
        self.stdout = o;
        self
    }
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Cmd {
        self.envs.push((k.as_ref().into(), Some(v.as_ref().into())));
        self
    }
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Cmd {
        self.envs.push((k.as_ref().into(), None));
        self
    }
    pub fn cwd(mut self, p: impl Into<PathBuf>) -> Cmd {
        self.cwd = Some(p.into());
        self
    }

    /// The command line, for messages.
    pub fn line(&self) -> String {
        let mut s = self.label.clone();
        for a in &self.args {
            let a = a.to_string_lossy();
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
                let _ = write!(s, " {a:?}");
            } else {
                let _ = write!(s, " {a}");
            }
        }
        s
    }

    pub fn spawn(self) -> Proc {
        let line = self.line();
        let stdin_desc = match &self.stdin {
            In::Data(d) => format!("pipe with {} bytes then EOF", d.len()),
            In::Open => "open pipe".into(),
            In::PipeFrom(p) => format!("pipe from {}", p.display()),
            In::File(d) => format!("regular file of {} bytes", d.len()),
            In::FilePath(p) => format!("regular file {}", p.display()),
            In::DevNull => "/dev/null".into(),
            In::Closed => "closed".into(),
            In::Tty => "tty".into(),
        };
        let label = format!("`{line}` (stdin: {stdin_desc})");

        let mut tmp = None;
        let mut cmd = if matches!(self.stdin, In::Tty) {
            // python3 gives the program a pty as stdin and keeps the master open.
            let mut c = Command::new(require_tool("python3"));
            c.arg("-c")
                .arg(TTY_WRAPPER)
                .arg(&self.prog)
                .args(&self.args);
            c
        } else {
            let mut c = Command::new(&self.prog);
            c.args(&self.args);
            if self.label != self.prog.file_name().unwrap_or_default().to_string_lossy() {
                c.arg0(&self.label);
            }
            c
        };
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.process_group(0);
        cmd.stderr(Stdio::piped());

        let mut close_fds: Vec<i32> = Vec::new();
        let mut feed: Option<Vec<u8>> = None;
        let mut feed_file: Option<PathBuf> = None;
        match self.stdin {
            In::Data(d) => {
                cmd.stdin(Stdio::piped());
                feed = Some(d);
            }
            In::Open => {
                cmd.stdin(Stdio::piped());
            }
            In::PipeFrom(p) => {
                cmd.stdin(Stdio::piped());
                feed_file = Some(p);
            }
            In::File(d) => {
                let t = TempDir::new();
                let p = t.file("stdin", &d);
                cmd.stdin(File::open(p).expect("open stdin file"));
                tmp = Some(t);
            }
            In::FilePath(p) => {
                cmd.stdin(File::open(&p).unwrap_or_else(|e| panic!("open {}: {e}", p.display())));
            }
            In::DevNull | In::Tty => {
                cmd.stdin(Stdio::null());
            }
            In::Closed => {
                cmd.stdin(Stdio::null());
                close_fds.push(0);
            }
        }
        let mut broken = false;
        match self.stdout {
            Out::Capture | Out::Sha256 => {
                cmd.stdout(Stdio::piped());
            }
            Out::Broken => {
                cmd.stdout(Stdio::piped());
                broken = true;
            }
            Out::DevNull => {
                cmd.stdout(Stdio::null());
            }
            Out::Closed => {
                cmd.stdout(Stdio::null());
                close_fds.push(1);
            }
        }
        if !close_fds.is_empty() {
            // SAFETY: the closure runs in the child between fork and exec. It only
            // calls close(2), which is async-signal-safe, and touches no memory
            // that another thread could hold locked (the Vec is moved in and only read).
            unsafe {
                cmd.pre_exec(move || {
                    for &fd in &close_fds {
                        sys::close(fd);
                    }
                    Ok(())
                });
            }
        }

        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {label}: {e}"));
        let pid = child.id();
        let started = Instant::now();
        let err = Capture::start(child.stderr.take().unwrap());

        let mut out = None;
        let mut sha = None;
        match self.stdout {
            Out::Capture => out = Some(Capture::start(child.stdout.take().unwrap())),
            Out::Sha256 => sha = Some(hash_stream(child.stdout.take().unwrap())),
            _ => {}
        }
        if broken {
            drop(child.stdout.take());
        }

        let mut stdin = child.stdin.take();
        let mut feeder = None;
        if let Some(d) = feed {
            let mut w = stdin.take().unwrap();
            if d.len() <= 32 * 1024 {
                let _ = w.write_all(&d);
            } else {
                feeder = Some(thread::spawn(move || {
                    let _ = w.write_all(&d);
                }));
            }
        }
        if let Some(p) = feed_file {
            let mut w = stdin.take().unwrap();
            feeder = Some(thread::spawn(move || {
                let mut f = File::open(&p).expect("open pipe source");
                let _ = io::copy(&mut f, &mut w);
            }));
        }

        Proc {
            label,
            child,
            pid,
            stdin,
            feeder,
            out,
            sha,
            err,
            started,
            exited: None,
            _tmp: tmp,
        }
    }
}

const TTY_WRAPPER: &str = r#"
import os, pty, subprocess, sys
m, s = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=s)
os.close(s)
rc = p.wait()
sys.exit(rc if rc >= 0 else 128 - rc)
"#;

/// A growing byte buffer filled by a reader thread.
#[derive(Clone)]
pub struct Capture(Arc<(Mutex<Captured>, Condvar)>);

/// The bytes read so far, and whether the stream has ended.
type Captured = (Vec<u8>, bool);

impl Capture {
    pub fn start<R: Read + Send + 'static>(mut r: R) -> Capture {
        let c = Capture(Arc::new((Mutex::new((Vec::new(), false)), Condvar::new())));
        let c2 = c.clone();
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let (m, cv) = &*c2.0;
                        m.lock().unwrap().0.extend_from_slice(&buf[..n]);
                        cv.notify_all();
                    }
                }
            }
            let (m, cv) = &*c2.0;
            m.lock().unwrap().1 = true;
            cv.notify_all();
        });
        c
    }
    pub fn snapshot(&self) -> Vec<u8> {
        self.0 .0.lock().unwrap().0.clone()
    }
    pub fn at_eof(&self) -> bool {
        self.0 .0.lock().unwrap().1
    }
    /// Wait until `pred(data, eof)` holds or the deadline passes; returns whether it held.
    pub fn wait_until(&self, deadline: Instant, pred: impl Fn(&[u8], bool) -> bool) -> bool {
        let (m, cv) = &*self.0;
        let mut g = m.lock().unwrap();
        loop {
            if pred(&g.0, g.1) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap().0;
        }
    }
}

/// Count and SHA-256 a stream through `sha256sum`, without storing it.
fn hash_stream<R: Read + Send + 'static>(mut r: R) -> JoinHandle<(u64, String)> {
    let mut sum = Command::new(require_tool("sha256sum"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sha256sum");
    thread::spawn(move || {
        let mut w = sum.stdin.take().unwrap();
        let mut n = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(k) => {
                    n += k as u64;
                    w.write_all(&buf[..k]).expect("feed sha256sum");
                }
            }
        }
        drop(w);
        let out = sum.wait_with_output().expect("sha256sum");
        let hex = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        (n, hex)
    })
}

/// SHA-256 (hex) of a file, via sha256sum.
pub fn sha256_file(p: &Path) -> String {
    let out = Command::new(require_tool("sha256sum"))
        .arg(p)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "sha256sum {} failed", p.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A running program. Killed (with its whole process group) on drop.
pub struct Proc {
    pub label: String,
    child: Child,
    pub pid: u32,
    stdin: Option<ChildStdin>,
    feeder: Option<JoinHandle<()>>,
    out: Option<Capture>,
    sha: Option<JoinHandle<(u64, String)>>,
    err: Capture,
    pub started: Instant,
    exited: Option<(ExitStatus, Instant)>,
    _tmp: Option<TempDir>,
}

/// A finished program.
pub struct Done {
    pub label: String,
    pub status: ExitStatus,
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Spawn to exit.
    pub elapsed: Duration,
    /// When the exit was observed (within ~5 ms of the real exit).
    pub ended: Instant,
    /// For `Out::Sha256`: (byte count, hex digest).
    pub sha256: Option<(u64, String)>,
}

fn show(b: &[u8]) -> String {
    const MAX: usize = 3000;
    let s = String::from_utf8_lossy(b);
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{:?}... ({} bytes in all)", &s[..cut], b.len())
    } else {
        format!("{s:?}")
    }
}

fn status_text(st: &ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => format!("{st:?}"),
    }
}

impl Proc {
    /// What the program has printed so far, for failure messages.
    pub fn context(&self) -> String {
        let mut s = format!(
            "{} [pid {}], {:.2?} after start",
            self.label,
            self.pid,
            self.started.elapsed()
        );
        if let Some((st, _)) = &self.exited {
            let _ = write!(s, ", {}", status_text(st));
        }
        if let Some(o) = &self.out {
            let _ = write!(s, "\n  stdout: {}", show(&o.snapshot()));
        }
        let _ = write!(s, "\n  stderr: {}", show(&self.err.snapshot()));
        s
    }

    pub fn stdout(&self) -> Vec<u8> {
        self.out.as_ref().map(|o| o.snapshot()).unwrap_or_default()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.snapshot()).into_owned()
    }

    /// Write to the open stdin pipe (`In::Open`).
    pub fn write(&mut self, data: &[u8]) {
        let ctx = self.context();
        let w = self
            .stdin
            .as_mut()
            .unwrap_or_else(|| panic!("stdin of {ctx} is not an open pipe"));
        w.write_all(data)
            .unwrap_or_else(|e| panic!("writing to stdin of {ctx}: {e}"));
        w.flush().ok();
    }

    /// Close the stdin pipe (EOF for the program).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Has it exited? (records the exit time).
    pub fn poll_exit(&mut self) -> Option<ExitStatus> {
        if let Some((st, _)) = self.exited {
            return Some(st);
        }
        match self.child.try_wait() {
            Ok(Some(st)) => {
                self.exited = Some((st, Instant::now()));
                Some(st)
            }
            Ok(None) => None,
            Err(e) => panic!("wait for {}: {e}", self.label),
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.poll_exit().is_none()
    }

    /// Fail unless the program is still running after `d` (watched all along).
    pub fn expect_running_for(&mut self, d: Duration, why: &str) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.poll_exit().is_some() {
                self.settle_pipes(Duration::from_secs(2));
                panic!(
                    "expected {why}: still running, but it exited\n{}",
                    self.context()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Wait until stdout contains `pat`.
    pub fn expect_stdout(&mut self, pat: &[u8], within: Duration) {
        let out = self.out.clone().expect("stdout not captured");
        let ok = out.wait_until(Instant::now() + within, |d, _| find(d, pat).is_some());
        if !ok {
            self.poll_exit();
            panic!(
                "stdout never contained {} within {within:?}\n{}",
                show(pat),
                self.context()
            );
        }
    }

    /// Wait until stderr contains `pat`.
    pub fn expect_stderr(&mut self, pat: &str, within: Duration) {
        let ok = self.err.wait_until(Instant::now() + within, |d, _| {
            find(d, pat.as_bytes()).is_some()
        });
        if !ok {
            self.poll_exit();
            panic!(
                "stderr never contained {pat:?} within {within:?}\n{}",
                self.context()
            );
        }
    }

    fn settle_pipes(&mut self, within: Duration) {
        let end = Instant::now() + within;
        self.err.wait_until(end, |_, eof| eof);
        if let Some(o) = &self.out {
            o.wait_until(end, |_, eof| eof);
        }
    }

    /// Wait for exit (at most `within` from now); kill and fail on the deadline.
    pub fn finish(&mut self, within: Duration) -> Done {
        let deadline = Instant::now() + within;
        loop {
            if self.poll_exit().is_some() {
                break;
            }
            if Instant::now() >= deadline {
                kill_group(self.pid);
                let _ = self.child.wait();
                self.settle_pipes(Duration::from_secs(2));
                panic!(
                    "did not exit within {within:?} (killed)\n{}",
                    self.context()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
        self.collect()
    }

    /// Kill the process group and collect what it printed.
    pub fn kill(&mut self) -> Done {
        if self.poll_exit().is_none() {
            kill_group(self.pid);
            let st = self.child.wait().expect("wait");
            self.exited = Some((st, Instant::now()));
        }
        self.collect()
    }

    fn collect(&mut self) -> Done {
        let (status, ended) = self.exited.expect("exited");
        // Pipes close when every holder (the program and any children) is gone.
        self.settle_pipes(Duration::from_secs(5));
        if !self.err.at_eof() {
            // A grandchild still holds the pipe; end the group.
            kill_group(self.pid);
            self.settle_pipes(Duration::from_secs(5));
        }
        self.stdin = None;
        if let Some(f) = self.feeder.take() {
            // The feeder ends once the reader is gone (EPIPE) or the data is written.
            let _ = f.join();
        }
        let sha256 = self.sha.take().map(|h| h.join().expect("hash thread"));
        Done {
            label: self.label.clone(),
            status,
            code: status.code(),
            stdout: self.stdout(),
            stderr: self.stderr(),
            elapsed: ended - self.started,
            ended,
            sha256,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() {
            kill_group(self.pid);
            let _ = self.child.wait();
        }
    }
}

impl Done {
    pub fn describe(&self) -> String {
        format!(
            "{}: {} after {:.2?}\n  stdout: {}\n  stderr: {}",
            self.label,
            status_text(&self.status),
            self.elapsed,
            show(&self.stdout),
            show(self.stderr.as_bytes())
        )
    }
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// Fail if stderr shows a Rust panic.
    pub fn no_panic(&self) -> &Done {
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "the program panicked\n{}",
            self.describe()
        );
        self
    }
    /// Exit code must be `c` (and no panic).
    pub fn code_is(&self, c: i32) -> &Done {
        self.no_panic();
        assert_eq!(
            self.code,
            Some(c),
            "expected exit code {c}\n{}",
            self.describe()
        );
        self
    }
    pub fn ok(&self) -> &Done {
        self.code_is(0)
    }
    pub fn stdout_is(&self, expect: &[u8]) -> &Done {
        assert!(
            self.stdout == expect,
            "expected stdout {}\n{}",
            show(expect),
            self.describe()
        );
        self
    }
    /// It exited within `d` after `t` (e.g. after the event that should end it).
    pub fn ended_within(&self, t: Instant, d: Duration, what: &str) -> &Done {
        let took = self.ended.saturating_duration_since(t);
        assert!(
            took <= d,
            "expected exit within {d:?} after {what}, took {took:.2?}\n{}",
            self.describe()
        );
        self
    }
    /// Usage error: exit 2, one line `rnc: <what> : <why>` on stderr, nothing on stdout.
    pub fn usage_error(&self) -> &Done {
        self.code_is(2);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("rnc: ") && lines[0][5..].contains(" : "),
            "expected exactly one stderr line `rnc: <what> : <why>`\n{}",
            self.describe()
        );
        assert!(
            self.stdout.is_empty(),
            "expected no stdout\n{}",
            self.describe()
        );
        self
    }
}

/// Position of `pat` in `hay`.
pub fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    if pat.is_empty() {
        return Some(0);
    }
    hay.windows(pat.len()).position(|w| w == pat)
}

/// Count occurrences of `pat` in `hay`.
pub fn count(hay: &[u8], pat: &[u8]) -> usize {
    if pat.is_empty() {
        return 0;
    }
    hay.windows(pat.len()).filter(|w| *w == pat).count()
}

/// Poll `cond` every 10 ms until it holds; fail with `what` at the deadline.
pub fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out after {within:?} waiting for {what}"
        );
        thread::sleep(POLL);
    }
}

/// Poll `probe` (given `p`'s pid) every 10 ms until it yields a value. Fail
/// if `p` exits first ("exited before `what`"), or at the deadline with the
/// probe's last account of what it saw.
pub fn wait_on<T>(
    p: &mut Proc,
    within: Duration,
    what: &str,
    mut probe: impl FnMut(u32) -> Result<T, String>,
) -> T {
    let end = Instant::now() + within;
    loop {
        let seen = match probe(p.pid) {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        if p.poll_exit().is_some() {
            p.settle_pipes(Duration::from_secs(2));
            panic!("exited before {what}\n{}", p.context());
        }
        if Instant::now() >= end {
            panic!("{seen}\n{}", p.context());
        }
        thread::sleep(POLL);
    }
}

/// The port a listener started with `-v --test` on port 0 announces: waits for
/// its "NCAT TEST: LISTEN" line and reads the port off "Listening on …".
pub fn announced_port(p: &mut Proc) -> u16 {
    p.expect_stderr("NCAT TEST: LISTEN", FAIL);
    p.stderr()
        .lines()
        .find(|l| l.contains("Listening on "))
        .and_then(|l| l.rsplit([':', ' ']).next())
        .and_then(|p| p.trim().parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no port in the Listening line\n{}", p.context()))
}

/// Run a program to completion (stdin /dev/null), with a deadline.
pub fn run(cmd: Cmd, within: Duration) -> Done {
    cmd.spawn().finish(within)
}

/// Join a peer thread; if it failed, fail with its message and `p`'s output.
pub fn join<T>(h: JoinHandle<T>, p: &mut Proc) -> T {
    let end = Instant::now() + FAIL + FAIL;
    while !h.is_finished() && Instant::now() < end {
        thread::sleep(POLL);
    }
    if !h.is_finished() {
        p.poll_exit();
        panic!("peer thread did not finish\n{}", p.context());
    }
    match h.join() {
        Ok(v) => v,
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            p.poll_exit();
            panic!("peer failed: {msg}\n{}", p.context());
        }
    }
}

// ---------------------------------------------------------------------------
// Sockets

pub const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

/// A TCP port free on both families right now (bind `[::]:0`, read, drop).
pub fn free_port() -> u16 {
    TcpListener::bind("[::]:0")
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A UDP port free on both families right now.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("[::]:0")
        .or_else(|_| std::net::UdpSocket::bind("127.0.0.1:0"))
        .and_then(|s| s.local_addr())
        .expect("free udp port")
        .port()
}

/// Connect to `addr`, retrying every 10 ms while nothing listens (the program
/// under test is starting). A successful connect is the program's client.
pub fn connect_retry(addr: SocketAddr, p: &mut Proc, within: Duration) -> TcpStream {
    let end = Instant::now() + within;
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => return s,
            Err(e) => {
                if p.poll_exit().is_some() {
                    p.settle_pipes(Duration::from_secs(2));
                    panic!(
                        "exited before accepting a connection on {addr} ({e})\n{}",
                        p.context()
                    );
                }
                if Instant::now() >= end {
                    panic!(
                        "nothing accepted connections on {addr} within {within:?} ({e})\n{}",
                        p.context()
                    );
                }
                thread::sleep(POLL);
            }
        }
    }
}

/// Connect to a Unix stream socket path (or `@abstract` name), retrying while it
/// does not exist or nothing listens yet.
pub fn connect_unix_retry(path: &str, p: &mut Proc, within: Duration) -> UnixStream {
    let end = Instant::now() + within;
    loop {
        match unix_connect(path) {
            Ok(s) => return s,
            Err(e) => {
                if p.poll_exit().is_some() {
                    p.settle_pipes(Duration::from_secs(2));
                    panic!("exited before accepting on {path} ({e})\n{}", p.context());
                }
                if Instant::now() >= end {
                    panic!(
                        "nothing accepted on {path} within {within:?} ({e})\n{}",
                        p.context()
                    );
                }
                thread::sleep(POLL);
            }
        }
    }
}

/// Connect to a Unix stream socket; `@name` is a Linux abstract socket.
pub fn unix_connect(path: &str) -> io::Result<UnixStream> {
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        UnixStream::connect_addr(&a)
    } else {
        UnixStream::connect(path)
    }
}

/// Listen on a Unix stream socket; `@name` is a Linux abstract socket.
pub fn unix_listen(path: &str) -> UnixListener {
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let a = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixListener::bind_addr(&a).expect("bind abstract unix socket")
    } else {
        UnixListener::bind(path).expect("bind unix socket")
    }
}

/// A unique abstract socket name (with the leading `@`).
pub fn abstract_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "@rnc-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

fn accept_loop<T>(
    mut f: impl FnMut() -> io::Result<T>,
    mut p: Option<&mut Proc>,
    within: Duration,
    what: &str,
) -> T {
    let end = Instant::now() + within;
    loop {
        match f() {
            Ok(s) => return s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Some(p) = p.as_deref_mut() {
                    if p.poll_exit().is_some() {
                        p.settle_pipes(Duration::from_secs(2));
                        panic!("exited without connecting to {what}\n{}", p.context());
                    }
                    if Instant::now() >= end {
                        panic!("no connection to {what} within {within:?}\n{}", p.context());
                    }
                }
                assert!(
                    Instant::now() < end,
                    "no connection to {what} within {within:?}"
                );
                thread::sleep(POLL);
            }
            Err(e) => panic!("accept on {what}: {e}"),
        }
    }
}

/// Accept one connection within `within` (the program under test connects to us).
pub fn accept_tcp(l: &TcpListener, within: Duration) -> TcpStream {
    accept_tcp_from(l, None, within)
}

/// Accept one connection from `p`; fails early (with its output) if `p` exits.
pub fn accept_tcp_from(l: &TcpListener, p: Option<&mut Proc>, within: Duration) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let what = format!("{:?}", l.local_addr().unwrap());
    let s = accept_loop(|| l.accept().map(|(s, _)| s), p, within, &what);
    s.set_nonblocking(false).unwrap();
    s
}

pub fn accept_unix(l: &UnixListener, within: Duration) -> UnixStream {
    accept_unix_from(l, None, within)
}

pub fn accept_unix_from(l: &UnixListener, p: Option<&mut Proc>, within: Duration) -> UnixStream {
    l.set_nonblocking(true).unwrap();
    let s = accept_loop(|| l.accept().map(|(s, _)| s), p, within, "the unix socket");
    s.set_nonblocking(false).unwrap();
    s
}

/// A connected stream, TCP or Unix.
pub trait Stream: Read + Write + Send {
    fn set_timeout(&self, d: Option<Duration>);
    fn shut_wr(&self);
    fn shut_rd(&self);
}

impl Stream for TcpStream {
    fn set_timeout(&self, d: Option<Duration>) {
        self.set_read_timeout(d).unwrap();
    }
    fn shut_wr(&self) {
        self.shutdown(Shutdown::Write).expect("shutdown(SHUT_WR)");
    }
    fn shut_rd(&self) {
        let _ = self.shutdown(Shutdown::Read);
    }
}

impl Stream for UnixStream {
    fn set_timeout(&self, d: Option<Duration>) {
        self.set_read_timeout(d).unwrap();
    }
    fn shut_wr(&self) {
        self.shutdown(Shutdown::Write).expect("shutdown(SHUT_WR)");
    }
    fn shut_rd(&self) {
        let _ = self.shutdown(Shutdown::Read);
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Read until EOF; fail (naming `what`) if EOF does not come within `within`.
pub fn read_to_eof<S: Stream + ?Sized>(s: &mut S, within: Duration, what: &str) -> Vec<u8> {
    let end = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let now = Instant::now();
        assert!(
            now < end,
            "{what}: no EOF within {within:?} (got {} bytes: {})",
            got.len(),
            show(&got)
        );
        s.set_timeout(Some(end - now));
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!(
                "{what}: read error {e} after {} bytes: {}",
                got.len(),
                show(&got)
            ),
        }
    }
}

/// Read until the data read so far contains `pat`; returns everything read.
pub fn read_until<S: Stream + ?Sized>(
    s: &mut S,
    pat: &[u8],
    within: Duration,
    what: &str,
) -> Vec<u8> {
    let end = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while find(&got, pat).is_none() {
        let now = Instant::now();
        assert!(
            now < end,
            "{what}: {} not received within {within:?} (got {})",
            show(pat),
            show(&got)
        );
        s.set_timeout(Some(end - now));
        match s.read(&mut buf) {
            Ok(0) => panic!("{what}: EOF before {} (got {})", show(pat), show(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("{what}: read error {e} (got {})", show(&got)),
        }
    }
    got
}

/// Fail if anything (data or EOF) arrives within `d`.
pub fn expect_silence<S: Stream + ?Sized>(s: &mut S, d: Duration, what: &str) {
    let end = Instant::now() + d;
    let mut buf = [0u8; 4096];
    loop {
        let now = Instant::now();
        if now >= end {
            return;
        }
        s.set_timeout(Some(end - now));
        match s.read(&mut buf) {
            Ok(0) => panic!("{what}: expected nothing for {d:?}, got EOF"),
            Ok(n) => panic!(
                "{what}: expected nothing for {d:?}, got {}",
                show(&buf[..n])
            ),
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("{what}: expected nothing, got error {e}"),
        }
    }
}

// ---------------------------------------------------------------------------
// /proc/net: who listens where

pub const TCP_ESTABLISHED: u8 = 0x01;
pub const TCP_LISTEN: u8 = 0x0A;

/// One row of /proc/net/{tcp,tcp6,udp,udp6}.
#[derive(Debug, Clone)]
pub struct SockRow {
    pub table: &'static str,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: u8,
    /// `tr` column: 2 = keepalive timer pending.
    pub timer: u8,
    pub inode: u64,
}

fn parse_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(ip, 16).ok()?.to_le_bytes(),
        )),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                let w = u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16).ok()?;
                b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// Parse one of /proc/net/{tcp,tcp6,udp,udp6}.
pub fn proc_net(table: &'static str) -> Vec<SockRow> {
    let text = fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            Some(SockRow {
                table,
                local: parse_addr(f[1])?,
                remote: parse_addr(f[2])?,
                state: u8::from_str_radix(f[3], 16).ok()?,
                timer: f[5]
                    .split(':')
                    .next()
                    .and_then(|t| u8::from_str_radix(t, 16).ok())?,
                inode: f[9].parse().ok()?,
            })
        })
        .collect()
}

/// Socket inodes open in process `pid`.
pub fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut set = HashSet::new();
    if let Ok(rd) = fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(t) = fs::read_link(e.path()) {
                let t = t.to_string_lossy();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    if let Ok(n) = n.parse() {
                        set.insert(n);
                    }
                }
            }
        }
    }
    set
}

/// Rows of the given tables that belong to process `pid`.
pub fn sockets_of(pid: u32, tables: &[&'static str]) -> Vec<SockRow> {
    let inodes = socket_inodes(pid);
    tables
        .iter()
        .flat_map(|t| proc_net(t))
        .filter(|r| inodes.contains(&r.inode))
        .collect()
}

/// TCP listening addresses of `pid`.
pub fn tcp_listeners_of(pid: u32) -> Vec<SocketAddr> {
    sockets_of(pid, &["tcp", "tcp6"])
        .into_iter()
        .filter(|r| r.state == TCP_LISTEN)
        .map(|r| r.local)
        .collect()
}

/// Does this listening/bound address accept traffic sent to `to` (127.0.0.1 or ::1)?
/// A `::` socket is taken to serve IPv4 too only when no IPv4 socket shares the port.
pub fn serves(addrs: &[SocketAddr], to: IpAddr, port: u16) -> bool {
    let mine: Vec<&SocketAddr> = addrs.iter().filter(|a| a.port() == port).collect();
    let v4 = |ip: &IpAddr| ip.is_ipv4();
    match to {
        IpAddr::V4(t) => mine.iter().any(|a| match a.ip() {
            IpAddr::V4(ip) => ip.is_unspecified() || ip == t,
            IpAddr::V6(ip) => ip.is_unspecified() && !mine.iter().any(|b| v4(&b.ip())),
        }),
        IpAddr::V6(t) => mine.iter().any(|a| match a.ip() {
            IpAddr::V6(ip) => ip.is_unspecified() || ip == t,
            IpAddr::V4(_) => false,
        }),
    }
}

/// Wait until process `p` has a TCP listener on `port` that serves `to`; returns
/// all its listening addresses.
pub fn wait_tcp_listen(p: &mut Proc, to: IpAddr, port: u16, within: Duration) -> Vec<SocketAddr> {
    let what = format!("listening on port {port}");
    wait_on(p, within, &what, |pid| {
        let l = tcp_listeners_of(pid);
        if serves(&l, to, port) {
            return Ok(l);
        }
        Err(format!(
            "no listener for {to} port {port} within {within:?} (listening: {l:?})"
        ))
    })
}

/// UDP sockets of `p` bound to `port`.
pub fn udp_bound_of(pid: u32, port: u16) -> Vec<SocketAddr> {
    sockets_of(pid, &["udp", "udp6"])
        .into_iter()
        .map(|r| r.local)
        .filter(|a| a.port() == port)
        .collect()
}

/// Wait until process `p` has a UDP socket on `port` that serves `to`.
pub fn wait_udp_bound(p: &mut Proc, to: IpAddr, port: u16, within: Duration) -> Vec<SocketAddr> {
    let what = format!("binding UDP port {port}");
    wait_on(p, within, &what, |pid| {
        let l = udp_bound_of(pid, port);
        if serves(&l, to, port) {
            return Ok(l);
        }
        Err(format!(
            "no UDP socket for {to} port {port} within {within:?} (bound: {l:?})"
        ))
    })
}

/// Wait until anything on the machine listens on TCP `port` in a way that serves
/// 127.0.0.1 (used when the listener is a grandchild, e.g. under bash).
pub fn wait_port_listening(port: u16, p: &mut Proc, within: Duration) {
    let what = format!("anything listened on port {port}");
    wait_on(p, within, &what, |_| {
        let rows: Vec<SocketAddr> = ["tcp", "tcp6"]
            .iter()
            .flat_map(|t| proc_net(t))
            .filter(|r| r.state == TCP_LISTEN && r.local.port() == port)
            .map(|r| r.local)
            .collect();
        if serves(&rows, V4, port) {
            return Ok(());
        }
        Err(format!(
            "nothing listened on 127.0.0.1:{port} within {within:?}"
        ))
    })
}

/// Unix sockets of `pid` (path as shown in /proc/net/unix, `@` for abstract)
/// with whether each is listening.
pub fn unix_sockets_of(pid: u32) -> Vec<(String, bool)> {
    let inodes = socket_inodes(pid);
    let text = fs::read_to_string("/proc/net/unix").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let inode: u64 = f[6].parse().ok()?;
            if !inodes.contains(&inode) {
                return None;
            }
            let flags = u32::from_str_radix(f[3], 16).ok()?;
            Some((f[7].to_string(), flags & 0x0001_0000 != 0))
        })
        .collect()
}

/// Wait until process `p` has a Unix socket bound to `path`.
pub fn wait_unix_bound(p: &mut Proc, path: &str, within: Duration) {
    let what = format!("binding {path}");
    wait_on(p, within, &what, |pid| {
        let l = unix_sockets_of(pid);
        if l.iter().any(|(n, _)| n == path) {
            return Ok(());
        }
        Err(format!(
            "no unix socket {path} within {within:?} (has: {l:?})"
        ))
    })
}

// ---------------------------------------------------------------------------
// Payloads

/// Deterministic pseudo-random bytes (xorshift64*), `len` bytes.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// A file of `len` pseudo-random bytes and its SHA-256, made once per run.
pub struct Payload {
    pub path: PathBuf,
    pub len: u64,
    pub sha256: String,
}

pub fn payload_64m() -> &'static Payload {
    static P: OnceLock<Payload> = OnceLock::new();
    P.get_or_init(|| {
        let len = 64 * 1024 * 1024;
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("payload-64MiB.bin");
        let fresh = fs::metadata(&path)
            .map(|m| m.len() == len as u64)
            .unwrap_or(false);
        if !fresh {
            let tmp = dir.join(format!("payload-64MiB.bin.{}", std::process::id()));
            fs::write(&tmp, pseudo_random(len, 0x5eed_1234_abcd_0001)).unwrap();
            fs::rename(&tmp, &path).unwrap();
        }
        let sha256 = sha256_file(&path);
        Payload {
            path,
            len: len as u64,
            sha256,
        }
    })
}
