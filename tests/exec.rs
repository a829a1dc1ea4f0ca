//! `--exec` (`-e`) and `--sh-exec` (`-c`): one child per connection, its stdin
//! and stdout joined to the socket (reference §2.9, §3.1).
//!
//! What is checked, with real sockets on 127.0.0.1 and the built binary:
//! - a client that sends its request and half-closes still gets all of the
//!   child's output, then EOF (ncat 7.93 loses it);
//! - the child's stdout ending half-closes the socket while the client can
//!   still send to the child;
//! - connect mode against a python3 server;
//! - NCAT_LOCAL_ADDR/PORT, NCAT_REMOTE_ADDR/PORT and NCAT_PROTO, exactly;
//! - a child sees no descriptor but 0, 1 and 2, also when rnc inherited one;
//! - `-lk` runs one child per client, concurrently, and reaps them all;
//! - `--lua-exec` is refused; a UDP listener echoes through `/bin/cat`.
//!
//! Listeners bind port 0 on 127.0.0.1 and the test reads the port the OS chose
//! from /proc once rnc has printed `NCAT TEST: LISTEN` (`--test`).

mod common;

use common::*;
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread;
use std::time::Instant;

// ---------------------------------------------------------------------------
// Helpers

/// `rnc -l 127.0.0.1 0 --test ARGS…` (or `-lk` when `keep`), with the port the
/// OS gave it once it listens.
fn listener(keep: bool, args: &[&str]) -> (Proc, u16) {
    let mode = if keep { "-lk" } else { "-l" };
    let p = Cmd::rnc([mode, "127.0.0.1", "0", "--test"])
        .args(args)
        .spawn();
    started_tcp(p)
}

/// Wait for `NCAT TEST: LISTEN` and read rnc's TCP listening port from /proc.
fn started_tcp(mut p: Proc) -> (Proc, u16) {
    p.expect_stderr("NCAT TEST: LISTEN", FAIL);
    let ports: Vec<u16> = tcp_listeners_of(p.pid).iter().map(|a| a.port()).collect();
    assert!(
        ports.len() == 1,
        "expected one TCP listener, have {ports:?}\n{}",
        p.context()
    );
    (p, ports[0])
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::new(V4, port)
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
        // "pid (comm) S ppid …"; comm may contain blanks and parentheses.
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

/// `sh -c` script printing the descriptors the shell itself has open, one a
/// line. The glob's own directory descriptor is closed again by the time the
/// loop runs, so `[ -e ]` leaves it out; any other descriptor stays.
const LIST_FDS: &str = r#"for f in /proc/$$/fd/*; do [ -e "$f" ] && echo "${f##*/}"; done; true"#;

fn sorted_lines(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(b)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// rnc started through `sh -c 'exec 5</dev/null; exec rnc ARGS…'`: it inherits
/// a descriptor 5 that is not close-on-exec.
fn rnc_with_fd5(args: &[&str]) -> Cmd {
    Cmd::new("/bin/sh", ["-c", r#"exec 5</dev/null; exec "$0" "$@""#])
        .arg(rnc_bin())
        .args(args)
        .env_remove("RNC_COMPAT")
}

fn assert_has_fd5(p: &Proc) {
    let target = fs::read_link(format!("/proc/{}/fd/5", p.pid));
    assert!(
        matches!(&target, Ok(t) if t.as_os_str() == "/dev/null"),
        "rnc should have inherited fd 5 -> /dev/null (got {target:?})\n{}",
        p.context()
    );
}

fn assert_only_std_fds(got: &[u8], what: &str, p: &Proc) {
    assert_eq!(
        sorted_lines(got),
        ["0", "1", "2"],
        "{what}: the child must see only fds 0, 1 and 2 (got {:?})\n{}",
        String::from_utf8_lossy(got),
        p.context()
    );
}

// ---------------------------------------------------------------------------
// Half-close, both ways (reference §2.9)

/// Client sends `data\n` and SHUT_WR; it must get `expect` and then EOF.
fn half_closing_client_gets_everything(exec: &[&str], expect: &[u8]) {
    let (mut rnc, port) = listener(false, exec);
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    s.write_all(b"data\n").unwrap();
    s.shut_wr();
    let got = read_to_eof(&mut s, FAIL, "client after SHUT_WR");
    drop(s);
    let d = rnc.finish(FAIL);
    assert!(
        got == expect,
        "the client must get all of the child's output, got {:?}\n{}",
        String::from_utf8_lossy(&got),
        d.describe()
    );
    d.ok();
}

#[test]
fn exec_cat_output_reaches_a_client_that_half_closed() {
    half_closing_client_gets_everything(&["-e", "/bin/cat"], b"data\n");
}

#[test]
fn sh_exec_output_after_a_delay_reaches_a_client_that_half_closed() {
    half_closing_client_gets_everything(&["-c", "sleep 0.3; cat; echo done"], b"data\ndone\n");
}

#[test]
fn exec_cat_echoes_a_mebibyte_to_a_half_closing_client() {
    let (mut rnc, port) = listener(false, &["-e", "/bin/cat"]);
    let data = pseudo_random(1 << 20, 0xe7ec_0001);
    let s = connect_retry(local(port), &mut rnc, FAIL);
    let mut w = s.try_clone().unwrap();
    let sent = data.clone();
    let writer = thread::spawn(move || {
        w.write_all(&sent).unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut r = s;
    let got = read_to_eof(&mut r, FAIL, "client");
    join(writer, &mut rnc);
    assert!(
        got == data,
        "echoed {} of {} bytes (or different bytes)",
        got.len(),
        data.len()
    );
    drop(r);
    rnc.finish(FAIL).ok();
}

#[test]
fn child_stdout_eof_half_closes_while_the_client_can_still_send() {
    let dir = TempDir::new();
    let file = dir.join("got");
    // `exec` makes cat the shell, so the child's stdout pipe closes right
    // after `hi`: the client sees EOF before it has sent anything.
    let script = format!("echo hi; exec cat > {}", file.display());
    let (mut rnc, port) = listener(false, &["-c", &script]);
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    let got = read_to_eof(&mut s, FAIL, "client (child's stdout closed)");
    assert_eq!(got, b"hi\n", "{}", rnc.context());
    // The connection is only half-closed: what the client sends now still
    // reaches the child.
    s.write_all(b"after the EOF\n").unwrap();
    s.shut_wr();
    drop(s);
    rnc.finish(FAIL).ok();
    assert_eq!(fs::read(&file).unwrap(), b"after the EOF\n");
}

#[test]
fn sh_exec_child_gets_what_the_client_sends_after_hi() {
    let dir = TempDir::new();
    let file = dir.join("got");
    let script = format!("echo hi; cat > {}", file.display());
    let (mut rnc, port) = listener(false, &["-c", &script]);
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    read_until(&mut s, b"hi\n", FAIL, "client");
    s.write_all(b"sent after hi\n").unwrap();
    s.shut_wr();
    let rest = read_to_eof(&mut s, FAIL, "client after SHUT_WR");
    assert_eq!(rest, b"", "{}", rnc.context());
    drop(s);
    rnc.finish(FAIL).ok();
    assert_eq!(fs::read(&file).unwrap(), b"sent after hi\n");
}

// ---------------------------------------------------------------------------
// Connect mode, against python3

/// A python3 server on 127.0.0.1: prints its port, accepts one client, sends
/// `ping\n` and SHUT_WR, reads to EOF, then prints `peer ADDR PORT` and what
/// it read.
const PY_SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(10)
print(s.getsockname()[1], flush=True)
c, peer = s.accept()
c.settimeout(10)
c.sendall(b"ping\n")
c.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write("peer %s %d\n" % peer)
sys.stdout.flush()
sys.stdout.buffer.write(data)
"#;

fn python_server() -> (Proc, u16) {
    let mut py = Cmd::tool("python3", ["-c", PY_SERVER]).spawn();
    py.expect_stdout(b"\n", FAIL);
    let out = py.stdout();
    let port = String::from_utf8_lossy(&out)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("python server port: {e}\n{}", py.context()));
    (py, port)
}

/// Splits the python server's output into (rnc's local port, what it read).
fn python_result(d: &Done) -> (u16, String) {
    let out = d.stdout_str();
    let mut lines = out.splitn(3, '\n');
    let _port = lines.next();
    let peer = lines.next().unwrap_or_default();
    let port = peer
        .strip_prefix("peer 127.0.0.1 ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("python server output\n{}", d.describe()));
    (port, lines.next().unwrap_or_default().to_string())
}

#[test]
fn connect_mode_exec_cat_against_python() {
    let (mut py, port) = python_server();
    let mut rnc = Cmd::rnc(["-e", "/bin/cat", "127.0.0.1", &port.to_string()]).spawn();
    let d = py.finish(FAIL);
    d.ok();
    let r = rnc.finish(FAIL);
    let (_, got) = python_result(&d);
    assert_eq!(got, "ping\n", "{}\n{}", d.describe(), r.describe());
    r.ok();
}

#[test]
fn connect_mode_environment_is_exact() {
    let (mut py, port) = python_server();
    let script = r#"echo "$NCAT_LOCAL_ADDR $NCAT_LOCAL_PORT $NCAT_REMOTE_ADDR $NCAT_REMOTE_PORT $NCAT_PROTO"; cat"#;
    let mut rnc = Cmd::rnc(["-c", script, "127.0.0.1", &port.to_string()]).spawn();
    let d = py.finish(FAIL);
    d.ok();
    let r = rnc.finish(FAIL);
    let (rnc_port, got) = python_result(&d);
    assert_eq!(
        got,
        format!("127.0.0.1 {rnc_port} 127.0.0.1 {port} TCP\nping\n"),
        "LOCAL is rnc's end, REMOTE the server\n{}\n{}",
        d.describe(),
        r.describe()
    );
    r.ok();
}

// ---------------------------------------------------------------------------
// Environment in listen mode (reference §3.1)

#[test]
fn listen_mode_environment_is_exact() {
    let script = r#"echo "$NCAT_LOCAL_ADDR $NCAT_LOCAL_PORT $NCAT_REMOTE_ADDR $NCAT_REMOTE_PORT $NCAT_PROTO""#;
    let (mut rnc, port) = listener(false, &["-c", script]);
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    let me = s.local_addr().unwrap().port();
    let got = read_to_eof(&mut s, FAIL, "client");
    drop(s);
    let d = rnc.finish(FAIL);
    assert_eq!(
        String::from_utf8_lossy(&got),
        format!("127.0.0.1 {port} 127.0.0.1 {me} TCP\n"),
        "{}",
        d.describe()
    );
    d.ok();
}

#[test]
fn udp_environment_says_udp() {
    let script = r#"echo "$NCAT_PROTO $NCAT_LOCAL_PORT $NCAT_REMOTE_PORT""#;
    let (mut rnc, port) = udp_listener(&["-c", script]);
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    let me = u.local_addr().unwrap().port();
    u.set_read_timeout(Some(FAIL)).unwrap();
    u.send_to(b"x\n", local(port)).unwrap();
    let mut buf = [0u8; 2048];
    let n = u
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no datagram back: {e}\n{}", rnc.context()));
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("UDP {port} {me}\n"),
        "{}",
        rnc.context()
    );
    rnc.kill();
}

// ---------------------------------------------------------------------------
// No inherited descriptors

/// One client of a listener running LIST_FDS: what the child printed.
fn fds_seen_by_a_client(rnc: &mut Proc, port: u16) -> Vec<u8> {
    // Reading to EOF without half-closing first: the child's exit ends its output.
    let mut s = connect_retry(local(port), rnc, FAIL);
    read_to_eof(&mut s, FAIL, "client")
}

#[test]
fn listen_child_sees_only_fds_0_1_2() {
    let (mut rnc, port) = listener(false, &["-c", LIST_FDS]);
    let got = fds_seen_by_a_client(&mut rnc, port);
    assert_only_std_fds(&got, "rnc -l -c", &rnc);
    rnc.finish(FAIL).ok();
}

#[test]
fn listen_child_sees_only_fds_0_1_2_when_rnc_inherited_fd_5() {
    let p = rnc_with_fd5(&["-l", "127.0.0.1", "0", "--test", "-c", LIST_FDS]).spawn();
    let (mut rnc, port) = started_tcp(p);
    assert_has_fd5(&rnc);
    let got = fds_seen_by_a_client(&mut rnc, port);
    assert_only_std_fds(&got, "rnc -l -c, started with fd 5 open", &rnc);
    rnc.finish(FAIL).ok();
}

#[test]
fn keep_open_children_see_only_fds_0_1_2_when_rnc_inherited_fd_5() {
    let p = rnc_with_fd5(&["-lk", "127.0.0.1", "0", "--test", "-c", LIST_FDS]).spawn();
    let (mut rnc, port) = started_tcp(p);
    assert_has_fd5(&rnc);
    // A second client arrives while the first is connected: its child must not
    // see the first one's socket either.
    let first = connect_retry(local(port), &mut rnc, FAIL);
    for i in 0..2 {
        let got = fds_seen_by_a_client(&mut rnc, port);
        assert_only_std_fds(&got, &format!("rnc -lk -c, client {i}"), &rnc);
    }
    drop(first);
    rnc.kill();
}

#[test]
fn connect_child_sees_only_fds_0_1_2_when_rnc_inherited_fd_5() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    let mut rnc = rnc_with_fd5(&["-c", LIST_FDS, "127.0.0.1", &port]).spawn();
    let mut s = accept_tcp_from(&server, Some(&mut rnc), FAIL);
    assert_has_fd5(&rnc);
    let got = read_to_eof(&mut s, FAIL, "server");
    assert_only_std_fds(&got, "rnc -c HOST PORT, started with fd 5 open", &rnc);
    drop(s);
    rnc.finish(FAIL).ok();
}

// ---------------------------------------------------------------------------
// -lk: a child per client, all reaped

#[test]
fn keep_open_serves_concurrent_clients_each_with_its_own_child_and_reaps_them() {
    let (mut rnc, port) = listener(true, &["-c", "echo $$; exec /bin/cat"]);
    let n = 3;
    let mut clients = Vec::new();
    let mut pids = Vec::new();
    for i in 0..n {
        let mut s = connect_retry(local(port), &mut rnc, FAIL);
        let line = read_until(&mut s, b"\n", FAIL, &format!("client {i}"));
        let pid: u32 = String::from_utf8_lossy(&line)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("child pid line {line:?}: {e}"));
        pids.push(pid);
        clients.push(s);
    }
    // All three children run at once, each a child of rnc.
    let kids = children_of(rnc.pid);
    for pid in &pids {
        assert!(
            kids.iter().any(|(p, st, _)| p == pid && *st != 'Z'),
            "child {pid} should be running under rnc (children: {kids:?})\n{}",
            rnc.context()
        );
    }
    let mut distinct = pids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), n, "one child per client: {pids:?}");

    // Each client gets its own echo back, not another's.
    let workers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            thread::spawn(move || {
                let msg = format!("client {i} says hello\n");
                s.write_all(msg.as_bytes()).unwrap();
                s.shut_wr();
                let got = read_to_eof(&mut s, FAIL, &format!("client {i}"));
                assert_eq!(String::from_utf8_lossy(&got), msg, "client {i}");
            })
        })
        .collect();
    for w in workers {
        join(w, &mut rnc);
    }

    // No zombies: every child is reaped once its client is done.
    let deadline = Instant::now() + FAIL;
    loop {
        let kids = children_of(rnc.pid);
        if kids.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "children of rnc left after the clients finished (Z = zombie): {kids:?}\n{}",
            rnc.context()
        );
        thread::sleep(POLL);
    }
    assert!(rnc.is_running(), "-lk must keep serving\n{}", rnc.context());

    // And it still serves.
    let mut s = connect_retry(local(port), &mut rnc, FAIL);
    read_until(&mut s, b"\n", FAIL, "client after the others");
    s.write_all(b"again\n").unwrap();
    s.shut_wr();
    let got = read_to_eof(&mut s, FAIL, "client after the others");
    assert_eq!(got, b"again\n", "{}", rnc.context());
    rnc.kill();
}

// ---------------------------------------------------------------------------
// --lua-exec, UDP

#[test]
fn lua_exec_is_refused_pointing_to_sh_exec() {
    let d = run(Cmd::rnc(["--lua-exec", "x.lua", "-l", "1234"]), FAIL);
    d.usage_error();
    assert!(
        d.stderr.contains("--sh-exec"),
        "the message should point to --sh-exec\n{}",
        d.describe()
    );
}

/// `rnc -u -l 127.0.0.1 0 --test ARGS…`, with its UDP port.
fn udp_listener(args: &[&str]) -> (Proc, u16) {
    let mut p = Cmd::rnc(["-u", "-l", "127.0.0.1", "0", "--test"])
        .args(args)
        .spawn();
    p.expect_stderr("NCAT TEST: LISTEN", FAIL);
    let ports: Vec<u16> = sockets_of(p.pid, &["udp"])
        .iter()
        .map(|r| r.local.port())
        .collect();
    assert!(
        ports.len() == 1,
        "expected one UDP socket, have {ports:?}\n{}",
        p.context()
    );
    (p, ports[0])
}

#[test]
fn udp_listener_exec_cat_echoes_the_first_datagram() {
    let (mut rnc, port) = udp_listener(&["-e", "/bin/cat"]);
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(FAIL)).unwrap();
    u.send_to(b"first datagram\n", local(port)).unwrap();
    let mut buf = [0u8; 2048];
    let n = u
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no echo: {e}\n{}", rnc.context()));
    assert_eq!(&buf[..n], b"first datagram\n", "{}", rnc.context());
    // The listener is now locked onto this peer: a second datagram is echoed too.
    u.send_to(b"second\n", local(port)).unwrap();
    let n = u
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no second echo: {e}\n{}", rnc.context()));
    assert_eq!(&buf[..n], b"second\n", "{}", rnc.context());
    rnc.kill();
}

/// `-u -l -k --exec`: one child per peer, each answering only its own peer;
/// a peer's later datagrams reach the same child.
#[test]
fn udp_keep_open_runs_one_child_per_peer() {
    let script = r#"while read l; do echo "$NCAT_REMOTE_PORT got $l"; done"#;
    let (mut rnc, port) = udp_listener(&["-k", "-c", script]);
    let peers: Vec<UdpSocket> = (0..3)
        .map(|_| {
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.set_read_timeout(Some(FAIL)).unwrap();
            u
        })
        .collect();
    let mut buf = [0u8; 2048];
    for round in ["one", "two"] {
        for (i, u) in peers.iter().enumerate() {
            u.send_to(format!("{round} {i}\n").as_bytes(), local(port))
                .unwrap();
        }
        for (i, u) in peers.iter().enumerate() {
            let me = u.local_addr().unwrap().port();
            let n = u
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("peer {i}: no datagram back: {e}\n{}", rnc.context()));
            assert_eq!(
                String::from_utf8_lossy(&buf[..n]),
                format!("{me} got {round} {i}\n"),
                "{}",
                rnc.context()
            );
        }
    }
    // Three peers, three children: the same shell answered each peer twice.
    let kids = children_of(rnc.pid);
    assert_eq!(kids.len(), 3, "children: {kids:?}\n{}", rnc.context());
    rnc.kill();
}

/// `-u -l -k` without a program: every peer's datagrams reach stdout, and
/// stdin goes to every peer heard from.
#[test]
fn udp_keep_open_without_a_program_serves_every_peer() {
    let mut rnc = Cmd::rnc(["-u", "-l", "-k", "127.0.0.1", "0", "--test"])
        .stdin(In::Open)
        .spawn();
    rnc.expect_stderr("NCAT TEST: LISTEN", FAIL);
    let port = sockets_of(rnc.pid, &["udp"])[0].local.port();
    let peers: Vec<UdpSocket> = (0..2)
        .map(|_| {
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            u.set_read_timeout(Some(FAIL)).unwrap();
            u
        })
        .collect();
    for (i, u) in peers.iter().enumerate() {
        u.send_to(format!("from {i}\n").as_bytes(), local(port))
            .unwrap();
        rnc.expect_stdout(format!("from {i}\n").as_bytes(), FAIL);
    }
    rnc.write(b"to all\n");
    let mut buf = [0u8; 2048];
    for (i, u) in peers.iter().enumerate() {
        let n = u
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("peer {i}: nothing from stdin: {e}\n{}", rnc.context()));
        assert_eq!(&buf[..n], b"to all\n", "{}", rnc.context());
    }
    rnc.kill();
}
