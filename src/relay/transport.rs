//! The remote end of a session: a connected socket, optionally with TLS layered
//! between it and the plaintext the relay moves. The relay only ever sees
//! plaintext `read`/`write`, `flush` and `shutdown_write`.

use crate::sys;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

pub enum Transport {
    Plain { fd: OwnedFd, datagram: bool },
}

impl Transport {
    pub fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Transport::Plain { fd, .. } => fd.as_fd(),
        }
    }

    pub fn is_datagram(&self) -> bool {
        match self {
            Transport::Plain { datagram, .. } => *datagram,
        }
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
        }
    }

    /// Plaintext to the peer; a datagram socket sends `buf` as one datagram.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain { fd, .. } => sys::write(fd.as_fd(), buf),
        }
    }

    /// Push out anything the transport holds; `Ok(true)` once nothing is pending.
    pub fn flush(&mut self) -> io::Result<bool> {
        match self {
            Transport::Plain { .. } => Ok(true),
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
        }
    }
}
