//! The EOF and half-close policy: the whole of it, in one small function.
//!
//! The session reports where each direction stands (`Progress`); `next` says
//! what to do about it. Reference §2 and §6 (ncat ≥ 7.96 semantics):
//!
//! | situation                                   | step                           |
//! |---------------------------------------------|--------------------------------|
//! | stdin ended and sent, peer ended and written | quit                           |
//! | peer ended and written, stdin idle or unread | quit (unless connect-mode `-k`) |
//! | stdin ended and sent, stream, not yet shut   | half-close (unless `--no-shutdown`) |
//! | stdin ended and sent, `-q T`, timer unarmed  | arm the quit timer at T        |
//! | otherwise                                    | continue                       |
//!
//! "Idle" stdin means nothing is buffered and nothing can be read without
//! waiting: a FIN from the peer ends the session only after every stdin byte
//! that is already available (a regular file to its end, a pipe's contents) has
//! been sent, so no data is dropped (reference §2.6).

use crate::config::EofPolicy;
use std::time::Duration;

/// Where a session stands, as far as EOF is concerned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// stdin reached EOF and every byte read from it has been sent.
    pub stdin_done: bool,
    /// Nothing from stdin is buffered and stdin has nothing ready now.
    pub stdin_idle: bool,
    /// The peer finished sending and everything received has been written out.
    pub socket_done: bool,
    /// The transport can half-close (streams; not datagrams).
    pub stream: bool,
    /// We already half-closed.
    pub write_shut: bool,
    /// The `-q` timer is already armed.
    pub quit_armed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Continue,
    HalfClose,
    ArmQuit(Duration),
    Quit,
}

pub fn next(policy: &EofPolicy, p: &Progress) -> Step {
    if p.stdin_done && p.socket_done {
        return Step::Quit;
    }
    if p.socket_done && policy.quit_on_socket_eof && (p.stdin_idle || !policy.read_stdin) {
        return Step::Quit;
    }
    if p.stdin_done {
        if policy.shutdown_on_stdin_eof && p.stream && !p.write_shut {
            return Step::HalfClose;
        }
        if let (Some(d), false) = (policy.quit_after_stdin_eof, p.quit_armed) {
            return Step::ArmQuit(d);
        }
    }
    Step::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp() -> Progress {
        Progress {
            stream: true,
            ..Progress::default()
        }
    }

    #[test]
    fn stdin_eof_half_closes_then_waits_for_the_peer() {
        let pol = EofPolicy::default();
        let p = Progress {
            stdin_done: true,
            stdin_idle: true,
            ..tcp()
        };
        assert_eq!(next(&pol, &p), Step::HalfClose);
        let p = Progress {
            write_shut: true,
            ..p
        };
        assert_eq!(next(&pol, &p), Step::Continue);
        let p = Progress {
            socket_done: true,
            ..p
        };
        assert_eq!(next(&pol, &p), Step::Quit);
    }

    #[test]
    fn socket_eof_quits_only_when_stdin_has_nothing_ready() {
        let pol = EofPolicy::default();
        let busy = Progress {
            socket_done: true,
            stdin_idle: false,
            ..tcp()
        };
        assert_eq!(next(&pol, &busy), Step::Continue);
        let idle = Progress {
            stdin_idle: true,
            ..busy
        };
        assert_eq!(next(&pol, &idle), Step::Quit);
    }

    #[test]
    fn connect_mode_keep_open_outlives_socket_eof() {
        let pol = EofPolicy {
            quit_on_socket_eof: false,
            ..EofPolicy::default()
        };
        let p = Progress {
            socket_done: true,
            stdin_idle: true,
            ..tcp()
        };
        assert_eq!(next(&pol, &p), Step::Continue);
        let p = Progress {
            stdin_done: true,
            ..p
        };
        assert_eq!(next(&pol, &p), Step::Quit);
    }

    #[test]
    fn no_shutdown_never_half_closes() {
        let pol = EofPolicy {
            shutdown_on_stdin_eof: false,
            ..EofPolicy::default()
        };
        let p = Progress {
            stdin_done: true,
            stdin_idle: true,
            ..tcp()
        };
        assert_eq!(next(&pol, &p), Step::Continue);
    }

    #[test]
    fn quit_timer_is_armed_after_the_half_close() {
        let pol = EofPolicy {
            quit_after_stdin_eof: Some(Duration::from_secs(1)),
            ..EofPolicy::default()
        };
        let p = Progress {
            stdin_done: true,
            stdin_idle: true,
            ..tcp()
        };
        assert_eq!(next(&pol, &p), Step::HalfClose);
        let p = Progress {
            write_shut: true,
            ..p
        };
        assert_eq!(next(&pol, &p), Step::ArmQuit(Duration::from_secs(1)));
        let p = Progress {
            quit_armed: true,
            ..p
        };
        assert_eq!(next(&pol, &p), Step::Continue);
    }

    #[test]
    fn udp_never_half_closes_and_waits_at_stdin_eof() {
        let pol = EofPolicy::default();
        let p = Progress {
            stdin_done: true,
            stdin_idle: true,
            stream: false,
            ..Progress::default()
        };
        assert_eq!(next(&pol, &p), Step::Continue);
    }

    #[test]
    fn recv_only_quits_at_socket_eof_with_stdin_unread() {
        let pol = EofPolicy {
            read_stdin: false,
            ..EofPolicy::default()
        };
        let p = Progress {
            socket_done: true,
            ..tcp()
        };
        assert_eq!(next(&pol, &p), Step::Quit);
    }

    #[test]
    fn send_only_quits_at_stdin_eof() {
        let pol = EofPolicy {
            write_stdout: false,
            quit_after_stdin_eof: Some(Duration::ZERO),
            ..EofPolicy::default()
        };
        let p = Progress {
            stdin_done: true,
            stdin_idle: true,
            write_shut: true,
            ..tcp()
        };
        assert_eq!(next(&pol, &p), Step::ArmQuit(Duration::ZERO));
    }
}
