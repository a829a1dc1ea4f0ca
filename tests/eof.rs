//! EOF, half-close and exit rules (behaviour.md "EOF rules"; reference §2.1-§2.6),
//! over TCP (IPv4 and IPv6) and Unix stream sockets, in connect and listen mode,
//! with every kind of stdin: pipe, regular file, /dev/null, closed fd, open pipe, tty.
//!
//! The "far end" is a plain socket held by the test: a server rnc connects to, or a
//! client of `rnc -l`.

mod common;

use common::*;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixListener;
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
enum Tr {
    Tcp4,
    Tcp6,
    Unix,
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Connect,
    Listen,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Pipe,
    File,
    DevNull,
    Closed,
}

struct Session {
    rnc: Proc,
    far: Box<dyn Stream>,
    _dir: TempDir,
}

/// Start rnc (ncat personality) over `tr` in `mode` with `extra` options and
/// `stdin`, and return it with the far end of its connection.
fn session_as(p: Pers, tr: Tr, mode: Mode, extra: &[&str], stdin: In) -> Session {
    let dir = TempDir::new();
    let sock = dir.join("s.sock").to_string_lossy().into_owned();
    let ip = match tr {
        Tr::Tcp6 => V6,
        _ => V4,
    };
    match (tr, mode) {
        (Tr::Tcp4 | Tr::Tcp6, Mode::Connect) => {
            let l = TcpListener::bind((ip, 0)).unwrap();
            let port = l.local_addr().unwrap().port().to_string();
            let mut rnc = p
                .cmd(extra)
                .args([ip.to_string(), port])
                .stdin(stdin)
                .spawn();
            let far = accept_tcp_from(&l, Some(&mut rnc), FAIL);
            Session {
                rnc,
                far: Box::new(far),
                _dir: dir,
            }
        }
        (Tr::Tcp4 | Tr::Tcp6, Mode::Listen) => {
            let port = free_port();
            let mut rnc = p
                .cmd(extra)
                .args(["-l", "-p", &port.to_string()])
                .stdin(stdin)
                .spawn();
            let far = connect_retry(SocketAddr::new(ip, port), &mut rnc, FAIL);
            Session {
                rnc,
                far: Box::new(far),
                _dir: dir,
            }
        }
        (Tr::Unix, Mode::Connect) => {
            let l = UnixListener::bind(&sock).unwrap();
            let mut rnc = p.cmd(extra).args(["-U", &sock]).stdin(stdin).spawn();
            let far = accept_unix_from(&l, Some(&mut rnc), FAIL);
            Session {
                rnc,
                far: Box::new(far),
                _dir: dir,
            }
        }
        (Tr::Unix, Mode::Listen) => {
            let mut rnc = p.cmd(extra).args(["-l", "-U", &sock]).stdin(stdin).spawn();
            let far = connect_unix_retry(&sock, &mut rnc, FAIL);
            Session {
                rnc,
                far: Box::new(far),
                _dir: dir,
            }
        }
    }
}

fn session(tr: Tr, mode: Mode, extra: &[&str], stdin: In) -> Session {
    session_as(Pers::Ncat, tr, mode, extra, stdin)
}

fn stdin_of(kind: Kind, data: &[u8]) -> In {
    match kind {
        Kind::Pipe => In::Data(data.to_vec()),
        Kind::File => In::File(data.to_vec()),
        Kind::DevNull => In::DevNull,
        Kind::Closed => In::Closed,
    }
}

/// Stdin ends first: rnc sends stdin, half-closes (the far end sees EOF), keeps
/// reading (a reply sent later still reaches stdout), and exits 0 as soon as the
/// far end closes.
fn stdin_ends_first(tr: Tr, mode: Mode, kind: Kind) {
    let data: &[u8] = match kind {
        Kind::Pipe | Kind::File => b"request line 1\nrequest line 2\n",
        Kind::DevNull | Kind::Closed => b"",
    };
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(tr, mode, &[], stdin_of(kind, data));
    let got = read_to_eof(
        &mut *far,
        FAIL,
        "far end waiting for rnc to half-close after stdin EOF",
    );
    assert_eq!(got, data, "far end got the wrong bytes\n{}", rnc.context());
    // rnc must still be reading the socket after its half-close.
    thread::sleep(Duration::from_millis(300));
    assert!(
        rnc.is_running(),
        "rnc quit at stdin EOF; it must keep reading the socket\n{}",
        rnc.context()
    );
    far.write_all(b"late reply\n").unwrap();
    rnc.expect_stdout(b"late reply\n", FAIL);
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"late reply\n")
        .ended_within(closed, PROMPT, "the far end closed");
}

/// The socket ends first while stdin stays open (idle pipe or tty): rnc prints
/// what came, exits 0 promptly, and sends nothing.
fn socket_ends_first(tr: Tr, mode: Mode, tty: bool) {
    let stdin = if tty { In::Tty } else { In::Open };
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(tr, mode, &[], stdin);
    far.write_all(b"bye\n").unwrap();
    far.shut_wr();
    let t = Instant::now();
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"bye\n")
        .ended_within(t, PROMPT, "the far end half-closed");
    let rest = read_to_eof(&mut *far, FAIL, "far end waiting for rnc to close");
    assert!(
        rest.is_empty(),
        "rnc sent {rest:?} although its stdin was idle"
    );
}

/// The socket ends first, but stdin still has data that is available without
/// waiting (a regular file to its end, or a closed pipe's buffer): rnc sends all
/// of it, then exits 0.
fn socket_ends_first_stdin_drains(tr: Tr, mode: Mode, big_file: bool) {
    let data = if big_file {
        pseudo_random(8 << 20, 7)
    } else {
        pseudo_random(32 << 10, 8)
    };
    let stdin = if big_file {
        In::File(data.clone())
    } else {
        In::Data(data.clone())
    };
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(tr, mode, &[], stdin);
    far.shut_wr();
    let got = read_to_eof(
        &mut *far,
        FAIL,
        "far end reading rnc's stdin after its own half-close",
    );
    assert!(
        got == data,
        "rnc sent {} of {} stdin bytes after the far end's FIN (must send all)\n{}",
        got.len(),
        data.len(),
        rnc.context()
    );
    rnc.finish(FAIL).ok().stdout_is(b"");
}

macro_rules! tests {
    ($($name:ident => $body:expr;)*) => {
        $( #[test] fn $name() { $body; } )*
    };
}

tests! {
    tcp4_connect_pipe_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Connect, Kind::Pipe);
    tcp4_connect_file_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Connect, Kind::File);
    tcp4_connect_devnull_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Connect, Kind::DevNull);
    tcp4_connect_closed_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Connect, Kind::Closed);
    tcp4_listen_pipe_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Listen, Kind::Pipe);
    tcp4_listen_file_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Listen, Kind::File);
    tcp4_listen_devnull_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Listen, Kind::DevNull);
    tcp4_listen_closed_stdin_ends_first => stdin_ends_first(Tr::Tcp4, Mode::Listen, Kind::Closed);
    tcp6_connect_pipe_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Connect, Kind::Pipe);
    tcp6_connect_file_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Connect, Kind::File);
    tcp6_connect_devnull_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Connect, Kind::DevNull);
    tcp6_connect_closed_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Connect, Kind::Closed);
    tcp6_listen_pipe_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Listen, Kind::Pipe);
    tcp6_listen_file_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Listen, Kind::File);
    tcp6_listen_devnull_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Listen, Kind::DevNull);
    tcp6_listen_closed_stdin_ends_first => stdin_ends_first(Tr::Tcp6, Mode::Listen, Kind::Closed);
    unix_connect_pipe_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Connect, Kind::Pipe);
    unix_connect_file_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Connect, Kind::File);
    unix_connect_devnull_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Connect, Kind::DevNull);
    unix_connect_closed_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Connect, Kind::Closed);
    unix_listen_pipe_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Listen, Kind::Pipe);
    unix_listen_file_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Listen, Kind::File);
    unix_listen_devnull_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Listen, Kind::DevNull);
    unix_listen_closed_stdin_ends_first => stdin_ends_first(Tr::Unix, Mode::Listen, Kind::Closed);

    tcp4_connect_socket_ends_first_stdin_open_pipe => socket_ends_first(Tr::Tcp4, Mode::Connect, false);
    tcp4_connect_socket_ends_first_stdin_tty => socket_ends_first(Tr::Tcp4, Mode::Connect, true);
    tcp4_listen_socket_ends_first_stdin_open_pipe => socket_ends_first(Tr::Tcp4, Mode::Listen, false);
    tcp4_listen_socket_ends_first_stdin_tty => socket_ends_first(Tr::Tcp4, Mode::Listen, true);
    tcp6_connect_socket_ends_first_stdin_open_pipe => socket_ends_first(Tr::Tcp6, Mode::Connect, false);
    tcp6_listen_socket_ends_first_stdin_open_pipe => socket_ends_first(Tr::Tcp6, Mode::Listen, false);
    unix_connect_socket_ends_first_stdin_open_pipe => socket_ends_first(Tr::Unix, Mode::Connect, false);
    unix_connect_socket_ends_first_stdin_tty => socket_ends_first(Tr::Unix, Mode::Connect, true);
    unix_listen_socket_ends_first_stdin_open_pipe => socket_ends_first(Tr::Unix, Mode::Listen, false);
    unix_listen_socket_ends_first_stdin_tty => socket_ends_first(Tr::Unix, Mode::Listen, true);

    tcp4_connect_peer_fin_first_regular_file_fully_sent => socket_ends_first_stdin_drains(Tr::Tcp4, Mode::Connect, true);
    tcp4_connect_peer_fin_first_closed_pipe_fully_sent => socket_ends_first_stdin_drains(Tr::Tcp4, Mode::Connect, false);
    tcp4_listen_peer_fin_first_regular_file_fully_sent => socket_ends_first_stdin_drains(Tr::Tcp4, Mode::Listen, true);
    tcp4_listen_peer_fin_first_closed_pipe_fully_sent => socket_ends_first_stdin_drains(Tr::Tcp4, Mode::Listen, false);
    tcp6_connect_peer_fin_first_regular_file_fully_sent => socket_ends_first_stdin_drains(Tr::Tcp6, Mode::Connect, true);
    tcp6_listen_peer_fin_first_regular_file_fully_sent => socket_ends_first_stdin_drains(Tr::Tcp6, Mode::Listen, true);
    unix_connect_peer_fin_first_regular_file_fully_sent => socket_ends_first_stdin_drains(Tr::Unix, Mode::Connect, true);
    unix_listen_peer_fin_first_regular_file_fully_sent => socket_ends_first_stdin_drains(Tr::Unix, Mode::Listen, true);
}

/// The same core rules hold in the openbsd and traditional personalities
/// (half-close at stdin EOF is the default in every personality).
fn personality_half_closes(p: Pers, mode: Mode) {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session_as(p, Tr::Tcp4, mode, &[], In::Data(b"req\n".to_vec()));
    let got = read_to_eof(
        &mut *far,
        FAIL,
        "far end waiting for rnc to half-close after stdin EOF",
    );
    assert_eq!(got, b"req\n", "{}", rnc.context());
    far.write_all(b"resp\n").unwrap();
    rnc.expect_stdout(b"resp\n", FAIL);
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"resp\n")
        .ended_within(closed, PROMPT, "the far end closed");
}

tests! {
    openbsd_connect_half_closes_at_stdin_eof => personality_half_closes(Pers::OpenBsd, Mode::Connect);
    openbsd_listen_half_closes_at_stdin_eof => personality_half_closes(Pers::OpenBsd, Mode::Listen);
    traditional_connect_half_closes_at_stdin_eof => personality_half_closes(Pers::Traditional, Mode::Connect);
    traditional_listen_half_closes_at_stdin_eof => personality_half_closes(Pers::Traditional, Mode::Listen);
}

/// Listen mode: stdin is not consumed before a client is accepted, so data
/// written while nobody is connected reaches the first client.
#[test]
fn listen_stdin_written_before_any_client_reaches_the_client() {
    let port = free_port();
    let mut rnc = Cmd::rnc(["-l", "-p", &port.to_string()])
        .stdin(In::Open)
        .spawn();
    wait_tcp_listen(&mut rnc, V4, port, FAIL);
    rnc.write(b"early bird\n");
    let mut far = connect_retry(SocketAddr::new(V4, port), &mut rnc, FAIL);
    read_until(
        &mut far,
        b"early bird\n",
        FAIL,
        "client waiting for stdin written before it connected",
    );
    far.write_all(b"thanks\n").unwrap();
    far.shut_wr();
    let t = Instant::now();
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"thanks\n")
        .ended_within(t, PROMPT, "the client half-closed");
}

/// Connect-mode -k: socket EOF does not end rnc; it keeps sending stdin until
/// stdin ends, then half-closes and exits.
#[test]
fn connect_keep_open_outlives_socket_eof() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(Tr::Tcp4, Mode::Connect, &["-k"], In::Open);
    far.write_all(b"server done\n").unwrap();
    far.shut_wr();
    rnc.expect_stdout(b"server done\n", FAIL);
    rnc.expect_running_for(QUIET, "-k: rnc keeps running after socket EOF");
    rnc.write(b"more from stdin\n");
    read_until(
        &mut *far,
        b"more from stdin\n",
        FAIL,
        "far end waiting for stdin sent after its FIN",
    );
    rnc.close_stdin();
    let t = Instant::now();
    let rest = read_to_eof(
        &mut *far,
        FAIL,
        "far end waiting for EOF after rnc's stdin closed",
    );
    assert!(rest.is_empty(), "unexpected extra data {rest:?}");
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"server done\n")
        .ended_within(t, PROMPT, "stdin EOF");
}

// --- -q ---------------------------------------------------------------------

/// -q 1: rnc quits (exit 0) one second after stdin EOF although the far end stays open.
#[test]
fn connect_q1_quits_one_second_after_stdin_eof() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["-q", "1"],
        In::Data(b"x\n".to_vec()),
    );
    let got = read_to_eof(
        &mut *far,
        FAIL,
        "far end waiting for half-close (-q still half-closes)",
    );
    let eof = Instant::now();
    assert_eq!(got, b"x\n");
    let d = rnc.finish(FAIL);
    d.ok();
    assert!(
        d.elapsed >= Duration::from_millis(1000),
        "-q 1 quit before 1 s: {:.2?}\n{}",
        d.elapsed,
        d.describe()
    );
    d.ended_within(eof, Duration::from_secs(1) + PROMPT, "stdin EOF (-q 1)");
    drop(far);
}

#[test]
fn connect_q_delivers_a_reply_that_arrives_during_the_wait() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["-q", "2"],
        In::Data(b"x\n".to_vec()),
    );
    read_to_eof(&mut *far, FAIL, "far end waiting for half-close");
    thread::sleep(Duration::from_millis(300));
    far.write_all(b"late\n").unwrap();
    let d = rnc.finish(FAIL);
    d.ok().stdout_is(b"late\n");
    assert!(
        d.elapsed >= Duration::from_secs(2),
        "-q 2 quit before 2 s: {:.2?}",
        d.elapsed
    );
}

#[test]
fn connect_q0_quits_once_stdin_is_sent() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["-q", "0"],
        In::Data(b"x\n".to_vec()),
    );
    let got = read_until(&mut *far, b"x\n", FAIL, "far end waiting for stdin");
    assert_eq!(got, b"x\n");
    let t = Instant::now();
    rnc.finish(FAIL)
        .ok()
        .ended_within(t, PROMPT, "stdin was sent (-q 0)");
}

#[test]
fn connect_q_is_cut_short_by_socket_eof() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["-q", "5"],
        In::Data(b"x\n".to_vec()),
    );
    read_to_eof(&mut *far, FAIL, "far end waiting for half-close");
    far.write_all(b"bye\n").unwrap();
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL).ok().stdout_is(b"bye\n").ended_within(
        closed,
        PROMPT,
        "the far end closed (before -q 5 fired)",
    );
}

#[test]
fn connect_q_accepts_millisecond_units() {
    let Session { mut rnc, far, _dir } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["-q", "500ms"],
        In::Data(b"x\n".to_vec()),
    );
    let d = rnc.finish(FAIL);
    d.ok();
    assert!(
        d.elapsed >= Duration::from_millis(500) && d.elapsed <= Duration::from_millis(500) + PROMPT,
        "-q 500ms: exit after {:.2?}",
        d.elapsed
    );
    drop(far);
}

/// Listen mode -q 1: stdin is read after the accept, so the timer starts then.
#[test]
fn listen_q1_quits_one_second_after_stdin_eof() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Listen,
        &["-q", "1"],
        In::Data(b"resp\n".to_vec()),
    );
    let connected = Instant::now();
    let got = read_to_eof(&mut *far, FAIL, "client waiting for the response and EOF");
    assert_eq!(got, b"resp\n");
    let d = rnc.finish(FAIL);
    d.ok().ended_within(
        connected,
        Duration::from_secs(1) + PROMPT,
        "the client connected (-q 1)",
    );
    let waited = d.ended.saturating_duration_since(connected);
    assert!(
        waited >= Duration::from_millis(900),
        "-q 1 quit {waited:.2?} after the accept (< 1 s)"
    );
    drop(far);
}

/// -q with a negative value: never quit because of stdin EOF (even --send-only).
#[test]
fn send_only_with_negative_q_never_quits_at_stdin_eof() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["--send-only", "-q", "-1"],
        In::Data(b"x\n".to_vec()),
    );
    read_to_eof(&mut *far, FAIL, "far end waiting for half-close");
    rnc.expect_running_for(
        Duration::from_secs(1),
        "--send-only -q -1 ignores stdin EOF",
    );
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"")
        .ended_within(closed, PROMPT, "the far end closed");
}

// --- send/recv-only, no-stdin, no-shutdown ---------------------------------

#[test]
fn send_only_discards_input_and_quits_at_stdin_eof() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["--send-only"],
        In::Data(b"x\n".to_vec()),
    );
    far.write_all(b"must not be printed\n").unwrap();
    let got = read_to_eof(&mut *far, FAIL, "far end waiting for stdin and EOF");
    let eof = Instant::now();
    assert_eq!(got, b"x\n");
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"")
        .ended_within(eof, PROMPT, "stdin EOF (--send-only)");
}

fn never_reads_stdin(flag: &str) {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(Tr::Tcp4, Mode::Connect, &[flag], In::Open);
    rnc.write(b"never sent\n");
    expect_silence(
        &mut *far,
        QUIET,
        &format!("{flag}: far end must get no data and no EOF"),
    );
    far.write_all(b"hello\n").unwrap();
    far.shut_wr();
    let t = Instant::now();
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"hello\n")
        .ended_within(t, PROMPT, "socket EOF");
    let rest = read_to_eof(&mut *far, FAIL, "far end waiting for close");
    assert!(rest.is_empty(), "{flag}: rnc sent {rest:?}");
}

#[test]
fn recv_only_never_reads_or_sends_and_quits_at_socket_eof() {
    never_reads_stdin("--recv-only");
}

#[test]
fn no_stdin_never_reads_or_sends_and_quits_at_socket_eof() {
    never_reads_stdin("--no-stdin");
}

/// The receiver-side fix for old senders (reference §2.6): `-l --recv-only` with
/// stdin at /dev/null does not half-close early.
#[test]
fn listen_recv_only_does_not_half_close() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(Tr::Tcp4, Mode::Listen, &["--recv-only"], In::DevNull);
    far.write_all(b"upload\n").unwrap();
    expect_silence(&mut *far, QUIET, "--recv-only listener must not half-close");
    far.shut_wr();
    let t = Instant::now();
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"upload\n")
        .ended_within(t, PROMPT, "the client half-closed");
}

#[test]
fn no_shutdown_keeps_the_write_side_open() {
    let Session {
        mut rnc,
        mut far,
        _dir,
    } = session(
        Tr::Tcp4,
        Mode::Connect,
        &["--no-shutdown"],
        In::Data(b"x\n".to_vec()),
    );
    read_until(&mut *far, b"x\n", FAIL, "far end waiting for stdin");
    expect_silence(&mut *far, QUIET, "--no-shutdown: far end must not see EOF");
    far.write_all(b"bye\n").unwrap();
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"bye\n")
        .ended_within(closed, PROMPT, "the far end closed");
}

// --- stdout kinds -------------------------------------------------------------

/// EPIPE on stdout ends rnc cleanly: exit 0, no panic, no message storm.
#[test]
fn stdout_broken_pipe_ends_cleanly() {
    let l = TcpListener::bind((V4, 0)).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let mut rnc = Cmd::rnc(["127.0.0.1", &port])
        .stdin(In::Open)
        .stdout(Out::Broken)
        .spawn();
    let mut far = accept_tcp_from(&l, Some(&mut rnc), FAIL);
    let chunk = vec![b'z'; 64 * 1024];
    for _ in 0..16 {
        if far.write_all(&chunk).is_err() {
            break;
        }
    }
    rnc.finish(FAIL).ok();
}

/// With fd 1 closed, a socket rnc opens may get fd 1: received data must never
/// be written back into the connection.
#[test]
fn stdout_closed_does_not_echo_into_the_socket() {
    let l = TcpListener::bind((V4, 0)).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let mut rnc = Cmd::rnc(["127.0.0.1", &port])
        .stdin(In::Open)
        .stdout(Out::Closed)
        .spawn();
    let mut far = accept_tcp_from(&l, Some(&mut rnc), FAIL);
    far.write_all(b"ping\n").unwrap();
    expect_silence(&mut far, QUIET, "stdout closed: nothing may come back");
    far.shut_wr();
    rnc.finish(FAIL).ok();
}

#[test]
fn stdout_dev_null_works() {
    let l = TcpListener::bind((V4, 0)).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let mut rnc = Cmd::rnc(["127.0.0.1", &port])
        .stdin(In::Data(b"x\n".to_vec()))
        .stdout(Out::DevNull)
        .spawn();
    let mut far = accept_tcp_from(&l, Some(&mut rnc), FAIL);
    assert_eq!(read_to_eof(&mut far, FAIL, "far end"), b"x\n");
    far.write_all(b"discarded\n").unwrap();
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .ended_within(closed, PROMPT, "the far end closed");
}

// --- errors -----------------------------------------------------------------

/// ncat personality: an RST from the peer is an error (exit 1, one message).
#[test]
fn connect_reset_by_peer_is_reported() {
    let l = TcpListener::bind((V4, 0)).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let mut rnc = Cmd::rnc(["127.0.0.1", &port]).stdin(In::Open).spawn();
    let far = accept_tcp_from(&l, Some(&mut rnc), FAIL);
    rnc.write(b"left unread\n");
    // Wait until the bytes sit in the far end's receive queue, then close without
    // reading them: the kernel answers with RST.
    let mut buf = [0u8; 16];
    far.set_read_timeout(Some(FAIL)).unwrap();
    let n = far.peek(&mut buf).expect("peek");
    assert!(
        n > 0,
        "rnc closed instead of sending stdin\n{}",
        rnc.context()
    );
    drop(far);
    let d = rnc.finish(FAIL);
    d.code_is(1);
    assert!(
        d.stderr.contains("Ncat: Connection reset by peer."),
        "expected `Ncat: Connection reset by peer.`\n{}",
        d.describe()
    );
}
