//! `--chat` wording, byte for byte as ncat 7.93 writes it (measured).
//!
//! - Each client is `<userN>`, N being its descriptor number in the server;
//!   stdin speaks as `<user0>`.
//! - Every read (at most [`CHUNK`] bytes) becomes one message: `<userN> `
//!   followed by the bytes, whatever they are: a partial line is sent as it
//!   comes, and the rest of it is a message of its own with its own prefix.
//! - Bytes other than printable ASCII, CR, LF and TAB are written as a
//!   backslash and three octal digits (`\001`, `\033`, `\177`, `\303`).
//! - On a connection everyone, the newcomer included, gets
//!   `<announce> ADDR is connected as <userN>.` and then
//!   `<announce> already connected: ADDR as <userA>, ADDR as <userB>.` (the
//!   others in descriptor order; `nobody` when there are none). When a client
//!   leaves the others get `<announce> <userN> is disconnected.`

use std::fmt::Write as _;

/// What one read takes: ncat's buffer size, so messages split where ncat's do.
pub const CHUNK: usize = 8192;

/// The user number of stdin (its descriptor).
pub const STDIN_USER: i32 = 0;

/// `<userN> ` and `data` with control characters escaped.
pub fn message(user: i32, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<user{user}> ").into_bytes();
    out.reserve(data.len());
    for &b in data {
        if matches!(b, 0x20..=0x7e | b'\r' | b'\n' | b'\t') {
            out.push(b);
        } else {
            out.extend_from_slice(format!("\\{b:03o}").as_bytes());
        }
    }
    out
}

pub fn connected(addr: &str, user: i32) -> Vec<u8> {
    format!("<announce> {addr} is connected as <user{user}>.\n").into_bytes()
}

/// `others`: (user, address) of everyone else, in any order.
pub fn already_connected(others: &mut [(i32, String)]) -> Vec<u8> {
    if others.is_empty() {
        return b"<announce> already connected: nobody.\n".to_vec();
    }
    others.sort_unstable_by_key(|(user, _)| *user);
    let mut s = String::from("<announce> already connected: ");
    for (i, (user, addr)) in others.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{addr} as <user{user}>");
    }
    s.push_str(".\n");
    s.into_bytes()
}

pub fn disconnected(user: i32) -> Vec<u8> {
    format!("<announce> <user{user}> is disconnected.\n").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_prefixed_and_escaped_like_ncat() {
        assert_eq!(message(4, b"hello\n"), b"<user4> hello\n");
        assert_eq!(message(0, b"part"), b"<user0> part");
        assert_eq!(
            message(4, b"ial\x01\x1b[0m\x7f\xff\t\r\n"),
            b"<user4> ial\\001\\033[0m\\177\\377\t\r\n".to_vec()
        );
        assert_eq!(
            message(4, b"\x00\x08\x0b\x0c\x1f a\x80\xc3\xa9\n"),
            b"<user4> \\000\\010\\013\\014\\037 a\\200\\303\\251\n".to_vec()
        );
        assert_eq!(message(12, b""), b"<user12> ");
    }

    #[test]
    fn announcements() {
        assert_eq!(
            connected("127.0.0.1", 5),
            b"<announce> 127.0.0.1 is connected as <user5>.\n"
        );
        assert_eq!(
            already_connected(&mut []),
            b"<announce> already connected: nobody.\n"
        );
        let mut others = vec![(5, "::1".to_string()), (4, "127.0.0.1".to_string())];
        assert_eq!(
            already_connected(&mut others),
            b"<announce> already connected: 127.0.0.1 as <user4>, ::1 as <user5>.\n".to_vec()
        );
        assert_eq!(disconnected(4), b"<announce> <user4> is disconnected.\n");
    }
}
