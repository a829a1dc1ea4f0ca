//! 64 MiB transfers in each direction, checked by SHA-256 (reference §2.6):
//! rnc on both ends, and rnc against the real ncat and nc.openbsd, with rnc as
//! sender and as receiver, as listener and as connector.
//!
//! Receivers run with stdin at /dev/null, as under cron/systemd/nohup: rnc then
//! half-closes at once, and the sender must still deliver everything.

mod common;

use common::*;
use std::time::{Duration, Instant};

/// Bound for one 64 MiB transfer (debug build, loaded 2-core machine).
const TRANSFER: Duration = Duration::from_secs(60);

fn sender(c: Cmd) -> Cmd {
    c.stdin(In::FilePath(payload_64m().path.clone()))
        .stdout(Out::Capture)
}

fn receiver(c: Cmd) -> Cmd {
    c.stdin(In::DevNull).stdout(Out::Sha256)
}

/// Where the listener listens, and how to wait for it.
enum At {
    Tcp(std::net::IpAddr, u16),
    Unix(String),
}

/// Run `listener` (waiting until it listens), then `connector`; both must exit 0
/// and the receiving side's stdout must be the payload, byte for byte.
fn transfer(listener: Cmd, at: At, connector: Cmd, listener_sends: bool) {
    let p = payload_64m();
    let mut l = listener.spawn();
    match &at {
        At::Tcp(ip, port) => {
            wait_tcp_listen(&mut l, *ip, *port, FAIL);
        }
        At::Unix(path) => wait_unix_bound(&mut l, path, FAIL),
    }
    let t = Instant::now();
    let mut c = connector.spawn();
    let (dl, dc) = {
        let dc = c.finish(TRANSFER);
        let dl = l.finish(FAIL);
        (dl, dc)
    };
    let (snd, rcv) = if listener_sends {
        (&dl, &dc)
    } else {
        (&dc, &dl)
    };
    let (n, sha) = rcv.sha256.clone().expect("receiver stdout hashed");
    assert!(
        n == p.len && sha == p.sha256,
        "receiver got {n} bytes (sha256 {sha}), expected {} bytes (sha256 {})\nreceiver {}\nsender {}",
        p.len,
        p.sha256,
        rcv.describe(),
        snd.describe()
    );
    snd.ok().stdout_is(b"");
    rcv.ok();
    let secs = t.elapsed().as_secs_f64();
    eprintln!("64 MiB in {secs:.2} s ({:.0} MiB/s)", 64.0 / secs);
}

fn tcp(port: u16) -> At {
    At::Tcp(V4, port)
}

// --- rnc on both ends --------------------------------------------------------------

#[test]
fn rnc_to_rnc_client_sends_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Cmd::rnc(["-l", "-p", &ps])),
        tcp(port),
        sender(Cmd::rnc(["127.0.0.1", &ps])),
        false,
    );
}

#[test]
fn rnc_to_rnc_listener_sends_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        sender(Cmd::rnc(["-l", "-p", &ps])),
        tcp(port),
        receiver(Cmd::rnc(["127.0.0.1", &ps])),
        true,
    );
}

#[test]
fn rnc_to_rnc_over_ipv6_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Cmd::rnc(["-6", "-l", "-p", &ps])),
        At::Tcp(V6, port),
        sender(Cmd::rnc(["::1", &ps])),
        false,
    );
}

#[test]
fn rnc_to_rnc_over_unix_socket_64mib() {
    let dir = TempDir::new();
    let path = dir.join("x.sock").to_string_lossy().into_owned();
    transfer(
        sender(Cmd::rnc(["-l", "-U", &path])),
        At::Unix(path.clone()),
        receiver(Cmd::rnc(["-U", &path])),
        true,
    );
}

/// A pipe feeding the sender (`tar c . | rnc host port`), receiver typed at a
/// terminal (stdin open and idle, so no early half-close).
#[test]
fn rnc_to_rnc_pipe_sender_interactive_receiver_64mib() {
    let port = free_port();
    let ps = port.to_string();
    let src = payload_64m().path.clone();
    transfer(
        Cmd::rnc(["-l", "-p", &ps])
            .stdin(In::Open)
            .stdout(Out::Sha256),
        tcp(port),
        Cmd::rnc(["127.0.0.1", &ps])
            .stdin(In::PipeFrom(src))
            .stdout(Out::Capture),
        false,
    );
}

/// A pipe feeding the sender; the receiver uses `--recv-only` (never half-closes).
#[test]
fn rnc_to_rnc_pipe_sender_recv_only_receiver_64mib() {
    let port = free_port();
    let ps = port.to_string();
    let src = payload_64m().path.clone();
    transfer(
        receiver(Cmd::rnc(["--recv-only", "-l", "-p", &ps])),
        tcp(port),
        Cmd::rnc(["127.0.0.1", &ps])
            .stdin(In::PipeFrom(src))
            .stdout(Out::Capture),
        false,
    );
}

// --- rnc against ncat ----------------------------------------------------------------

#[test]
fn rnc_sends_to_ncat_listener_64mib() {
    // ncat (stdin /dev/null) half-closes as soon as rnc connects: rnc must keep sending.
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Cmd::tool("ncat", ["-l", "127.0.0.1", &ps])),
        tcp(port),
        sender(Cmd::rnc(["127.0.0.1", &ps])),
        false,
    );
}

#[test]
fn ncat_sends_to_rnc_listener_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Cmd::rnc(["-l", "-p", &ps])),
        tcp(port),
        sender(Cmd::tool("ncat", ["127.0.0.1", &ps])),
        false,
    );
}

#[test]
fn rnc_listener_sends_to_ncat_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        sender(Cmd::rnc(["-l", "-p", &ps])),
        tcp(port),
        receiver(Cmd::tool("ncat", ["127.0.0.1", &ps])),
        true,
    );
}

/// ncat 7.93 `-l` (like nc.openbsd `-l`) stops sending when its client
/// half-closes, so a receiver in front of it uses `--recv-only` (reference §2.6).
#[test]
fn ncat_listener_sends_to_rnc_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        sender(Cmd::tool("ncat", ["-l", "127.0.0.1", &ps])),
        tcp(port),
        receiver(Cmd::rnc(["--recv-only", "127.0.0.1", &ps])),
        true,
    );
}

// --- rnc against nc.openbsd ------------------------------------------------------------

#[test]
fn rnc_sends_to_openbsd_listener_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Cmd::tool("nc.openbsd", ["-l", "127.0.0.1", &ps])),
        tcp(port),
        sender(Cmd::rnc(["127.0.0.1", &ps])),
        false,
    );
}

#[test]
fn openbsd_sends_to_rnc_listener_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Cmd::rnc(["-l", "-p", &ps])),
        tcp(port),
        sender(Cmd::tool("nc.openbsd", ["127.0.0.1", &ps])),
        false,
    );
}

#[test]
fn rnc_listener_sends_to_openbsd_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        sender(Cmd::rnc(["-l", "-p", &ps])),
        tcp(port),
        receiver(Cmd::tool("nc.openbsd", ["127.0.0.1", &ps])),
        true,
    );
}

#[test]
fn openbsd_listener_sends_to_rnc_64mib() {
    // -N: nc.openbsd only signals the end of the file with -N.
    let port = free_port();
    let ps = port.to_string();
    transfer(
        sender(Cmd::tool("nc.openbsd", ["-N", "-l", "127.0.0.1", &ps])),
        tcp(port),
        receiver(Cmd::rnc(["--recv-only", "127.0.0.1", &ps])),
        true,
    );
}

/// The same pairings with rnc in the openbsd personality (invoked as `nc`).
#[test]
fn rnc_as_nc_to_rnc_as_nc_64mib() {
    let port = free_port();
    let ps = port.to_string();
    transfer(
        receiver(Pers::OpenBsd.cmd(["-l", &ps])),
        tcp(port),
        sender(Pers::OpenBsd.cmd(["127.0.0.1", &ps])),
        false,
    );
}
