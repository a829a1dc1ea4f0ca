//! The remote end of a session: a connected socket, optionally with TLS layered
//! between it and the plaintext the relay moves. The relay only ever sees
//! plaintext `read`/`write`, `flush` and `shutdown_write`.

use crate::sys;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

pub enum Transport {
    Plain { fd: OwnedFd, datagram: bool },
    Tls(Box<Tls>),
}

/// Called once, when the TLS handshake completes (for `-v` reporting).
pub type OnHandshake = Box<dyn FnOnce(&rustls::Connection) + Send>;

/// A TLS connection over a non-blocking stream socket.
///
/// Ciphertext is read from the socket in large chunks (many records per
/// read(2)) and handed to rustls as it makes room; records go out with one
/// writev(2) for everything rustls has queued. Half-close is TLS half-close:
/// close_notify, then FIN once it is on the wire, and reading goes on until the
/// peer's close_notify or EOF.
pub struct Tls {
    conn: rustls::Connection,
    fd: OwnedFd,
    rx: Box<[u8]>,
    rx_start: usize,
    rx_end: usize,
    tcp_eof: bool,
    shut: Shut,
    /// A write was refused; see `take_unstalled`.
    stalled: bool,
    on_handshake: Option<OnHandshake>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shut {
    Open,
    /// close_notify queued; FIN follows once it has been written.
    Closing,
    Closed,
}

/// Ciphertext read per read(2).
const TLS_RX: usize = 256 * 1024;
/// rustls' own buffers for unsent records and pre-handshake plaintext.
const TLS_BUFFER_LIMIT: usize = 1 << 20;

struct FdWriter<'a>(BorrowedFd<'a>);

impl Write for FdWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        sys::write(self.0, buf)
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        sys::writev(self.0, bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Tls {
    pub fn new(
        mut conn: rustls::Connection,
        fd: OwnedFd,
        on_handshake: Option<OnHandshake>,
    ) -> Tls {
        conn.set_buffer_limit(Some(TLS_BUFFER_LIMIT));
        Tls {
            conn,
            fd,
            rx: Vec::new().into_boxed_slice(),
            rx_start: 0,
            rx_end: 0,
            tcp_eof: false,
            shut: Shut::Open,
            stalled: false,
            on_handshake,
        }
    }

    fn tls_error(&mut self, e: rustls::Error) -> io::Error {
        // Let the peer know why (rustls queued an alert).
        let _ = self.push();
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    /// Give rustls the ciphertext it has room for and process it.
    fn feed(&mut self) -> io::Result<()> {
        while self.rx_start < self.rx_end {
            let mut slice = &self.rx[self.rx_start..self.rx_end];
            match self.conn.read_tls(&mut slice) {
                Ok(n) => self.rx_start += n,
                // rustls' plaintext buffer is full: the reader must drain it first.
                Err(_) => break,
            }
            if let Err(e) = self.conn.process_new_packets() {
                return Err(self.tls_error(e));
            }
            self.check_handshake();
        }
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
        }
        Ok(())
    }

    fn check_handshake(&mut self) {
        if !self.conn.is_handshaking() {
            if let Some(f) = self.on_handshake.take() {
                f(&self.conn);
            }
        }
    }

    /// Write what rustls has queued; `Ok(true)` once nothing is left — which
    /// cannot be before the handshake is over, since plaintext written earlier
    /// waits inside rustls until then.
    fn push(&mut self) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut FdWriter(self.fd.as_fd())) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        if self.conn.is_handshaking() {
            return Ok(false);
        }
        if self.shut == Shut::Closing {
            self.shut = Shut::Closed;
            let _ = crate::net::shutdown_write(&self.fd);
        }
        Ok(true)
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed TCP without close_notify: its data is complete
                // as far as we can know; report EOF, as socat and OpenSSL's
                // lenient mode do.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.rx_start == self.rx_end {
                if self.tcp_eof {
                    return Ok(0);
                }
                if self.rx.is_empty() {
                    self.rx = vec![0u8; TLS_RX].into_boxed_slice();
                }
                let n = match sys::read(self.fd.as_fd(), &mut self.rx) {
                    // A peer that stops reading once it has its answer (wget
                    // leaves our close_notify unread) resets the connection:
                    // after our close_notify that is just the end of it.
                    Err(e)
                        if self.shut == Shut::Closed
                            && e.kind() == io::ErrorKind::ConnectionReset =>
                    {
                        0
                    }
                    r => r?,
                };
                if n == 0 {
                    self.tcp_eof = true;
                    let _ = self.conn.read_tls(&mut io::empty());
                    if let Err(e) = self.conn.process_new_packets() {
                        return Err(self.tls_error(e));
                    }
                    continue;
                }
                self.rx_start = 0;
                self.rx_end = n;
            }
            self.feed()?;
            // Handshake messages and alerts go out as soon as they exist.
            self.push()?;
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.shut != Shut::Open {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        // Drain first: rustls refuses plaintext while its record queue is full,
        // and "would block" must only be reported when the socket really is
        // full, or no writable edge would ever wake us.
        self.push()?;
        let n = self.conn.writer().write(buf)?;
        self.push()?;
        if n == 0 {
            self.stalled = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// A refused write can be retried although the socket sent no writable
    /// edge: the refusal came from rustls (handshake not finished, record queue
    /// full), and both conditions have since cleared.
    fn take_unstalled(&mut self) -> bool {
        if self.stalled && !self.conn.is_handshaking() && !self.conn.wants_write() {
            self.stalled = false;
            return true;
        }
        false
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        if self.shut == Shut::Open {
            self.conn.send_close_notify();
            self.shut = Shut::Closing;
        }
        self.push().map(|_| ())
    }
}

impl Transport {
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Transport::Plain { fd, .. } => fd.as_fd(),
            Transport::Tls(t) => t.fd.as_fd(),
        }
    }

    pub fn is_datagram(&self) -> bool {
        matches!(self, Transport::Plain { datagram: true, .. })
    }

    /// Whether the raw socket may be handed to splice(2).
    pub fn is_plain_stream(&self) -> bool {
        matches!(
            self,
            Transport::Plain {
                datagram: false,
                ..
            }
        )
    }

    /// Plaintext from the peer. `Ok(0)` is EOF on a stream and an empty datagram
    /// on a datagram socket.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain { fd, .. } => sys::read(fd.as_fd(), buf),
            Transport::Tls(t) => t.read(buf),
        }
    }

    /// Plaintext to the peer; a datagram socket sends `buf` as one datagram.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain { fd, .. } => sys::write(fd.as_fd(), buf),
            Transport::Tls(t) => t.write(buf),
        }
    }

    /// Push out anything the transport holds; `Ok(true)` once nothing is pending.
    pub fn flush(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain { .. } => Ok(true),
            Transport::Tls(t) => t.push(),
        }
    }

    /// Whether a write that was refused may now succeed without a writable
    /// event from the socket (TLS: the refusal was rustls', not the kernel's).
    pub fn take_unstalled(&mut self) -> bool {
        match self {
            Transport::Plain { .. } => false,
            Transport::Tls(t) => t.take_unstalled(),
        }
    }

    /// TLS: the server name the client asked for (SNI) and the negotiated ALPN.
    pub fn tls_names(&self) -> (Option<String>, Option<String>) {
        match self {
            Transport::Plain { .. } => (None, None),
            Transport::Tls(t) => {
                let sni = match &t.conn {
                    rustls::Connection::Server(c) => c.server_name().map(str::to_string),
                    rustls::Connection::Client(_) => None,
                };
                let alpn = t
                    .conn
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                (sni, alpn)
            }
        }
    }

    /// Tell the peer we are done sending (TCP FIN; TLS close_notify first).
    pub fn shutdown_write(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain {
                fd,
                datagram: false,
            } => crate::net::shutdown_write(fd),
            Transport::Plain { datagram: true, .. } => Ok(()),
            Transport::Tls(t) => t.shutdown_write(),
        }
    }
}
