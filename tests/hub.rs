//! The many-client listener (`-l -k`, `--broker`, `--chat`; src/hub), driven
//! with real sockets on 127.0.0.1 and ::1 (reference §2.10, §3.2-§3.5).
//!
//! Every server is started as `rnc -v --test … 0`: the OS picks the port, `-v`
//! says which (`Listening on …`) and logs every client it takes in
//! (`Connection from …`, two lines each), and `--test` says when it listens.
//! Readiness is always one of those lines or data arriving; every wait is
//! bounded by `FAIL`.

mod common;

use common::*;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

/// A listening rnc and the port it listens on.
struct Server {
    p: Proc,
    port: u16,
}

/// Start `cmd` (which must include `-v --test` and listen on port 0) and wait
/// until it listens.
fn start(cmd: Cmd) -> Server {
    let mut p = cmd.spawn();
    let port = announced_port(&mut p);
    Server { p, port }
}

/// `rnc -v --test ARGS`, with ARGS ending in the (port 0) address.
fn rnc(args: &[&str], stdin: In) -> Server {
    start(Cmd::rnc(["-v", "--test"]).args(args).stdin(stdin))
}

impl Server {
    fn connect(&mut self, ip: IpAddr) -> TcpStream {
        connect_retry(SocketAddr::new(ip, self.port), &mut self.p, FAIL)
    }

    /// Clients taken in so far (ncat logs two lines for each).
    fn admitted(&self) -> usize {
        count(self.p.stderr().as_bytes(), b"Ncat: Connection from ") / 2
    }

    /// Wait until `n` clients have been taken in.
    fn wait_admitted(&mut self, n: usize) {
        wait_for(&format!("{n} clients admitted"), FAIL, || {
            self.admitted() >= n || !self.p.is_running()
        });
        assert!(self.p.is_running(), "server exited\n{}", self.p.context());
    }

    /// Wait until stdout holds at least `n` bytes.
    fn wait_stdout_len(&mut self, n: usize) {
        wait_for(&format!("{n} bytes on stdout"), FAIL, || {
            self.p.stdout().len() >= n || !self.p.is_running()
        });
        assert!(
            self.p.stdout().len() >= n,
            "stdout is short\n{}",
            self.p.context()
        );
    }

    fn stdout_contains(&self, pat: &[u8]) -> bool {
        find(&self.p.stdout(), pat).is_some()
    }
}

/// The server closed `s` (EOF, or a reset because unread data was pending)
/// and sent nothing before that.
fn expect_closed(s: &mut TcpStream, what: &str) {
    s.set_read_timeout(Some(FAIL)).unwrap();
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!(
            "{what}: expected to be closed, got {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
            ) => {}
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            panic!("{what}: not closed within {FAIL:?}")
        }
        Err(e) => panic!("{what}: expected EOF or reset, got {e}"),
    }
}

/// Read exactly `want` (and fail on anything else or more).
fn expect_data(s: &mut TcpStream, want: &[u8], what: &str) {
    let got = read_until(s, want, FAIL, what);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(want),
        "{what}"
    );
}

fn send(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).expect("client write");
}

// ---------------------------------------------------------------------------
// Keep-open: stdin to every client, every client to stdout

/// Fifty clients at once, each sending its own lines: all of it reaches
/// stdout, every line whole and each client's lines in order.
#[test]
fn fifty_concurrent_clients_all_reach_stdout() {
    const N: usize = 50;
    const LINES: usize = 40;
    let line = |i: usize, k: usize| {
        let fill: String = (0..(i * 7 + k * 13) % 90)
            .map(|j| (b'a' + ((i + j) % 26) as u8) as char)
            .collect();
        format!("client {i:02} line {k:02} {fill}\n")
    };
    let mut s = rnc(&["-lk", "0"], In::Open);
    let clients: Vec<TcpStream> = (0..N)
        .map(|i| s.connect(if i % 5 == 4 { V6 } else { V4 }))
        .collect();
    s.wait_admitted(N);
    let go = Arc::new(Barrier::new(N));
    let peers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let go = Arc::clone(&go);
            thread::spawn(move || {
                go.wait();
                for k in 0..LINES {
                    c.write_all(line(i, k).as_bytes()).expect("client write");
                }
                c.shutdown(Shutdown::Write).unwrap();
                // stdin is still open: the client hears nothing, and is
                // closed once it has finished.
                read_to_eof(&mut c, FAIL, &format!("client {i}"))
            })
        })
        .collect();
    for h in peers {
        let heard = join(h, &mut s.p);
        assert!(heard.is_empty(), "a client was sent {heard:?}");
    }
    let total: usize = (0..N)
        .flat_map(|i| (0..LINES).map(move |k| (i, k)))
        .map(|(i, k)| line(i, k).len())
        .sum();
    s.wait_stdout_len(total);
    let out = String::from_utf8(s.p.stdout()).expect("stdout is text");
    assert_eq!(out.len(), total, "stdout has extra bytes");
    let mut next = [0usize; N];
    for l in out.split_inclusive('\n') {
        let i: usize = l[7..9]
            .parse()
            .unwrap_or_else(|_| panic!("torn line {l:?}"));
        assert_eq!(
            l,
            line(i, next[i]),
            "client {i}'s lines torn or out of order"
        );
        next[i] += 1;
    }
    assert!(next.iter().all(|&n| n == LINES));
    s.p.kill().no_panic();
}

/// stdin goes to every connected client, over IPv4 and IPv6; its end
/// half-closes every one of them.
#[test]
fn stdin_is_broadcast_to_every_client() {
    let mut s = rnc(&["-lk", "0"], In::Open);
    let mut cs: Vec<TcpStream> = (0..6)
        .map(|i| s.connect(if i % 2 == 0 { V4 } else { V6 }))
        .collect();
    s.wait_admitted(6);
    s.p.write(b"broadcast one\n");
    for (i, c) in cs.iter_mut().enumerate() {
        expect_data(c, b"broadcast one\n", &format!("client {i}"));
    }
    for (i, c) in cs.iter_mut().enumerate() {
        send(c, format!("from {i}\n").as_bytes());
    }
    s.p.write(b"two\n");
    for (i, c) in cs.iter_mut().enumerate() {
        expect_data(c, b"two\n", &format!("client {i}"));
    }
    for i in 0..6 {
        s.p.expect_stdout(format!("from {i}\n").as_bytes(), FAIL);
    }
    s.p.close_stdin();
    for (i, c) in cs.iter_mut().enumerate() {
        assert_eq!(read_to_eof(c, FAIL, &format!("client {i}")), b"");
    }
    assert!(s.p.is_running(), "-k ended with stdin\n{}", s.p.context());
    s.p.kill().no_panic();
}

/// `echo resp | rnc -lk`: every client, one after another, gets `resp` and
/// EOF (ncat answers only the first; reference §2.10).
#[test]
fn finished_stdin_is_replayed_to_every_later_client() {
    let mut s = rnc(&["-lk", "0"], In::Data(b"resp\n".to_vec()));
    let mut expect_out = String::new();
    for i in 0..4 {
        let mut c = s.connect(if i == 2 { V6 } else { V4 });
        send(&mut c, format!("req {i}\n").as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&read_to_eof(&mut c, FAIL, &format!("client {i}"))),
            "resp\n",
            "client {i}"
        );
        drop(c);
        expect_out.push_str(&format!("req {i}\n"));
        s.wait_stdout_len(expect_out.len());
    }
    let done = s.p.kill();
    done.no_panic();
    assert_eq!(done.stdout_str(), expect_out);
}

/// `-m 2`: a third client at once is accepted and closed, unread; once a
/// client has left, a new one is served again.
#[test]
fn max_conns_closes_the_client_over_the_limit() {
    let mut s = rnc(&["-lk", "-m", "2", "0"], In::Open);
    let mut a = s.connect(V4);
    let mut b = s.connect(V6);
    s.wait_admitted(2);
    let mut c = s.connect(V4);
    s.p.expect_stderr(
        "Ncat: New connection denied: connection limit reached (2)",
        FAIL,
    );
    let _ = c.write_all(b"from c\n");
    expect_closed(&mut c, "the third client");
    send(&mut a, b"from a\n");
    send(&mut b, b"from b\n");
    s.p.expect_stdout(b"from a\n", FAIL);
    s.p.expect_stdout(b"from b\n", FAIL);
    s.p.write(b"to both\n");
    expect_data(&mut a, b"to both\n", "a");
    expect_data(&mut b, b"to both\n", "b");
    // a leaves: there is room again.
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut a, FAIL, "a"), b"");
    let mut d = s.connect(V4);
    s.wait_admitted(3);
    send(&mut d, b"from d\n");
    s.p.expect_stdout(b"from d\n", FAIL);
    s.p.write(b"to b and d\n");
    expect_data(&mut d, b"to b and d\n", "d");
    expect_data(&mut b, b"to b and d\n", "b");
    assert!(!s.stdout_contains(b"from c"), "{}", s.p.context());
    assert_eq!(
        count(s.p.stderr().as_bytes(), b"connection limit reached (2)"),
        1
    );
    s.p.kill().no_panic();
}

// ---------------------------------------------------------------------------
// Access lists

#[derive(Clone, Copy, Debug)]
enum Src {
    V4,
    V6,
    /// 127.0.0.2 (another loopback address; rnc itself connects with `-s`).
    V4Two,
}

/// One client from `from`: sends a line and reports whether it was admitted
/// (its line reached stdout) or refused (closed unread).
fn probe(s: &mut Server, from: Src, admitted: bool, case: &str) {
    let tag = format!("from {from:?}\n");
    let what = format!("{case}: client {from:?}");
    let denials = count(
        s.p.stderr().as_bytes(),
        b"New connection denied: not allowed",
    );
    match from {
        Src::V4 | Src::V6 => {
            let mut c = s.connect(if matches!(from, Src::V4) { V4 } else { V6 });
            let _ = c.write_all(tag.as_bytes());
            if admitted {
                s.p.expect_stdout(tag.as_bytes(), FAIL);
                c.shutdown(Shutdown::Write).unwrap();
                assert_eq!(read_to_eof(&mut c, FAIL, &what), b"", "{what}");
            } else {
                expect_closed(&mut c, &what);
            }
        }
        Src::V4Two => {
            let port = s.port.to_string();
            let mut client = Cmd::rnc(["-s", "127.0.0.2", "127.0.0.1", port.as_str()])
                .stdin(In::Data(tag.clone().into_bytes()))
                .spawn();
            if admitted {
                s.p.expect_stdout(tag.as_bytes(), FAIL);
            }
            // Either way the server closes it, and it ends.
            client.finish(FAIL).no_panic();
        }
    }
    if !admitted {
        wait_for(&format!("{what}: denial logged"), FAIL, || {
            count(
                s.p.stderr().as_bytes(),
                b"New connection denied: not allowed",
            ) > denials
        });
        assert!(
            !s.stdout_contains(tag.as_bytes()),
            "{what}: denied, but its data reached stdout\n{}",
            s.p.context()
        );
    }
}

#[test]
fn allow_and_deny_lists_over_ipv4_and_ipv6() {
    let dir = TempDir::new();
    let allowfile = dir.file(
        "allow",
        b"# trusted hosts\n::1\n\n127.0.0.2/32   # the second loopback address\n",
    );
    let denyfile = dir.file("deny", b"127.0.0.1\n");
    let allowfile = allowfile.to_str().unwrap();
    let denyfile = denyfile.to_str().unwrap();
    // (options, admitted from 127.0.0.1, from ::1, from 127.0.0.2)
    let cases: &[(&[&str], bool, bool, bool)] = &[
        (&["--allow", "127.0.0.1/32"], true, false, false),
        // /31 edges: 127.0.0.0-127.0.0.1.
        (&["--allow", "127.0.0.0/31"], true, false, false),
        (&["--allow", "127.0.0.2/31"], false, false, true),
        (&["--deny", "127.0.0.0/8"], false, true, false),
        (&["--allow", "::1"], false, true, false),
        (
            &["--allow", "::1/128", "--allow", "127.0.0.2"],
            false,
            true,
            true,
        ),
        (&["--deny", "::1"], true, false, true),
        // Deny wins over allow (what ncat 7.93 does).
        (
            &["--allow", "127.0.0.1", "--deny", "127.0.0.1"],
            false,
            false,
            false,
        ),
        (
            &["--allow", "127.0.0.0/8", "--deny", "127.0.0.2"],
            true,
            false,
            false,
        ),
        (&["--allowfile", allowfile], false, true, true),
        (&["--denyfile", denyfile], false, true, true),
    ];
    for (opts, v4, v6, v4two) in cases {
        let case = opts.join(" ");
        let mut args = vec!["-lk"];
        args.extend_from_slice(opts);
        args.push("0");
        let mut s = rnc(&args, In::Open);
        // Refused clients first, so that the admitted ones' data, arriving
        // later, shows that nothing of the refused ones came before it.
        for admitted in [false, true] {
            for (from, ok) in [(Src::V4, v4), (Src::V6, v6), (Src::V4Two, v4two)] {
                if *ok == admitted {
                    probe(&mut s, from, admitted, &case);
                }
            }
        }
        let done = s.p.kill();
        done.no_panic();
        for (from, ok) in [(Src::V4, v4), (Src::V6, v6), (Src::V4Two, v4two)] {
            let tag = format!("from {from:?}\n");
            assert_eq!(
                find(&done.stdout, tag.as_bytes()).is_some(),
                *ok,
                "{case}: {from:?}\n{}",
                done.describe()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Broker and chat

#[test]
fn broker_relays_to_the_other_clients_only() {
    // --broker implies -l (as in ncat).
    let mut s = rnc(&["--broker", "0"], In::Open);
    let mut a = s.connect(V4);
    let mut b = s.connect(V6);
    let mut c = s.connect(V4);
    s.wait_admitted(3);
    send(&mut a, b"from a\n");
    expect_data(&mut b, b"from a\n", "b");
    expect_data(&mut c, b"from a\n", "c");
    send(&mut b, b"from b\n");
    expect_data(&mut a, b"from b\n", "a");
    expect_data(&mut c, b"from b\n", "c");
    expect_silence(&mut b, QUIET, "the sender b");
    // stdin takes part like one more client (ncat 7.93 does the same).
    s.p.write(b"from stdin\n");
    for (n, x) in [("a", &mut a), ("b", &mut b), ("c", &mut c)] {
        expect_data(x, b"from stdin\n", n);
    }
    // A client that has finished is closed at once.
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut a, FAIL, "a"), b"");
    send(&mut c, b"from c\n");
    expect_data(&mut b, b"from c\n", "b");
    // A large message arrives whole, and only at the others.
    let big = pseudo_random(300_000, 7);
    let mut writer = c.try_clone().unwrap();
    let payload = big.clone();
    let w = thread::spawn(move || writer.write_all(&payload).unwrap());
    let mut got = vec![0u8; big.len()];
    b.set_read_timeout(Some(FAIL)).unwrap();
    b.read_exact(&mut got).expect("b reads the large message");
    assert!(got == big, "the large message was changed on the way");
    join(w, &mut s.p);
    expect_silence(&mut c, QUIET, "the sender c");
    // stdin's end changes nothing for a broker.
    s.p.close_stdin();
    send(&mut b, b"still relaying\n");
    expect_data(&mut c, b"still relaying\n", "c");
    let done = s.p.kill();
    done.no_panic();
    assert_eq!(done.stdout_str(), "", "a broker does not write to stdout");
}

/// `<announce> ADDR is connected as <userN>.` → N.
fn user_of(announce: &[u8]) -> i32 {
    let t = String::from_utf8_lossy(announce);
    let start = t.find("<user").expect("a user name") + 5;
    let end = start + t[start..].find('>').expect("end of the user name");
    t[start..end].parse().expect("a user number")
}

/// Read until `n` lines have arrived (and nothing more).
fn read_lines(s: &mut TcpStream, n: usize, what: &str) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(FAIL)).unwrap();
    while count(&got, b"\n") < n {
        match s.read(&mut buf) {
            Ok(0) => panic!("{what}: EOF after {:?}", String::from_utf8_lossy(&got)),
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) => panic!("{what}: {e} after {:?}", String::from_utf8_lossy(&got)),
        }
    }
    got
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `--chat`, byte for byte as ncat 7.93 words it.
#[test]
fn chat_names_announces_and_escapes_like_ncat() {
    let mut s = rnc(&["--chat", "-l", "0"], In::Open);
    let mut a = s.connect(V4);
    let hello_a = read_lines(&mut a, 2, "a");
    let ua = user_of(&hello_a);
    assert_eq!(
        text(&hello_a),
        format!(
            "<announce> 127.0.0.1 is connected as <user{ua}>.\n\
             <announce> already connected: nobody.\n"
        )
    );
    s.p.expect_stderr(
        &format!("Ncat: Connection from 127.0.0.1 on file descriptor {ua}."),
        FAIL,
    );

    let mut b = s.connect(V6);
    let hello_b = read_lines(&mut b, 2, "b");
    let ub = user_of(&hello_b);
    let want = format!(
        "<announce> ::1 is connected as <user{ub}>.\n\
         <announce> already connected: 127.0.0.1 as <user{ua}>.\n"
    );
    assert_eq!(text(&hello_b), want);
    assert_eq!(text(&read_lines(&mut a, 2, "a")), want);

    let mut c = s.connect(V4);
    let hello_c = read_lines(&mut c, 2, "c");
    let uc = user_of(&hello_c);
    let mut others = [(ua, "127.0.0.1"), (ub, "::1")];
    others.sort();
    let want = format!(
        "<announce> 127.0.0.1 is connected as <user{uc}>.\n\
         <announce> already connected: {} as <user{}>, {} as <user{}>.\n",
        others[0].1, others[0].0, others[1].1, others[1].0
    );
    assert_eq!(text(&hello_c), want);
    assert_eq!(text(&read_lines(&mut a, 2, "a")), want);
    assert_eq!(text(&read_lines(&mut b, 2, "b")), want);

    // Messages: prefixed, control characters and non-ASCII bytes in octal.
    send(&mut a, b"hi \x01\x1b[0m\x7f\xc3\xa9\tend\r\n");
    let want = format!("<user{ua}> hi \\001\\033[0m\\177\\303\\251\tend\r\n");
    expect_data(&mut b, want.as_bytes(), "b");
    expect_data(&mut c, want.as_bytes(), "c");
    expect_silence(&mut a, QUIET, "the sender a");

    // A partial line is sent as it comes; its rest is a message of its own.
    send(&mut b, b"par");
    let want = format!("<user{ub}> par");
    expect_data(&mut a, want.as_bytes(), "a");
    expect_data(&mut c, want.as_bytes(), "c");
    send(&mut b, b"tial\n");
    let want = format!("<user{ub}> tial\n");
    expect_data(&mut a, want.as_bytes(), "a");
    expect_data(&mut c, want.as_bytes(), "c");

    // stdin speaks as <user0>.
    s.p.write(b"from stdin\n");
    for (n, x) in [("a", &mut a), ("b", &mut b), ("c", &mut c)] {
        expect_data(x, b"<user0> from stdin\n", n);
    }

    // Leaving.
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut a, FAIL, "a"), b"");
    let want = format!("<announce> <user{ua}> is disconnected.\n");
    expect_data(&mut b, want.as_bytes(), "b");
    expect_data(&mut c, want.as_bytes(), "c");
    drop(c);
    let want = format!("<announce> <user{uc}> is disconnected.\n");
    expect_data(&mut b, want.as_bytes(), "b");
    let done = s.p.kill();
    done.no_panic();
    assert_eq!(done.stdout_str(), "");
}

// ---------------------------------------------------------------------------
// Session logs

/// `-o` and `-x` for a known exchange with two clients, exactly as ncat 7.93
/// writes them: stdin's broadcast is logged once, not once per client.
#[test]
fn output_and_hex_dump_are_byte_exact() {
    let dir = TempDir::new();
    let raw = dir.join("raw");
    let hex = dir.join("hex");
    let mut s = rnc(
        &[
            "-lk",
            "-o",
            raw.to_str().unwrap(),
            "-x",
            hex.to_str().unwrap(),
            "127.0.0.1",
            "0",
        ],
        In::Open,
    );
    let mut a = s.connect(V4);
    let mut b = s.connect(V4);
    s.wait_admitted(2);
    send(&mut a, b"hello\n");
    s.wait_stdout_len(6);
    send(&mut b, b"there\n");
    s.wait_stdout_len(12);
    s.p.write(b"world, 0123456789 ABCDEF\n");
    expect_data(&mut a, b"world, 0123456789 ABCDEF\n", "a");
    expect_data(&mut b, b"world, 0123456789 ABCDEF\n", "b");
    send(&mut a, b"\x00\x01bye\xff\n");
    s.wait_stdout_len(19);
    let want_raw: &[u8] = b"hello\nthere\nworld, 0123456789 ABCDEF\n\x00\x01bye\xff\n";
    let want_hex = "\
0000   68 65 6c 6c 6f 0a                                 hello.          \n\
0000   74 68 65 72 65 0a                                 there.          \n\
0000   77 6f 72 6c 64 2c 20 30  31 32 33 34 35 36 37 38  world,.012345678\n\
0010   39 20 41 42 43 44 45 46  0a                       9.ABCDEF.       \n\
0000   00 01 62 79 65 ff 0a                              ..bye..         \n";
    assert_eq!(s.p.stdout(), b"hello\nthere\n\x00\x01bye\xff\n");
    assert_eq!(
        text(&std::fs::read(&raw).unwrap()),
        text(want_raw),
        "-o file"
    );
    assert_eq!(std::fs::read(&raw).unwrap(), want_raw, "-o file bytes");
    assert_eq!(std::fs::read_to_string(&hex).unwrap(), want_hex, "-x file");
    s.p.kill().no_panic();
}

// ---------------------------------------------------------------------------
// Running out of descriptors

/// Under `ulimit -n 32` more clients arrive than there are descriptors: the
/// listener says so, keeps serving the clients it has, and takes in the
/// waiting ones (and then new ones) once descriptors are free again.
#[test]
fn out_of_descriptors_the_listener_keeps_its_clients_and_recovers() {
    const N: usize = 40;
    let bin = rnc_bin();
    let cmd = Cmd::new(
        "/bin/sh",
        [
            "-c",
            "ulimit -n 32 && exec \"$0\" -v --test -lk 127.0.0.1 0",
            bin.to_str().unwrap(),
        ],
    )
    .env_remove("RNC_COMPAT")
    .stdin(In::Open);
    let mut s = start(cmd);
    let mut cs: Vec<TcpStream> = (0..N).map(|_| s.connect(V4)).collect();
    s.p.expect_stderr("Too many open files", FAIL);
    // Nothing more can be accepted until a client leaves.
    thread::sleep(Duration::from_millis(300));
    let held = s.admitted();
    assert!(
        (10..N).contains(&held),
        "{held} of {N} clients admitted under ulimit -n 32\n{}",
        s.p.context()
    );
    assert!(s.p.is_running(), "{}", s.p.context());
    // The clients it holds (the first ones: the backlog is first in, first
    // out) are still served both ways.
    s.p.write(b"ping\n");
    for (i, c) in cs.iter_mut().take(held).enumerate() {
        expect_data(c, b"ping\n", &format!("held client {i}"));
    }
    send(&mut cs[0], b"still here\n");
    s.p.expect_stdout(b"still here\n", FAIL);
    assert_eq!(
        count(s.p.stderr().as_bytes(), b"Too many open files"),
        1,
        "the shortage is reported once\n{}",
        s.p.context()
    );
    // Everyone leaves; the waiting connections are taken in (and end).
    cs.clear();
    s.wait_admitted(N);
    let mut fresh = s.connect(V4);
    s.wait_admitted(N + 1);
    s.p.write(b"pong\n");
    expect_data(&mut fresh, b"pong\n", "the new client");
    send(&mut fresh, b"served again\n");
    s.p.expect_stdout(b"served again\n", FAIL);
    s.p.kill().no_panic();
}

// ---------------------------------------------------------------------------
// OpenBSD personality

/// OpenBSD's `-lk` serves one client after another; the next one waits in the
/// backlog until the current one is gone (invoked as `nc`).
#[test]
fn openbsd_keep_open_serves_clients_one_after_another() {
    for (name, pre) in [("nc", &[][..]), ("rnc", &["--compat", "openbsd"][..])] {
        let mut args = pre.to_vec();
        args.extend(["-v", "--test", "-lk", "127.0.0.1", "0"]);
        let cmd = if name == "nc" {
            Cmd::rnc_as("nc", args)
        } else {
            Cmd::rnc(args)
        };
        let mut s = start(cmd.stdin(In::Open));
        let mut a = s.connect(V4);
        let mut b = s.connect(V4);
        send(&mut a, b"a1\n");
        send(&mut b, b"b1\n");
        s.p.expect_stdout(b"a1\n", FAIL);
        s.p.write(b"s1\n");
        expect_data(&mut a, b"s1\n", "a");
        expect_silence(&mut b, QUIET, "b, waiting its turn");
        assert_eq!(s.p.stdout(), b"a1\n", "{name}: b served before a left");
        drop(a);
        s.p.expect_stdout(b"a1\nb1\n", FAIL);
        s.p.write(b"s2\n");
        expect_data(&mut b, b"s2\n", "b");
        drop(b);
        let mut c = s.connect(V4);
        send(&mut c, b"c1\n");
        s.p.expect_stdout(b"a1\nb1\nc1\n", FAIL);
        s.p.write(b"s3\n");
        expect_data(&mut c, b"s3\n", "c");
        let done = s.p.kill();
        done.no_panic();
        assert_eq!(done.stdout_str(), "a1\nb1\nc1\n", "{name}");
        assert_eq!(
            count(done.stderr.as_bytes(), b"Connection received on 127.0.0.1"),
            3,
            "{name}\n{}",
            done.describe()
        );
    }
}

// ---------------------------------------------------------------------------
// --on-close

/// Each client that has gone, and each one refused, is reported to the hook,
/// in order, with what it sent.
#[test]
fn on_close_hooks_hear_of_every_client() {
    let dir = TempDir::new();
    let log = dir.join("hook.log");
    let hook = dir.join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\n{{ printf '%s %s %s %s|' \"$RNC_CLOSE_REASON\" \"$RNC_BYTES_IN\" \
             \"$RNC_BYTES_OUT\" \"$NCAT_REMOTE_ADDR\"; cat; echo; }} >> '{}'\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut s = rnc(
        &[
            "-lk",
            "-m",
            "1",
            "--deny",
            "::1",
            "--on-close",
            hook.to_str().unwrap(),
            "0",
        ],
        In::Data(b"resp\n".to_vec()),
    );
    let hook_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let mut want = String::new();
    let expect = |line: &str, want: &mut String| {
        want.push_str(line);
        wait_for(&format!("hook log {want:?}"), FAIL, || hook_log() == *want);
    };

    let mut a = s.connect(V4);
    send(&mut a, b"req a\n");
    assert_eq!(read_to_eof(&mut a, FAIL, "a"), b"resp\n");
    drop(a);
    expect("eof 6 5 127.0.0.1|req a\n\n", &mut want);

    let mut b = s.connect(V4);
    s.wait_admitted(2);
    let mut c = s.connect(V4);
    expect_closed(&mut c, "c, over -m 1");
    expect("limit 0 0 127.0.0.1|\n", &mut want);
    let mut d = s.connect(V6);
    expect_closed(&mut d, "d, denied");
    expect("denied 0 0 ::1|\n", &mut want);

    send(&mut b, b"req b\n");
    b.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_eof(&mut b, FAIL, "b"), b"resp\n");
    expect("eof 6 5 127.0.0.1|req b\n\n", &mut want);
    let done = s.p.kill();
    done.no_panic();
    assert_eq!(done.stdout_str(), "req a\nreq b\n");
}
