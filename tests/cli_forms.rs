//! Command-line behaviour seen from outside: the §1.3 listen forms in every
//! personality, personality selection (argv[0] < RNC_COMPAT < --compat), every
//! conflicting letter of reference §1.4 under each personality, ncat's messages,
//! and bad options, values, ports and hosts (one line, exit 2, never a panic).

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Serve one client on 127.0.0.1:`port`: the client gets rnc's stdin and EOF,
/// answers, closes; rnc prints the answer and exits 0.
fn serve_one_client(rnc: &mut Proc, to: IpAddr, port: u16) {
    let mut far = connect_retry(SocketAddr::new(to, port), rnc, FAIL);
    let got = read_to_eof(&mut far, FAIL, "client waiting for rnc's stdin and EOF");
    assert_eq!(got, b"hello from rnc\n", "{}", rnc.context());
    far.write_all(b"hi\n").unwrap();
    let closed = Instant::now();
    drop(far);
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"hi\n")
        .ended_within(closed, PROMPT, "the client closed");
}

fn greeting() -> In {
    In::Data(b"hello from rnc\n".to_vec())
}

// --- §1.3 listen forms ----------------------------------------------------------------

#[derive(Clone, Copy)]
enum Form {
    LPort,
    LDashP,
    LpJoined,
    LHostPort,
    LDashPHost,
    LDashSDashP,
}

fn form_args(f: Form, port: &str) -> Vec<String> {
    let v: Vec<&str> = match f {
        Form::LPort => vec!["-l", port],
        Form::LDashP => vec!["-l", "-p", port],
        Form::LpJoined => vec!["-lp", port],
        Form::LHostPort => vec!["-l", "127.0.0.1", port],
        Form::LDashPHost => vec!["-l", "-p", port, "127.0.0.1"],
        Form::LDashSDashP => vec!["-l", "-s", "127.0.0.1", "-p", port],
    };
    v.into_iter().map(String::from).collect()
}

fn listen_form(p: Pers, f: Form) {
    let port = free_port();
    let args = form_args(f, &port.to_string());
    let mut rnc = p.cmd(&args).stdin(greeting()).spawn();
    match f {
        Form::LPort | Form::LDashP | Form::LpJoined => {
            // No address: both IPv4 and IPv6 are served.
            wait_tcp_listen(&mut rnc, V6, port, FAIL);
            let all = wait_tcp_listen(&mut rnc, V4, port, FAIL);
            assert!(
                all.iter().all(|a| a.ip().is_unspecified()),
                "`{}` must listen on the wildcard addresses only, listens on {all:?}",
                args.join(" ")
            );
            serve_one_client(
                &mut rnc,
                if matches!(f, Form::LDashP) { V6 } else { V4 },
                port,
            );
        }
        Form::LHostPort | Form::LDashPHost | Form::LDashSDashP => {
            let all = wait_tcp_listen(&mut rnc, V4, port, FAIL);
            assert!(
                all.iter().all(|a| *a == SocketAddr::new(V4, port)),
                "`{}` must listen on 127.0.0.1:{port} only, listens on {all:?}",
                args.join(" ")
            );
            serve_one_client(&mut rnc, V4, port);
        }
    }
}

macro_rules! tests {
    ($($name:ident => $body:expr;)*) => {
        $( #[test] fn $name() { $body; } )*
    };
}

tests! {
    form_l_port_ncat => listen_form(Pers::Ncat, Form::LPort);
    form_l_port_openbsd => listen_form(Pers::OpenBsd, Form::LPort);
    form_l_port_traditional => listen_form(Pers::Traditional, Form::LPort);
    form_l_dash_p_ncat => listen_form(Pers::Ncat, Form::LDashP);
    form_l_dash_p_openbsd => listen_form(Pers::OpenBsd, Form::LDashP);
    form_l_dash_p_traditional => listen_form(Pers::Traditional, Form::LDashP);
    form_lp_joined_ncat => listen_form(Pers::Ncat, Form::LpJoined);
    form_lp_joined_openbsd => listen_form(Pers::OpenBsd, Form::LpJoined);
    form_lp_joined_traditional => listen_form(Pers::Traditional, Form::LpJoined);
    form_l_host_port_ncat => listen_form(Pers::Ncat, Form::LHostPort);
    form_l_host_port_openbsd => listen_form(Pers::OpenBsd, Form::LHostPort);
    form_l_host_port_traditional => listen_form(Pers::Traditional, Form::LHostPort);
    form_l_dash_p_port_host_ncat => listen_form(Pers::Ncat, Form::LDashPHost);
    form_l_dash_p_port_host_openbsd => listen_form(Pers::OpenBsd, Form::LDashPHost);
    form_l_dash_p_port_host_traditional => listen_form(Pers::Traditional, Form::LDashPHost);
    form_l_dash_s_dash_p_ncat => listen_form(Pers::Ncat, Form::LDashSDashP);
    form_l_dash_s_dash_p_openbsd => listen_form(Pers::OpenBsd, Form::LDashSDashP);
    form_l_dash_s_dash_p_traditional => listen_form(Pers::Traditional, Form::LDashSDashP);
}

/// `-4 -l -p P` / `-6 -l -p P` restrict the family.
#[test]
fn listen_family_restriction() {
    for (flag, want_v4) in [("-4", true), ("-6", false)] {
        let port = free_port();
        let mut rnc = Cmd::rnc([flag, "-l", "-p", &port.to_string()])
            .stdin(greeting())
            .spawn();
        let to = if want_v4 { V4 } else { V6 };
        let all = wait_tcp_listen(&mut rnc, to, port, FAIL);
        assert!(
            all.iter().all(|a| a.is_ipv4() == want_v4),
            "`{flag} -l` listens on {all:?}"
        );
        serve_one_client(&mut rnc, to, port);
    }
}

/// ncat: no port means 31337.
#[test]
fn ncat_listen_without_port_uses_31337() {
    assert!(
        TcpListener::bind("0.0.0.0:31337").is_ok(),
        "port 31337 is busy on this machine; this test checks ncat's default listen port and needs it"
    );
    let mut rnc = Cmd::rnc(["-l"]).stdin(greeting()).spawn();
    wait_tcp_listen(&mut rnc, V4, 31337, FAIL);
    serve_one_client(&mut rnc, V4, 31337);
}

/// openbsd: no port is a usage error.
#[test]
fn openbsd_listen_without_port_is_an_error() {
    let d = run(Pers::OpenBsd.cmd(["-l"]), FAIL);
    d.usage_error();
    assert!(d.stderr.contains("missing port number"), "{}", d.describe());
}

/// traditional: no port means the OS picks one.
#[test]
fn traditional_listen_without_port_lets_the_os_pick() {
    let mut rnc = Pers::Traditional.cmd(["-l"]).stdin(greeting()).spawn();
    let mut port = 0;
    wait_for("nc.traditional -l to listen somewhere", FAIL, || {
        port = tcp_listeners_of(rnc.pid)
            .first()
            .map(|a| a.port())
            .unwrap_or(0);
        port != 0
    });
    serve_one_client(&mut rnc, V4, port);
}

/// `-l -p 0`: the OS picks the port.
#[test]
fn listen_port_zero_lets_the_os_pick() {
    let mut rnc = Cmd::rnc(["-l", "-p", "0", "127.0.0.1"])
        .stdin(greeting())
        .spawn();
    let mut port = 0;
    wait_for("rnc -l -p 0 to listen", FAIL, || {
        port = tcp_listeners_of(rnc.pid)
            .first()
            .map(|a| a.port())
            .unwrap_or(0);
        port != 0
    });
    serve_one_client(&mut rnc, V4, port);
}

// --- personality selection ---------------------------------------------------------------

/// Which personality does `make(extra args)` run with? Two probes whose letters
/// mean different things in each family:
///  - `-d 127.0.0.1 P`: openbsd connects without reading stdin; ncat and
///    traditional take `127.0.0.1` as the -d delay and fail.
///  - `-i 5 127.0.0.1 P` with stdin `a\nb\n`: ncat (idle timeout) sends both lines
///    at once; traditional (line interval) waits 5 s after the first.
fn personality_of(make: &dyn Fn(&[&str]) -> Cmd) -> Pers {
    let l = TcpListener::bind((V4, 0)).unwrap();
    l.set_nonblocking(true).unwrap();
    let lp = l.local_addr().unwrap().port().to_string();
    let mut d = make(&["-d", "127.0.0.1", &lp]).stdin(In::DevNull).spawn();
    let end = Instant::now() + FAIL;
    loop {
        if l.accept().is_ok() {
            d.kill();
            return Pers::OpenBsd;
        }
        if d.poll_exit().is_some() {
            d.finish(FAIL).usage_error();
            break;
        }
        assert!(
            Instant::now() < end,
            "probe `-d 127.0.0.1 P` neither connected nor exited\n{}",
            d.context()
        );
        std::thread::sleep(POLL);
    }
    let mut i = make(&["-i", "5", "127.0.0.1", &lp])
        .stdin(In::File(b"a\nb\n".to_vec()))
        .spawn();
    let mut far = accept_tcp_from(&l, Some(&mut i), FAIL);
    let first = read_until(&mut far, b"a\n", FAIL, "probe `-i 5`: first line");
    if find(&first, b"b\n").is_some() {
        i.kill();
        return Pers::Ncat;
    }
    far.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 16];
    let got = std::io::Read::read(&mut far, &mut buf);
    i.kill();
    match got {
        Ok(n) if n > 0 => Pers::Ncat,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Pers::Traditional
        }
        other => panic!("probe `-i 5`: unexpected {other:?} after the first line"),
    }
}

fn argv0_selects(name: &str, want: Pers) {
    let name = name.to_string();
    let got = personality_of(&|a: &[&str]| Cmd::rnc_as(&name, a));
    assert_eq!(got, want, "rnc invoked as `{name}`");
}

tests! {
    argv0_rnc_is_ncat => argv0_selects("rnc", Pers::Ncat);
    argv0_ncat_is_ncat => argv0_selects("ncat", Pers::Ncat);
    argv0_nc_is_openbsd => argv0_selects("nc", Pers::OpenBsd);
    argv0_netcat_is_openbsd => argv0_selects("netcat", Pers::OpenBsd);
    argv0_nc_openbsd_is_openbsd => argv0_selects("nc.openbsd", Pers::OpenBsd);
    argv0_nc_traditional_is_traditional => argv0_selects("nc.traditional", Pers::Traditional);
}

#[test]
fn rnc_compat_env_overrides_argv0() {
    let got = personality_of(&|a: &[&str]| Cmd::rnc_as("nc", a).env("RNC_COMPAT", "traditional"));
    assert_eq!(got, Pers::Traditional, "`nc` with RNC_COMPAT=traditional");
    let got = personality_of(&|a: &[&str]| Cmd::rnc(a).env("RNC_COMPAT", "openbsd"));
    assert_eq!(got, Pers::OpenBsd, "`rnc` with RNC_COMPAT=openbsd");
}

#[test]
fn compat_flag_overrides_env_and_argv0() {
    let got = personality_of(&|a: &[&str]| {
        Cmd::rnc_as("nc", ["--compat", "ncat"])
            .args(a)
            .env("RNC_COMPAT", "traditional")
    });
    assert_eq!(
        got,
        Pers::Ncat,
        "`nc --compat ncat` with RNC_COMPAT=traditional"
    );
    let got = personality_of(&|a: &[&str]| Cmd::rnc(["--compat=openbsd"]).args(a));
    assert_eq!(got, Pers::OpenBsd, "`rnc --compat=openbsd`");
    let got = personality_of(&|a: &[&str]| Cmd::rnc(["--compat", "traditional"]).args(a));
    assert_eq!(got, Pers::Traditional, "`rnc --compat traditional`");
}

#[test]
fn compat_flag_rejects_unknown_names() {
    run(Cmd::rnc(["--compat", "gnu", "127.0.0.1", "1"]), FAIL).usage_error();
    run(Cmd::rnc(["--compat=", "127.0.0.1", "1"]), FAIL).usage_error();
}

// --- conflicting letters (reference §1.4) -------------------------------------------------

/// A server on 127.0.0.1 that rnc connects to.
struct Server {
    l: TcpListener,
    port: String,
}

fn server() -> Server {
    let l = TcpListener::bind((V4, 0)).unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    Server { l, port }
}

/// -d: ncat = delay after each stdin chunk; openbsd = do not read stdin.
#[test]
fn d_ncat_is_a_delay_per_stdin_chunk() {
    let s = server();
    let mut rnc = Cmd::rnc(["-d", "600ms", "127.0.0.1", &s.port])
        .stdin(In::File(b"one chunk\n".to_vec()))
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    let t = Instant::now();
    let got = read_to_eof(&mut far, FAIL, "server waiting for stdin and EOF");
    assert_eq!(got, b"one chunk\n");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(500),
        "-d 600ms: EOF came {took:.2?} after connect (no delay)"
    );
    drop(far);
    rnc.finish(FAIL).ok();
}

#[test]
fn d_ncat_needs_a_time() {
    run(Cmd::rnc(["-d", "127.0.0.1", "80"]), FAIL).usage_error();
}

#[test]
fn d_openbsd_means_no_stdin() {
    let s = server();
    let mut rnc = Pers::OpenBsd
        .cmd(["-d", "127.0.0.1", &s.port])
        .stdin(In::Open)
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    rnc.write(b"must not be sent\n");
    expect_silence(&mut far, QUIET, "nc -d: no stdin data and no half-close");
    far.write_all(b"x\n").unwrap();
    far.shut_wr();
    let t = Instant::now();
    rnc.finish(FAIL)
        .ok()
        .stdout_is(b"x\n")
        .ended_within(t, PROMPT, "socket EOF");
}

/// -i: ncat = idle timeout; openbsd and traditional = interval between lines.
#[test]
fn i_ncat_is_an_idle_timeout_in_connect_mode() {
    let s = server();
    let mut rnc = Cmd::rnc(["-i", "500ms", "127.0.0.1", &s.port])
        .stdin(In::Open)
        .spawn();
    let _far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    let d = rnc.finish(FAIL);
    d.code_is(1);
    assert!(
        d.stderr.contains("Ncat: Idle timeout expired (500 ms)."),
        "{}",
        d.describe()
    );
    assert!(
        d.elapsed >= Duration::from_millis(500) && d.elapsed <= Duration::from_millis(500) + PROMPT,
        "idle timeout fired after {:.2?}",
        d.elapsed
    );
}

#[test]
fn i_ncat_is_an_idle_timeout_in_listen_mode() {
    let port = free_port();
    let mut rnc = Cmd::rnc(["-i", "500ms", "-l", "-p", &port.to_string()])
        .stdin(In::Open)
        .spawn();
    let _far = connect_retry(SocketAddr::new(V4, port), &mut rnc, FAIL);
    let d = rnc.finish(FAIL);
    d.code_is(2);
    assert!(
        d.stderr
            .contains("Ncat: Idle timeout expired (500 ms). QUITTING."),
        "{}",
        d.describe()
    );
}

fn line_interval(p: Pers) {
    let s = server();
    let mut rnc = p
        .cmd(["-i", "0.3", "127.0.0.1", &s.port])
        .stdin(In::File(b"a\nb\nc\n".to_vec()))
        .spawn();
    let far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    far.set_read_timeout(Some(FAIL)).unwrap();
    let mut r = BufReader::new(far);
    let mut times = Vec::new();
    for want in ["a\n", "b\n", "c\n"] {
        let mut line = String::new();
        r.read_line(&mut line)
            .unwrap_or_else(|e| panic!("reading {want:?}: {e}\n{}", rnc.context()));
        assert_eq!(line, want, "{}", rnc.context());
        times.push(Instant::now());
    }
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= Duration::from_millis(200),
            "{:?} -i 0.3: lines {gap:.2?} apart",
            p
        );
    }
    drop(r);
    rnc.finish(FAIL).ok();
}

#[test]
fn i_openbsd_is_a_line_interval() {
    line_interval(Pers::OpenBsd);
}

#[test]
fn i_traditional_is_a_line_interval() {
    line_interval(Pers::Traditional);
}

/// -k: connect mode keeps running after socket EOF (ncat, openbsd); listen-mode
/// keep-open is not supported yet; traditional -k is SO_KEEPALIVE.
fn keep_open_connect(p: Pers) {
    let s = server();
    let mut rnc = p.cmd(["-k", "127.0.0.1", &s.port]).stdin(In::Open).spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    far.write_all(b"srv\n").unwrap();
    far.shut_wr();
    rnc.expect_stdout(b"srv\n", FAIL);
    rnc.expect_running_for(QUIET, "-k keeps running after socket EOF");
    rnc.write(b"late\n");
    read_until(
        &mut far,
        b"late\n",
        FAIL,
        "server waiting for stdin after its FIN",
    );
    rnc.close_stdin();
    let t = Instant::now();
    read_to_eof(&mut far, FAIL, "server waiting for EOF");
    rnc.finish(FAIL).ok().ended_within(t, PROMPT, "stdin EOF");
}

#[test]
fn k_ncat_connect_keeps_open() {
    keep_open_connect(Pers::Ncat);
}

#[test]
fn k_openbsd_connect_keeps_open() {
    keep_open_connect(Pers::OpenBsd);
}

/// Listen-mode -k (ncat: concurrent clients; openbsd: one after another): a
/// second client is served after the first, and rnc keeps listening.
#[test]
fn k_listen_keeps_serving_clients() {
    for p in [Pers::Ncat, Pers::OpenBsd] {
        let port = free_port();
        let mut rnc = p
            .cmd(["-k", "-l", "-p", &port.to_string()])
            .stdin(In::DevNull)
            .spawn();
        for msg in [&b"one\n"[..], b"two\n"] {
            let mut far = connect_retry(SocketAddr::new(V4, port), &mut rnc, FAIL);
            far.write_all(msg).unwrap();
            drop(far);
            rnc.expect_stdout(msg, FAIL);
        }
        rnc.expect_running_for(QUIET, "-k -l keeps listening");
        rnc.kill().no_panic();
    }
}

#[test]
fn k_udp_listen_takes_datagrams_from_every_peer() {
    for p in [Pers::Ncat, Pers::OpenBsd] {
        let port = free_udp_port();
        let mut rnc = p
            .cmd(["-k", "-u", "-l", "-p", &port.to_string(), "--test"])
            .stdin(In::Open)
            .spawn();
        rnc.expect_stderr("NCAT TEST: LISTEN", FAIL);
        for i in 0..2 {
            let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            u.send_to(format!("peer {i}\n").as_bytes(), ("127.0.0.1", port))
                .unwrap();
            rnc.expect_stdout(format!("peer {i}\n").as_bytes(), FAIL);
        }
        rnc.kill();
    }
}

fn free_udp_port() -> u16 {
    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    u.local_addr().unwrap().port()
}

#[test]
fn k_traditional_is_so_keepalive() {
    let s = server();
    let mut rnc = Pers::Traditional
        .cmd(["-k", "127.0.0.1", &s.port])
        .stdin(In::Open)
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    // /proc/net/tcp shows timer 2 (keepalive) on an idle socket with SO_KEEPALIVE.
    let pid = rnc.pid;
    wait_for("SO_KEEPALIVE on nc.traditional -k's socket", FAIL, || {
        sockets_of(pid, &["tcp"])
            .iter()
            .any(|r| r.state == TCP_ESTABLISHED && r.timer == 2)
    });
    far.write_all(b"bye\n").unwrap();
    far.shut_wr();
    let t = Instant::now();
    rnc.finish(FAIL).ok().stdout_is(b"bye\n").ended_within(
        t,
        PROMPT,
        "socket EOF (-k is not keep-open here)",
    );
}

#[test]
fn k_ncat_connect_has_no_keepalive() {
    // The control for the test above: without traditional -k, no keepalive timer.
    let s = server();
    let mut rnc = Cmd::rnc(["127.0.0.1", &s.port]).stdin(In::Open).spawn();
    let _far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    let pid = rnc.pid;
    wait_for("rnc's established socket", FAIL, || {
        sockets_of(pid, &["tcp"])
            .iter()
            .any(|r| r.state == TCP_ESTABLISHED)
    });
    let rows = sockets_of(pid, &["tcp"]);
    assert!(
        rows.iter().all(|r| r.timer != 2),
        "unexpected keepalive timer: {rows:?}"
    );
    rnc.kill();
}

#[test]
fn k_traditional_listen_works() {
    let port = free_port();
    let mut rnc = Pers::Traditional
        .cmd(["-k", "-l", "-p", &port.to_string()])
        .stdin(greeting())
        .spawn();
    serve_one_client(&mut rnc, V4, port);
}

/// Options of later issues: rejected in every personality with one line,
/// exit 2 ("not supported yet").
fn rejected_everywhere(opt: &[&str]) {
    let port = free_port().to_string();
    for p in PERSONALITIES {
        let d = run(p.cmd(opt).args(["127.0.0.1", &port]), FAIL);
        d.usage_error();
        assert!(
            d.stderr.contains("not supported yet"),
            "{:?} {}: expected `not supported yet`\n{}",
            p,
            opt.join(" "),
            d.describe()
        );
    }
}

tests! {
    r_is_not_supported_yet => rejected_everywhere(&["-r"]);
}

/// The proxy options need --proxy (OpenBSD: -x); tests/proxy.rs covers the
/// proxy client itself.
#[test]
fn proxy_companions_without_a_proxy_are_usage_errors() {
    let port = free_port().to_string();
    for opt in [
        &["-X", "connect"][..],
        &["--proxy-type", "http"],
        &["--proxy-auth", "user:pass"],
        &["--proxy-dns", "local"],
    ] {
        for p in PERSONALITIES {
            let d = run(p.cmd(opt).args(["127.0.0.1", &port]), FAIL);
            d.usage_error();
            assert!(d.stderr.contains("only valid with -"), "{}", d.describe());
        }
    }
    let d = run(Pers::OpenBsd.cmd(["-P", "user", "127.0.0.1", &port]), FAIL);
    d.usage_error();
    assert!(d.stderr.contains("only valid with -x"), "{}", d.describe());
}

#[test]
fn later_issue_long_options_are_not_supported_yet() {
    for opt in [&["--sctp"][..], &["--vsock"]] {
        rejected_everywhere(opt);
    }
}

/// Refused for good (not "later"): one line, exit 2, everywhere.
#[test]
fn source_routing_and_lua_are_refused() {
    let port = free_port().to_string();
    for opt in [
        &["-g", "127.0.0.1"][..],
        &["-G", "4"],
        &["--lua-exec", "x.lua"],
    ] {
        for p in PERSONALITIES {
            run(p.cmd(opt).args(["127.0.0.1", &port]), FAIL).usage_error();
        }
    }
}

/// A session against a server: stdin `hi\n`, the server answers `yo\n`.
fn session_hi_yo(cmd: Cmd) -> Done {
    let s = server();
    let mut rnc = cmd
        .args(["127.0.0.1", &s.port])
        .stdin(In::Data(b"hi\n".to_vec()))
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    assert_eq!(
        read_to_eof(&mut far, FAIL, "server waiting for stdin and EOF"),
        b"hi\n"
    );
    far.write_all(b"yo\n").unwrap();
    drop(far);
    let d = rnc.finish(FAIL);
    d.ok().stdout_is(b"yo\n");
    d
}

/// -x: ncat and traditional = hex dump to FILE; openbsd = the proxy address.
#[test]
fn x_is_a_hex_dump_except_openbsd_proxy() {
    for p in [Pers::Ncat, Pers::Traditional] {
        let dir = TempDir::new();
        let f = dir.join("dump");
        session_hi_yo(p.cmd(["-x".as_ref(), f.as_os_str()]));
        let dump =
            std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{p:?} -x: no dump file ({e})"));
        assert!(
            dump.to_lowercase().contains("68 69 0a"),
            "{p:?} -x: no hex of `hi\\n` in {dump:?}"
        );
        assert!(
            !dump.contains("hi\nyo\n"),
            "{p:?} -x: raw data in a hex dump: {dump:?}"
        );
    }
    // Nothing listens at the proxy address: a connect failure, not a dump.
    let proxy = format!("127.0.0.1:{}", free_port());
    let d = run(
        Pers::OpenBsd.cmd(["-v", "-x", proxy.as_str(), "127.0.0.1", "80"]),
        FAIL,
    );
    assert_eq!(d.code, Some(1), "{}", d.describe());
    assert!(d.stderr.contains("Connection refused"), "{}", d.describe());
}

/// -o: ncat and openbsd = raw log; traditional = hex dump.
#[test]
fn o_is_a_raw_log_except_traditional_hex() {
    for p in PERSONALITIES {
        let dir = TempDir::new();
        let f = dir.join("log");
        session_hi_yo(p.cmd(["-o".as_ref(), f.as_os_str()]));
        let log = std::fs::read(&f).unwrap_or_else(|e| panic!("{p:?} -o: no log file ({e})"));
        let text = String::from_utf8_lossy(&log).to_lowercase();
        if p == Pers::Traditional {
            assert!(
                text.contains("68 69 0a"),
                "traditional -o: expected a hex dump, got {text:?}"
            );
        } else {
            assert!(
                log == b"hi\nyo\n" || log == b"yo\nhi\n",
                "{p:?} -o: expected the raw session, got {text:?}"
            );
        }
    }
}

/// -m: ncat and traditional = max-conns (accepted); openbsd = minimum TTL (not supported yet).
#[test]
fn m_is_max_conns_except_openbsd_min_ttl() {
    for p in [Pers::Ncat, Pers::Traditional] {
        session_hi_yo(p.cmd(["-m", "5"]));
    }
    let d = run(Pers::OpenBsd.cmd(["-m", "5", "127.0.0.1", "80"]), FAIL);
    d.usage_error();
    assert!(d.stderr.contains("not supported yet"), "{}", d.describe());
}

/// -c / -e: run a command joined to the socket, in every personality.
#[test]
fn c_and_e_run_a_program_everywhere() {
    for p in PERSONALITIES {
        for opt in [
            ["-c", "printf exec-out"],
            ["-e", "/usr/bin/printf exec-out"],
        ] {
            let s = server();
            let mut rnc = p
                .cmd(opt)
                .args(["127.0.0.1", &s.port])
                .stdin(In::DevNull)
                .spawn();
            let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
            let got = read_to_eof(&mut far, FAIL, "server waiting for the program's output");
            assert_eq!(got, b"exec-out", "{p:?} {}", opt.join(" "));
            drop(far);
            rnc.finish(FAIL).ok();
        }
    }
}

/// -C: LF from stdin goes out as CRLF (an existing CRLF is left alone), everywhere.
#[test]
fn upper_c_sends_crlf_everywhere() {
    for p in PERSONALITIES {
        let s = server();
        let mut rnc = p
            .cmd(["-C", "127.0.0.1", &s.port])
            .stdin(In::Data(b"a\nb\r\n".to_vec()))
            .spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        assert_eq!(
            read_to_eof(&mut far, FAIL, "server"),
            b"a\r\nb\r\n",
            "{p:?} -C"
        );
        drop(far);
        rnc.finish(FAIL).ok();
    }
}

/// -t: refuse the peer's telnet negotiation (DO -> WONT, WILL -> DONT), everywhere.
#[test]
fn t_answers_telnet_negotiation_everywhere() {
    for p in PERSONALITIES {
        let s = server();
        let mut rnc = p.cmd(["-t", "127.0.0.1", &s.port]).stdin(In::Open).spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        far.write_all(&[255, 253, 1, 255, 251, 3]).unwrap(); // IAC DO ECHO, IAC WILL SGA
        let got = read_until(
            &mut far,
            &[255, 254, 3],
            FAIL,
            "server waiting for WONT/DONT",
        );
        assert!(
            find(&got, &[255, 252, 1]).is_some(),
            "{p:?} -t: no IAC WONT ECHO in {got:?}"
        );
        drop(far);
        rnc.finish(FAIL).no_panic();
    }
}

/// -z: zero-I/O connect check, everywhere: 0 when open, 1 when closed.
#[test]
fn z_checks_a_port_everywhere() {
    for p in PERSONALITIES {
        let s = server();
        run(p.cmd(["-z", "127.0.0.1", &s.port]), FAIL).ok();
        run(p.cmd(["-z", "127.0.0.1", &free_port().to_string()]), FAIL).code_is(1);
    }
}

/// -N: accepted and a no-op in every personality (half-close is the default).
#[test]
fn upper_n_is_accepted_everywhere() {
    for p in PERSONALITIES {
        let s = server();
        let mut rnc = p
            .cmd(["-N", "127.0.0.1", &s.port])
            .stdin(In::Data(b"n\n".to_vec()))
            .spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        assert_eq!(
            read_to_eof(&mut far, FAIL, "server waiting for stdin and EOF"),
            b"n\n"
        );
        far.write_all(b"ok\n").unwrap();
        drop(far);
        rnc.finish(FAIL).ok().stdout_is(b"ok\n");
    }
}

/// -n: literal addresses work, names are an error, in every personality.
#[test]
fn n_refuses_names_everywhere() {
    for p in PERSONALITIES {
        let s = server();
        let mut rnc = p
            .cmd(["-n", "127.0.0.1", &s.port])
            .stdin(In::Data(b"n\n".to_vec()))
            .spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        read_to_eof(&mut far, FAIL, "server");
        drop(far);
        rnc.finish(FAIL).ok();

        let d = run(p.cmd(["-n", "localhost", &s.port]), FAIL);
        d.code_is(2);
        assert_eq!(
            d.stderr.lines().count(),
            1,
            "{:?} -n localhost: one line expected\n{}",
            p,
            d.describe()
        );
        assert!(
            s.l.set_nonblocking(true).is_ok() && s.l.accept().is_err(),
            "-n localhost must not connect"
        );
    }
}

/// -p and -s in connect mode: source port and source address, in every personality.
#[test]
fn p_and_s_set_the_source_in_connect_mode() {
    for p in PERSONALITIES {
        let s = server();
        let src_port = free_port();
        let mut rnc = p
            .cmd([
                "-s",
                "127.0.0.2",
                "-p",
                &src_port.to_string(),
                "127.0.0.1",
                &s.port,
            ])
            .stdin(In::Data(b"s\n".to_vec()))
            .spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        let peer = far.peer_addr().unwrap();
        assert_eq!(
            peer,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), src_port),
            "{p:?}: -s/-p not applied"
        );
        read_to_eof(&mut far, FAIL, "server");
        drop(far);
        rnc.finish(FAIL).ok();
    }
}

/// -q works the same in every personality.
#[test]
fn q_quits_after_stdin_eof_everywhere() {
    for p in PERSONALITIES {
        let s = server();
        let mut rnc = p
            .cmd(["-q", "1", "127.0.0.1", &s.port])
            .stdin(In::Data(b"q\n".to_vec()))
            .spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        read_to_eof(&mut far, FAIL, "server waiting for stdin and EOF");
        let d = rnc.finish(FAIL);
        d.ok();
        assert!(
            d.elapsed >= Duration::from_secs(1) && d.elapsed <= Duration::from_secs(1) + PROMPT,
            "{p:?} -q 1: exit after {:.2?}",
            d.elapsed
        );
    }
}

const TOS_PEER: &str = r#"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
print(s.getsockname()[1], flush=True)
s.settimeout(20)
data, anc, flags, addr = s.recvmsg(1024, 64)
tos = [x[0] for (lvl, typ, x) in anc if lvl == socket.IPPROTO_IP and typ == socket.IP_TOS]
print(data.decode().strip(), tos[0] if tos else -1, flush=True)
"#;

/// -T sets IP_TOS (checked on the receiving side with IP_RECVTOS), everywhere.
#[test]
fn upper_t_sets_the_tos_byte() {
    for p in PERSONALITIES {
        let mut peer = Command::new(require_tool("python3"))
            .args(["-c", TOS_PEER])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut out = BufReader::new(peer.stdout.take().unwrap());
        let mut port = String::new();
        out.read_line(&mut port).unwrap();
        let mut rnc = p
            .cmd(["-u", "-T", "16", "127.0.0.1", port.trim()])
            .stdin(In::Data(b"tos\n".to_vec()))
            .spawn();
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        let _ = peer.kill();
        let _ = peer.wait();
        let d = rnc.kill();
        d.no_panic();
        assert_eq!(
            line.trim(),
            "tos 16",
            "{p:?}: -T 16 not applied (peer saw `data tos`)\n{}",
            d.describe()
        );
    }
}

/// -b (SO_BROADCAST) and -I/-O (buffer sizes) are accepted and harmless.
#[test]
fn b_and_buffer_sizes_are_accepted() {
    for p in PERSONALITIES {
        let srv = std::net::UdpSocket::bind((V4, 0)).unwrap();
        let port = srv.local_addr().unwrap().port().to_string();
        let mut rnc = p
            .cmd(["-u", "-b", "127.0.0.1", &port])
            .stdin(In::Data(b"b\n".to_vec()))
            .spawn();
        srv.set_read_timeout(Some(FAIL)).unwrap();
        let mut buf = [0u8; 64];
        let n = srv
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{p:?} -b: nothing received ({e})\n{}", rnc.context()));
        assert_eq!(&buf[..n], b"b\n");
        rnc.kill().no_panic();

        let s = server();
        let mut rnc = p
            .cmd(["-I", "64K", "-O", "1M", "127.0.0.1", &s.port])
            .stdin(In::Data(b"io\n".to_vec()))
            .spawn();
        let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
        assert_eq!(read_to_eof(&mut far, FAIL, "server"), b"io\n");
        drop(far);
        rnc.finish(FAIL).ok();
    }
}

/// -w: ncat = connect timeout; openbsd = connect and idle timeout; traditional =
/// idle timeout armed after stdin EOF.
const BLACKHOLE: &str = r#"
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
port = s.getsockname()[1]
fill = []
for i in range(4):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    fill.append(c)
print(port, flush=True)
sys.stdin.read()
"#;

/// A port whose accept queue is full: SYNs are dropped and connects hang.
fn blackhole() -> (std::process::Child, String) {
    let mut peer = Command::new(require_tool("python3"))
        .args(["-c", BLACKHOLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut port = String::new();
    BufReader::new(peer.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    (peer, port.trim().to_string())
}

#[test]
fn w_ncat_is_a_connect_timeout() {
    let (mut bh, port) = blackhole();
    let d = run(Cmd::rnc(["-w", "1", "127.0.0.1", &port]), FAIL);
    let _ = bh.kill();
    let _ = bh.wait();
    d.code_is(1);
    assert!(d.stderr.contains("Ncat: TIMEOUT."), "{}", d.describe());
    assert!(
        d.elapsed >= Duration::from_secs(1) && d.elapsed <= Duration::from_secs(1) + PROMPT,
        "-w 1 connect timeout after {:.2?}",
        d.elapsed
    );
}

#[test]
fn w_openbsd_is_a_connect_timeout_too() {
    let (mut bh, port) = blackhole();
    let d = run(Pers::OpenBsd.cmd(["-w", "1", "127.0.0.1", &port]), FAIL);
    let _ = bh.kill();
    let _ = bh.wait();
    d.code_is(1);
    assert!(
        d.elapsed <= Duration::from_secs(1) + PROMPT,
        "nc -w 1 connect timeout after {:.2?}",
        d.elapsed
    );
}

#[test]
fn w_ncat_is_not_an_idle_timeout() {
    let s = server();
    let mut rnc = Cmd::rnc(["-w", "1", "127.0.0.1", &s.port])
        .stdin(In::Open)
        .spawn();
    let _far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    rnc.expect_running_for(
        Duration::from_millis(1800),
        "ncat -w is a connect timeout only",
    );
    rnc.kill();
}

#[test]
fn w_openbsd_is_an_idle_timeout() {
    let s = server();
    let mut rnc = Pers::OpenBsd
        .cmd(["-w", "1", "127.0.0.1", &s.port])
        .stdin(In::Open)
        .spawn();
    let _far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    let d = rnc.finish(FAIL);
    d.no_panic();
    assert!(
        d.elapsed >= Duration::from_secs(1) && d.elapsed <= Duration::from_secs(1) + PROMPT,
        "nc -w 1 (idle) ended after {:.2?}\n{}",
        d.elapsed,
        d.describe()
    );
}

#[test]
fn w_traditional_is_an_idle_timeout_after_stdin_eof() {
    // stdin open: -w does nothing.
    let s = server();
    let mut rnc = Pers::Traditional
        .cmd(["-w", "1", "127.0.0.1", &s.port])
        .stdin(In::Open)
        .spawn();
    let _far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    rnc.expect_running_for(
        Duration::from_millis(1800),
        "traditional -w is armed only after stdin EOF",
    );
    rnc.kill();
    // stdin at EOF, far end idle and open: quits about 1 s later.
    let s = server();
    let mut rnc = Pers::Traditional
        .cmd(["-w", "1", "127.0.0.1", &s.port])
        .stdin(In::Data(b"w\n".to_vec()))
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    read_to_eof(&mut far, FAIL, "server waiting for stdin and EOF");
    let eof = Instant::now();
    let d = rnc.finish(FAIL);
    d.no_panic().ended_within(
        eof,
        Duration::from_secs(1) + PROMPT,
        "stdin EOF (traditional -w 1)",
    );
    assert!(
        d.elapsed >= Duration::from_secs(1),
        "traditional -w 1 quit after {:.2?}",
        d.elapsed
    );
}

// --- messages -------------------------------------------------------------------------------

#[test]
fn verbose_listen_and_connection_messages() {
    let port = free_port();
    let mut rnc = Cmd::rnc(["-v", "-l", "-p", &port.to_string()])
        .stdin(greeting())
        .spawn();
    rnc.expect_stderr(&format!("Ncat: Listening on :::{port}"), FAIL);
    rnc.expect_stderr(&format!("Ncat: Listening on 0.0.0.0:{port}"), FAIL);
    wait_tcp_listen(&mut rnc, V4, port, FAIL);
    let mut far = connect_retry(SocketAddr::new(V4, port), &mut rnc, FAIL);
    let me = far.local_addr().unwrap();
    rnc.expect_stderr(
        &format!("Ncat: Connection from 127.0.0.1:{}.", me.port()),
        FAIL,
    );
    read_to_eof(&mut far, FAIL, "client");
    drop(far);
    rnc.finish(FAIL).ok();
}

#[test]
fn verbose_listen_on_an_address() {
    let port = free_port();
    let mut rnc = Cmd::rnc(["-v", "-l", "127.0.0.1", &port.to_string()])
        .stdin(greeting())
        .spawn();
    rnc.expect_stderr(&format!("Ncat: Listening on 127.0.0.1:{port}"), FAIL);
    serve_one_client(&mut rnc, V4, port);
}

#[test]
fn verbose_connect_messages_and_byte_counts() {
    let s = server();
    let mut rnc = Cmd::rnc(["-v", "127.0.0.1", &s.port])
        .stdin(In::Data(b"abc\n".to_vec()))
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    rnc.expect_stderr(&format!("Ncat: Connected to 127.0.0.1:{}.", s.port), FAIL);
    assert_eq!(read_to_eof(&mut far, FAIL, "server"), b"abc\n");
    far.write_all(b"hello\n").unwrap();
    drop(far);
    let d = rnc.finish(FAIL);
    d.ok().stdout_is(b"hello\n");
    let line = d
        .stderr
        .lines()
        .find(|l| l.starts_with("Ncat: 4 bytes sent, 6 bytes received in "))
        .unwrap_or_else(|| {
            panic!(
                "no `Ncat: 4 bytes sent, 6 bytes received in X.XX seconds.` line\n{}",
                d.describe()
            )
        });
    let secs = line
        .strip_prefix("Ncat: 4 bytes sent, 6 bytes received in ")
        .and_then(|r| r.strip_suffix(" seconds."))
        .unwrap_or_else(|| panic!("malformed summary line {line:?}"));
    let (int, frac) = secs
        .split_once('.')
        .unwrap_or_else(|| panic!("seconds not X.XX: {line:?}"));
    assert!(
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == 2
            && frac.bytes().all(|b| b.is_ascii_digit()),
        "seconds not X.XX: {line:?}"
    );
}

#[test]
fn quiet_by_default() {
    let s = server();
    let mut rnc = Cmd::rnc(["127.0.0.1", &s.port])
        .stdin(In::Data(b"q\n".to_vec()))
        .spawn();
    let mut far = accept_tcp_from(&s.l, Some(&mut rnc), FAIL);
    read_to_eof(&mut far, FAIL, "server");
    drop(far);
    let d = rnc.finish(FAIL);
    d.ok();
    assert!(
        d.stderr.is_empty(),
        "no messages without -v\n{}",
        d.describe()
    );
}

#[test]
fn connection_refused_ncat() {
    let port = free_port().to_string();
    let d = run(Cmd::rnc(["127.0.0.1", &port]), FAIL);
    d.code_is(1);
    assert_eq!(
        d.stderr.trim_end(),
        "Ncat: Connection refused.",
        "{}",
        d.describe()
    );
}

#[test]
fn connection_refused_openbsd_is_silent_without_v() {
    let port = free_port().to_string();
    let d = run(Pers::OpenBsd.cmd(["127.0.0.1", &port]), FAIL);
    d.code_is(1);
    assert!(d.stderr.is_empty(), "{}", d.describe());
}

#[test]
fn connection_refused_openbsd_verbose() {
    let port = free_port().to_string();
    let d = run(Pers::OpenBsd.cmd(["-v", "127.0.0.1", &port]), FAIL);
    d.code_is(1);
    let want = format!("nc: connect to 127.0.0.1 port {port} (tcp) failed: Connection refused");
    assert!(
        d.stderr.contains(&want),
        "expected {want:?}\n{}",
        d.describe()
    );
}

#[test]
fn unresolvable_host_ncat() {
    let d = run(Cmd::rnc(["no.such.host.invalid", "80"]), FAIL);
    d.code_is(2);
    let line = d.stderr.trim_end();
    assert!(
        line.starts_with("Ncat: Could not resolve hostname \"no.such.host.invalid\": ")
            && line.ends_with(" QUITTING.")
            && !line.contains('\n'),
        "{}",
        d.describe()
    );
}

#[test]
fn malformed_address_is_looked_up_and_fails() {
    for host in ["300.1.2.3", "1.2.3.4.5", "::1::2"] {
        let d = run(Cmd::rnc([host, "80"]), FAIL);
        d.code_is(2);
        assert_eq!(
            d.stderr.lines().count(),
            1,
            "{host}: one line\n{}",
            d.describe()
        );
    }
}

// --- bad options, values, ports ---------------------------------------------------------------

fn usage_errors_everywhere(cases: &[&[&str]]) {
    for p in PERSONALITIES {
        for args in cases {
            let d = run(p.cmd(*args), FAIL);
            assert!(
                d.code == Some(2)
                    && d.stderr.lines().count() == 1
                    && d.stderr.starts_with("rnc: ")
                    && !d.stderr.contains("panicked"),
                "{p:?} `{}`: expected one line `rnc: <what> : <why>` and exit 2\n{}",
                args.join(" "),
                d.describe()
            );
        }
    }
}

#[test]
fn unknown_options() {
    usage_errors_everywhere(&[
        &["--bogus-option", "127.0.0.1", "80"],
        &["-Y", "127.0.0.1", "80"],
        &["--", "-l"],
    ]);
}

#[test]
fn missing_option_values() {
    usage_errors_everywhere(&[
        &["127.0.0.1", "80", "-p"],
        &["127.0.0.1", "80", "-w"],
        &["127.0.0.1", "80", "-q"],
        &["127.0.0.1", "80", "-s"],
    ]);
}

#[test]
fn bad_times() {
    usage_errors_everywhere(&[
        &["-w", "abc", "127.0.0.1", "80"],
        &["-w", "5x", "127.0.0.1", "80"],
        &["-w", "", "127.0.0.1", "80"],
        &["-q", "soon", "127.0.0.1", "80"],
        &["-q", "1y", "127.0.0.1", "80"],
        &["-i", "fast", "127.0.0.1", "80"],
    ]);
}

#[test]
fn bad_connect_ports() {
    usage_errors_everywhere(&[
        &["127.0.0.1", "0"],
        &["127.0.0.1", "65536"],
        &["127.0.0.1", "99999"],
        &["127.0.0.1", "12ab"],
        &["127.0.0.1", ""],
        &["-p", "70000", "127.0.0.1", "80"],
        &["-p", "x", "127.0.0.1", "80"],
    ]);
}

#[test]
fn bad_listen_ports() {
    usage_errors_everywhere(&[
        &["-l", "-p", "65536"],
        &["-l", "-p", "abc"],
        &["-l", "127.0.0.1", "70000"],
        &["-lp", "-1"],
    ]);
}

#[test]
fn missing_operands() {
    usage_errors_everywhere(&[&[], &["127.0.0.1"], &["-U"], &["-u"]]);
}

#[test]
fn bad_buffer_sizes() {
    usage_errors_everywhere(&[
        &["-I", "lots", "127.0.0.1", "80"],
        &["-O", "-5", "127.0.0.1", "80"],
    ]);
}

#[test]
fn send_only_and_recv_only_conflict() {
    usage_errors_everywhere(&[&["--send-only", "--recv-only", "127.0.0.1", "80"]]);
}

#[test]
fn help_and_version() {
    let d = run(Cmd::rnc(["-h"]), FAIL);
    d.ok();
    assert!(
        !d.stdout.is_empty() && d.stderr.is_empty(),
        "-h prints help on stdout\n{}",
        d.describe()
    );
    // The summary points to --help, which has the extra sections.
    assert!(!d.stdout_str().contains("END OF FILE:"), "{}", d.describe());
    let d = run(Cmd::rnc(["--help"]), FAIL);
    d.ok();
    for section in [
        "PERSONALITIES:",
        "END OF FILE:",
        "HTTP PROXY SERVER:",
        "EXAMPLES:",
    ] {
        assert!(
            d.stdout_str().contains(section),
            "--help lacks {section}\n{}",
            d.describe()
        );
    }
    let d = run(Cmd::rnc(["--version"]), FAIL);
    d.ok();
    let all = format!("{}{}", d.stdout_str(), d.stderr);
    assert!(
        all.contains(env!("CARGO_PKG_VERSION")),
        "--version shows {}\n{}",
        env!("CARGO_PKG_VERSION"),
        d.describe()
    );
}
