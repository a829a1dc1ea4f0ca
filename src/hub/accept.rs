//! Taking clients in: accept, `--allow`/`--deny`, `-m`, and running out of
//! descriptors.
//!
//! The listeners are edge-triggered: a listener that was reported ready is
//! accepted from until its backlog is empty or accept fails in a way that
//! needs time to pass: out of descriptors (EMFILE, ENFILE) or kernel memory
//! (ENOBUFS, ENOMEM). Then the hub keeps serving the clients it has and tries
//! again after `net::ACCEPT_BACKOFF`; the connections wait in the kernel's
//! backlog meanwhile. Only listeners with an event are tried, and "empty" is
//! asked of poll(2) rather than found by an accept that fails with EAGAIN,
//! which costs as much as a successful one (see `net::backlog_pending`).

use super::{chat, Client, Hub, Tap, Watch, FIRST_CLIENT};
use crate::child::ConnInfo;
use crate::config::{Fanout, Personality};
use crate::log::describe;
use crate::net;
use crate::relay::transport::Tls;
use crate::relay::Transport;
use mio::unix::SourceFd;
use mio::{Interest, Token};
use nix::libc;
use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

impl Hub<'_> {
    /// Accept from every listener marked ready, until its backlog is empty.
    pub(super) fn accept_all(&mut self) {
        for i in 0..self.listeners.socks.len() {
            if !std::mem::take(&mut self.listener_ready[i]) {
                continue;
            }
            loop {
                let (fd, local) = &self.listeners.socks[i];
                let local = *local;
                match net::accept(fd) {
                    Ok((conn, peer)) => {
                        self.emfile_reported = false;
                        self.admit(conn, peer, local);
                        if !net::backlog_pending(&self.listeners.socks[i].0) {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // The listener was shut for an orderly exit (see `signals`).
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
                    // The client gave up while it waited in the backlog.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                        ) || e.raw_os_error() == Some(libc::EPROTO) =>
                    {
                        continue
                    }
                    Err(e) => {
                        // Out of descriptors (or worse): keep the clients we
                        // have and retry soon; said once per episode.
                        if !self.emfile_reported {
                            self.emfile_reported = true;
                            self.log
                                .info(format!("Ncat: accept: {}; retrying.", describe(&e)));
                        }
                        self.accept_paused_until = Some(Instant::now() + net::ACCEPT_BACKOFF);
                        // Its backlog is still there; listeners not tried
                        // yet keep their mark.
                        self.listener_ready[i] = true;
                        return;
                    }
                }
            }
        }
    }

    /// A new connection: checked against the access list and `-m`, then set up.
    fn admit(&mut self, conn: OwnedFd, peer: Option<SocketAddr>, local: Option<SocketAddr>) {
        // The local address is only for hooks: no getsockname(2) otherwise.
        let info = ConnInfo {
            local: if self.cfg.on_close.is_some() {
                net::local_addr(&conn)
            } else {
                local
            },
            remote: peer,
            proto: self.cfg.proto,
        };
        if !crate::access::admit(self.cfg.access.as_ref(), self.log, peer, local) {
            drop(conn);
            self.refused(info, "denied");
            return;
        }
        if self.count >= self.cfg.max_conns {
            self.log.info(format!(
                "Ncat: New connection denied: connection limit reached ({})",
                self.cfg.max_conns
            ));
            drop(conn);
            self.refused(info, "limit");
            return;
        }
        let user = conn.as_raw_fd();
        let addr = peer.map(|p| p.ip().to_canonical());
        match (self.fanout, self.cfg.personality, addr, peer) {
            (Fanout::Chat, Personality::Ncat, Some(ip), Some(p)) => {
                self.log.info(format!(
                    "Ncat: Connection from {ip} on file descriptor {user}."
                ));
                self.log.info(format!(
                    "Ncat: Connection from {}.",
                    crate::log::ncat_addr(&p)
                ));
            }
            _ => self.log.connection_from(peer.as_ref(), local.as_ref()),
        }
        let transport = match &self.tls {
            Some(server) => match rustls::ServerConnection::new(Arc::clone(server)) {
                Ok(c) => Transport::Tls(Box::new(Tls::new(c.into(), conn, None))),
                Err(e) => {
                    self.log.info(format!("Ncat: {e}"));
                    return;
                }
            },
            None => Transport::Plain {
                fd: conn,
                datagram: false,
            },
        };
        let id = self.free.pop().unwrap_or_else(|| {
            self.clients.push(None);
            self.clients.len() - 1
        });
        // TLS writes during its handshake: watch both from the start. A plain
        // client is read at once, in this turn of the loop, and enters the
        // epoll set only when a read would block (see `Watch`).
        let tls = matches!(transport, Transport::Tls(_));
        if tls {
            let interest = Interest::READABLE | Interest::WRITABLE;
            let token = Token(FIRST_CLIENT + id);
            if let Err(e) = self
                .poll
                .registry()
                .register(&mut SourceFd(&user), token, interest)
            {
                self.log.info(format!("Ncat: {}.", describe(&e)));
                self.free.push(id);
                return;
            }
        } else {
            self.fresh.push(id);
        }
        let mut client = Client {
            transport,
            queue: VecDeque::new(),
            offset: 0,
            queued: 0,
            // epoll reports whatever is already pending when a socket is
            // registered, so a TLS client has nothing to try before its first
            // event.
            readable: !tls,
            writable: true,
            watch: if tls {
                Watch::ReadsAndWrites
            } else {
                Watch::Nothing
            },
            read_eof: false,
            write_shut: false,
            tap: self.hooks.as_ref().map(|_| {
                Box::new(Tap {
                    info,
                    started: Instant::now(),
                    bytes_in: 0,
                    bytes_out: 0,
                    payload: Vec::new(),
                    reason: "eof",
                })
            }),
        };
        if self.stdin_eof && self.fanout == Fanout::Stdio {
            // A client that arrives after stdin ended gets all of it again,
            // then its half-close.
            for chunk in self.history.iter().flatten() {
                client.queued += chunk.len();
                client.queue.push_back(Rc::clone(chunk));
            }
            self.woken.push(id);
        }
        if self.fanout == Fanout::Chat {
            let mut others: Vec<(i32, String)> = self
                .clients
                .iter()
                .flatten()
                .map(|c| (c.user(), chat_addr(peer_ip(c))))
                .collect();
            let news = chat::connected(&chat_addr(addr), user);
            self.clients[id] = Some(client);
            self.broadcast(news.into());
            self.broadcast(chat::already_connected(&mut others).into());
        } else {
            self.clients[id] = Some(client);
        }
        self.count += 1;
    }
}

impl Hub<'_> {
    /// A connection closed unserved, for `--on-close`.
    fn refused(&self, info: ConnInfo, reason: &'static str) {
        if let Some(tx) = &self.hooks {
            let _ = tx.send(Some(crate::run::failed_event(info, reason)));
        }
    }
}

/// A client's address, asked of its socket (kept nowhere: chat mode alone
/// needs it, and only when someone arrives).
fn peer_ip(c: &Client) -> Option<IpAddr> {
    let fd = c.transport.fd();
    socket2::SockRef::from(&fd)
        .peer_addr()
        .ok()
        .and_then(|a| a.as_socket())
        .map(|a| a.ip().to_canonical())
}

/// How chat announcements name an address (a Unix socket client has none;
/// ncat refuses to broker those at all).
fn chat_addr(ip: Option<IpAddr>) -> String {
    ip.map_or_else(|| "localhost".to_string(), |ip| ip.to_string())
}
