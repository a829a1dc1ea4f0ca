//! The two ways a run starts — connect and listen — up to the point where a
//! session takes over.

use crate::access;
use crate::child::{self, ConnInfo};
use crate::config::{Address, Config, Fanout, Personality, Role};
use crate::dump::Dump;
use crate::error::{Error, Result};
use crate::hook;
use crate::hub;
use crate::log::{describe, Log};
use crate::net::{self, Listeners};
use crate::relay::transport::{OnHandshake, Tls};
use crate::relay::{self, Local, Stdio, Transport};
use crate::signals;
use crate::sys;
use crate::sys::FdKind;
use crate::tls;
use crate::udp_hub;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Run the configuration; returns the exit code.
pub fn run(cfg: &Config) -> Result<i32> {
    sys::ensure_std_fds();
    sys::restore_stdio_on_signals();
    let stdio = Stdio {
        input: sys::classify(sys::stdin_fd()),
        output: sys::classify(sys::stdout_fd()),
    };
    let log = Log {
        personality: cfg.personality,
        prog: cfg.prog.clone(),
        verbose: cfg.verbose,
    };
    log.version_banner();
    if cfg.tls.is_some() && cfg.proto.is_datagram() {
        return Err(Error::usage(
            "--ssl with -u",
            "DTLS is not supported (rustls has no DTLS)",
        ));
    }
    // Session logs are opened before anything else can fail on the network.
    let mut dump = Dump::open(&cfg.bytes.dump)?;
    if cfg.exec.is_some() {
        child::seal_inherited_fds();
    }
    let result = match cfg.role {
        Role::Connect => connect(cfg, &log, stdio, dump.as_mut()),
        Role::Listen => listen(cfg, &log, stdio, dump.as_mut()),
    };
    sys::restore_stdio();
    result
}

fn connect(cfg: &Config, log: &Log, stdio: Stdio, dump: Option<&mut Dump>) -> Result<i32> {
    // TLS settings are checked before any connection is made.
    let client = cfg.tls.as_ref().map(tls::client_config).transpose()?;
    let remote = match &cfg.proxy {
        Some(spec) => crate::proxy::connect(cfg, spec, log)?,
        None => net::connect(cfg, log)?,
    };
    let (host, path) = match &cfg.address {
        Address::Unix(p) => ("localhost".to_string(), Some(p.display().to_string())),
        Address::Inet { host, .. } => (host.clone().unwrap_or_default(), None),
    };
    log.connected(remote.peer.as_ref(), path.as_deref(), cfg.proto);
    let transport = match (client, &cfg.tls) {
        (Some(client), Some(opts)) => {
            let name = tls::server_name(opts, &host)?;
            let conn = rustls::ClientConnection::new(client, name.clone())
                .map_err(|e| Error::usage("--ssl", e))?;
            let peer = match (remote.peer, path) {
                (Some(a), _) => crate::log::ncat_addr(&a),
                (None, p) => p.unwrap_or_default(),
            };
            let (opts, verbose) = (opts.clone(), log.verbose);
            let report: OnHandshake = Box::new(move |c: &rustls::Connection| {
                if verbose > 0 {
                    let chain = c.peer_certificates().unwrap_or_default();
                    for line in tls::describe_server_cert(&opts, &peer, &name, chain) {
                        crate::log::emit(&line);
                    }
                }
            });
            Transport::Tls(Box::new(Tls::new(conn.into(), remote.fd, Some(report))))
        }
        _ => Transport::Plain {
            fd: remote.fd,
            datagram: cfg.proto.is_datagram(),
        },
    };
    let info = ConnInfo {
        local: remote.local,
        remote: remote.peer,
        proto: cfg.proto,
    };
    finish(
        cfg,
        log,
        info,
        session(cfg, log, stdio, transport, info, Vec::new(), dump),
    )
}

/// One session over `transport`: with rnc's stdin and stdout, or with `--exec`
/// with a child of its own (reaped before this returns).
fn session(
    cfg: &Config,
    log: &Log,
    stdio: Stdio,
    transport: Transport,
    info: ConnInfo,
    initial: Vec<u8>,
    dump: Option<&mut Dump>,
) -> Result<relay::Report> {
    let Some(argv) = &cfg.exec else {
        return relay::run(
            cfg,
            log,
            Local::Stdio(stdio),
            transport,
            relay::Initial::received(initial),
            dump,
        );
    };
    // (The cli gave `cfg.eof` the exec policy: the child is both ends.)
    let mut sp = child::spawn(argv, &info)?;
    let local = Local::Child {
        from_child: sp.from_child,
        to_child: Some(sp.to_child),
    };
    let r = relay::run(
        cfg,
        log,
        local,
        transport,
        relay::Initial::received(initial),
        dump,
    );
    // A child whose conversation is over gets a moment to exit by itself.
    let grace = if r.is_ok() {
        CHILD_GRACE
    } else {
        Duration::ZERO
    };
    child::reap(&mut sp.child, grace);
    r
}

/// How long a child may outlive its conversation before it is ended.
const CHILD_GRACE: Duration = Duration::from_secs(2);

/// The end of a one-shot run: the summary, and with `--on-close` the hook,
/// whose exit status becomes rnc's (as in `nc …; bash hook.sh`).
fn finish(cfg: &Config, log: &Log, info: ConnInfo, r: Result<relay::Report>) -> Result<i32> {
    let Some(spec) = &cfg.on_close else {
        let report = r?;
        log.summary(report.sent, report.received, report.duration.as_secs_f64());
        return Ok(0);
    };
    let ev = match &r {
        Ok(report) => {
            log.summary(report.sent, report.received, report.duration.as_secs_f64());
            hook_event(info, report)
        }
        Err(e) => {
            if !e.line.is_empty() {
                crate::log::emit(&e.line);
            }
            failed_event(info, "reset")
        }
    };
    Ok(hook::run(spec, &ev))
}

/// What a hook is told about a connection that ran its course.
pub fn hook_event(info: ConnInfo, r: &relay::Report) -> hook::Event {
    hook::Event {
        info,
        bytes_in: r.received,
        bytes_out: r.sent,
        duration: r.duration,
        reason: match r.reason {
            relay::CloseReason::Timeout => "timeout",
            _ => "eof",
        },
        payload: r.payload.clone(),
        tls_sni: r.tls_sni.clone(),
        tls_alpn: r.tls_alpn.clone(),
    }
}

/// What a hook is told about a connection that did not.
pub fn failed_event(info: ConnInfo, reason: &'static str) -> hook::Event {
    hook::Event {
        info,
        bytes_in: 0,
        bytes_out: 0,
        duration: Duration::ZERO,
        reason,
        payload: Vec::new(),
        tls_sni: None,
        tls_alpn: None,
    }
}

fn listen(cfg: &Config, log: &Log, stdio: Stdio, dump: Option<&mut Dump>) -> Result<i32> {
    // Certificates are loaded (or generated) before listening: a bad one is a
    // start-up error, not a failed client.
    let server = match &cfg.tls {
        Some(opts) => {
            let host = match &cfg.address {
                Address::Inet { host, .. } => host.as_deref(),
                Address::Unix(_) => None,
            };
            Some(tls::server_config(opts, host, cfg.verbose)?)
        }
        None => None,
    };
    let mut listeners = net::listen(cfg, log)?;
    announce(cfg, log, &listeners);
    if cfg.test_banner {
        crate::log::emit("NCAT TEST: LISTEN");
    }
    if let Some(spec) = &cfg.proxy_server {
        return crate::proxy::server::serve(cfg, spec, log, listeners, server);
    }
    if cfg.proto.is_datagram() && cfg.keep_open {
        let hooks = start_hooks(cfg, &listeners);
        let socks: Vec<OwnedFd> = std::mem::take(&mut listeners.socks)
            .into_iter()
            .map(|(fd, _)| fd)
            .collect();
        if cfg.exec.is_none() {
            return udp_hub::serve_stdio(cfg, log, stdio, socks);
        }
        return udp_hub::serve(cfg, log, socks, hooks);
    }
    if cfg.proto.is_datagram() {
        let ready = wait_readable(&listeners)?;
        let (fd, _) = listeners.socks.swap_remove(ready);
        return serve_datagram(cfg, log, stdio, fd, listeners, dump);
    }
    // A listener that runs hooks shuts down in order on SIGTERM/SIGINT; its
    // hooks run on their own thread, fed by every connection.
    let hooks = start_hooks(cfg, &listeners);
    if cfg.keep_open && cfg.exec.is_some() {
        return serve_exec_forever(cfg, log, listeners, server, hooks);
    }
    // A broker serves its clients together in every personality.
    if cfg.keep_open && (cfg.personality != Personality::OpenBsd || cfg.fanout != Fanout::Stdio) {
        return hub::serve(cfg, log, stdio, listeners, server, dump, hooks);
    }
    if cfg.keep_open {
        // OpenBSD's -k: one client after another, the next waiting in the backlog.
        let mut dump = dump;
        loop {
            let (conn, peer_addr, local) = accept_admitted(cfg, log, &listeners)?;
            log.connection_from(peer_addr.as_ref(), local.as_ref());
            let info = conn_info(cfg, &conn, peer_addr);
            let transport = server_transport(server.clone(), conn, log)?;
            let r = session(
                cfg,
                log,
                stdio,
                transport,
                info,
                Vec::new(),
                dump.as_deref_mut(),
            );
            let ev = match &r {
                Ok(report) => hook_event(info, report),
                Err(e) => {
                    if !e.line.is_empty() {
                        crate::log::emit(&e.line);
                    }
                    failed_event(info, "reset")
                }
            };
            if let Some(tx) = &hooks {
                let _ = tx.send(Some(ev));
            }
        }
    }
    let (conn, peer_addr, peer) = accept_admitted(cfg, log, &listeners)?;
    // One client only: the listening sockets close now, so a second client is
    // refused rather than left waiting (ncat, traditional nc).
    listeners.socks.clear();
    log.connection_from(peer_addr.as_ref(), peer.as_ref());
    let info = conn_info(cfg, &conn, peer_addr);
    let transport = server_transport(server, conn, log)?;
    let r = finish(
        cfg,
        log,
        info,
        session(cfg, log, stdio, transport, info, Vec::new(), dump),
    );
    drop(listeners);
    r
}

fn conn_info(cfg: &Config, fd: &OwnedFd, peer: Option<SocketAddr>) -> ConnInfo {
    ConnInfo {
        local: net::local_addr(fd),
        remote: peer,
        proto: cfg.proto,
    }
}

/// `-l -k --exec`: every connection gets its own child, relayed on a thread of
/// its own (ncat's inetd mode); `-m` bounds how many run at once.
fn serve_exec_forever(
    cfg: &Config,
    log: &Log,
    listeners: Listeners,
    server: Option<Arc<rustls::ServerConfig>>,
    hooks: Option<hook::Sender>,
) -> Result<i32> {
    let shared = Arc::new((cfg.clone(), log.clone()));
    let refused_hooks = hooks.clone();
    let refused = move |info: ConnInfo| {
        if let Some(tx) = &refused_hooks {
            let _ = tx.send(Some(failed_event(info, "limit")));
        }
    };
    serve_on_threads(
        cfg,
        log,
        listeners,
        server,
        refused,
        move |transport, info| {
            let (cfg, log) = (&shared.0, &shared.1);
            let stdio = Stdio {
                input: FdKind::File,
                output: FdKind::File,
            };
            let ev = match session(cfg, log, stdio, transport, info, Vec::new(), None) {
                Ok(report) => hook_event(info, &report),
                Err(e) => {
                    log.info(&e.line);
                    failed_event(info, "reset")
                }
            };
            if let Some(tx) = &hooks {
                let _ = tx.send(Some(ev));
            }
        },
    )
}

/// The listeners whose clients each get a thread (`-k --exec`, the proxy
/// server): accept and admit, `-m` (a client over the limit is closed and
/// given to `refused`), TLS, then `serve` on a thread of its own.
pub(crate) fn serve_on_threads(
    cfg: &Config,
    log: &Log,
    listeners: Listeners,
    server: Option<Arc<rustls::ServerConfig>>,
    refused: impl Fn(ConnInfo),
    serve: impl Fn(Transport, ConnInfo) + Send + Sync + 'static,
) -> Result<i32> {
    let active = Arc::new(AtomicUsize::new(0));
    let serve = Arc::new(serve);
    loop {
        let (conn, peer_addr, local) = accept_admitted(cfg, log, &listeners)?;
        let info = conn_info(cfg, &conn, peer_addr);
        if active.load(Ordering::SeqCst) >= cfg.max_conns {
            log.info(format!(
                "Ncat: New connection denied: connection limit reached ({})",
                cfg.max_conns
            ));
            refused(info);
            continue;
        }
        log.connection_from(peer_addr.as_ref(), local.as_ref());
        let transport = match server_transport(server.clone(), conn, log) {
            Ok(t) => t,
            Err(e) => {
                log.info(&e.line);
                continue;
            }
        };
        active.fetch_add(1, Ordering::SeqCst);
        let (active, serve) = (Arc::clone(&active), Arc::clone(&serve));
        let spawned = std::thread::Builder::new().spawn(move || {
            serve(transport, info);
            active.fetch_sub(1, Ordering::SeqCst);
        });
        if let Err(e) = spawned {
            log.info(format!("Ncat: cannot start a thread: {e}"));
        }
    }
}

/// A listener that runs hooks: its hooks run on their own thread, fed by
/// every connection, and it shuts down in order on SIGTERM/SIGINT.
fn start_hooks(cfg: &Config, listeners: &Listeners) -> Option<hook::Sender> {
    match (&cfg.on_close, cfg.keep_open) {
        (Some(spec), true) => {
            let queue = hook::Queue::start(spec.clone());
            let tx = queue.sender();
            let fds = listeners
                .socks
                .iter()
                .map(|(fd, _)| fd.as_raw_fd())
                .collect();
            signals::shutdown_on_termination(fds, queue);
            Some(tx)
        }
        _ => None,
    }
}

/// The transport of an accepted connection: plain, or TLS with `server`.
pub(crate) fn server_transport(
    server: Option<Arc<rustls::ServerConfig>>,
    conn: OwnedFd,
    log: &Log,
) -> Result<Transport> {
    Ok(match server {
        Some(server) => {
            let tls_conn =
                rustls::ServerConnection::new(server).map_err(|e| Error::usage("--ssl", e))?;
            let verbose = log.verbose;
            let report: OnHandshake = Box::new(move |c: &rustls::Connection| {
                if verbose > 1 {
                    if let Some(s) = tls::describe_session(c) {
                        crate::log::emit(&format!("Ncat: SSL session: {s}"));
                    }
                }
            });
            Transport::Tls(Box::new(Tls::new(tls_conn.into(), conn, Some(report))))
        }
        None => Transport::Plain {
            fd: conn,
            datagram: false,
        },
    })
}

/// Accept clients until one passes `--allow`/`--deny`; a denied one is closed
/// before any of its bytes are read.
pub(crate) fn accept_admitted(
    cfg: &Config,
    log: &Log,
    listeners: &Listeners,
) -> Result<(OwnedFd, Option<SocketAddr>, Option<SocketAddr>)> {
    let mut shortage_reported = false;
    loop {
        let ready = wait_readable(listeners)?;
        let (fd, local) = &listeners.socks[ready];
        let (conn, peer) = match net::accept(fd) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => continue,
            Err(e) if e.raw_os_error() == Some(nix::libc::EPROTO) => continue,
            // Out of descriptors or memory: the connections being served go
            // on, and the waiting ones are taken in once some are free.
            Err(e) if net::accept_shortage(&e) => {
                if !shortage_reported {
                    shortage_reported = true;
                    log.info(format!("Ncat: accept: {}; retrying.", describe(&e)));
                }
                std::thread::sleep(net::ACCEPT_BACKOFF);
                continue;
            }
            // The listener was shut for an orderly exit (see `signals`): accept
            // nothing more and let that thread end the process.
            Err(e) if e.raw_os_error() == Some(nix::libc::EINVAL) => loop {
                std::thread::park();
            },
            Err(e) => return Err(Error::network(format!("rnc: accept : {}", describe(&e)))),
        };
        if !access::admit(cfg.access.as_ref(), log, peer, *local) {
            continue;
        }
        return Ok((conn, peer, *local));
    }
}

fn announce(cfg: &Config, log: &Log, l: &Listeners) {
    match &cfg.address {
        Address::Unix(p) => log.listening_unix(&p.display().to_string()),
        Address::Inet { .. } => {
            for (_, addr) in &l.socks {
                if let Some(a) = addr {
                    log.listening(a);
                }
            }
        }
    }
}

/// Block until one of the listening sockets has a client (or a datagram).
fn wait_readable(l: &Listeners) -> Result<usize> {
    loop {
        let mut fds: Vec<PollFd<'_>> = l
            .socks
            .iter()
            .map(|(fd, _)| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
            .collect();
        match nix::poll::poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                if let Some(i) = fds
                    .iter()
                    .position(|f| f.revents().is_some_and(|r| !r.is_empty()))
                {
                    return Ok(i);
                }
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::usage("poll", e.desc())),
        }
    }
}

/// A datagram listener locks onto the sender of its first datagram.
fn serve_datagram(
    cfg: &Config,
    log: &Log,
    stdio: Stdio,
    fd: OwnedFd,
    listeners: Listeners,
    dump: Option<&mut Dump>,
) -> Result<i32> {
    let mut buf = vec![0u8; 65536];
    let local = net::local_addr(&fd);
    let (n, from) = loop {
        match net::recv_from(&fd, &mut buf) {
            Ok((n, from)) => {
                if access::admit(cfg.access.as_ref(), log, from.as_socket(), local) {
                    break (n, from);
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::Interrupted =>
            {
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                let _ = nix::poll::poll(&mut fds, PollTimeout::NONE);
            }
            Err(e) => return Err(Error::network(format!("rnc: recvfrom : {}", describe(&e)))),
        }
    };
    buf.truncate(n);
    let peer = from.as_socket();
    log.connection_from(peer.as_ref(), local.as_ref());
    let mut local_cfg;
    let mut cfg = cfg;
    // An unnamed Unix datagram peer cannot be answered: receive only.
    if net::connect_to(&fd, &from).is_err() {
        local_cfg = cfg.clone();
        local_cfg.eof.read_stdin = false;
        cfg = &local_cfg;
    }
    let info = conn_info(cfg, &fd, peer);
    let transport = Transport::Plain { fd, datagram: true };
    let r = finish(
        cfg,
        log,
        info,
        session(cfg, log, stdio, transport, info, buf, dump),
    );
    drop(listeners);
    r
}
