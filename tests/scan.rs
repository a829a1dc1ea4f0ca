//! `-z` (zero-I/O port checks), driven through the built binary against real
//! listeners on 127.0.0.1, in every personality: what is printed with and
//! without -v, in which order, and the exit status (0 if any port is open).
//!
//! Open ports are std listeners on port 0 (the kernel completes the handshake
//! without an accept); closed ports are ports bound and released again.

mod common;

use common::*;
use std::net::{TcpListener, UdpSocket};
use std::time::{Duration, Instant};

/// A TCP port with a listener behind it (kept open by the returned listener).
fn open_port() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("local addr").port();
    (l, port)
}

/// A TCP port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port()
}

/// Three consecutive ports where the middle one is open and the others closed,
/// for range tests: (listener, first port).
fn closed_open_closed() -> (TcpListener, u16) {
    for _ in 0..200 {
        let probe = closed_port();
        let Some(base) = probe.checked_sub(1) else {
            continue;
        };
        if base == 0 || probe == u16::MAX {
            continue;
        }
        let side = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if !side(base) || !side(probe + 1) {
            continue;
        }
        if let Ok(l) = TcpListener::bind(("127.0.0.1", probe)) {
            return (l, base);
        }
    }
    panic!("no three free consecutive ports found");
}

fn scan(p: Pers, args: &[&str]) -> Done {
    run(p.cmd(args), FAIL)
}

fn lines(d: &Done) -> Vec<String> {
    d.stderr.lines().map(str::to_string).collect()
}

/// `Ncat: 0 bytes sent, 0 bytes received in 0.00 seconds.`
fn is_ncat_summary(line: &str) -> bool {
    line.strip_prefix("Ncat: 0 bytes sent, 0 bytes received in ")
        .and_then(|r| r.strip_suffix(" seconds."))
        .is_some_and(|n| n.parse::<f64>().is_ok() && n.contains('.'))
}

#[test]
fn quiet_without_v_in_every_personality() {
    let (_l, open) = open_port();
    let closed = closed_port();
    for p in PERSONALITIES {
        let d = scan(p, &["-z", "127.0.0.1", &open.to_string()]);
        d.ok();
        assert!(
            d.stderr.is_empty() && d.stdout.is_empty(),
            "{p:?}\n{}",
            d.describe()
        );
        let d = scan(p, &["-z", "127.0.0.1", &closed.to_string()]);
        d.code_is(1);
        assert!(
            d.stderr.is_empty() && d.stdout.is_empty(),
            "{p:?}\n{}",
            d.describe()
        );
        // Any open port makes the whole check succeed.
        let list = format!("{closed},{open}");
        scan(p, &["-z", "127.0.0.1", &list]).ok();
        scan(
            p,
            &["-z", "127.0.0.1", &closed.to_string(), &open.to_string()],
        )
        .ok();
    }
}

#[test]
fn ncat_single_port() {
    let (_l, open) = open_port();
    let d = scan(Pers::Ncat, &["-zv", "127.0.0.1", &open.to_string()]);
    d.ok();
    let l = lines(&d);
    assert!(l.len() == 3, "{}", d.describe());
    assert!(l[0].starts_with("Ncat: Version "), "{}", d.describe());
    assert_eq!(l[1], format!("Ncat: Connected to 127.0.0.1:{open}."));
    assert!(is_ncat_summary(&l[2]), "{}", d.describe());
    assert!(d.stdout.is_empty());

    let closed = closed_port();
    let d = scan(Pers::Ncat, &["-zv", "127.0.0.1", &closed.to_string()]);
    d.code_is(1);
    let l = lines(&d);
    assert_eq!(l.len(), 2, "{}", d.describe());
    assert_eq!(l[1], "Ncat: Connection refused.");
}

#[test]
fn ncat_accepts_lists_and_ranges() {
    let (_l, base) = closed_open_closed();
    let range = format!("{}-{}", base, base + 2);
    let d = scan(Pers::Ncat, &["-zv", "127.0.0.1", &range]);
    d.ok();
    let l = lines(&d);
    assert_eq!(l.len(), 3, "{}", d.describe());
    assert_eq!(l[1], format!("Ncat: Connected to 127.0.0.1:{}.", base + 1));
    assert!(is_ncat_summary(&l[2]), "{}", d.describe());

    // -vv also shows the closed ones, in order.
    let d = scan(Pers::Ncat, &["-zvv", "127.0.0.1", &range]);
    d.ok();
    let l = lines(&d);
    assert_eq!(
        l[1..4],
        [
            format!("Ncat: Connection to 127.0.0.1:{base} failed: Connection refused."),
            format!("Ncat: Connected to 127.0.0.1:{}.", base + 1),
            format!(
                "Ncat: Connection to 127.0.0.1:{} failed: Connection refused.",
                base + 2
            ),
        ],
        "{}",
        d.describe()
    );

    // Nothing open: exit 1, no summary.
    let list = format!("{base},{}", base + 2);
    let d = scan(Pers::Ncat, &["-zv", "127.0.0.1", &list]);
    d.code_is(1);
    assert_eq!(lines(&d).len(), 1, "{}", d.describe());
}

#[test]
fn openbsd_reports_every_port_in_ascending_order() {
    let (_l, base) = closed_open_closed();
    let (b, o, c) = (base, base + 1, base + 2);
    // A backwards range is scanned upwards too.
    for range in [format!("{b}-{c}"), format!("{c}-{b}")] {
        let d = scan(Pers::OpenBsd, &["-zv", "127.0.0.1", &range]);
        d.ok();
        let l = lines(&d);
        assert_eq!(l.len(), 3, "{}", d.describe());
        assert_eq!(
            l[0],
            format!("nc: connect to 127.0.0.1 port {b} (tcp) failed: Connection refused")
        );
        assert!(
            l[1].starts_with(&format!("Connection to 127.0.0.1 {o} port [tcp/"))
                && l[1].ends_with("] succeeded!"),
            "{}",
            d.describe()
        );
        assert_eq!(
            l[2],
            format!("nc: connect to 127.0.0.1 port {c} (tcp) failed: Connection refused")
        );
    }
    // Several arguments keep their order; all closed is exit 1.
    let d = scan(
        Pers::OpenBsd,
        &["-zv", "127.0.0.1", &c.to_string(), &b.to_string()],
    );
    d.code_is(1);
    assert_eq!(
        lines(&d),
        [
            format!("nc: connect to 127.0.0.1 port {c} (tcp) failed: Connection refused"),
            format!("nc: connect to 127.0.0.1 port {b} (tcp) failed: Connection refused"),
        ]
    );
    // A host name is shown with its address.
    let d = scan(Pers::OpenBsd, &["-4", "-zv", "localhost", &o.to_string()]);
    d.ok();
    assert!(
        d.stderr.starts_with(&format!(
            "Connection to localhost (127.0.0.1) {o} port [tcp/"
        )),
        "{}",
        d.describe()
    );
}

#[test]
fn traditional_reports_open_ports_downwards() {
    let (_l, base) = closed_open_closed();
    let (b, o, c) = (base, base + 1, base + 2);
    let range = format!("{b}-{c}");
    let d = scan(Pers::Traditional, &["-zv", "127.0.0.1", &range]);
    d.ok();
    let l = lines(&d);
    assert_eq!(l.len(), 1, "{}", d.describe());
    assert!(
        l[0].starts_with(&format!("(UNKNOWN) [127.0.0.1] {o} (")) && l[0].ends_with(") open"),
        "{}",
        d.describe()
    );

    let d = scan(Pers::Traditional, &["-zvv", "localhost", "-4", &range]);
    d.ok();
    let l = lines(&d);
    assert_eq!(l.len(), 4, "{}", d.describe());
    assert!(l[0].starts_with(&format!("localhost [127.0.0.1] {c} (")));
    assert!(l[0].ends_with(") : Connection refused"), "{}", d.describe());
    assert!(l[1].starts_with(&format!("localhost [127.0.0.1] {o} (")));
    assert!(l[1].ends_with(") open"), "{}", d.describe());
    assert!(l[2].starts_with(&format!("localhost [127.0.0.1] {b} (")));
    assert_eq!(l[3], " sent 0, rcvd 0");

    // A single closed port is reported with -v alone.
    let d = scan(Pers::Traditional, &["-zv", "127.0.0.1", &b.to_string()]);
    d.code_is(1);
    let l = lines(&d);
    assert_eq!(l.len(), 1, "{}", d.describe());
    assert!(l[0].ends_with(") : Connection refused"), "{}", d.describe());
}

#[test]
fn compat_option_selects_the_report_format() {
    let (_l, open) = open_port();
    let d = run(
        Cmd::rnc(["--compat", "openbsd", "-zv", "127.0.0.1", &open.to_string()]),
        FAIL,
    );
    d.ok();
    assert!(d
        .stderr
        .starts_with(&format!("Connection to 127.0.0.1 {open} port [tcp/")));
    let closed = closed_port();
    let d = run(
        Cmd::rnc(["--compat=openbsd", "-zv", "127.0.0.1", &closed.to_string()]),
        FAIL,
    );
    d.code_is(1);
    assert_eq!(
        d.stderr,
        format!("rnc: connect to 127.0.0.1 port {closed} (tcp) failed: Connection refused\n")
    );
    let d = run(
        Cmd::rnc([
            "--compat",
            "traditional",
            "-zv",
            "127.0.0.1",
            &open.to_string(),
        ]),
        FAIL,
    );
    d.ok();
    assert!(d.stderr.ends_with(") open\n"), "{}", d.describe());
}

#[test]
fn udp_closed_ports_are_detected() {
    let server = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let open = server.local_addr().expect("addr").port();
    let closed = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("bind udp")
        .port();
    let d = scan(
        Pers::OpenBsd,
        &[
            "-zuv",
            "-w",
            "1",
            "127.0.0.1",
            &closed.to_string(),
            &open.to_string(),
        ],
    );
    d.ok();
    let l = lines(&d);
    assert_eq!(
        l[0],
        format!("nc: connect to 127.0.0.1 port {closed} (udp) failed: Connection refused"),
        "{}",
        d.describe()
    );
    assert!(
        l[1].starts_with(&format!("Connection to 127.0.0.1 {open} port [udp/")),
        "{}",
        d.describe()
    );
    // The probe is one empty datagram.
    let mut buf = [0u8; 16];
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let (n, _) = server.recv_from(&mut buf).expect("the probe datagram");
    assert_eq!(n, 0);

    // A closed UDP port is known at once, without waiting out -w.
    for p in PERSONALITIES {
        let t = Instant::now();
        let d = scan(p, &["-zu", "-w", "5", "127.0.0.1", &closed.to_string()]);
        d.code_is(1);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{p:?}: {}",
            d.describe()
        );
    }
    let d = scan(
        Pers::Ncat,
        &["-zuv", "-w", "500ms", "127.0.0.1", &open.to_string()],
    );
    d.ok();
    assert_eq!(
        lines(&d)[1],
        format!("Ncat: Connected to 127.0.0.1:{open}.")
    );
}

#[test]
fn usage_errors() {
    for p in PERSONALITIES {
        scan(p, &["-z", "-l", "1234"]).usage_error();
        scan(p, &["-z", "127.0.0.1", "1-70000"]).usage_error();
        scan(p, &["-z", "127.0.0.1", "0"]).usage_error();
        scan(p, &["127.0.0.1", "20-25"]).usage_error();
    }
}
