//! `--on-close HOOK` (src/hook.rs has the contract): a program run after each
//! connection has closed, with the client's bytes on its stdin and the
//! connection in its environment.
//!
//! One-shot (`rnc -l … --on-close`): the hook runs once, rnc exits with its
//! status. A script file runs with bash unless it is executable; anything else
//! is a `/bin/sh -c` command line; peer data never reaches a command line;
//! `--hook-max-input` bounds stdin.
//!
//! Keep-open, in both shapes — `-lk --exec` (a thread per connection) and plain
//! `-lk` (the hub, stdin a file with the canned response): every request is
//! answered, hooks run once each, one at a time, in order; `--hook-coalesce`,
//! `--hook-timeout`, failing hooks, and SIGTERM while a hook runs.
//!
//! systemd socket activation: rnc serves a listening socket it was given as
//! fd 3 (LISTEN_PID/LISTEN_FDS), binding nothing itself.
//!
//! Clients are real curl processes; hook scripts write what they saw into a
//! temporary directory that is rnc's current directory. Listeners bind port 0
//! on 127.0.0.1; the port is read from /proc after `NCAT TEST: LISTEN`.

mod common;

use common::*;
use std::fs::{self, File};
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// libc bits

mod sys {
    use std::os::raw::c_int;
    extern "C" {
        pub fn kill(pid: c_int, sig: c_int) -> c_int;
        pub fn dup2(old: c_int, new: c_int) -> c_int;
        pub fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    }
    pub const SIGTERM: c_int = 15;
    pub const SIGKILL: c_int = 9;
    pub const F_SETFD: c_int = 2;
}

fn sigterm(pid: u32) {
    // SAFETY: kill(2) has no memory-safety preconditions; `pid` is a process
    // this test spawned and has not reaped.
    unsafe {
        sys::kill(pid as i32, sys::SIGTERM);
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// What `echo -e "HTTP/1.1 200 OK\r\n"` prints: the one-liner's response.
const ECHO_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\n";
/// The canned response of a keep-open service.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Wait for `NCAT TEST: LISTEN` and read rnc's one TCP listening port.
fn started_tcp(p: &mut Proc) -> u16 {
    p.expect_stderr("NCAT TEST: LISTEN", FAIL);
    let ports: Vec<u16> = tcp_listeners_of(p.pid).iter().map(|a| a.port()).collect();
    assert!(
        ports.len() == 1,
        "expected one TCP listener, have {ports:?}\n{}",
        p.context()
    );
    ports[0]
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::new(V4, port)
}

/// `curl -X POST --data-binary BODY http://127.0.0.1:PORT/`; returns the HTTP
/// status it printed (curl must exit 0).
fn curl_post(port: u16, body: &str) -> String {
    let d = run(
        Cmd::tool(
            "curl",
            [
                "-sS",
                "--max-time",
                "10",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "--data-binary",
                body,
                &format!("http://127.0.0.1:{port}/"),
            ],
        ),
        FAIL + FAIL,
    );
    d.ok();
    d.stdout_str()
}

fn read_text(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// `KEY=VALUE` lines of an `env` dump.
fn env_value(dump: &str, key: &str) -> Option<String> {
    dump.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
}

/// Poll until `cond` holds; on the deadline fail with `what` and `ctx()`.
fn wait_until(what: &str, within: Duration, ctx: impl Fn() -> String, cond: impl Fn() -> bool) {
    let end = Instant::now() + within;
    while !cond() {
        assert!(
            Instant::now() < end,
            "timed out after {within:?} waiting for {what}\n{}",
            ctx()
        );
        thread::sleep(POLL);
    }
}

/// Wait until `file` (written by hooks) has at least `n` lines.
fn wait_lines(file: &Path, n: usize, rnc: &mut Proc) {
    rnc.poll_exit();
    let ctx = || {
        format!(
            "{} has:\n{}\n{}",
            file.display(),
            read_text(file),
            rnc.context()
        )
    };
    wait_until(
        &format!("{n} line(s) in {}", file.display()),
        FAIL,
        ctx,
        || read_text(file).lines().count() >= n,
    );
}

/// The processes whose parent is `pid`: (pid, state letter, comm).
fn children_of(pid: u32) -> Vec<(u32, char, String)> {
    let mut v = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return v;
    };
    for e in rd.flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        if rest.len() < 2 || rest[1].parse::<u32>().ok() != Some(pid) {
            continue;
        }
        let state = rest[0].chars().next().unwrap_or('?');
        v.push((child, state, stat[open + 1..close].to_string()));
    }
    v
}

// ---------------------------------------------------------------------------
// One-shot

/// `echo -e "HTTP/1.1 200 OK\r\n" | rnc -l 127.0.0.1 0 --on-close HOOK…` in
/// `dir` (stdin is the same bytes, given as a pipe).
fn one_shot(dir: &TempDir, args: &[&str]) -> (Proc, u16) {
    let mut p = Cmd::rnc(["-l", "127.0.0.1", "0", "--test"])
        .args(args)
        .stdin(In::Data(ECHO_RESPONSE.to_vec()))
        .cwd(&dir.path)
        .spawn();
    let port = started_tcp(&mut p);
    (p, port)
}

/// A non-executable script with bash syntax (`[[ ]]` fails under dash, so
/// exit 3 proves bash ran it).
const BASH_HOOK: &str = r#"cat > request.txt
env > env.txt
if [[ -s request.txt && $RNC_CLOSE_REASON == eof ]]; then
    exit 3
fi
exit 4
"#;

#[test]
fn one_shot_script_file_gets_request_and_env_and_its_status_is_rncs() {
    let dir = TempDir::new();
    dir.file("hook.sh", BASH_HOOK.as_bytes()); // mode 0644: not executable
    let (mut rnc, port) = one_shot(&dir, &["--on-close", "hook.sh"]);
    let body = r#"{"ref":"refs/heads/main","commits":[1,2,3]}"#;
    let status = curl_post(port, body);
    let d = rnc.finish(FAIL);
    assert_eq!(status, "200", "curl status\n{}", d.describe());
    d.code_is(3);

    let req = fs::read(dir.join("request.txt")).unwrap_or_default();
    let text = String::from_utf8_lossy(&req);
    assert!(
        text.starts_with("POST / HTTP/1.1\r\n")
            && text.contains(&format!("Host: 127.0.0.1:{port}\r\n"))
            && text.contains(&format!("Content-Length: {}\r\n", body.len()))
            && text.ends_with(&format!("\r\n\r\n{body}")),
        "the hook's stdin must be the whole request (headers and body): {text:?}\n{}",
        d.describe()
    );
    let env = read_text(&dir.join("env.txt"));
    assert_eq!(env_value(&env, "RNC_CLOSE_REASON").as_deref(), Some("eof"));
    assert_eq!(
        env_value(&env, "RNC_BYTES_IN"),
        Some(req.len().to_string()),
        "RNC_BYTES_IN must be the request's size"
    );
    assert_eq!(
        env_value(&env, "NCAT_REMOTE_ADDR").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(env_value(&env, "NCAT_LOCAL_PORT"), Some(port.to_string()));
    assert_eq!(env_value(&env, "NCAT_PROTO").as_deref(), Some("TCP"));
    assert_eq!(
        env_value(&env, "RNC_BYTES_OUT"),
        Some(ECHO_RESPONSE.len().to_string())
    );
}

#[test]
fn one_shot_executable_hook_runs_by_its_shebang() {
    let dir = TempDir::new();
    // Python, so running it with bash would fail.
    let script = format!(
        "#!{}\nimport os, sys\nn = len(sys.stdin.buffer.read())\n\
         open('py.txt', 'w').write('%s %d' % (os.environ['RNC_CLOSE_REASON'], n))\n",
        require_tool("python3").display()
    );
    let hook = dir.file("hook.py", script.as_bytes());
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    let (mut rnc, port) = one_shot(&dir, &["--on-close", "hook.py"]);
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    s.write_all(b"twelve bytes").unwrap();
    s.shut_wr();
    let got = read_to_eof(&mut s, FAIL, "client");
    assert_eq!(got, ECHO_RESPONSE);
    drop(s);
    rnc.finish(FAIL).ok();
    assert_eq!(read_text(&dir.join("py.txt")), "eof 12");
}

#[test]
fn one_shot_command_line_hook() {
    let dir = TempDir::new();
    let (mut rnc, port) = one_shot(&dir, &["--on-close", "echo $RNC_CLOSE_REASON > reason.txt"]);
    assert_eq!(curl_post(port, "x=1"), "200");
    rnc.finish(FAIL).ok();
    assert_eq!(read_text(&dir.join("reason.txt")), "eof\n");
}

#[test]
fn peer_data_never_reaches_a_command_line() {
    let dir = TempDir::new();
    let mark = |n: u32| dir.join(&format!("injected{n}"));
    let request = format!(
        "GET /$(touch {}) HTTP/1.1\r\nX-A: `touch {}`\r\nX-B: ;touch {}; $(touch /tmp/x)\r\n\r\n",
        mark(1).display(),
        mark(2).display(),
        mark(3).display()
    );
    let (mut rnc, port) = one_shot(
        &dir,
        &[
            "--on-close",
            r#"cat > got.txt; echo "$RNC_BYTES_IN" > n.txt"#,
        ],
    );
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    s.write_all(request.as_bytes()).unwrap();
    s.shut_wr();
    read_to_eof(&mut s, FAIL, "client");
    drop(s);
    rnc.finish(FAIL).ok();
    assert_eq!(
        read_text(&dir.join("got.txt")),
        request,
        "stdin is the data, verbatim"
    );
    assert_eq!(
        read_text(&dir.join("n.txt")),
        format!("{}\n", request.len())
    );
    for n in 1..=3 {
        assert!(
            !mark(n).exists(),
            "peer data was executed: {} exists",
            mark(n).display()
        );
    }
}

#[test]
fn hook_max_input_truncates_stdin() {
    let dir = TempDir::new();
    let (mut rnc, port) = one_shot(
        &dir,
        &[
            "--hook-max-input",
            "10",
            "--on-close",
            r#"cat > got.txt; echo "$RNC_BYTES_IN" > n.txt"#,
        ],
    );
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    s.write_all(b"0123456789ABCDEFGHIJ").unwrap();
    s.shut_wr();
    read_to_eof(&mut s, FAIL, "client");
    drop(s);
    rnc.finish(FAIL).ok();
    assert_eq!(read_text(&dir.join("got.txt")), "0123456789");
    // The count is of what the client sent, not of what the hook was given.
    assert_eq!(read_text(&dir.join("n.txt")), "20\n");
}

// ---------------------------------------------------------------------------
// Keep-open: `-lk --exec` and the hub

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `-lk -e "/bin/cat RESPONSE"`: a thread and a child per connection.
    Exec,
    /// `-lk` with stdin a regular file holding the response (the hub).
    Hub,
}

/// `rnc -lk 127.0.0.1 0 --test …ARGS` serving RESPONSE to every client.
fn service(mode: Mode, dir: &TempDir, args: &[&str]) -> (Proc, u16) {
    let resp = dir.file("response.http", RESPONSE);
    let cmd = Cmd::rnc(["-lk", "127.0.0.1", "0", "--test"]).cwd(&dir.path);
    let cmd = match mode {
        Mode::Exec => cmd
            .args(["-e", &format!("/bin/cat {}", resp.display())])
            .stdin(In::DevNull),
        Mode::Hub => cmd.stdin(In::FilePath(resp)),
    };
    let mut p = cmd.args(args).spawn();
    let port = started_tcp(&mut p);
    (p, port)
}

/// Records each run's start and end with its request body and environment, and
/// fails loudly (OVERLAP) if another run holds the lock.
const SERIAL_HOOK: &str = r#"req=$(cat)
body=${req##*$'\r\n\r\n'}
if ! mkdir lock 2>/dev/null; then
    echo "OVERLAP $body" >> hooks.log
    exit 1
fi
echo "start $body $RNC_CLOSE_REASON $NCAT_REMOTE_ADDR $RNC_BYTES_IN ${#req}" >> hooks.log
sleep 0.2
echo "end $body" >> hooks.log
rmdir lock
"#;

fn hooks_run_once_each_serially_in_order(mode: Mode) {
    let dir = TempDir::new();
    dir.file("hook.sh", SERIAL_HOOK.as_bytes());
    let (mut rnc, port) = service(mode, &dir, &["--on-close", "hook.sh"]);
    let log = dir.join("hooks.log");
    let n = 10;
    for i in 0..n {
        let status = curl_post(port, &format!("n={i}"));
        assert_eq!(status, "200", "request {i}\n{}", rnc.context());
        // The next request is made while this hook still runs (it sleeps), so
        // a second hook started too early would overlap it.
        let ctx = || format!("hooks.log:\n{}\n{}", read_text(&log), rnc.context());
        wait_until(&format!("the hook of request {i}"), FAIL, ctx, || {
            read_text(&log).contains(&format!("start n={i} "))
        });
    }
    wait_lines(&log, 2 * n, &mut rnc);
    let text = read_text(&log);
    let lines: Vec<&str> = text.lines().collect();
    assert!(!text.contains("OVERLAP"), "hooks ran concurrently:\n{text}");
    assert_eq!(lines.len(), 2 * n, "exactly one run per request:\n{text}");
    for i in 0..n {
        let start: Vec<&str> = lines[2 * i].split(' ').collect();
        assert_eq!(
            &start[..4],
            ["start", &format!("n={i}"), "eof", "127.0.0.1"],
            "run {i} out of order or with the wrong env:\n{text}"
        );
        assert_eq!(start[4], start[5], "RNC_BYTES_IN vs request size:\n{text}");
        assert_eq!(lines[2 * i + 1], format!("end n={i}"), "{text}");
    }
    assert!(rnc.is_running(), "{}", rnc.context());
    rnc.kill();
}

#[test]
fn exec_keep_open_hooks_run_once_each_serially_in_order() {
    hooks_run_once_each_serially_in_order(Mode::Exec);
}

#[test]
fn hub_keep_open_hooks_run_once_each_serially_in_order() {
    hooks_run_once_each_serially_in_order(Mode::Hub);
}

/// The first run waits for the test's `release` file (bounded); every run logs
/// its body.
const GATED_HOOK: &str = r#"req=$(cat)
echo "run ${req##*$'\r\n\r\n'}" >> runs.log
if [ ! -e first-done ]; then
    touch first-done
    for i in $(seq 500); do [ -e release ] && break; sleep 0.02; done
fi
"#;

fn coalesce_runs_one_hook_for_a_burst(mode: Mode) {
    let dir = TempDir::new();
    dir.file("hook.sh", GATED_HOOK.as_bytes());
    let (mut rnc, port) = service(mode, &dir, &["--on-close", "hook.sh", "--hook-coalesce"]);
    let log = dir.join("runs.log");
    assert_eq!(curl_post(port, "n=0"), "200");
    wait_lines(&log, 1, &mut rnc);
    // A burst while the first hook is held: every request is still answered.
    for i in 1..=5 {
        assert_eq!(curl_post(port, &format!("n={i}")), "200", "request {i}");
    }
    // Let every connection of the burst be queued before the first hook ends.
    match mode {
        Mode::Exec => {
            let ctx = || rnc.context();
            wait_until("the exec children to be reaped", FAIL, ctx, || {
                !children_of(rnc.pid).iter().any(|(_, _, c)| c == "cat")
            });
            thread::sleep(Duration::from_millis(200));
        }
        Mode::Hub => thread::sleep(Duration::from_millis(500)),
    }
    fs::write(dir.join("release"), b"").unwrap();
    wait_lines(&log, 2, &mut rnc);
    // Any further run would come at once; give it the time to show.
    thread::sleep(QUIET);
    let text = read_text(&log);
    let runs: Vec<&str> = text.lines().collect();
    assert_eq!(
        runs,
        ["run n=0", "run n=5"],
        "one run for the burst, with the last request's data\n{}",
        rnc.context()
    );
    rnc.kill();
}

#[test]
fn exec_keep_open_coalesce_runs_one_hook_for_a_burst() {
    coalesce_runs_one_hook_for_a_burst(Mode::Exec);
}

#[test]
fn hub_keep_open_coalesce_runs_one_hook_for_a_burst() {
    coalesce_runs_one_hook_for_a_burst(Mode::Hub);
}

fn hook_timeout_kills_a_stuck_hook(mode: Mode) {
    let dir = TempDir::new();
    let (mut rnc, port) = service(
        mode,
        &dir,
        &[
            "--hook-timeout",
            "500ms",
            "--on-close",
            "echo run >> runs.log; exec sleep 30",
        ],
    );
    let log = dir.join("runs.log");
    assert_eq!(curl_post(port, "n=1"), "200");
    wait_lines(&log, 1, &mut rnc);
    let started = Instant::now();
    rnc.expect_stderr("killed after 500 ms", FAIL);
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(500) + PROMPT,
        "the hook should be killed about 500 ms after it started, took {took:?}\n{}",
        rnc.context()
    );
    let ctx = || rnc.context();
    wait_until("the killed hook to be reaped", FAIL, ctx, || {
        !children_of(rnc.pid).iter().any(|(_, _, c)| c == "sleep")
    });
    // The service goes on, and so do its hooks.
    assert_eq!(curl_post(port, "n=2"), "200", "{}", rnc.context());
    wait_lines(&log, 2, &mut rnc);
    assert!(rnc.is_running(), "{}", rnc.context());
    rnc.kill();
}

#[test]
fn exec_keep_open_hook_timeout_kills_a_stuck_hook() {
    hook_timeout_kills_a_stuck_hook(Mode::Exec);
}

#[test]
fn hub_keep_open_hook_timeout_kills_a_stuck_hook() {
    hook_timeout_kills_a_stuck_hook(Mode::Hub);
}

fn a_failing_hook_is_logged_and_service_goes_on(mode: Mode) {
    let dir = TempDir::new();
    let (mut rnc, port) = service(
        mode,
        &dir,
        &["--on-close", r#"echo "$RNC_BYTES_IN" >> runs.log; exit 1"#],
    );
    let log = dir.join("runs.log");
    assert_eq!(curl_post(port, "n=1"), "200");
    wait_lines(&log, 1, &mut rnc);
    rnc.expect_stderr("exited with status 1", FAIL);
    assert_eq!(curl_post(port, "n=2"), "200", "{}", rnc.context());
    wait_lines(&log, 2, &mut rnc);
    assert!(rnc.is_running(), "{}", rnc.context());
    rnc.kill();
}

#[test]
fn exec_keep_open_failing_hook_is_logged_and_service_goes_on() {
    a_failing_hook_is_logged_and_service_goes_on(Mode::Exec);
}

#[test]
fn hub_keep_open_failing_hook_is_logged_and_service_goes_on() {
    a_failing_hook_is_logged_and_service_goes_on(Mode::Hub);
}

/// The `SigBlk` mask in a `SigBlk:\t…` line of /proc/PID/status.
fn blocked_mask(line: &str) -> u64 {
    line.trim()
        .strip_prefix("SigBlk:")
        .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        .unwrap_or_else(|| panic!("not a SigBlk line: {line:?}"))
}

/// rnc blocks SIGTERM and SIGINT to take them on a thread of its own; the
/// programs it starts must not inherit that mask (a hook could not be stopped
/// with SIGTERM — see the hook-timeout tests — and `timeout`, `kill` or traps
/// inside it would not work). The masks are read by `exec grep`: dash clears
/// the mask of the children it forks, but not its own.
fn children_do_not_inherit_blocked_termination_signals(mode: Mode) {
    let dir = TempDir::new();
    let hook = "exec grep ^SigBlk /proc/self/status > hook.txt";
    let mut rnc = match mode {
        // The exec child's output (its mask) goes to the client.
        Mode::Exec => Cmd::rnc(["-lk", "127.0.0.1", "0", "--test"])
            .args(["-c", "exec grep ^SigBlk /proc/self/status"]),
        Mode::Hub => Cmd::rnc(["-lk", "127.0.0.1", "0", "--test"]).stdin(In::DevNull),
    }
    .args(["--on-close", hook])
    .cwd(&dir.path)
    .spawn();
    let port = started_tcp(&mut rnc);
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    s.shut_wr();
    let got = read_to_eof(&mut s, FAIL, "client");
    drop(s);
    let hook = dir.join("hook.txt");
    wait_lines(&hook, 1, &mut rnc);
    let mut seen = vec![("hook", read_text(&hook))];
    if let Mode::Exec = mode {
        seen.push(("exec child", String::from_utf8_lossy(&got).into_owned()));
    }
    const TERM_INT: u64 = (1 << (15 - 1)) | (1 << (2 - 1));
    let blocked: Vec<String> = seen
        .iter()
        .filter(|(_, text)| blocked_mask(text) & TERM_INT != 0)
        .map(|(who, text)| format!("{who} ({})", text.trim()))
        .collect();
    assert!(
        blocked.is_empty(),
        "started with SIGTERM/SIGINT blocked: {}\n{}",
        blocked.join(", "),
        rnc.context()
    );
    rnc.kill();
}

#[test]
fn exec_keep_open_children_do_not_inherit_blocked_termination_signals() {
    children_do_not_inherit_blocked_termination_signals(Mode::Exec);
}

#[test]
fn hub_keep_open_hooks_do_not_inherit_blocked_termination_signals() {
    children_do_not_inherit_blocked_termination_signals(Mode::Hub);
}

/// Connect until the listener refuses (bounded). A connection made before rnc
/// handled the signal may still be accepted; it is tried again.
fn wait_refused(port: u16, rnc: &mut Proc) {
    let end = Instant::now() + PROMPT;
    loop {
        match TcpStream::connect_timeout(&local(port), Duration::from_millis(300)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            // Queued in the backlog as the listener shut, then reset: not served.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            // A SYN that races with the listener's shutdown can be dropped
            // unanswered; the next attempt finds the port closed.
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("connect after SIGTERM: {e}\n{}", rnc.context()),
            Ok(_) => {}
        }
        assert!(
            Instant::now() < end,
            "rnc still accepts connections {PROMPT:?} after SIGTERM\n{}",
            rnc.context()
        );
        thread::sleep(POLL);
    }
}

/// utime + stime of a process, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest: Vec<&str> = stat
        .rfind(')')
        .map(|i| stat[i + 1..].split_whitespace().collect())
        .unwrap_or_default();
    // After "(comm)": state is field 3, utime 14 and stime 15.
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

const SLOW_HOOK: &str = r#"touch started
for i in $(seq 500); do [ -e release ] && break; sleep 0.02; done
touch finished
"#;

fn sigterm_waits_for_the_running_hook(mode: Mode) {
    let dir = TempDir::new();
    dir.file("hook.sh", SLOW_HOOK.as_bytes());
    let (mut rnc, port) = service(mode, &dir, &["--on-close", "hook.sh"]);
    assert_eq!(curl_post(port, "n=1"), "200");
    let started = dir.join("started");
    let ctx = || rnc.context();
    wait_until("the hook to start", FAIL, ctx, || started.exists());

    sigterm(rnc.pid);
    wait_refused(port, &mut rnc);
    // It waits for the hook, idle (a shut listener must not make it spin).
    let cpu = cpu_ticks(rnc.pid);
    rnc.expect_running_for(QUIET, "rnc to wait for the running hook");
    let used = cpu_ticks(rnc.pid) - cpu;
    assert!(
        used < 20,
        "rnc used {used} CPU ticks (1/100 s) in {QUIET:?} while waiting for the hook\n{}",
        rnc.context()
    );
    assert!(!dir.join("finished").exists());

    fs::write(dir.join("release"), b"").unwrap();
    let released = Instant::now();
    let d = rnc.finish(FAIL);
    d.ok()
        .ended_within(released, PROMPT, "the hook was released");
    assert!(
        dir.join("finished").exists(),
        "the hook must run to its end"
    );
}

#[test]
fn exec_keep_open_sigterm_waits_for_the_running_hook() {
    sigterm_waits_for_the_running_hook(Mode::Exec);
}

#[test]
fn hub_keep_open_sigterm_waits_for_the_running_hook() {
    sigterm_waits_for_the_running_hook(Mode::Hub);
}

// ---------------------------------------------------------------------------
// systemd socket activation

/// rnc started the way systemd starts it: a listening socket as fd 3,
/// LISTEN_PID (its own pid) and LISTEN_FDS=1. Killed with its group on drop.
struct Activated {
    child: Child,
    pid: u32,
    err: Capture,
    done: bool,
}

impl Activated {
    fn start(sock: &TcpListener, args: &[&str], stdin: File, dir: &TempDir) -> Activated {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", r#"LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@""#])
            .arg(rnc_bin())
            .args(args)
            .env_remove("RNC_COMPAT")
            .env_remove("LISTEN_FDNAMES")
            .current_dir(&dir.path)
            .process_group(0)
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let fd = sock.as_raw_fd();
        // SAFETY: runs in the child between fork and exec; it only calls
        // dup2(2) and fcntl(2), which are async-signal-safe, and reads `fd`
        // (a plain integer). dup2 onto 3 clears close-on-exec; when the socket
        // already is fd 3, dup2 would be a no-op, so the flag is cleared directly.
        unsafe {
            cmd.pre_exec(move || {
                let r = if fd == 3 {
                    sys::fcntl(3, sys::F_SETFD, 0)
                } else {
                    sys::dup2(fd, 3)
                };
                if r == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn sh -c … exec rnc");
        let pid = child.id();
        let err = Capture::start(child.stderr.take().unwrap());
        Activated {
            child,
            pid,
            err,
            done: false,
        }
    }

    fn context(&self) -> String {
        format!(
            "rnc (socket-activated) [pid {}]\n  stderr: {:?}",
            self.pid,
            String::from_utf8_lossy(&self.err.snapshot())
        )
    }

    fn expect_stderr(&self, pat: &str) {
        let ok = self.err.wait_until(Instant::now() + FAIL, |d, _| {
            find(d, pat.as_bytes()).is_some()
        });
        assert!(ok, "stderr never contained {pat:?}\n{}", self.context());
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: kill(2) has no memory-safety preconditions; the negative
            // pid names the process group `start` created (process_group(0)).
            unsafe {
                sys::kill(-(self.pid as i32), sys::SIGKILL);
            }
            let _ = self.child.wait();
            self.done = true;
        }
    }
}

/// Socket inode of one of this process's descriptors.
fn inode_of(fd: i32) -> u64 {
    let t = fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    let t = t.to_string_lossy();
    t.strip_prefix("socket:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("fd {fd} is not a socket: {t}"))
}

/// rnc listens only on the socket it was given, and binds nothing itself.
fn assert_uses_only(rnc: &Activated, sock: &TcpListener) {
    let addr = sock.local_addr().unwrap();
    let rows: Vec<SockRow> = sockets_of(rnc.pid, &["tcp", "tcp6"])
        .into_iter()
        .filter(|r| r.state == TCP_LISTEN)
        .collect();
    let mine = inode_of(sock.as_raw_fd());
    assert!(
        rows.len() == 1 && rows[0].inode == mine && rows[0].local == addr,
        "rnc should listen only on the passed socket {addr} (inode {mine}), has {rows:?}\n{}",
        rnc.context()
    );
    assert!(
        sockets_of(rnc.pid, &["udp", "udp6"]).is_empty(),
        "rnc bound UDP sockets\n{}",
        rnc.context()
    );
}

fn activated(mode: Mode, dir: &TempDir, extra: &[&str]) -> (Activated, TcpListener) {
    let sock = TcpListener::bind("127.0.0.1:0").unwrap();
    let resp = dir.file("response.http", RESPONSE);
    let exec = format!("/bin/cat {}", resp.display());
    let mut args = vec!["-lk", "--test"];
    let stdin = match mode {
        Mode::Exec => {
            args.extend(["-e", &exec]);
            File::open("/dev/null").unwrap()
        }
        Mode::Hub => File::open(&resp).unwrap(),
    };
    args.extend(extra);
    let rnc = Activated::start(&sock, &args, stdin, dir);
    rnc.expect_stderr("NCAT TEST: LISTEN");
    assert_uses_only(&rnc, &sock);
    (rnc, sock)
}

fn socket_activation_serves_clients(mode: Mode) {
    let dir = TempDir::new();
    let (mut rnc, sock) = activated(mode, &dir, &[]);
    let port = sock.local_addr().unwrap().port();
    for i in 0..3 {
        assert_eq!(
            curl_post(port, &format!("n={i}")),
            "200",
            "{}",
            rnc.context()
        );
    }
    assert_uses_only(&rnc, &sock);
    assert!(rnc.is_running(), "{}", rnc.context());
}

#[test]
fn socket_activation_exec_serves_clients_without_binding() {
    socket_activation_serves_clients(Mode::Exec);
}

#[test]
fn socket_activation_hub_serves_clients_without_binding() {
    socket_activation_serves_clients(Mode::Hub);
}

fn socket_activation_runs_hooks(mode: Mode) {
    let dir = TempDir::new();
    let hook = r#"echo "$NCAT_LOCAL_PORT $RNC_CLOSE_REASON ${LISTEN_FDS:-unset}" >> hooks.log"#;
    let (rnc, sock) = activated(mode, &dir, &["--on-close", hook]);
    let port = sock.local_addr().unwrap().port();
    let log = dir.join("hooks.log");
    for i in 0..2 {
        assert_eq!(
            curl_post(port, &format!("n={i}")),
            "200",
            "{}",
            rnc.context()
        );
        let ctx = || format!("hooks.log:\n{}\n{}", read_text(&log), rnc.context());
        wait_until(&format!("hook {i}"), FAIL, ctx, || {
            read_text(&log).lines().count() > i
        });
    }
    // LISTEN_* are not passed on (a hook is not the activated service).
    let line = format!("{port} eof unset");
    assert_eq!(
        read_text(&log),
        format!("{line}\n{line}\n"),
        "{}",
        rnc.context()
    );
}

#[test]
fn socket_activation_exec_runs_hooks() {
    socket_activation_runs_hooks(Mode::Exec);
}

#[test]
fn socket_activation_hub_runs_hooks() {
    socket_activation_runs_hooks(Mode::Hub);
}
