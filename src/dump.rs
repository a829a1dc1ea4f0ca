//! Session logs: `-o/--output` (raw), `-x/--hex-dump` (ncat's hex format) and
//! traditional nc's `-o` (its own hex format), with `--append-output`
//! (reference §3.9).
//!
//! The relay hands every chunk to [`Dump::sent`] (data going to the peer) or
//! [`Dump::received`] (data from the peer), in the order the chunks moved.
//! Each chunk is written to each file at once, unbuffered, so the logs are
//! complete even if rnc is killed.
//!
//! Formats, exactly as the netcats write them:
//! - raw: the bytes of both directions interleaved, with no markers;
//! - ncat hex: per chunk, lines of 16 bytes; the offset (4+ hex digits)
//!   **restarts at 0000 for every chunk**; two groups of eight; the text column
//!   shows printable characters other than space, and `.` for everything else
//!   (space included), padded to 16 columns; no direction marker;
//! - traditional hex: `<` for received and `>` for sent, an 8-digit offset
//!   that runs on per direction across the whole session, the bytes, then `# `
//!   and the text (printable characters and space, `.` otherwise, not padded).
//!   Each chunk starts a new line.

use crate::config::DumpOptions;
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// The open log files of a run.
#[derive(Debug)]
pub struct Dump {
    raw: Option<File>,
    hex: Option<File>,
    trad: Option<File>,
    /// Traditional format offsets: bytes sent and received so far.
    sent_offset: u64,
    received_offset: u64,
    /// The first write error (the file is then no longer written).
    error: Option<io::Error>,
    text: String,
}

fn open(path: &Path, append: bool, option: &str) -> Result<File> {
    let mut o = OpenOptions::new();
    o.create(true);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(true);
    }
    o.open(path).map_err(|e| {
        Error::usage(
            option,
            format!(
                "cannot open '{}': {}",
                path.display().to_string().escape_debug(),
                crate::log::describe(&e)
            ),
        )
    })
}

impl Dump {
    /// Open (create, truncate or append) every file `o` names; `None` when it
    /// names none. Failing to open one is a usage error naming the option.
    pub fn open(o: &DumpOptions) -> Result<Option<Dump>> {
        if !o.any() {
            return Ok(None);
        }
        let opt = |p: &Option<std::path::PathBuf>, name: &str| -> Result<Option<File>> {
            p.as_deref().map(|p| open(p, o.append, name)).transpose()
        };
        Ok(Some(Dump {
            raw: opt(&o.raw, "--output")?,
            hex: opt(&o.hex, "--hex-dump")?,
            trad: opt(&o.trad_hex, "-o")?,
            sent_offset: 0,
            received_offset: 0,
            error: None,
            text: String::new(),
        }))
    }

    /// Log a chunk that was sent to the peer.
    pub fn sent(&mut self, bytes: &[u8]) {
        self.chunk(bytes, true);
    }

    /// Log a chunk that was received from the peer.
    pub fn received(&mut self, bytes: &[u8]) {
        self.chunk(bytes, false);
    }

    /// The first write error, if any (the relay may report it); taking it does
    /// not re-enable the file that failed.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    fn chunk(&mut self, bytes: &[u8], sent: bool) {
        if bytes.is_empty() {
            return;
        }
        let mut errors = Vec::new();
        if let Some(f) = &mut self.raw {
            if let Err(e) = f.write_all(bytes) {
                errors.push(e);
                self.raw = None;
            }
        }
        if let Some(f) = &mut self.hex {
            self.text.clear();
            ncat_hex(bytes, &mut self.text);
            if let Err(e) = f.write_all(self.text.as_bytes()) {
                errors.push(e);
                self.hex = None;
            }
        }
        if let Some(f) = &mut self.trad {
            let offset = if sent {
                &mut self.sent_offset
            } else {
                &mut self.received_offset
            };
            self.text.clear();
            trad_hex(bytes, if sent { '>' } else { '<' }, *offset, &mut self.text);
            *offset += bytes.len() as u64;
            if let Err(e) = f.write_all(self.text.as_bytes()) {
                errors.push(e);
                self.trad = None;
            }
        }
        if self.error.is_none() {
            self.error = errors.into_iter().next();
        }
        if self.text.capacity() > 1 << 20 {
            self.text = String::new();
        }
    }
}

/// Append `chunk` to `out` in ncat's `-x` format.
pub fn ncat_hex(chunk: &[u8], out: &mut String) {
    for (n, line) in chunk.chunks(16).enumerate() {
        let _ = write!(out, "{:04x}   ", n * 16);
        for i in 0..16 {
            match line.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i == 7 {
                out.push(' ');
            }
        }
        out.push(' ');
        for i in 0..16 {
            out.push(match line.get(i) {
                Some(&b) if b.is_ascii_graphic() => char::from(b),
                Some(_) => '.',
                None => ' ',
            });
        }
        out.push('\n');
    }
}

/// Append `chunk` to `out` in traditional nc's `-o` format; `dir` is `>`
/// (sent) or `<` (received), `offset` the direction's byte count so far.
pub fn trad_hex(chunk: &[u8], dir: char, offset: u64, out: &mut String) {
    for (n, line) in chunk.chunks(16).enumerate() {
        let _ = write!(out, "{dir} {:08x} ", offset + (n as u64) * 16);
        for i in 0..16 {
            match line.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("# ");
        for &b in line {
            out.push(if b == b' ' || b.is_ascii_graphic() {
                char::from(b)
            } else {
                '.'
            });
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn ncat(chunk: &[u8]) -> String {
        let mut s = String::new();
        ncat_hex(chunk, &mut s);
        s
    }

    fn trad(chunk: &[u8], dir: char, offset: u64) -> String {
        let mut s = String::new();
        trad_hex(chunk, dir, offset, &mut s);
        s
    }

    /// `n` bytes 0x20, 0x25, 0x2a, ... (the measurement's pattern).
    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| ((0x20 + i * 5) % 256) as u8).collect()
    }

    // Expected texts below were produced by ncat 7.93 and nc.traditional 1.10-47
    // on the same chunks.

    #[test]
    fn ncat_format_matches_ncat() {
        assert_eq!(
            ncat(b"GET / HTTP/1.0\r\n\r\nabcdefghijklmnopqrstuvwxyz"),
            "0000   47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  GET./.HTTP/1.0..\n\
             0010   0d 0a 61 62 63 64 65 66  67 68 69 6a 6b 6c 6d 6e  ..abcdefghijklmn\n\
             0020   6f 70 71 72 73 74 75 76  77 78 79 7a              opqrstuvwxyz    \n"
        );
        assert_eq!(
            ncat(b"server-reply\x00\x01\xff\n"),
            "0000   73 65 72 76 65 72 2d 72  65 70 6c 79 00 01 ff 0a  server-reply....\n"
        );
        assert_eq!(
            ncat(&pattern(1)),
            "0000   20                                                .               \n"
        );
        assert_eq!(
            ncat(&pattern(7)),
            "0000   20 25 2a 2f 34 39 3e                              .%*/49>         \n"
        );
        assert_eq!(
            ncat(&pattern(8)),
            "0000   20 25 2a 2f 34 39 3e 43                           .%*/49>C        \n"
        );
        assert_eq!(
            ncat(&pattern(9)),
            "0000   20 25 2a 2f 34 39 3e 43  48                       .%*/49>CH       \n"
        );
        assert_eq!(
            ncat(&pattern(15)),
            "0000   20 25 2a 2f 34 39 3e 43  48 4d 52 57 5c 61 66     .%*/49>CHMRW\\af \n"
        );
        assert_eq!(
            ncat(&pattern(17)),
            "0000   20 25 2a 2f 34 39 3e 43  48 4d 52 57 5c 61 66 6b  .%*/49>CHMRW\\afk\n\
             0010   70                                                p               \n"
        );
        assert_eq!(
            ncat(b" ~\x7f\x80\xa0\xff\t"),
            "0000   20 7e 7f 80 a0 ff 09                              .~.....         \n"
        );
        assert_eq!(ncat(b""), "");
        // Offsets are lowercase hex and grow past four digits.
        let big: Vec<u8> = (0..=255u8).cycle().take(0x10010).collect();
        let text = ncat(&big);
        assert!(text.contains(
            "\n00a0   a0 a1 a2 a3 a4 a5 a6 a7  a8 a9 aa ab ac ad ae af  ................\n"
        ));
        assert!(text.ends_with(
            "\n10000   00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  ................\n"
        ));
        assert!(text.lines().all(|l| l.len() == 73 || l.starts_with("1")));
    }

    #[test]
    fn trad_format_matches_traditional_nc() {
        assert_eq!(
            trad(b"server-reply\x00\x01\xff\n", '<', 0),
            "< 00000000 73 65 72 76 65 72 2d 72 65 70 6c 79 00 01 ff 0a # server-reply....\n"
        );
        assert_eq!(
            trad(b"GET / HTTP/1.0\r\n\r\nabcdefghijklmnopqrstuvwxyz", '>', 0),
            "> 00000000 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 30 0d 0a # GET / HTTP/1.0..\n\
             > 00000010 0d 0a 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e # ..abcdefghijklmn\n\
             > 00000020 6f 70 71 72 73 74 75 76 77 78 79 7a             # opqrstuvwxyz\n"
        );
        assert_eq!(
            trad(&pattern(1), '<', 0),
            "< 00000000 20                                              #  \n"
        );
        assert_eq!(
            trad(&pattern(9), '<', 8),
            "< 00000008 20 25 2a 2f 34 39 3e 43 48                      #  %*/49>CH\n"
        );
        assert_eq!(
            trad(b" ~\x7f\x80\xa0\xff\t", '<', 0x6a),
            "< 0000006a 20 7e 7f 80 a0 ff 09                            #  ~.....\n"
        );
        assert_eq!(trad(b"", '<', 5), "");
    }

    struct TempFiles(PathBuf);

    impl TempFiles {
        fn new(tag: &str) -> TempFiles {
            let d = std::env::temp_dir().join(format!("rnc-dump-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            if let Err(e) = std::fs::create_dir_all(&d) {
                panic!("{e}");
            }
            TempFiles(d)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
        fn read(&self, name: &str) -> Vec<u8> {
            std::fs::read(self.path(name)).unwrap_or_default()
        }
    }

    impl Drop for TempFiles {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn open_ok(o: &DumpOptions) -> Dump {
        match Dump::open(o) {
            Ok(Some(d)) => d,
            Ok(None) => panic!("no dump"),
            Err(e) => panic!("{e}"),
        }
    }

    /// The session of the measurement: two received chunks, one sent, one
    /// received.
    fn session(d: &mut Dump) {
        d.received(b"server-reply\x00\x01\xff\n");
        d.received(b"abc def ghi\tjkl\r\nmnopqrstuvwxyz0123456789!@#$%^&*()");
        d.sent(b"GET / HTTP/1.0\r\n\r\nabcdefghijklmnopqrstuvwxyz");
        d.sent(b"");
        d.received(b"x");
    }

    #[test]
    fn session_in_every_format() {
        let t = TempFiles::new("all");
        let o = DumpOptions {
            raw: Some(t.path("raw")),
            hex: Some(t.path("hex")),
            trad_hex: Some(t.path("trad")),
            append: false,
        };
        let mut d = open_ok(&o);
        session(&mut d);
        assert!(d.take_error().is_none());
        drop(d);
        assert_eq!(
            t.read("raw"),
            b"server-reply\x00\x01\xff\nabc def ghi\tjkl\r\nmnopqrstuvwxyz0123456789!@#$%^&*()\
              GET / HTTP/1.0\r\n\r\nabcdefghijklmnopqrstuvwxyzx"
        );
        assert_eq!(
            String::from_utf8_lossy(&t.read("hex")),
            "0000   73 65 72 76 65 72 2d 72  65 70 6c 79 00 01 ff 0a  server-reply....\n\
             0000   61 62 63 20 64 65 66 20  67 68 69 09 6a 6b 6c 0d  abc.def.ghi.jkl.\n\
             0010   0a 6d 6e 6f 70 71 72 73  74 75 76 77 78 79 7a 30  .mnopqrstuvwxyz0\n\
             0020   31 32 33 34 35 36 37 38  39 21 40 23 24 25 5e 26  123456789!@#$%^&\n\
             0030   2a 28 29                                          *()             \n\
             0000   47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  GET./.HTTP/1.0..\n\
             0010   0d 0a 61 62 63 64 65 66  67 68 69 6a 6b 6c 6d 6e  ..abcdefghijklmn\n\
             0020   6f 70 71 72 73 74 75 76  77 78 79 7a              opqrstuvwxyz    \n\
             0000   78                                                x               \n"
        );
        assert_eq!(
            String::from_utf8_lossy(&t.read("trad")),
            "< 00000000 73 65 72 76 65 72 2d 72 65 70 6c 79 00 01 ff 0a # server-reply....\n\
             < 00000010 61 62 63 20 64 65 66 20 67 68 69 09 6a 6b 6c 0d # abc def ghi.jkl.\n\
             < 00000020 0a 6d 6e 6f 70 71 72 73 74 75 76 77 78 79 7a 30 # .mnopqrstuvwxyz0\n\
             < 00000030 31 32 33 34 35 36 37 38 39 21 40 23 24 25 5e 26 # 123456789!@#$%^&\n\
             < 00000040 2a 28 29                                        # *()\n\
             > 00000000 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 30 0d 0a # GET / HTTP/1.0..\n\
             > 00000010 0d 0a 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e # ..abcdefghijklmn\n\
             > 00000020 6f 70 71 72 73 74 75 76 77 78 79 7a             # opqrstuvwxyz\n\
             < 00000043 78                                              # x\n"
        );
    }

    #[test]
    fn truncate_or_append() {
        let t = TempFiles::new("append");
        std::fs::write(t.path("raw"), b"old\n").unwrap_or_default();
        let mut o = DumpOptions {
            raw: Some(t.path("raw")),
            ..DumpOptions::default()
        };
        o.append = true;
        let mut d = open_ok(&o);
        d.sent(b"new\n");
        drop(d);
        assert_eq!(t.read("raw"), b"old\nnew\n");
        o.append = false;
        let mut d = open_ok(&o);
        d.received(b"fresh\n");
        drop(d);
        assert_eq!(t.read("raw"), b"fresh\n");
    }

    #[test]
    fn nothing_to_open() {
        assert!(matches!(Dump::open(&DumpOptions::default()), Ok(None)));
        // --append-output alone opens nothing.
        let o = DumpOptions {
            append: true,
            ..DumpOptions::default()
        };
        assert!(matches!(Dump::open(&o), Ok(None)));
    }

    #[test]
    fn open_errors_are_usage_errors() {
        let t = TempFiles::new("err");
        let o = DumpOptions {
            hex: Some(t.path("no/such/dir")),
            ..DumpOptions::default()
        };
        let e = Dump::open(&o).unwrap_err();
        assert_eq!(e.code, 2);
        assert_eq!(
            e.line,
            format!(
                "rnc: --hex-dump : cannot open '{}': No such file or directory",
                t.path("no/such/dir").display()
            )
        );
        let o = DumpOptions {
            raw: Some(t.0.clone()),
            ..DumpOptions::default()
        };
        let e = Dump::open(&o).unwrap_err();
        assert!(
            e.line.starts_with("rnc: --output : cannot open"),
            "{}",
            e.line
        );
        assert!(e.line.ends_with(": Is a directory"), "{}", e.line);
    }

    #[test]
    fn write_errors_are_kept() {
        let o = DumpOptions {
            raw: Some(PathBuf::from("/dev/full")),
            ..DumpOptions::default()
        };
        let mut d = open_ok(&o);
        d.sent(b"x");
        let e = d.take_error();
        assert!(e.is_some());
        // The failed file is dropped; later chunks are no error.
        d.sent(b"y");
        assert!(d.take_error().is_none());
    }
}
