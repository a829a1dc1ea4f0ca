//! UDP and Unix-socket EOF rules (behaviour.md; reference §2.7, §3.7):
//! a UDP client never quits at stdin EOF by itself (only `-q` ends it), a UDP
//! listener locks onto its first peer and outlives stdin EOF, Unix stream sockets
//! (path and `@abstract`) and Unix datagram sockets work in both modes.

mod common;

use common::*;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Receive one datagram within `within`, or fail naming `what`.
fn recv(s: &UdpSocket, within: Duration, what: &str) -> (Vec<u8>, SocketAddr) {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = vec![0u8; 65536];
    match s.recv_from(&mut buf) {
        Ok((n, a)) => (buf[..n].to_vec(), a),
        Err(e) => panic!("{what}: no datagram within {within:?} ({e})"),
    }
}

/// Fail if a datagram arrives within `d`.
fn expect_no_datagram(s: &UdpSocket, d: Duration, what: &str) {
    s.set_read_timeout(Some(d)).unwrap();
    let mut buf = vec![0u8; 65536];
    if let Ok((n, a)) = s.recv_from(&mut buf) {
        panic!(
            "{what}: expected no datagram, got {:?} from {a}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
}

fn udp_server(ip: std::net::IpAddr) -> (UdpSocket, String) {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    let port = s.local_addr().unwrap().port().to_string();
    (s, port)
}

// --- UDP client ----------------------------------------------------------------

/// stdin (pipe or file) is sent; stdin EOF does not end the client; a reply that
/// comes later is printed.
fn udp_client_outlives_stdin_eof(ip: std::net::IpAddr, stdin: In) {
    let (srv, port) = udp_server(ip);
    let mut rnc = Cmd::rnc(["-u", &ip.to_string(), &port])
        .stdin(stdin)
        .spawn();
    let (got, from) = recv(&srv, FAIL, "UDP server waiting for rnc's stdin");
    assert_eq!(got, b"hello udp\n", "{}", rnc.context());
    rnc.expect_running_for(
        Duration::from_millis(500),
        "a UDP client does not quit at stdin EOF",
    );
    srv.send_to(b"pong\n", from).unwrap();
    rnc.expect_stdout(b"pong\n", FAIL);
    rnc.expect_running_for(QUIET, "a UDP client does not quit after a reply either");
    rnc.kill().no_panic().stdout_is(b"pong\n");
}

#[test]
fn udp4_client_pipe_stdin_outlives_eof_and_gets_reply() {
    udp_client_outlives_stdin_eof(V4, In::Data(b"hello udp\n".to_vec()));
}

#[test]
fn udp4_client_file_stdin_outlives_eof_and_gets_reply() {
    udp_client_outlives_stdin_eof(V4, In::File(b"hello udp\n".to_vec()));
}

#[test]
fn udp6_client_pipe_stdin_outlives_eof_and_gets_reply() {
    udp_client_outlives_stdin_eof(V6, In::Data(b"hello udp\n".to_vec()));
}

/// stdin /dev/null: nothing is sent, but rnc keeps its socket and prints what
/// arrives on it (the server learns rnc's port from /proc).
#[test]
fn udp_client_devnull_stdin_still_receives() {
    let (srv, port) = udp_server(V4);
    let mut rnc = Cmd::rnc(["-u", "127.0.0.1", &port])
        .stdin(In::DevNull)
        .spawn();
    let srv_addr = srv.local_addr().unwrap();
    let mut mine = None;
    wait_for("rnc's UDP socket connected to the server", FAIL, || {
        mine = sockets_of(rnc.pid, &["udp"])
            .into_iter()
            .find(|r| r.remote == srv_addr)
            .map(|r| r.local);
        mine.is_some()
    });
    expect_no_datagram(&srv, QUIET, "stdin /dev/null: rnc must send nothing");
    let mine = mine.unwrap();
    let to = SocketAddr::new(V4, mine.port());
    srv.send_to(b"unsolicited\n", to).unwrap();
    rnc.expect_stdout(b"unsolicited\n", FAIL);
    assert!(rnc.is_running(), "UDP client quit\n{}", rnc.context());
    rnc.kill().no_panic();
}

/// An open stdin pipe: each line goes out as it is written.
#[test]
fn udp_client_open_pipe_sends_each_write() {
    let (srv, port) = udp_server(V4);
    let mut rnc = Cmd::rnc(["-u", "127.0.0.1", &port]).stdin(In::Open).spawn();
    rnc.write(b"one\n");
    let (a, from) = recv(&srv, FAIL, "first line");
    assert_eq!(a, b"one\n");
    srv.send_to(b"ack one\n", from).unwrap();
    rnc.expect_stdout(b"ack one\n", FAIL);
    rnc.write(b"two\n");
    let (b, _) = recv(&srv, FAIL, "second line");
    assert_eq!(b, b"two\n");
    rnc.close_stdin();
    rnc.expect_running_for(QUIET, "a UDP client does not quit at stdin EOF");
    rnc.kill().no_panic();
}

/// -q 1 is what ends a UDP client: 1 s after stdin EOF, exit 0, and a reply that
/// arrived in the meantime was printed.
#[test]
fn udp_client_q1_quits_after_one_second_with_reply() {
    let (srv, port) = udp_server(V4);
    let mut rnc = Cmd::rnc(["-u", "-q", "1", "127.0.0.1", &port])
        .stdin(In::Data(b"hi\n".to_vec()))
        .spawn();
    let (_, from) = recv(&srv, FAIL, "UDP server waiting for stdin");
    std::thread::sleep(Duration::from_millis(300));
    srv.send_to(b"reply\n", from).unwrap();
    let d = rnc.finish(FAIL);
    d.ok().stdout_is(b"reply\n");
    assert!(
        d.elapsed >= Duration::from_secs(1) && d.elapsed <= Duration::from_secs(1) + PROMPT,
        "-q 1: exit after {:.2?}",
        d.elapsed
    );
}

// --- UDP listener --------------------------------------------------------------

/// The listener locks onto its first peer: stdin goes to it, its datagrams are
/// printed, a second peer's datagrams are dropped, and stdin EOF does not end it.
fn udp_listener_locks_onto_first_peer(args: &[&str], port: u16, client_ip: std::net::IpAddr) {
    let mut rnc = Cmd::rnc(args)
        .stdin(In::Data(b"to first\n".to_vec()))
        .spawn();
    wait_udp_bound(&mut rnc, client_ip, port, FAIL);
    let target = SocketAddr::new(client_ip, port);
    let a = UdpSocket::bind((client_ip, 0)).unwrap();
    let b = UdpSocket::bind((client_ip, 0)).unwrap();
    a.send_to(b"a1\n", target).unwrap();
    rnc.expect_stdout(b"a1\n", FAIL);
    let (got, _) = recv(&a, FAIL, "first peer waiting for rnc's stdin");
    assert_eq!(got, b"to first\n", "{}", rnc.context());
    b.send_to(b"b1\n", target).unwrap();
    a.send_to(b"a2\n", target).unwrap();
    rnc.expect_stdout(b"a1\na2\n", FAIL);
    expect_no_datagram(&b, QUIET, "second peer");
    rnc.expect_running_for(QUIET, "stdin EOF does not stop a UDP listener");
    let d = rnc.kill();
    d.no_panic().stdout_is(b"a1\na2\n");
}

#[test]
fn udp4_listener_locks_onto_first_peer() {
    let port = free_udp_port();
    udp_listener_locks_onto_first_peer(&["-u", "-l", "-p", &port.to_string()], port, V4);
}

#[test]
fn udp6_listener_locks_onto_first_peer() {
    let port = free_udp_port();
    udp_listener_locks_onto_first_peer(&["-u", "-l", "-p", &port.to_string()], port, V6);
}

#[test]
fn udp_listener_bound_to_an_address_uses_only_it() {
    let port = free_udp_port();
    let p = port.to_string();
    let mut rnc = Cmd::rnc(["-u", "-l", "127.0.0.1", &p])
        .stdin(In::Open)
        .spawn();
    let bound = wait_udp_bound(&mut rnc, V4, port, FAIL);
    assert!(
        bound.iter().all(|a| a.ip() == V4),
        "`-u -l 127.0.0.1 PORT` must bind 127.0.0.1 only, bound {bound:?}"
    );
    let c = UdpSocket::bind((V4, 0)).unwrap();
    c.send_to(b"x\n", (V4, port)).unwrap();
    rnc.expect_stdout(b"x\n", FAIL);
    rnc.kill().no_panic();
}

/// stdin /dev/null: the listener keeps receiving.
#[test]
fn udp_listener_devnull_stdin_keeps_receiving() {
    let port = free_udp_port();
    let mut rnc = Cmd::rnc(["-u", "-l", "-p", &port.to_string()])
        .stdin(In::DevNull)
        .spawn();
    wait_udp_bound(&mut rnc, V4, port, FAIL);
    let c = UdpSocket::bind((V4, 0)).unwrap();
    c.send_to(b"one\n", (V4, port)).unwrap();
    rnc.expect_stdout(b"one\n", FAIL);
    rnc.expect_running_for(QUIET, "UDP listener with stdin at /dev/null");
    c.send_to(b"two\n", (V4, port)).unwrap();
    rnc.expect_stdout(b"one\ntwo\n", FAIL);
    rnc.kill().no_panic();
}

#[test]
fn udp_listener_q1_quits_one_second_after_stdin_eof() {
    let port = free_udp_port();
    let mut rnc = Cmd::rnc(["-u", "-q", "1", "-l", "-p", &port.to_string()])
        .stdin(In::Data(b"r\n".to_vec()))
        .spawn();
    wait_udp_bound(&mut rnc, V4, port, FAIL);
    let c = UdpSocket::bind((V4, 0)).unwrap();
    let sent = Instant::now();
    c.send_to(b"q\n", (V4, port)).unwrap();
    let (got, _) = recv(&c, FAIL, "client waiting for stdin");
    assert_eq!(got, b"r\n");
    let d = rnc.finish(FAIL);
    d.ok().stdout_is(b"q\n").ended_within(
        sent,
        Duration::from_secs(1) + PROMPT,
        "the first datagram (-q 1)",
    );
    assert!(
        d.ended.duration_since(sent) >= Duration::from_millis(900),
        "-q 1 quit too early\n{}",
        d.describe()
    );
}

// --- Unix stream, abstract names -------------------------------------------------

#[test]
fn unix_abstract_connect() {
    let name = abstract_name();
    let l = unix_listen(&name);
    let mut rnc = Cmd::rnc(["-U", &name])
        .stdin(In::Data(b"hi\n".to_vec()))
        .spawn();
    let mut far = accept_unix_from(&l, Some(&mut rnc), FAIL);
    assert_eq!(
        read_to_eof(&mut far, FAIL, "abstract server waiting for stdin and EOF"),
        b"hi\n"
    );
    far.write_all(b"yo\n").unwrap();
    let t = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"yo\n")
        .ended_within(t, PROMPT, "the server closed");
}

#[test]
fn unix_abstract_listen() {
    let name = abstract_name();
    let mut rnc = Cmd::rnc(["-l", "-U", &name])
        .stdin(In::Data(b"hi\n".to_vec()))
        .spawn();
    let mut far = connect_unix_retry(&name, &mut rnc, FAIL);
    assert_eq!(
        read_to_eof(&mut far, FAIL, "client waiting for stdin and EOF"),
        b"hi\n"
    );
    far.write_all(b"yo\n").unwrap();
    let t = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"yo\n")
        .ended_within(t, PROMPT, "the client closed");
    assert!(
        !std::path::Path::new(&name).exists(),
        "an @abstract name must not create a file named {name} in the cwd"
    );
}

#[test]
fn unix_abstract_works_in_openbsd_personality() {
    let name = abstract_name();
    let l = unix_listen(&name);
    let mut rnc = Pers::OpenBsd
        .cmd(["-U", &name])
        .stdin(In::Data(b"obsd\n".to_vec()))
        .spawn();
    let mut far = accept_unix_from(&l, Some(&mut rnc), FAIL);
    assert_eq!(read_to_eof(&mut far, FAIL, "abstract server"), b"obsd\n");
    drop(far);
    rnc.finish(FAIL).ok();
}

// --- Unix datagram -----------------------------------------------------------------

#[test]
fn unix_datagram_listen_receives_and_answers_first_peer() {
    let dir = TempDir::new();
    let path = dir.join("srv.sock").to_string_lossy().into_owned();
    let mut rnc = Cmd::rnc(["-l", "-U", "-u", &path])
        .stdin(In::Data(b"back\n".to_vec()))
        .spawn();
    wait_unix_bound(&mut rnc, &path, FAIL);
    let client = UnixDatagram::bind(dir.join("cli.sock")).unwrap();
    client.send_to(b"hi\n", &path).unwrap();
    rnc.expect_stdout(b"hi\n", FAIL);
    client.set_read_timeout(Some(FAIL)).unwrap();
    let mut buf = [0u8; 1024];
    let n = client
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("client: no answer ({e})\n{}", rnc.context()));
    assert_eq!(&buf[..n], b"back\n");
    rnc.expect_running_for(QUIET, "stdin EOF does not stop a datagram listener");
    rnc.kill().no_panic().stdout_is(b"hi\n");
}

#[test]
fn unix_datagram_connect_sends_stdin() {
    let dir = TempDir::new();
    let path = dir.join("srv.sock");
    let srv = UnixDatagram::bind(&path).unwrap();
    let mut rnc = Cmd::rnc(["-U", "-u", "-q", "1", &path.to_string_lossy()])
        .stdin(In::Data(b"dgram\n".to_vec()))
        .spawn();
    srv.set_read_timeout(Some(FAIL)).unwrap();
    let mut buf = [0u8; 1024];
    let n = srv
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("server: nothing received ({e})\n{}", rnc.context()));
    assert_eq!(&buf[..n], b"dgram\n");
    rnc.finish(FAIL).ok();
}

/// `-s PATH` names rnc's own datagram socket, so the server can answer.
#[test]
fn unix_datagram_connect_with_source_path_gets_replies() {
    let dir = TempDir::new();
    let path = dir.join("srv.sock");
    let mine = dir.join("rnc.sock");
    let srv = UnixDatagram::bind(&path).unwrap();
    let mut rnc = Cmd::rnc([
        "-U",
        "-u",
        "-s",
        &mine.to_string_lossy(),
        &path.to_string_lossy(),
    ])
    .stdin(In::Open)
    .spawn();
    rnc.write(b"ask\n");
    srv.set_read_timeout(Some(FAIL)).unwrap();
    let mut buf = [0u8; 1024];
    let (n, from) = srv
        .recv_from(&mut buf)
        .unwrap_or_else(|e| panic!("server: nothing received ({e})\n{}", rnc.context()));
    assert_eq!(&buf[..n], b"ask\n");
    assert_eq!(
        from.as_pathname(),
        Some(mine.as_path()),
        "rnc's datagrams must come from the -s path"
    );
    srv.send_to(b"answer\n", &mine).unwrap();
    rnc.expect_stdout(b"answer\n", FAIL);
    rnc.kill().no_panic();
}
