//! Byte filters the relay runs on each chunk: `-C/--crlf` on data read from
//! stdin, and `-t/--telnet` on data received from the peer.
//!
//! Both are stateful, because a chunk boundary can fall anywhere: between the
//! CR and the LF of a CRLF, or inside a telnet command. Each has
//! `apply(&mut self, input, out)`, which appends the filtered bytes of `input`
//! to `out`; call it for every chunk in order.

/// `-C`: turn each LF into CRLF, leaving an LF that already follows a CR alone
/// (ncat and OpenBSD nc; reference §1.1 and §3.10). Traditional nc's `-C`
/// converts only an LF that ends a read, which is a bug and is not copied.
/// A lone CR is passed through unchanged.
#[derive(Debug, Clone, Default)]
pub struct Crlf {
    /// The last byte of the previous chunk was a CR.
    after_cr: bool,
}

impl Crlf {
    pub fn new() -> Crlf {
        Crlf::default()
    }

    pub fn apply(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len() + input.len() / 16);
        let mut rest = input;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            let before_cr = if i == 0 {
                self.after_cr
            } else {
                rest[i - 1] == b'\r'
            };
            out.extend_from_slice(&rest[..i]);
            if !before_cr {
                out.push(b'\r');
            }
            out.push(b'\n');
            self.after_cr = false;
            rest = &rest[i + 1..];
        }
        if let Some(&last) = rest.last() {
            self.after_cr = last == b'\r';
        }
        out.extend_from_slice(rest);
    }
}

/// Telnet protocol bytes (RFC 854).
pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    /// Saw IAC.
    Iac,
    /// Saw IAC and WILL/WONT/DO/DONT; the option byte comes next.
    Verb(u8),
    /// Inside IAC SB ... IAC SE.
    Sub,
    /// Inside a subnegotiation, saw IAC.
    SubIac,
}

/// `-t`: answer the peer's telnet option negotiation by refusing everything,
/// as ncat, OpenBSD nc and traditional nc do: `DO x` gets `WONT x` and
/// `WILL x` gets `DONT x`. `WONT` and `DONT` get no answer (we are already in
/// the state they ask for, and answering them could loop, RFC 1143).
///
/// Unlike those netcats, which answer only commands they happen to see whole
/// (ncat 7.93: only at the start of a read) and deliver the command bytes to
/// stdout, this filter follows commands across chunk boundaries and, by
/// default, removes them from the data: negotiation (3 bytes), other
/// two-byte commands (NOP, GA, ...) and subnegotiations (`IAC SB ... IAC SE`)
/// vanish, and an escaped `IAC IAC` becomes one 0xFF byte. [`Telnet::transparent`]
/// answers the same way but delivers every byte unchanged, as the netcats do.
///
/// Answers accumulate until [`Telnet::take_replies`]; the relay sends them to
/// the peer ahead of any further stdin data.
#[derive(Debug, Clone)]
pub struct Telnet {
    state: State,
    strip: bool,
    replies: Vec<u8>,
}

impl Default for Telnet {
    fn default() -> Self {
        Telnet::new()
    }
}

impl Telnet {
    /// Answer negotiation and strip telnet commands from the data.
    pub fn new() -> Telnet {
        Telnet {
            state: State::Data,
            strip: true,
            replies: Vec::new(),
        }
    }

    /// Answer negotiation but deliver every byte unchanged.
    pub fn transparent() -> Telnet {
        Telnet {
            strip: false,
            ..Telnet::new()
        }
    }

    /// Filter one chunk received from the peer into `out`, queueing answers.
    pub fn apply(&mut self, input: &[u8], out: &mut Vec<u8>) {
        if !self.strip {
            out.extend_from_slice(input);
        }
        let mut rest = input;
        while !rest.is_empty() {
            if self.state == State::Data {
                // Fast path: copy everything up to the next IAC.
                let n = rest.iter().position(|&b| b == IAC).unwrap_or(rest.len());
                if self.strip {
                    out.extend_from_slice(&rest[..n]);
                }
                rest = &rest[n..];
                if rest.is_empty() {
                    break;
                }
            }
            let b = rest[0];
            rest = &rest[1..];
            self.state = self.step(b, out);
        }
    }

    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> State {
        match self.state {
            State::Data => {
                // Only IAC reaches here (see `apply`).
                State::Iac
            }
            State::Iac => match b {
                IAC => {
                    if self.strip {
                        out.push(IAC);
                    }
                    State::Data
                }
                WILL | WONT | DO | DONT => State::Verb(b),
                SB => State::Sub,
                // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA, SE, or not a command.
                _ => State::Data,
            },
            State::Verb(verb) => {
                match verb {
                    DO => self.replies.extend_from_slice(&[IAC, WONT, b]),
                    WILL => self.replies.extend_from_slice(&[IAC, DONT, b]),
                    _ => {}
                }
                State::Data
            }
            State::Sub => {
                if b == IAC {
                    State::SubIac
                } else {
                    State::Sub
                }
            }
            State::SubIac => {
                if b == SE {
                    State::Data
                } else {
                    State::Sub
                }
            }
        }
    }

    /// Whether answers are waiting to be sent.
    pub fn has_replies(&self) -> bool {
        !self.replies.is_empty()
    }

    /// The answers queued so far (to send to the peer), leaving none queued.
    pub fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.replies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crlf_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = Crlf::new();
        let mut out = Vec::new();
        for ch in chunks {
            c.apply(ch, &mut out);
        }
        out
    }

    #[test]
    fn crlf_converts_bare_lf() {
        assert_eq!(crlf_chunks(&[b"hello\nworld\n"]), b"hello\r\nworld\r\n");
        assert_eq!(crlf_chunks(&[b"\n\n"]), b"\r\n\r\n");
        assert_eq!(crlf_chunks(&[b"no newline"]), b"no newline");
        assert_eq!(crlf_chunks(&[b""]), b"");
        assert_eq!(crlf_chunks(&[]), b"");
    }

    #[test]
    fn crlf_leaves_crlf_and_lone_cr() {
        assert_eq!(crlf_chunks(&[b"a\r\nb\n"]), b"a\r\nb\r\n");
        assert_eq!(crlf_chunks(&[b"a\rb\r"]), b"a\rb\r");
        assert_eq!(crlf_chunks(&[b"\r\r\n"]), b"\r\r\n");
        assert_eq!(crlf_chunks(&[b"\n\r\n\n"]), b"\r\n\r\n\r\n");
    }

    #[test]
    fn crlf_across_chunks() {
        // The CR ends one chunk, the LF starts the next: left alone.
        assert_eq!(
            crlf_chunks(&[b"GET / HTTP/1.0\r", b"\n"]),
            b"GET / HTTP/1.0\r\n"
        );
        assert_eq!(crlf_chunks(&[b"a\r", b"", b"\nb"]), b"a\r\nb");
        // A CR earlier in the previous chunk does not count.
        assert_eq!(crlf_chunks(&[b"a\rb", b"\n"]), b"a\rb\r\n");
        // An LF ending a chunk does not protect the next chunk's LF.
        assert_eq!(crlf_chunks(&[b"a\n", b"\n"]), b"a\r\n\r\n");
        assert_eq!(crlf_chunks(&[b"a\r\n", b"\n"]), b"a\r\n\r\n");
        // Byte by byte gives the same as one chunk.
        let text = b"one\ntwo\r\nthree\r\rfour\n\n\r";
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(crlf_chunks(&bytes), crlf_chunks(&[text]));
    }

    fn telnet_chunks(t: &mut Telnet, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for ch in chunks {
            t.apply(ch, &mut out);
        }
        out
    }

    #[test]
    fn telnet_refuses_options() {
        let mut t = Telnet::new();
        let out = telnet_chunks(&mut t, &[b"\xff\xfd\x01\xff\xfb\x03login: "]);
        assert_eq!(out, b"login: ");
        assert!(t.has_replies());
        assert_eq!(t.take_replies(), b"\xff\xfc\x01\xff\xfe\x03");
        assert!(!t.has_replies());
        assert_eq!(t.take_replies(), b"");
    }

    #[test]
    fn telnet_wont_and_dont_get_no_answer() {
        let mut t = Telnet::new();
        let out = telnet_chunks(&mut t, &[b"a\xff\xfc\x01b\xff\xfe\x05c"]);
        assert_eq!(out, b"abc");
        assert_eq!(t.take_replies(), b"");
    }

    #[test]
    fn telnet_commands_in_the_middle() {
        // The data from the measurement in the report: ncat answered nothing
        // here (commands not at the start of a read).
        let mut t = Telnet::new();
        let out = telnet_chunks(
            &mut t,
            &[b"hello\xff\xfd\x01\xff\xfb\x03world\xff\xff!\xff\xfe\x05\xff\xfc\x06"],
        );
        assert_eq!(out, b"helloworld\xff!");
        assert_eq!(t.take_replies(), b"\xff\xfc\x01\xff\xfe\x03");
    }

    #[test]
    fn telnet_escaped_iac_and_two_byte_commands() {
        let mut t = Telnet::new();
        let out = telnet_chunks(&mut t, &[b"\xff\xff\xff\xf1x\xff\xf9y\xff\xf6"]);
        assert_eq!(out, b"\xffxy");
        assert_eq!(t.take_replies(), b"");
    }

    #[test]
    fn telnet_subnegotiation_is_removed() {
        let mut t = Telnet::new();
        // IAC SB TTYPE SEND IAC SE, with an escaped IAC inside.
        let out = telnet_chunks(&mut t, &[b"B\xff\xfa\x18\x01\xff\xff\x02\xff\xf0C"]);
        assert_eq!(out, b"BC");
        assert_eq!(t.take_replies(), b"");
    }

    #[test]
    fn telnet_sequences_split_across_chunks() {
        let mut t = Telnet::new();
        let out = telnet_chunks(
            &mut t,
            &[
                b"A\xff",
                b"\xfd",
                b"\x18B\xff\xfa",
                b"\x18\x01\xff",
                b"\xf0C\xff",
                b"\xff",
                b"D",
            ],
        );
        assert_eq!(out, b"ABC\xffD");
        assert_eq!(t.take_replies(), b"\xff\xfc\x18");

        // Every possible split of a mixed stream gives the same result.
        let stream: &[u8] =
            b"x\xff\xfd\x01y\xff\xfb\x03\xff\xff\xff\xfa\x1f\x00\x50\xff\xf0z\xff\xf1!";
        let mut whole = Telnet::new();
        let want_out = telnet_chunks(&mut whole, &[stream]);
        let want_replies = whole.take_replies();
        assert_eq!(want_out, b"xy\xffz!");
        assert_eq!(want_replies, b"\xff\xfc\x01\xff\xfe\x03");
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let mut t = Telnet::new();
                let out = telnet_chunks(&mut t, &[&stream[..i], &stream[i..j], &stream[j..]]);
                assert_eq!(out, want_out, "split at {i}, {j}");
                assert_eq!(t.take_replies(), want_replies, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn telnet_replies_accumulate_until_taken() {
        let mut t = Telnet::new();
        let _ = telnet_chunks(&mut t, &[b"\xff\xfd\x01"]);
        let _ = telnet_chunks(&mut t, &[b"\xff\xfd\x03"]);
        assert_eq!(t.take_replies(), b"\xff\xfc\x01\xff\xfc\x03");
    }

    #[test]
    fn telnet_transparent_keeps_bytes() {
        let mut t = Telnet::transparent();
        let input: &[u8] = b"hi\xff\xfd\x01\xff\xff\xff\xfa\x18\x01\xff\xf0";
        let out = telnet_chunks(&mut t, &[&input[..4], &input[4..]]);
        assert_eq!(out, input);
        assert_eq!(t.take_replies(), b"\xff\xfc\x01");
    }

    #[test]
    fn telnet_plain_data_untouched() {
        let mut t = Telnet::new();
        let data: Vec<u8> = (0u8..=254).collect();
        assert_eq!(telnet_chunks(&mut t, &[&data]), data);
        assert!(!t.has_replies());
    }
}
