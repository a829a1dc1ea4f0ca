//! Command line: the clap definition, personalities and resolution into `Config`.
//!
//! Flow: pick the personality (argv[0] < `RNC_COMPAT` < `--compat`, the last one
//! found by a pre-scan because it changes the grammar), build the clap `Command`
//! for that personality, parse, then resolve the matches into a validated
//! [`Config`]. Every failure is one line `rnc: <what> : <why>`, exit 2.

use crate::access::{AccessList, Rule};
use crate::config::{
    Address, ByteOptions, Config, DumpOptions, EofPolicy, Family, Fanout, HookSpec, Personality,
    Proto, ProxyDns, ProxyKind, ProxyServer, ProxySpec, Role, SockOptions, Timeouts, TlsOptions,
};
use crate::error::{Error, Result};
use clap::builder::PossibleValue;
use clap::error::{ContextKind, ErrorKind};
use clap::parser::ValueSource;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command, ValueHint};
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `parse` decided.
#[derive(Debug)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Box<Config>),
    /// Print `text` (stdout when `code` is 0, stderr otherwise) and exit with `code`
    /// (`--help`, `--version`).
    Exit { text: String, code: i32 },
}

/// Listen port when none is given in the ncat personality.
/// ncat's default for `--max-conns`.
pub const DEFAULT_MAX_CONNS: usize = 100;

pub const NCAT_DEFAULT_PORT: u16 = 31337;

/// Environment variable that selects the personality (weaker than `--compat`).
pub const COMPAT_ENV: &str = "RNC_COMPAT";

/// Parse `args` (argv[0] included) into a run configuration, reading `RNC_COMPAT`
/// from the environment.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Parsed> {
    parse_with_env(args, std::env::var_os(COMPAT_ENV))
}

/// [`parse`] with the value of `RNC_COMPAT` given explicitly (`None` = unset), so
/// tests need not touch the process environment.
pub fn parse_with_env<I: IntoIterator<Item = OsString>>(
    args: I,
    compat_env: Option<OsString>,
) -> Result<Parsed> {
    let args: Vec<OsString> = args.into_iter().collect();
    let argv0 = args
        .first()
        .cloned()
        .unwrap_or_else(|| OsString::from("rnc"));
    let personality = detect_personality(&args, compat_env.as_deref())?;
    // Start-up time matters: the long help's sections are laid out only when
    // asked for, and the command is parsed in place rather than cloned.
    let long_help = args.iter().skip(1).any(|a| a == "--help");
    let mut cmd = build_command(personality, true, long_help);
    let matches = match cmd.try_get_matches_from_mut(&args) {
        Ok(m) => m,
        Err(e) => return clap_error(e, &cmd, &args),
    };
    let m = Matches {
        m: &matches,
        cmd: &cmd,
        args: &args,
    };
    let cfg = resolve(&m, personality, prog_name(&argv0))?;
    Ok(Parsed::Run(Box::new(cfg)))
}

// ---------------------------------------------------------------------------
// Personality

/// The personality a program name selects: `nc`, `netcat`, `nc.openbsd` →
/// OpenBSD; `nc.traditional` → traditional; anything else → ncat.
pub fn personality_from_argv0(argv0: &OsStr) -> Personality {
    let base = Path::new(argv0)
        .file_name()
        .unwrap_or(argv0)
        .to_string_lossy();
    match base.as_ref() {
        "nc" | "netcat" | "nc.openbsd" => Personality::OpenBsd,
        "nc.traditional" => Personality::Traditional,
        _ => Personality::Ncat,
    }
}

/// A personality by its `--compat` / `RNC_COMPAT` name.
pub fn personality_from_name(name: &str) -> Option<Personality> {
    match name {
        "ncat" => Some(Personality::Ncat),
        "openbsd" => Some(Personality::OpenBsd),
        "traditional" => Some(Personality::Traditional),
        _ => None,
    }
}

const COMPAT_NAMES: &str = "ncat, openbsd or traditional";

fn named_personality(what: &str, value: &OsStr) -> Result<Personality> {
    value
        .to_str()
        .and_then(personality_from_name)
        .ok_or_else(|| {
            Error::usage(
                what,
                format!(
                    "unknown personality {} (expected {COMPAT_NAMES})",
                    quote_os(value)
                ),
            )
        })
}

/// argv[0] < `RNC_COMPAT` < `--compat` (last one wins; a pre-scan before clap,
/// because the personality decides the grammar).
fn detect_personality(args: &[OsString], env: Option<&OsStr>) -> Result<Personality> {
    let mut p = args
        .first()
        .map(|a| personality_from_argv0(a))
        .unwrap_or(Personality::Ncat);
    if let Some(v) = env.filter(|v| !v.is_empty()) {
        p = named_personality(COMPAT_ENV, v)?;
    }
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let bytes = a.as_encoded_bytes();
        if bytes == b"--" {
            break;
        }
        if bytes == b"--compat" {
            match it.next() {
                Some(v) => p = named_personality("--compat", v)?,
                None => break, // clap reports the missing value
            }
        } else if let Some(v) = bytes.strip_prefix(b"--compat=") {
            p = named_personality(
                "--compat",
                &OsString::from(String::from_utf8_lossy(v).as_ref()),
            )?;
        }
    }
    Ok(p)
}

fn prog_name(argv0: &OsStr) -> String {
    let base = Path::new(argv0)
        .file_name()
        .unwrap_or(argv0)
        .to_string_lossy();
    if base.is_empty() {
        "rnc".to_string()
    } else {
        base.into_owned()
    }
}

// ---------------------------------------------------------------------------
// The clap command

const H_MODE: &str = "Mode and address";
const H_TIME: &str = "Timing";
const H_FLOW: &str = "Data flow";
const H_SOCK: &str = "Socket options";
const H_TLS: &str = "TLS";
const H_ACCESS: &str = "Access control (listen mode)";
const H_LOG: &str = "Session logs";
const H_EXEC: &str = "Running a program";
const H_HOOK: &str = "Hooks (--on-close)";
const H_PROXY: &str = "Proxy";
const H_MISC: &str = "Other";

fn opt(id: &'static str, heading: &'static str) -> Arg {
    Arg::new(id).help_heading(heading).action(ArgAction::Set)
}

/// A TIME or SIZE option: `-w -1` is a bad value, not a missing one.
fn num_opt(id: &'static str, heading: &'static str) -> Arg {
    opt(id, heading).allow_negative_numbers(true)
}

fn flag(id: &'static str, heading: &'static str) -> Arg {
    Arg::new(id)
        .help_heading(heading)
        .action(ArgAction::SetTrue)
}

fn hidden_opt(id: &'static str) -> Arg {
    Arg::new(id)
        .action(ArgAction::Set)
        .hide(true)
        .value_parser(value_parser!(OsString))
}

fn hidden_flag(id: &'static str) -> Arg {
    Arg::new(id).action(ArgAction::SetTrue).hide(true)
}

/// Options of later issues: recognised, hidden, rejected with "not supported yet".
/// Ids listed in the order they are reported.
const LATER_ISSUE_IDS: &[&str] = &["min-ttl", "randomize", "sctp", "vsock"];

fn later_issue_args(p: Personality) -> Vec<Arg> {
    let obsd = p == Personality::OpenBsd;
    let mut v = Vec::new();
    if obsd {
        // OpenBSD: -m minimum TTL.
        v.push(hidden_opt("min-ttl").short('m'));
    }
    v.extend([
        hidden_opt("lua-exec").long("lua-exec"),
        hidden_flag("randomize").short('r'),
        hidden_flag("sctp").long("sctp"),
        hidden_flag("vsock").long("vsock"),
    ]);
    v
}

/// The proxy client's options (`proxy`). OpenBSD spells the address `-x` and
/// the user `-P`; `-X` names the protocol in every personality.
fn proxy_args(p: Personality) -> Vec<Arg> {
    let mut proxy = opt("proxy", H_PROXY)
        .long("proxy")
        .value_name("HOST[:PORT]")
        .help("Connect through the proxy at HOST[:PORT] (IPv6 as [::1]:3128; default port 3128 for http, 1080 for socks)");
    if p == Personality::OpenBsd {
        proxy = proxy.short('x');
    }
    let mut v = vec![
        proxy,
        opt("proxy-type", H_PROXY)
            .short('X')
            .long("proxy-type")
            .value_name("TYPE")
            .help("Proxy protocol: http (default), socks4 or socks5; -X also takes connect, 4 and 5. With -l, http makes rnc an HTTP proxy"),
        opt("proxy-auth", H_PROXY)
            .long("proxy-auth")
            .value_name("USER:PASS")
            .help("Credentials for the proxy: HTTP Basic or Digest (answered after a 407), SOCKS5 user/password, SOCKS4 user id (USER only); default: $NCAT_PROXY_AUTH. With -l --proxy-type http: what clients must send (Basic or Digest)"),
        opt("proxy-dns", H_PROXY)
            .long("proxy-dns")
            .value_name("WHO")
            .help("Who resolves the target's name: local, remote (the proxy; default), both (local first) or none"),
    ];
    if p == Personality::OpenBsd {
        v.push(
            opt("proxy-user", H_PROXY)
                .short('P')
                .value_name("USER")
                .help("User name for the proxy (no password)"),
        );
    }
    v
}

/// The clap command for personality `p`. The letters `-w -i -d -k -x -m` mean
/// what they mean in that family; long options keep their ncat meaning everywhere.
pub fn command(p: Personality) -> Command {
    build_command(p, true, true)
}

/// [`command`] without the hidden options (`--test` and those of later issues),
/// for shell completions, which would otherwise offer them.
pub fn docs_command(p: Personality) -> Command {
    build_command(p, false, true)
}

/// The command; `with_docs`: with the long help's extra sections (which
/// take a good part of rnc's start-up time to lay out).
fn build_command(p: Personality, with_hidden: bool, with_docs: bool) -> Command {
    let ncat = p == Personality::Ncat;
    let obsd = p == Personality::OpenBsd;
    let trad = p == Personality::Traditional;

    let listen_help = match p {
        Personality::Ncat => "Listen for one incoming connection (port 31337 when none is given)",
        Personality::OpenBsd => "Listen for one incoming connection (a port is required)",
        Personality::Traditional => {
            "Listen for one incoming connection (without a port the system picks one)"
        }
    };
    let wait_help = match p {
        Personality::Ncat => "Connect timeout",
        Personality::OpenBsd => {
            "Connect timeout; also quit when the connection has been idle this long"
        }
        Personality::Traditional => {
            "Connect timeout; also quit when idle this long once stdin has ended"
        }
    };

    let mut cmd = Command::new("rnc")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Read and write data across TCP, UDP and Unix sockets (netcat)")
        .long_about(
            "rnc reads data from standard input and sends it over a network connection, \
             and writes what it receives to standard output. It is a memory-safe netcat that \
             accepts the command lines of Nmap's ncat, OpenBSD nc and traditional nc; letters \
             that differ between them follow the selected personality (see PERSONALITIES).",
        )
        .override_usage(
            "rnc [OPTIONS] HOST PORT\n       rnc [OPTIONS] -l [HOST] [PORT]\n       \
             rnc [OPTIONS] -U [-l] PATH",
        )
        .disable_version_flag(true)
        .disable_help_flag(true)
        .args_override_self(true)
        .max_term_width(100)
        .after_help("See 'rnc --help' for personalities, end-of-file rules and exit codes.");
    if with_docs {
        cmd = cmd.after_long_help(doc_sections_text());
    }

    // Mode and address.
    cmd = cmd.args([
        flag("ipv4", H_MODE).short('4').help("Use IPv4 only"),
        flag("ipv6", H_MODE).short('6').help("Use IPv6 only"),
        flag("listen", H_MODE)
            .short('l')
            .long("listen")
            .help(listen_help),
        opt("source-port", H_MODE)
            .short('p')
            .long("source-port")
            .value_name("PORT")
            .help("Local port to connect from; with -l, the port to listen on"),
        opt("source", H_MODE)
            .short('s')
            .long("source")
            .value_name("ADDR")
            .value_hint(ValueHint::Hostname)
            .help(
                "Local address to connect from; with -l, the address to listen on; \
                 with -U -u, the local socket path",
            ),
        flag("nodns", H_MODE)
            .short('n')
            .long("nodns")
            .help("Do not resolve host names (only numeric addresses are accepted)"),
        flag("udp", H_MODE)
            .short('u')
            .long("udp")
            .help("Use UDP instead of TCP"),
        flag("unixsock", H_MODE).short('U').long("unixsock").help(
            "Use a Unix domain socket (a datagram socket with -u); @NAME is an abstract socket",
        ),
        flag("zero-io", H_MODE).short('z').help(
            "Zero-I/O mode: only report whether ports accept connections; PORT may be a \
             list or range (22,80,8000-8080), and several may be given",
        ),
    ]);

    // Timing.
    cmd = cmd.args([
        num_opt("wait", H_TIME)
            .short('w')
            .long("wait")
            .value_name("TIME")
            .help(wait_help),
        num_opt("quit-after-eof", H_TIME)
            .short('q')
            .value_name("TIME")
            .allow_negative_numbers(true)
            .help("Quit TIME after end of input on stdin (negative: never)"),
    ]);
    let mut idle = num_opt("idle-timeout", H_TIME)
        .long("idle-timeout")
        .value_name("TIME")
        .help("Quit when nothing has been sent or received for TIME");
    let mut delay = num_opt("delay", H_TIME)
        .long("delay")
        .value_name("TIME")
        .help("Sleep TIME after each chunk read from stdin");
    if ncat {
        idle = idle.short('i');
    } else {
        cmd = cmd.arg(
            num_opt("interval", H_TIME)
                .short('i')
                .value_name("TIME")
                .help("Send stdin one line at a time, sleeping TIME after each line"),
        );
    }
    if !obsd {
        delay = delay.short('d');
    }
    cmd = cmd.args([idle, delay]);

    // Data flow.
    let mut keep_open = flag("keep-open", H_FLOW).long("keep-open").help(
        "Listen mode: serve many clients at once (OpenBSD personality: one after another); \
         connect mode: do not quit when the peer closes, run until stdin is done too",
    );
    let mut max_conns = opt("max-conns", H_FLOW)
        .long("max-conns")
        .value_name("N")
        .value_parser(value_parser!(u32).range(1..))
        .help("With -l -k: at most N clients at once; more are accepted and closed (default 100)");
    if !obsd {
        max_conns = max_conns.short('m');
    }
    let mut no_stdin = flag("no-stdin", H_FLOW)
        .long("no-stdin")
        .help("Do not read stdin");
    if !trad {
        keep_open = keep_open.short('k');
    }
    if obsd {
        no_stdin = no_stdin.short('d');
    }
    cmd = cmd.args([
        opt("exec", H_EXEC)
            .short('e')
            .long("exec")
            .value_name("PROG")
            .help("Run PROG (split on blanks, no shell) for each connection, its stdin and stdout joined to the socket"),
        opt("sh-exec", H_EXEC)
            .short('c')
            .long("sh-exec")
            .value_name("CMD")
            .help("Run CMD with /bin/sh -c for each connection, its stdin and stdout joined to the socket"),
    ]);
    cmd = cmd.args([
        opt("on-close", H_HOOK)
            .long("on-close")
            .value_name("HOOK")
            .help("After each connection has closed, run HOOK (a script file, run like `bash FILE` unless executable, or a /bin/sh command line) with the client's bytes on its stdin and the connection in its environment (NCAT_*, RNC_*)"),
        num_opt("hook-max-input", H_HOOK)
            .long("hook-max-input")
            .value_name("SIZE")
            .help("At most SIZE bytes of what the client sent are given to the hook (default 1M)"),
        num_opt("hook-timeout", H_HOOK)
            .long("hook-timeout")
            .value_name("TIME")
            .help("Kill a hook that runs longer than TIME"),
        flag("hook-coalesce", H_HOOK)
            .long("hook-coalesce")
            .help("With -k: connections that close while a hook runs lead to one more run, with the latest data"),
    ]);
    cmd = cmd.args([
        keep_open,
        max_conns,
        flag("broker", H_FLOW).long("broker").help(
            "Connection broker: listen (-l is implied) and send what each client sends to every \
             other client; stdin goes to every client, stdout is not used",
        ),
        flag("chat", H_FLOW).long("chat").help(
            "Chat server (with -l): a broker that names each client <userN>, announces who \
             comes and goes, and escapes control characters",
        ),
        no_stdin,
        flag("send-only", H_FLOW)
            .long("send-only")
            .help("Only send data; discard what is received and quit at end of stdin"),
        flag("recv-only", H_FLOW)
            .long("recv-only")
            .help("Only receive data; never read stdin or send"),
        flag("no-shutdown", H_FLOW)
            .long("no-shutdown")
            .help("Do not half-close the connection (shutdown SHUT_WR) at end of stdin"),
        flag("half-close", H_FLOW)
            .short('N')
            .help("Half-close at end of stdin (accepted for OpenBSD nc; this is the default)"),
        flag("crlf", H_FLOW)
            .short('C')
            .long("crlf")
            .help("Send LF read from stdin as CRLF (an existing CRLF is left alone)"),
        flag("telnet", H_FLOW).short('t').long("telnet").help(
            "Refuse the peer's telnet option negotiation and remove telnet commands from the data",
        ),
    ]);

    // Session logs.
    let file_opt = |id: &'static str| {
        opt(id, H_LOG)
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .value_hint(ValueHint::FilePath)
    };
    let mut output = file_opt("output")
        .long("output")
        .help("Log the data of both directions to FILE, raw");
    let mut hex = file_opt("hex-dump")
        .long("hex-dump")
        .help("Log the data of both directions to FILE as a hex dump (ncat's format)");
    if trad {
        cmd = cmd.arg(file_opt("trad-hex").short('o').help(
            "Log the data to FILE as a hex dump in traditional nc's format \
             (< received, > sent); --output logs it raw",
        ));
    } else {
        output = output.short('o');
    }
    if !obsd {
        hex = hex.short('x');
    }
    cmd = cmd.args([
        output,
        hex,
        flag("append-output", H_LOG)
            .long("append-output")
            .help("Append to the log files instead of overwriting them"),
    ]);

    // Access control.
    let access_opt = |id: &'static str, help: &'static str| {
        Arg::new(id)
            .long(id)
            .help_heading(H_ACCESS)
            .action(ArgAction::Append)
            .help(help)
    };
    cmd = cmd.args([
        access_opt(
            "allow",
            "Admit only clients matching HOST (repeatable; see ALLOW AND DENY)",
        )
        .value_name("HOST")
        .value_hint(ValueHint::Hostname),
        access_opt("allowfile", "Admit only clients matching a host in FILE")
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .value_hint(ValueHint::FilePath),
        access_opt(
            "deny",
            "Refuse clients matching HOST; deny wins over allow (repeatable)",
        )
        .value_name("HOST")
        .value_hint(ValueHint::Hostname),
        access_opt("denyfile", "Refuse clients matching a host in FILE")
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .value_hint(ValueHint::FilePath),
    ]);

    // Socket options.
    if trad {
        cmd = cmd.arg(
            flag("keepalive", H_SOCK)
                .short('k')
                .help("Enable TCP keepalive (SO_KEEPALIVE)"),
        );
    }
    cmd = cmd.args([
        flag("broadcast", H_SOCK).short('b').help("Allow broadcast (SO_BROADCAST)"),
        num_opt("recv-buffer", H_SOCK)
            .short('I')
            .value_name("SIZE")
            .help("Receive buffer size (SO_RCVBUF); K and M suffixes allowed"),
        num_opt("send-buffer", H_SOCK)
            .short('O')
            .value_name("SIZE")
            .help("Send buffer size (SO_SNDBUF); K and M suffixes allowed"),
        opt("tos", H_SOCK)
            .short('T')
            .value_name("TOS")
            .help("IP type of service: a number, or lowdelay, throughput, reliability, lowcost, critical, inetcontrol, netcontrol, af11..af43, cs0..cs7, ef"),
        opt("ttl", H_SOCK)
            .short('M')
            .value_name("TTL")
            .help("Outgoing IP TTL / IPv6 hop limit (1-255)"),
    ]);

    // TLS.
    cmd = cmd.args([
        flag("ssl", H_TLS)
            .long("ssl")
            .help("Use TLS (DTLS with -u)"),
        opt("ssl-cert", H_TLS)
            .long("ssl-cert")
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .value_hint(ValueHint::FilePath)
            .help("Certificate (PEM) to present"),
        opt("ssl-key", H_TLS)
            .long("ssl-key")
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .value_hint(ValueHint::FilePath)
            .help("Private key (PEM) of --ssl-cert"),
        flag("ssl-verify", H_TLS)
            .long("ssl-verify")
            .help("Verify the server certificate (implies --ssl)"),
        opt("ssl-trustfile", H_TLS)
            .long("ssl-trustfile")
            .value_name("FILE")
            .value_parser(value_parser!(PathBuf))
            .value_hint(ValueHint::FilePath)
            .help("Trusted certificates (PEM) instead of the system store"),
        opt("ssl-servername", H_TLS)
            .long("ssl-servername")
            .value_name("NAME")
            .help("Server name for SNI and verification"),
        opt("ssl-alpn", H_TLS)
            .long("ssl-alpn")
            .value_name("LIST")
            .help("ALPN protocols to offer, comma separated"),
        opt("ssl-ciphers", H_TLS)
            .long("ssl-ciphers")
            .value_name("CIPHERS")
            .help("Cipher suites to allow"),
    ]);

    // Other.
    cmd = cmd.args([
        Arg::new("verbose")
            .short('v')
            .long("verbose")
            .action(ArgAction::Count)
            .help_heading(H_MISC)
            .help("Be verbose (repeat for more)"),
        opt("compat", H_MISC)
            .long("compat")
            .value_name("PERSONALITY")
            .value_parser([
                PossibleValue::new("ncat").help("Nmap ncat (default)"),
                PossibleValue::new("openbsd").help("OpenBSD nc"),
                PossibleValue::new("traditional").help("traditional (Hobbit) nc"),
            ])
            .help("Meaning of the letters that differ between netcats (see PERSONALITIES)"),
        Arg::new("help")
            .short('h')
            .long("help")
            .action(ArgAction::Help)
            .help_heading(H_MISC)
            .help("Print help (-h: a summary)"),
        Arg::new("version")
            .long("version")
            .action(ArgAction::Version)
            .help_heading(H_MISC)
            .help("Print version"),
    ]);

    cmd = cmd.args(proxy_args(p));
    if with_hidden {
        cmd = cmd.arg(flag("test", H_MISC).long("test").hide(true));
        cmd = cmd.args(later_issue_args(p));
        // Traditional nc's loose source routing: recognised, refused with a reason.
        cmd = cmd.args([
            hidden_opt("source-route").short('g'),
            hidden_opt("source-route-pointer").short('G'),
        ]);
    }

    cmd.args([
        Arg::new("host")
            .value_name("HOST")
            .value_parser(value_parser!(OsString))
            .value_hint(ValueHint::Hostname)
            .help("Host to connect to; with -l the address to listen on (optional); with -U a socket path"),
        Arg::new("port")
            .value_name("PORT")
            .value_parser(value_parser!(OsString))
            .action(ArgAction::Append)
            .num_args(1..)
            .help("Port to connect to; with -l the port to listen on; with -z ports to check"),
    ])
}

// ---------------------------------------------------------------------------
// Documentation shared by --help and the man page

/// A section of extra documentation: shown after the options by `--help` and
/// rendered as a man page section by `examples/gen-docs.rs`.
pub struct DocSection {
    pub title: &'static str,
    pub intro: &'static str,
    /// (term, description) pairs.
    pub items: &'static [(&'static str, &'static str)],
}

pub const DOC_SECTIONS: &[DocSection] = &[
    DocSection {
        title: "PERSONALITIES",
        intro: "Some letters mean different things in ncat, OpenBSD nc and traditional nc. \
                rnc picks a personality from, in increasing priority: the program name \
                (nc, netcat and nc.openbsd select openbsd; nc.traditional selects traditional; \
                any other name selects ncat), the RNC_COMPAT environment variable, and --compat. \
                Long options keep their ncat meaning in every personality.",
        items: &[
            (
                "ncat",
                "-w is the connect timeout; -i (--idle-timeout) quits when idle; -d (--delay) \
                 sleeps after each read from stdin; -k (--keep-open) keeps running after the \
                 peer closes; -l without a port listens on 31337; -o (--output) logs raw data \
                 and -x (--hex-dump) a hex dump.",
            ),
            (
                "openbsd",
                "-w is the connect timeout and also an idle timeout; -i sends stdin one line \
                 at a time, sleeping after each line (and pauses between ports with -z); -d does \
                 not read stdin; -k is as in ncat; -l needs a port; -x is the proxy address and -P \
                 the proxy user (use --hex-dump for a hex dump).",
            ),
            (
                "traditional",
                "-w is the connect timeout and also an idle timeout once stdin has ended; -i is \
                 as in openbsd; -k enables SO_KEEPALIVE; -d is as in ncat; -l without a port \
                 lets the system pick one; -o writes a hex dump in traditional nc's format \
                 (--output still logs raw data); -z checks the ports of a range from the highest \
                 down.",
            ),
        ],
    },
    DocSection {
        title: "ADDRESSES",
        intro: "To connect, give HOST PORT (PATH with -U). To listen, every netcat spelling \
                works in every personality: -l PORT, -l -p PORT, -lp PORT, -l HOST PORT, \
                -l -p PORT HOST and -l -s HOST -p PORT. A lone argument of up to five digits \
                after -l is a port. Without a listen address rnc listens on both 0.0.0.0 and :: \
                unless -4 or -6 is given. A Unix socket path that starts with @ names a Linux \
                abstract socket. TIME values are seconds (decimals allowed) or take a suffix: \
                500ms, 2s, 1m, 1h.",
        items: &[],
    },
    DocSection {
        title: "ZERO-I/O MODE",
        intro: "-z only checks whether ports accept connections; nothing is sent or read. The \
                ports may be a list and ranges in one or more arguments: rnc -z host 22,80 \
                8000-8080. A TCP port is open when a connect succeeds within -w (5 seconds \
                without -w). With -u rnc sends an empty datagram and waits -w (1 second without \
                -w): an ICMP port-unreachable answer means closed, anything else open (or \
                filtered). Nothing is printed without -v. With -v, open ports are reported as \
                the selected netcat reports them: 'Ncat: Connected to 127.0.0.1:22.' (then a \
                byte-count line), 'Connection to 127.0.0.1 22 port [tcp/ssh] succeeded!' \
                (openbsd, which also reports closed ports) or 'localhost [127.0.0.1] 22 (ssh) \
                open' (traditional; -vv adds closed ports). The exit status is 0 when at least \
                one port is open, else 1.",
        items: &[],
    },
    DocSection {
        title: "ALLOW AND DENY",
        intro: "--allow, --allowfile, --deny and --denyfile choose which clients a listener \
                serves; others are accepted and closed at once. A client is admitted when no \
                allow option is given or it matches an allowed host, and it matches no denied \
                host: deny wins over allow (as ncat behaves). A host is an IPv4 or IPv6 address, \
                a CIDR block (10.0.0.0/8, fe80::/10), an IPv4 range with a number, a list \
                (1,3,5-7), a range (1-254, -9, 250-) or * in each octet (192.168.0-10.*), or a \
                host name, resolved once at start-up to all its addresses (not allowed with -n). \
                An IPv4 client seen as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) matches IPv4 \
                hosts. The files list hosts separated by white space or new lines; # starts a \
                comment. An allow file with no hosts admits nobody.",
        items: &[],
    },
    DocSection {
        title: "HTTP PROXY SERVER",
        intro: "rnc -l [HOST] PORT --proxy-type http serves as an HTTP proxy on the address \
                given (both families without one), several clients at once (up to -m), with \
                --allow/--deny applied to them and --ssl for TLS to the proxy. CONNECT host:port \
                answers 200 and tunnels until both sides have closed; GET, HEAD, POST, PUT, \
                DELETE, OPTIONS and PATCH with an absolute http:// URI go to the target in \
                origin form, hop-by-hop headers removed and Connection: close, and its answer \
                comes back unchanged; one request per connection. With --proxy-auth USER:PASS \
                a client without valid credentials gets 407 with a Basic and a Digest \
                (MD5, qop=auth) challenge, realm Ncat; Digest nonces are signed by this process, \
                valid for 60 seconds, and a nonce count that does not increase (a replay) is \
                refused. Errors are answered with an HTTP status and the connection closes: 400 \
                malformed request, 405 other methods, 408 head not complete within -i (30 \
                seconds without -i), 413 head over 16 KiB, 403 a request for the proxy itself, \
                502 target unreachable, 504 connect timeout (-w, 10 seconds without -w). -v logs \
                why. Options that move data through stdin or stdout, --exec and --on-close \
                cannot be combined with it.",
        items: &[],
    },
    DocSection {
        title: "LOG FORMATS",
        intro: "--output (-o) writes the data of both directions, raw, in the order it moved. \
                --hex-dump (-x) writes a hex dump in ncat's format: each chunk read starts again \
                at offset 0000, with 16 bytes a line. The traditional personality's -o writes \
                traditional nc's format instead: '<' lines for data received and '>' lines for \
                data sent, with offsets counted per direction. The files are overwritten unless \
                --append-output is given.",
        items: &[],
    },
    DocSection {
        title: "END OF FILE",
        intro: "",
        items: &[
            (
                "end of stdin",
                "Once everything read from stdin has been sent, rnc half-closes the \
                 connection (shutdown SHUT_WR) and keeps receiving. --no-shutdown skips the \
                 half-close, -q TIME quits TIME after the end of stdin, and --send-only quits \
                 at once.",
            ),
            (
                "peer closes",
                "rnc flushes standard output and exits 0 once the stdin data already \
                 available has been sent. With -k (connect mode) it keeps running until stdin \
                 has ended too.",
            ),
            (
                "listen mode",
                "rnc serves one client and exits when that session ends; stdin is not read \
                 before a client has connected.",
            ),
            (
                "UDP",
                "A UDP client does not quit at the end of stdin by itself (use -q or -w). A UDP \
                 listener talks only to its first peer.",
            ),
        ],
    },
    DocSection {
        title: "TLS",
        intro: "--ssl uses rustls (TLS 1.2 and 1.3). At the end of stdin rnc sends close_notify \
                and keeps reading until the peer's close_notify or EOF, so a reply sent after \
                the request still arrives. Without --ssl-verify the peer's certificate is not \
                checked (as in ncat); -v describes it.",
        items: &[
            (
                "certificate renewal",
                "A listener re-reads --ssl-cert and --ssl-key when they change on disk (size, \
                 modification time or inode, checked at most once a second when a client \
                 connects): new connections get the new certificate, open ones keep theirs, and \
                 nothing restarts. A pair that does not load (half-written, key not matching) \
                 leaves the old one in service and is reported once under -v. This is what \
                 acme.sh renewals need.",
            ),
            (
                "temporary certificate",
                "A listener without --ssl-cert generates a self-signed ECDSA P-256 \
                 certificate for the listen address (or localhost); -v prints its SHA-1 \
                 fingerprint.",
            ),
            ("DTLS", "--ssl with -u is refused: rustls has no DTLS."),
        ],
    },
    DocSection {
        title: "PROGRAMS AND HOOKS",
        intro: "",
        items: &[
            (
                "-e, -c",
                "One child per connection. Its stdin and stdout are pipes joined to the \
                 socket; the client's EOF closes its stdin, its output's end half-closes the \
                 socket. It sees only fds 0, 1 and 2, NCAT_LOCAL_ADDR, NCAT_LOCAL_PORT, \
                 NCAT_REMOTE_ADDR, NCAT_REMOTE_PORT and NCAT_PROTO. A child still running 2 s \
                 after its conversation ended is sent SIGTERM, then SIGKILL; all are reaped. \
                 rnc's exit status does not depend on the child's (as in ncat).",
            ),
            (
                "--on-close HOOK",
                "HOOK is the path of a file (relative to the starting directory) — run \
                 directly if executable, else with bash (or /bin/sh) — or otherwise a \
                 /bin/sh -c command line. It gets the client's bytes on stdin (at most \
                 --hook-max-input) and NCAT_* plus RNC_BYTES_IN, RNC_BYTES_OUT, \
                 RNC_DURATION_MS, RNC_CLOSE_REASON (eof, reset, timeout, limit, denied), \
                 RNC_TLS_SNI and RNC_TLS_ALPN. Without -k rnc exits with the hook's status. \
                 With -k hooks run one at a time, in order, on their own thread; on SIGTERM \
                 or SIGINT rnc stops accepting, lets queued hooks finish and exits 0.",
            ),
            (
                "canned replies",
                "With -k, once stdin has ended every new client is sent all of it (up to \
                 1 MiB) and then half-closed, so `rnc -lk < reply` answers every request.",
            ),
        ],
    },
    DocSection {
        title: "EXIT STATUS",
        intro: "",
        items: &[
            (
                "0",
                "Success, including when the peer closed the connection or standard output \
                 was closed. With -z: at least one port is open.",
            ),
            (
                "1",
                "Network error: connection refused or reset, connect timeout, idle timeout in \
                 connect mode. With -z: no port is open.",
            ),
            (
                "2",
                "Bad option or value, name resolution failure, idle timeout in listen mode, \
                 or another error.",
            ),
        ],
    },
    DocSection {
        title: "ENVIRONMENT",
        intro: "",
        items: &[(
            "RNC_COMPAT",
            "Personality (ncat, openbsd or traditional) when --compat is not given; it \
             overrides the one chosen by the program name.",
        )],
    },
    DocSection {
        title: "EXAMPLES",
        intro: "",
        items: &[
            ("rnc example.com 80", "Connect to port 80 of example.com."),
            (
                "rnc -l 1234 > file",
                "Accept one connection on port 1234 and save what it sends.",
            ),
            (
                "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | rnc example.com 80",
                "Send a request and print the reply until the server closes.",
            ),
            (
                "rnc -u -q 2 192.0.2.1 53 < query",
                "Send a UDP datagram and wait two seconds for answers.",
            ),
            (
                "rnc -zv 192.0.2.1 20-25 80",
                "Report which of ports 20 to 25 and 80 accept connections.",
            ),
            (
                "rnc -l --allow 192.168.0.0/16 --deny 192.168.0.1 -o session.log 1234",
                "Serve one client from 192.168.*.* except 192.168.0.1 and log the session.",
            ),
            (
                "rnc -lk -p 12121 --ssl --ssl-cert cert.pem --ssl-key key.pem --on-close hook.sh < response.http",
                "Serve webhooks over TLS forever: every client gets the canned response, and \
                 hook.sh runs after each connection, one at a time, with the request on its stdin.",
            ),
            (
                "ssh -o ProxyCommand='rnc -X connect -x proxy.example:3128 %h %p' host",
                "Reach an SSH server through an HTTP proxy (rnc as ssh's ProxyCommand).",
            ),
            (
                "rnc -l 127.0.0.1 3128 --proxy-type http --proxy-auth user:secret",
                "Be an HTTP proxy on localhost for clients that authenticate.",
            ),
        ],
    },
];

/// Word-wrap `text` to `width` columns, every line prefixed by `indent`.
fn wrap_into(out: &mut String, text: &str, indent: usize, width: usize) {
    let mut col = 0;
    for word in text.split_whitespace() {
        if col > 0 && col + 1 + word.len() > width {
            out.push('\n');
            col = 0;
        }
        if col == 0 {
            out.push_str(&" ".repeat(indent));
            col = indent;
        } else {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += word.len();
    }
    if col > 0 {
        out.push('\n');
    }
}

/// The plain-text form of [`DOC_SECTIONS`] used by `--help`.
fn doc_sections_text() -> String {
    let mut out = String::new();
    for (i, s) in DOC_SECTIONS.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(s.title);
        out.push_str(":\n");
        if !s.intro.is_empty() {
            wrap_into(&mut out, s.intro, 2, 80);
        }
        for (term, desc) in s.items {
            let _ = writeln!(out, "  {term}");
            wrap_into(&mut out, desc, 10, 80);
        }
    }
    // clap prints a newline after after_long_help itself.
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

// ---------------------------------------------------------------------------
// Clap errors → one line

/// `'value'` with control characters escaped, so a message stays one line.
fn quote(s: &str) -> String {
    format!("'{}'", s.escape_debug())
}

fn quote_os(s: &OsStr) -> String {
    quote(&s.to_string_lossy())
}

fn clap_error(e: clap::Error, cmd: &Command, args: &[OsString]) -> Result<Parsed> {
    let ctx = |k: ContextKind| e.get(k).map(|v| v.to_string());
    let arg_name = |s: Option<String>| -> String {
        match s {
            Some(d) => spelling_of_display(cmd, args, &d),
            None => "arguments".to_string(),
        }
    };
    let err = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return Ok(Parsed::Exit {
                text: e.render().to_string(),
                code: 0,
            });
        }
        ErrorKind::UnknownArgument => {
            let what = ctx(ContextKind::InvalidArg).unwrap_or_else(|| "arguments".into());
            let what = what.escape_debug().to_string();
            if what.starts_with('-') {
                match ctx(ContextKind::SuggestedArg) {
                    Some(s) => Error::usage(what, format!("unknown option (did you mean {s}?)")),
                    None => Error::usage(what, "unknown option (see rnc --help)"),
                }
            } else {
                Error::usage(what, "unexpected argument (see rnc --help)")
            }
        }
        ErrorKind::InvalidValue => {
            let what = arg_name(ctx(ContextKind::InvalidArg));
            let bad = ctx(ContextKind::InvalidValue).unwrap_or_default();
            if bad.is_empty() {
                Error::usage(what, "a value is required")
            } else {
                let valid = match e.get(ContextKind::ValidValue) {
                    Some(clap::error::ContextValue::Strings(v)) if !v.is_empty() => {
                        format!(" (expected {})", v.join(", "))
                    }
                    _ => String::new(),
                };
                Error::usage(what, format!("invalid value {}{valid}", quote(&bad)))
            }
        }
        ErrorKind::ArgumentConflict => {
            let what = arg_name(ctx(ContextKind::InvalidArg));
            match ctx(ContextKind::PriorArg) {
                Some(prior) => Error::usage(
                    what,
                    format!(
                        "cannot be used with {}",
                        spelling_of_display(cmd, args, &prior)
                    ),
                ),
                None => Error::usage(what, "conflicts with another option"),
            }
        }
        ErrorKind::NoEquals => Error::usage(
            arg_name(ctx(ContextKind::InvalidArg)),
            "the value must be given with '='",
        ),
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            let display = ctx(ContextKind::InvalidArg);
            let why = match display.as_deref().and_then(|d| arg_by_display(cmd, d)) {
                Some(a) if !takes_value(a) => "does not take a value",
                _ => "wrong number of values",
            };
            Error::usage(arg_name(display), why)
        }
        ErrorKind::InvalidUtf8 => {
            Error::usage(arg_name(ctx(ContextKind::InvalidArg)), "not valid UTF-8")
        }
        ErrorKind::MissingRequiredArgument => Error::usage(
            arg_name(ctx(ContextKind::InvalidArg)),
            "a required argument is missing",
        ),
        _ => {
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("invalid command line");
            let line = line.strip_prefix("error: ").unwrap_or(line);
            Error::usage("arguments", line.escape_debug())
        }
    };
    Err(err)
}

/// The `Arg` behind a clap display such as `--wait <TIME>` or `-w <TIME>`.
fn arg_by_display<'c>(cmd: &'c Command, display: &str) -> Option<&'c Arg> {
    let flag = display.split([' ', '=']).next().unwrap_or(display);
    if let Some(long) = flag.strip_prefix("--") {
        cmd.get_arguments().find(|a| a.get_long() == Some(long))
    } else if let Some(short) = flag.strip_prefix('-') {
        let mut cs = short.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) => cmd.get_arguments().find(|a| a.get_short() == Some(c)),
            _ => None,
        }
    } else {
        cmd.get_arguments().find(|a| {
            a.get_value_names()
                .is_some_and(|v| v.iter().any(|n| n == flag))
        })
    }
}

fn spelling_of_display(cmd: &Command, args: &[OsString], display: &str) -> String {
    match arg_by_display(cmd, display) {
        Some(a) => spelling(cmd, args, a),
        None => display.split(' ').next().unwrap_or(display).to_string(),
    }
}

fn takes_value(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
}

/// How the user spelled option `a` on the command line (`-w` or `--wait`); the
/// long name (else the short one) when it cannot be found.
fn spelling(cmd: &Command, args: &[OsString], a: &Arg) -> String {
    let canonical = match (a.get_long(), a.get_short()) {
        (Some(l), _) => format!("--{l}"),
        (None, Some(s)) => format!("-{s}"),
        (None, None) => a.get_id().to_string(),
    };
    if a.is_positional() {
        return a
            .get_value_names()
            .and_then(|v| v.first().map(|n| n.to_string()))
            .unwrap_or(canonical);
    }
    let short_takes_value = |c: char| {
        cmd.get_arguments()
            .find(|x| x.get_short() == Some(c))
            .map(takes_value)
    };
    let long_takes_value = |l: &str| {
        cmd.get_arguments()
            .find(|x| x.get_long() == Some(l))
            .map(takes_value)
    };
    let mut it = args.iter().skip(1);
    while let Some(tok) = it.next() {
        let tok = tok.to_string_lossy();
        if tok == "--" {
            break;
        }
        if let Some(long) = tok.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, _)) => (n, true),
                None => (long, false),
            };
            if Some(name) == a.get_long() {
                return format!("--{name}");
            }
            if !attached && long_takes_value(name) == Some(true) {
                it.next();
            }
        } else if let Some(cluster) = tok.strip_prefix('-').filter(|c| !c.is_empty()) {
            let mut chars = cluster.chars();
            while let Some(c) = chars.next() {
                if Some(c) == a.get_short() {
                    return format!("-{c}");
                }
                if short_takes_value(c) == Some(true) {
                    if chars.as_str().is_empty() {
                        it.next();
                    }
                    break;
                }
            }
        }
    }
    canonical
}

// ---------------------------------------------------------------------------
// Resolution

/// Matches plus what is needed to name options in messages. Every accessor
/// tolerates ids that this personality's command does not define.
struct Matches<'a> {
    m: &'a ArgMatches,
    cmd: &'a Command,
    args: &'a [OsString],
}

impl Matches<'_> {
    fn defined(&self, id: &str) -> bool {
        self.m.try_contains_id(id).is_ok()
    }
    fn given(&self, id: &str) -> bool {
        self.defined(id) && self.m.value_source(id) == Some(ValueSource::CommandLine)
    }
    fn flag(&self, id: &str) -> bool {
        matches!(self.m.try_get_one::<bool>(id), Ok(Some(true)))
    }
    fn string(&self, id: &str) -> Option<&String> {
        self.m.try_get_one::<String>(id).ok().flatten()
    }
    fn path(&self, id: &str) -> Option<&PathBuf> {
        self.m.try_get_one::<PathBuf>(id).ok().flatten()
    }
    fn os(&self, id: &str) -> Option<&OsString> {
        self.m.try_get_one::<OsString>(id).ok().flatten()
    }
    fn os_all(&self, id: &str) -> Vec<&OsString> {
        match self.m.try_get_many::<OsString>(id) {
            Ok(Some(v)) => v.collect(),
            _ => Vec::new(),
        }
    }
    fn strings(&self, id: &str) -> Vec<&String> {
        match self.m.try_get_many::<String>(id) {
            Ok(Some(v)) => v.collect(),
            _ => Vec::new(),
        }
    }
    fn paths(&self, id: &str) -> Vec<&PathBuf> {
        match self.m.try_get_many::<PathBuf>(id) {
            Ok(Some(v)) => v.collect(),
            _ => Vec::new(),
        }
    }
    fn count(&self, id: &str) -> u8 {
        self.m
            .try_get_one::<u8>(id)
            .ok()
            .flatten()
            .copied()
            .unwrap_or(0)
    }
    /// How the user wrote option `id`, for messages.
    fn name(&self, id: &str) -> String {
        match self.cmd.get_arguments().find(|a| a.get_id() == id) {
            Some(a) => spelling(self.cmd, self.args, a),
            None => id.to_string(),
        }
    }
    /// A time option's value.
    fn time(&self, id: &str) -> Result<Option<SignedTime>> {
        match self.string(id) {
            None => Ok(None),
            Some(v) => parse_time(v)
                .map(Some)
                .map_err(|why| Error::usage(self.name(id), format!("{why} {}", quote(v)))),
        }
    }
    /// A time option that must be positive.
    fn positive_time(&self, id: &str) -> Result<Option<Duration>> {
        match self.time(id)? {
            None => Ok(None),
            Some(SignedTime {
                negative: false,
                value,
            }) if !value.is_zero() => Ok(Some(value)),
            Some(_) => Err(Error::usage(
                self.name(id),
                format!(
                    "invalid time {} (must be greater than 0)",
                    quote(self.string(id).map_or("", |s| s))
                ),
            )),
        }
    }
    /// A time option where 0 means "off".
    fn optional_time(&self, id: &str) -> Result<Option<Duration>> {
        match self.time(id)? {
            None => Ok(None),
            Some(SignedTime {
                negative: false,
                value,
            }) => Ok(if value.is_zero() { None } else { Some(value) }),
            Some(_) => Err(Error::usage(
                self.name(id),
                format!(
                    "invalid time {} (must not be negative)",
                    quote(self.string(id).map_or("", |s| s))
                ),
            )),
        }
    }
}

fn resolve(m: &Matches, p: Personality, prog: String) -> Result<Config> {
    // Options of later issues are never silently ignored.
    for id in LATER_ISSUE_IDS {
        if m.given(id) {
            return Err(Error::usage(m.name(id), "not supported yet"));
        }
    }
    if m.given("lua-exec") {
        return Err(Error::usage(
            m.name("lua-exec"),
            "Lua is not built in; use --sh-exec 'lua FILE' instead",
        ));
    }
    for id in ["source-route", "source-route-pointer"] {
        if m.given(id) {
            return Err(Error::usage(
                m.name(id),
                "source routing is obsolete and not supported",
            ));
        }
    }
    for (a, b) in [("ipv4", "ipv6"), ("send-only", "recv-only")] {
        if m.given(a) && m.given(b) {
            return Err(Error::usage(
                m.name(a),
                format!("cannot be used with {}", m.name(b)),
            ));
        }
    }

    // --chat is a broker that needs -l; --broker implies -l (as in ncat).
    let chat = m.flag("chat");
    let broker = chat || m.flag("broker");
    if chat && !m.flag("listen") && !m.flag("broker") {
        return Err(Error::usage(
            m.name("chat"),
            "only valid with -l (a chat server listens)",
        ));
    }
    let listen = m.flag("listen") || broker;
    let fanout = match (chat, broker) {
        (true, _) => Fanout::Chat,
        (false, true) => Fanout::Broker,
        _ => Fanout::Stdio,
    };
    let role = if listen { Role::Listen } else { Role::Connect };
    let udp = m.flag("udp");
    let unix = m.flag("unixsock");
    let proto = match (unix, udp) {
        (true, true) => Proto::UnixDgram,
        (true, false) => Proto::UnixStream,
        (false, true) => Proto::Udp,
        (false, false) => Proto::Tcp,
    };
    let family = if m.flag("ipv4") {
        Family::V4
    } else if m.flag("ipv6") {
        Family::V6
    } else {
        Family::Any
    };
    let numeric = m.flag("nodns");

    // Keep-open: -k/--keep-open (traditional -k is SO_KEEPALIVE instead).
    let keep_open = m.flag("keep-open") || broker;
    if broker && udp {
        let id = if chat { "chat" } else { "broker" };
        return Err(Error::usage(
            m.name(id),
            format!(
                "cannot be used with {} (UDP has no connections to broker)",
                m.name("udp")
            ),
        ));
    }

    let exec = match (m.string("exec"), m.string("sh-exec")) {
        (Some(_), Some(_)) => {
            return Err(Error::usage(
                format!("{} with {}", m.name("exec"), m.name("sh-exec")),
                "only one program can be run",
            ))
        }
        (Some(prog), None) => {
            let argv: Vec<String> = prog.split_whitespace().map(str::to_string).collect();
            if argv.is_empty() {
                return Err(Error::usage(m.name("exec"), "no program given"));
            }
            Some(argv)
        }
        (None, Some(cmd)) => Some(vec!["/bin/sh".into(), "-c".into(), cmd.clone()]),
        (None, None) => None,
    };
    if broker && exec.is_some() {
        let id = if chat { "chat" } else { "broker" };
        let prog = if m.given("exec") { "exec" } else { "sh-exec" };
        return Err(Error::usage(
            format!("{} with {}", m.name(id), m.name(prog)),
            "a broker relays between its clients and runs no program",
        ));
    }

    let on_close = match m.string("on-close") {
        Some(hook) => Some(HookSpec {
            argv: crate::hook::resolve(hook)?,
            max_input: m
                .string("hook-max-input")
                .map(|v| parse_size(m, "hook-max-input", v))
                .transpose()?
                .unwrap_or(crate::hook::DEFAULT_MAX_INPUT),
            timeout: m.positive_time("hook-timeout")?,
            coalesce: m.flag("hook-coalesce"),
        }),
        None => {
            for id in ["hook-max-input", "hook-timeout", "hook-coalesce"] {
                if m.given(id) {
                    return Err(Error::usage(m.name(id), "only valid with --on-close"));
                }
            }
            None
        }
    };
    let max_conns =
        m.m.try_get_one::<u32>("max-conns")
            .ok()
            .flatten()
            .map_or(DEFAULT_MAX_CONNS, |&n| n as usize);

    // Times.
    let wait = m.positive_time("wait")?;
    let mut timeouts = Timeouts {
        connect: wait,
        ..Timeouts::default()
    };
    match p {
        Personality::Ncat => {}
        Personality::OpenBsd => timeouts.idle = wait,
        Personality::Traditional => timeouts.idle_after_stdin_eof = wait,
    }
    if let Some(idle) = m.positive_time("idle-timeout")? {
        timeouts.idle = Some(idle);
    }
    let bytes = ByteOptions {
        delay: m.positive_time("delay")?,
        line_interval: m.optional_time("interval")?,
        crlf: m.flag("crlf"),
        telnet: m.flag("telnet"),
        dump: resolve_dump(m)?,
    };
    let quit = match m.time("quit-after-eof")? {
        Some(SignedTime { negative: true, .. }) => None,
        Some(SignedTime {
            negative: false,
            value,
        }) => Some(value),
        None if m.flag("send-only") => Some(Duration::ZERO),
        None => None,
    };

    let recv_only = m.flag("recv-only");
    let eof = if exec.is_some() {
        // A program is both ends of the conversation: its output ending
        // half-closes the connection, the peer's EOF closes its stdin, and the
        // session lasts until both have happened (reference §2.9).
        EofPolicy {
            quit_on_socket_eof: false,
            ..EofPolicy::default()
        }
    } else {
        EofPolicy {
            read_stdin: !(recv_only || m.flag("no-stdin")),
            write_stdout: !m.flag("send-only"),
            shutdown_on_stdin_eof: !(recv_only || m.flag("no-shutdown")),
            quit_after_stdin_eof: quit,
            // Connect-mode -k keeps the session after the peer's FIN; listen-mode
            // -k keeps the listener, and each client's session ends with it.
            quit_on_socket_eof: !keep_open || listen,
        }
    };

    let sock = SockOptions {
        send_buffer: m
            .string("send-buffer")
            .map(|v| parse_size(m, "send-buffer", v))
            .transpose()?,
        recv_buffer: m
            .string("recv-buffer")
            .map(|v| parse_size(m, "recv-buffer", v))
            .transpose()?,
        broadcast: m.flag("broadcast"),
        keepalive: m.flag("keepalive"),
        tos: m
            .string("tos")
            .map(|v| {
                parse_tos(v).ok_or_else(|| {
                    Error::usage(
                        m.name("tos"),
                        format!("invalid type of service {}", quote(v)),
                    )
                })
            })
            .transpose()?,
        ttl: m
            .string("ttl")
            .map(|v| match v.parse::<u32>() {
                Ok(n) if (1..=255).contains(&n) => Ok(n),
                _ => Err(Error::usage(
                    m.name("ttl"),
                    format!("invalid TTL {} (expected 1-255)", quote(v)),
                )),
            })
            .transpose()?,
    };

    let tls = resolve_tls(m)?;

    let zero_io = m.flag("zero-io");
    if zero_io {
        for (id, on) in [
            ("listen", m.flag("listen")),
            ("broker", m.flag("broker")),
            ("chat", chat),
            ("unixsock", unix),
            ("ssl", tls.is_some()),
        ] {
            if on {
                let other = if id == "ssl" && !m.given("ssl") {
                    m.name("ssl-verify")
                } else {
                    m.name(id)
                };
                return Err(Error::usage(
                    m.name("zero-io"),
                    format!("cannot be used with {other}"),
                ));
            }
        }
    }
    let access = resolve_access(m, listen, unix, numeric)?;
    let proxy = resolve_proxy(m, p, listen, unix, udp, zero_io)?;
    let proxy_server = resolve_proxy_server(m, listen)?;

    let (address, source, source_port, scan_ports) = if unix {
        let (a, s, sp) = resolve_unix(m, listen, udp)?;
        (a, s, sp, None)
    } else {
        resolve_inet(m, p, listen, numeric, family, zero_io)?
    };

    Ok(Config {
        personality: p,
        prog,
        role,
        proto,
        family,
        address,
        source,
        source_port,
        numeric,
        keep_open,
        max_conns,
        exec,
        on_close,
        fanout,
        eof,
        timeouts,
        bytes,
        sock,
        tls,
        verbose: m.count("verbose"),
        test_banner: m.flag("test"),
        access,
        zero_io: scan_ports,
        proxy,
        proxy_server,
    })
}

const PROXY_IDS: &[&str] = &[
    "proxy",
    "proxy-type",
    "proxy-auth",
    "proxy-dns",
    "proxy-user",
];

/// `--proxy` and its companions (reference §3.6): connect mode, TCP only.
fn resolve_proxy(
    m: &Matches,
    p: Personality,
    listen: bool,
    unix: bool,
    udp: bool,
    zero: bool,
) -> Result<Option<ProxySpec>> {
    let Some(first) = PROXY_IDS.iter().find(|id| m.given(id)) else {
        return Ok(None);
    };
    if listen {
        // The listening side is the proxy server (`resolve_proxy_server`).
        return Ok(None);
    }
    let Some(addr) = m.string("proxy") else {
        let proxy = if p == Personality::OpenBsd {
            "-x"
        } else {
            "--proxy"
        };
        return Err(Error::usage(
            m.name(first),
            format!("only valid with {proxy}"),
        ));
    };
    for (on, id) in [(unix, "unixsock"), (udp, "udp"), (zero, "zero-io")] {
        if on {
            return Err(Error::usage(
                m.name("proxy"),
                format!("cannot be used with {}", m.name(id)),
            ));
        }
    }
    let kind = match m.string("proxy-type").map(String::as_str) {
        None | Some("http") | Some("connect") => ProxyKind::Http,
        Some("socks4") | Some("4") => ProxyKind::Socks4,
        Some("socks5") | Some("5") => ProxyKind::Socks5,
        Some(other) => {
            return Err(Error::usage(
                m.name("proxy-type"),
                format!(
                    "invalid proxy type {} (http, socks4 or socks5)",
                    quote(other)
                ),
            ))
        }
    };
    let dns = match m.string("proxy-dns").map(String::as_str) {
        None | Some("remote") => ProxyDns::Remote,
        Some("local") => ProxyDns::Local,
        Some("both") => ProxyDns::Both,
        Some("none") => ProxyDns::None,
        Some(other) => {
            return Err(Error::usage(
                m.name("proxy-dns"),
                format!(
                    "invalid value {} (local, remote, both or none)",
                    quote(other)
                ),
            ))
        }
    };
    let bad_addr = |why: &str| Error::usage(m.name("proxy"), format!("{why} in {}", quote(addr)));
    let (host, port) = crate::net::split_host_port(addr).map_err(bad_addr)?;
    let port = match port {
        None => kind.default_port(),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(bad_addr("invalid port")),
        },
    };
    let auth = if let Some(a) = m.string("proxy-auth") {
        Some((a.clone(), m.name("proxy-auth"), false))
    } else if let Some(u) = m.string("proxy-user") {
        Some((u.clone(), m.name("proxy-user"), true))
    } else {
        std::env::var("NCAT_PROXY_AUTH")
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| (s, "NCAT_PROXY_AUTH".to_string(), false))
    };
    let auth = match auth {
        None => None,
        Some((a, from, user_only)) => {
            let (user, pass) = if user_only {
                (a.as_str(), "")
            } else {
                a.split_once(':').unwrap_or((a.as_str(), ""))
            };
            if user.is_empty() || user.len() > 255 || pass.len() > 255 {
                return Err(Error::usage(
                    from,
                    "the user must be 1 to 255 bytes and the password at most 255",
                ));
            }
            if a.bytes().any(|b| b == 0 || b == b'\r' || b == b'\n') {
                return Err(Error::usage(from, "control characters are not allowed"));
            }
            Some((user.to_string(), pass.to_string()))
        }
    };
    Ok(Some(ProxySpec {
        host: host.to_string(),
        port,
        kind,
        auth,
        dns,
    }))
}

/// Options that mean nothing to the HTTP proxy server, which moves no bytes
/// through stdin or stdout and runs no program: refused rather than ignored.
const NOT_WITH_PROXY_SERVER: &[&str] = &[
    "proxy",
    "proxy-dns",
    "proxy-user",
    "udp",
    "unixsock",
    "zero-io",
    "exec",
    "sh-exec",
    "on-close",
    "broker",
    "chat",
    "crlf",
    "telnet",
    "output",
    "hex-dump",
    "trad-hex",
    "append-output",
    "delay",
    "interval",
    "send-only",
    "recv-only",
    "no-stdin",
    "quit-after-eof",
    "no-shutdown",
];

/// `-l --proxy-type http [--proxy-auth USER:PASS]`: rnc is an HTTP proxy
/// (reference §3.6).
fn resolve_proxy_server(m: &Matches, listen: bool) -> Result<Option<ProxyServer>> {
    if !listen {
        return Ok(None);
    }
    let Some(kind) = m.string("proxy-type") else {
        if m.given("proxy") {
            return Err(Error::usage(
                m.name("proxy"),
                format!(
                    "a proxy to connect through is for connect mode (to be one: -l {} http)",
                    m.name("proxy-type")
                ),
            ));
        }
        if let Some(id) = PROXY_IDS.iter().find(|id| m.given(id)) {
            return Err(Error::usage(
                m.name(id),
                format!("in listen mode needs {} http", m.name("proxy-type")),
            ));
        }
        return Ok(None);
    };
    if !matches!(kind.as_str(), "http" | "connect") {
        return Err(Error::usage(
            m.name("proxy-type"),
            format!("the proxy server speaks http only, not {}", quote(kind)),
        ));
    }
    for id in NOT_WITH_PROXY_SERVER {
        if m.given(id) {
            return Err(Error::usage(
                m.name(id),
                format!(
                    "cannot be used with the HTTP proxy server ({} http)",
                    m.name("proxy-type")
                ),
            ));
        }
    }
    let auth = match m.string("proxy-auth") {
        None => None,
        Some(a) => {
            let Some((user, pass)) = a.split_once(':') else {
                return Err(Error::usage(
                    m.name("proxy-auth"),
                    "the proxy server needs USER:PASS",
                ));
            };
            if user.is_empty() || a.bytes().any(|b| b.is_ascii_control()) {
                return Err(Error::usage(
                    m.name("proxy-auth"),
                    "the user must not be empty, and control characters are not allowed",
                ));
            }
            Some((user.to_string(), pass.to_string()))
        }
    };
    Ok(Some(ProxyServer { auth }))
}

fn resolve_dump(m: &Matches) -> Result<DumpOptions> {
    let d = DumpOptions {
        raw: m.path("output").cloned(),
        hex: m.path("hex-dump").cloned(),
        trad_hex: m.path("trad-hex").cloned(),
        append: m.flag("append-output"),
    };
    if d.append && !d.any() {
        return Err(Error::usage(
            m.name("append-output"),
            "requires --output or --hex-dump",
        ));
    }
    Ok(d)
}

/// `--allow`, `--allowfile`, `--deny`, `--denyfile` (listen mode only); names
/// are resolved here, once.
fn resolve_access(
    m: &Matches,
    listen: bool,
    unix: bool,
    numeric: bool,
) -> Result<Option<AccessList>> {
    const IDS: [&str; 4] = ["allow", "allowfile", "deny", "denyfile"];
    let Some(first) = IDS.iter().find(|id| m.given(id)) else {
        return Ok(None);
    };
    if !listen {
        return Err(Error::usage(
            m.name(first),
            "only valid with -l (it filters the clients of a listener)",
        ));
    }
    if unix {
        return Err(Error::usage(
            m.name(first),
            format!("cannot be used with {}", m.name("unixsock")),
        ));
    }
    let mut list = AccessList::new();
    for (id, rule) in [("allow", Rule::Allow), ("deny", Rule::Deny)] {
        for spec in m.strings(id) {
            list.add(rule, spec, numeric)
                .map_err(|why| Error::usage(m.name(id), why))?;
        }
    }
    for (id, rule) in [("allowfile", Rule::Allow), ("denyfile", Rule::Deny)] {
        for path in m.paths(id) {
            list.add_file(rule, path, numeric)
                .map_err(|why| Error::usage(m.name(id), why))?;
        }
    }
    Ok(Some(list))
}

fn resolve_tls(m: &Matches) -> Result<Option<TlsOptions>> {
    let verify = m.flag("ssl-verify");
    let enabled = m.flag("ssl") || verify;
    if !enabled {
        for id in [
            "ssl-cert",
            "ssl-key",
            "ssl-trustfile",
            "ssl-servername",
            "ssl-alpn",
            "ssl-ciphers",
        ] {
            if m.given(id) {
                return Err(Error::usage(m.name(id), "requires --ssl"));
            }
        }
        return Ok(None);
    }
    let cert = m.path("ssl-cert").cloned();
    let key = m.path("ssl-key").cloned();
    match (&cert, &key) {
        (Some(_), None) => return Err(Error::usage(m.name("ssl-cert"), "requires --ssl-key")),
        (None, Some(_)) => return Err(Error::usage(m.name("ssl-key"), "requires --ssl-cert")),
        _ => {}
    }
    let alpn = match m.string("ssl-alpn") {
        None => Vec::new(),
        Some(list) => {
            let protos: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
            if protos.iter().any(|s| s.is_empty() || s.len() > 255) {
                return Err(Error::usage(
                    m.name("ssl-alpn"),
                    format!(
                        "invalid protocol list {} (expected names separated by commas)",
                        quote(list)
                    ),
                ));
            }
            protos
        }
    };
    let servername = m.string("ssl-servername").cloned();
    if servername.as_deref() == Some("") {
        return Err(Error::usage(m.name("ssl-servername"), "must not be empty"));
    }
    Ok(Some(TlsOptions {
        cert,
        key,
        verify,
        trustfile: m.path("ssl-trustfile").cloned(),
        servername,
        alpn,
        ciphers: m.string("ssl-ciphers").cloned(),
    }))
}

type Endpoint = (Address, Option<String>, Option<u16>);

fn resolve_unix(m: &Matches, listen: bool, udp: bool) -> Result<Endpoint> {
    if m.given("source-port") {
        return Err(Error::usage(
            m.name("source-port"),
            format!("cannot be used with {}", m.name("unixsock")),
        ));
    }
    let source = match m.string("source") {
        Some(s) if udp && !listen => {
            if s.is_empty() {
                return Err(Error::usage(m.name("source"), "empty socket path"));
            }
            Some(s.clone())
        }
        Some(_) => {
            return Err(Error::usage(
                m.name("source"),
                format!(
                    "with {} only valid for a datagram client (-u, no -l)",
                    m.name("unixsock")
                ),
            ))
        }
        None => None,
    };
    if let Some(extra) = m.os("port") {
        return Err(Error::usage(
            extra.to_string_lossy().escape_debug(),
            "unexpected argument (with -U give only the socket PATH)",
        ));
    }
    let path = match m.os("host") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        Some(_) => return Err(Error::usage("PATH", "empty socket path")),
        None => return Err(Error::usage("PATH", "missing socket path (see rnc --help)")),
    };
    Ok((Address::Unix(path), source, None))
}

fn utf8_arg<'a>(v: &'a OsStr, what: &str) -> Result<&'a str> {
    v.to_str().ok_or_else(|| {
        Error::usage(
            v.to_string_lossy().escape_debug(),
            format!("{what} is not valid UTF-8"),
        )
    })
}

fn looks_like_port(s: &str) -> bool {
    !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A host as given on the command line: brackets around an IPv6 literal are
/// dropped; empty is an error; `-n` demands a literal; `-4`/`-6` must agree
/// with a literal's family.
fn check_host(raw: &str, what: &str, numeric: bool, family: Family) -> Result<String> {
    let host = raw
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(raw);
    if host.is_empty() {
        return Err(Error::usage(what, "empty host name"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::usage(host.escape_debug(), "invalid host name"));
    }
    let ip = host.parse::<IpAddr>().ok();
    if numeric && ip.is_none() {
        return Err(Error::usage(
            host.escape_debug(),
            "not a numeric address (-n forbids name lookups)",
        ));
    }
    match (ip, family) {
        (Some(IpAddr::V6(_)), Family::V4) => Err(Error::usage(
            host.escape_debug(),
            "is an IPv6 address but -4 was given",
        )),
        (Some(IpAddr::V4(_)), Family::V6) => Err(Error::usage(
            host.escape_debug(),
            "is an IPv4 address but -6 was given",
        )),
        _ => Ok(host.to_string()),
    }
}

/// A port number in `min..=65535`.
fn parse_port(s: &str, what: &str, min: u16) -> Result<u16> {
    let n = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse::<u32>().ok()
    } else {
        None
    };
    match n {
        Some(n) if n >= u32::from(min) && n <= 65535 => Ok(n as u16),
        _ => Err(Error::usage(
            what,
            format!("invalid port {} (expected {min}-65535)", quote(s)),
        )),
    }
}

/// An endpoint plus, with `-z`, the ports to check.
type InetEndpoint = (Address, Option<String>, Option<u16>, Option<Vec<u16>>);

fn resolve_inet(
    m: &Matches,
    p: Personality,
    listen: bool,
    numeric: bool,
    family: Family,
    zero_io: bool,
) -> Result<InetEndpoint> {
    let pos_host = match m.os("host") {
        Some(v) => Some(utf8_arg(v, "host")?),
        None => None,
    };
    let mut pos_ports = Vec::new();
    for v in m.os_all("port") {
        pos_ports.push(utf8_arg(v, "port")?);
    }
    if let Some(extra) = pos_ports.get(1).filter(|_| !zero_io) {
        return Err(Error::usage(
            extra.escape_debug(),
            "unexpected argument (see rnc --help)",
        ));
    }
    let pos_port = pos_ports.first().copied();
    let opt_port = m.string("source-port").map(String::as_str);
    let opt_source = m.string("source").map(String::as_str);
    let port_name = m.name("source-port");
    let source_name = m.name("source");

    if !listen {
        let host = match pos_host {
            Some(h) => check_host(h, "HOST", numeric, family)?,
            None => {
                return Err(Error::usage(
                    "HOST",
                    "missing host to connect to (see rnc --help)",
                ))
            }
        };
        if pos_port.is_none() {
            return Err(Error::usage(
                host.escape_debug(),
                "missing port number (usage: rnc [OPTIONS] HOST PORT)",
            ));
        }
        let (port, scan) = if zero_io {
            let ports = parse_port_specs(&pos_ports, p)?;
            (ports.first().copied().unwrap_or(1), Some(ports))
        } else {
            (parse_port(pos_port.unwrap_or(""), "PORT", 1)?, None)
        };
        let source = opt_source
            .map(|s| check_host(s, &source_name, numeric, family))
            .transpose()?;
        let source_port = opt_port.map(|s| parse_port(s, &port_name, 0)).transpose()?;
        return Ok((
            Address::Inet {
                host: Some(host),
                port,
            },
            source,
            source_port,
            scan,
        ));
    }

    // Listen: -p gives the port, -s or a positional host the bind address; a
    // lone positional of at most five digits is a port.
    let (arg_host, arg_port) = match (pos_host, pos_port) {
        (Some(one), None) if opt_port.is_none() && looks_like_port(one) => (None, Some(one)),
        (h, port) => (h, port),
    };
    let mut port = match opt_port {
        Some(s) => Some(parse_port(s, &port_name, 0)?),
        None => None,
    };
    if let Some(s) = arg_port {
        let n = parse_port(s, "PORT", 0)?;
        if port.is_some_and(|p| p != n) {
            return Err(Error::usage(
                &port_name,
                format!("conflicts with the port argument {}", quote(s)),
            ));
        }
        port = Some(n);
    }
    let mut host = match opt_source {
        Some(s) => Some(check_host(s, &source_name, numeric, family)?),
        None => None,
    };
    if let Some(h) = arg_host {
        let h = check_host(h, "HOST", numeric, family)?;
        if host.as_ref().is_some_and(|s| *s != h) {
            return Err(Error::usage(
                &source_name,
                format!("conflicts with the address argument {}", quote(&h)),
            ));
        }
        host = Some(h);
    }
    let port = match (port, p) {
        (Some(n), _) => n,
        (None, Personality::Ncat) => NCAT_DEFAULT_PORT,
        (None, Personality::Traditional) => 0,
        (None, Personality::OpenBsd) => {
            return Err(Error::usage(m.name("listen"), "missing port number"));
        }
    };
    Ok((Address::Inet { host, port }, None, None, None))
}

/// `-z` port arguments: each a comma-separated list of ports `N` and ranges
/// `N-M` (a backwards range is turned around). Ranges run upwards, or
/// downwards in the traditional personality (as traditional nc scans).
pub fn parse_port_specs(args: &[&str], p: Personality) -> Result<Vec<u16>> {
    let mut ports = Vec::new();
    for arg in args {
        for item in arg.split(',') {
            let bad = || {
                Error::usage(
                    "PORT",
                    format!(
                        "invalid port {} (expected a port, list or range of 1-65535)",
                        quote(arg)
                    ),
                )
            };
            let (lo, hi) = match item.split_once('-') {
                Some((a, b)) => (
                    parse_port(a, "PORT", 1).map_err(|_| bad())?,
                    parse_port(b, "PORT", 1).map_err(|_| bad())?,
                ),
                None => {
                    let n = parse_port(item, "PORT", 1).map_err(|_| bad())?;
                    (n, n)
                }
            };
            let (lo, hi) = (lo.min(hi), lo.max(hi));
            if p == Personality::Traditional {
                ports.extend((lo..=hi).rev());
            } else {
                ports.extend(lo..=hi);
            }
        }
    }
    Ok(ports)
}

// ---------------------------------------------------------------------------
// Values

/// A parsed time value; `negative` only matters for `-q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedTime {
    pub negative: bool,
    pub value: Duration,
}

/// ncat time syntax: a number of seconds (decimals allowed) or a number with a
/// suffix `ms`, `s`, `m`, `h`. A leading `-` marks a negative value. On failure
/// the error is a phrase like "invalid time".
pub fn parse_time(s: &str) -> std::result::Result<SignedTime, &'static str> {
    const BAD: &str = "invalid time";
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (num, unit) = rest.split_at(split);
    let unit_ns: u128 = match unit.to_ascii_lowercase().as_str() {
        "" | "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return Err(BAD),
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(BAD);
    }
    // Value in units of 1e-9 of the unit, fraction truncated to nine digits.
    let mut scaled: u128 = 0;
    for b in int.bytes() {
        scaled = scaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .ok_or(BAD)?;
        if scaled > u128::from(u64::MAX) {
            return Err("time too large");
        }
    }
    let mut frac_nanos: u128 = 0;
    for i in 0..9 {
        let d = frac.as_bytes().get(i).map_or(0, |b| u128::from(b - b'0'));
        frac_nanos = frac_nanos * 10 + d;
    }
    // scaled <= u64::MAX and unit_ns < 2^42, so this stays well inside u128.
    let total_ns = scaled * unit_ns + frac_nanos * unit_ns / 1_000_000_000;
    let secs = total_ns / 1_000_000_000;
    if secs > u128::from(u64::MAX) {
        return Err("time too large");
    }
    let value = Duration::new(secs as u64, (total_ns % 1_000_000_000) as u32);
    Ok(SignedTime { negative, value })
}

/// A buffer size: bytes, or with a `K`/`M`/`G` suffix (powers of 1024).
pub fn parse_size_value(s: &str) -> Option<usize> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let mult: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    let n: u64 = num.parse().ok()?;
    let v = n.checked_mul(mult)?;
    // setsockopt takes an int.
    if v == 0 || v > i32::MAX as u64 {
        return None;
    }
    usize::try_from(v).ok()
}

fn parse_size(m: &Matches, id: &str, v: &str) -> Result<usize> {
    parse_size_value(v).ok_or_else(|| {
        Error::usage(
            m.name(id),
            format!(
                "invalid size {} (bytes, or with a K or M suffix; 1 to 2G-1)",
                quote(v)
            ),
        )
    })
}

/// IP TOS: a number (decimal or 0x hex, 0-255) or an OpenBSD / traditional keyword.
pub fn parse_tos(s: &str) -> Option<u8> {
    let lower = s.to_ascii_lowercase();
    let named = match lower.as_str() {
        "lowdelay" | "minimize-delay" => 0x10,
        "throughput" | "maximize-throughput" => 0x08,
        "reliability" | "maximize-reliability" => 0x04,
        "lowcost" | "mincost" | "minimize-cost" => 0x02,
        "critical" => 0xa0,
        "inetcontrol" => 0xc0,
        "netcontrol" => 0xe0,
        "af11" => 0x28,
        "af12" => 0x30,
        "af13" => 0x38,
        "af21" => 0x48,
        "af22" => 0x50,
        "af23" => 0x58,
        "af31" => 0x68,
        "af32" => 0x70,
        "af33" => 0x78,
        "af41" => 0x88,
        "af42" => 0x90,
        "af43" => 0x98,
        "cs0" => 0x00,
        "cs1" => 0x20,
        "cs2" => 0x40,
        "cs3" => 0x60,
        "cs4" => 0x80,
        "cs5" => 0xa0,
        "cs6" => 0xc0,
        "cs7" => 0xe0,
        "ef" => 0xb8,
        "va" => 0xb0,
        _ => {
            return match lower.strip_prefix("0x") {
                Some(hex) if !hex.is_empty() => u8::from_str_radix(hex, 16).ok(),
                Some(_) => None,
                None if !lower.is_empty() && lower.bytes().all(|b| b.is_ascii_digit()) => {
                    lower.parse::<u8>().ok()
                }
                None => None,
            }
        }
    };
    Some(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Personality; 3] = [
        Personality::Ncat,
        Personality::OpenBsd,
        Personality::Traditional,
    ];

    fn argv(argv0: &str, args: &[&str]) -> Vec<OsString> {
        std::iter::once(argv0)
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn try_parse(argv0: &str, env: Option<&str>, args: &[&str]) -> Result<Parsed> {
        parse_with_env(argv(argv0, args), env.map(OsString::from))
    }

    fn try_cfg(p: Personality, args: &[&str]) -> Result<Config> {
        match try_parse("rnc", Some(p.name()), args)? {
            Parsed::Run(c) => Ok(*c),
            Parsed::Exit { text, code } => panic!("unexpected exit {code}: {text}"),
        }
    }

    fn cfg_p(p: Personality, args: &[&str]) -> Config {
        match try_cfg(p, args) {
            Ok(c) => c,
            Err(e) => panic!("{p:?} {args:?}: {e}"),
        }
    }

    fn cfg(args: &[&str]) -> Config {
        cfg_p(Personality::Ncat, args)
    }

    fn err_p(p: Personality, args: &[&str]) -> String {
        match try_cfg(p, args) {
            Ok(c) => panic!("{p:?} {args:?}: expected an error, got {c:?}"),
            Err(e) => {
                assert_eq!(e.code, 2, "{p:?} {args:?}: {e}");
                assert!(!e.line.contains('\n'), "multi-line error: {:?}", e.line);
                assert!(e.line.starts_with("rnc: "), "{:?}", e.line);
                e.line
            }
        }
    }

    fn err(args: &[&str]) -> String {
        err_p(Personality::Ncat, args)
    }

    fn inet(host: Option<&str>, port: u16) -> Address {
        Address::Inet {
            host: host.map(str::to_string),
            port,
        }
    }

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    // --- §1.3 address forms -------------------------------------------------

    #[test]
    fn listen_forms_in_every_personality() {
        let any = inet(None, 1234);
        let lo = inet(Some("127.0.0.1"), 1234);
        let cases: &[(&[&str], &Address)] = &[
            (&["-l", "1234"], &any),
            (&["-l", "-p", "1234"], &any),
            (&["-lp", "1234"], &any),
            (&["-lp1234"], &any),
            (&["-p", "1234", "-l"], &any),
            (&["--listen", "--source-port", "1234"], &any),
            (&["--listen", "--source-port=1234"], &any),
            (&["-l", "127.0.0.1", "1234"], &lo),
            (&["-l", "-p", "1234", "127.0.0.1"], &lo),
            (&["-l", "-s", "127.0.0.1", "-p", "1234"], &lo),
            (&["-l", "--source", "127.0.0.1", "1234"], &lo),
            (&["-l", "-s", "127.0.0.1", "127.0.0.1", "1234"], &lo),
            (&["-l", "-p", "1234", "127.0.0.1", "1234"], &lo),
        ];
        for p in ALL {
            for (args, want) in cases {
                let c = cfg_p(p, args);
                assert_eq!(&c.address, *want, "{p:?} {args:?}");
                assert_eq!(c.role, Role::Listen);
                assert_eq!(c.proto, Proto::Tcp);
                assert_eq!(c.source, None);
                assert_eq!(c.source_port, None);
            }
            assert_eq!(
                cfg_p(p, &["-l", "::1", "1234"]).address,
                inet(Some("::1"), 1234)
            );
            assert_eq!(
                cfg_p(p, &["-l", "[::1]", "1234"]).address,
                inet(Some("::1"), 1234)
            );
            assert_eq!(
                cfg_p(p, &["-l", "localhost", "80"]).address,
                inet(Some("localhost"), 80)
            );
            assert_eq!(cfg_p(p, &["-l", "-p", "0"]).address, inet(None, 0));
            assert_eq!(cfg_p(p, &["-l", "0"]).address, inet(None, 0));
            assert_eq!(cfg_p(p, &["-l", "65535"]).address, inet(None, 65535));
            assert_eq!(cfg_p(p, &["-lu", "53"]).proto, Proto::Udp);
        }
    }

    #[test]
    fn listen_default_port_per_personality() {
        assert_eq!(cfg(&["-l"]).address, inet(None, 31337));
        assert_eq!(
            cfg(&["-l", "127.0.0.1"]).address,
            inet(Some("127.0.0.1"), 31337)
        );
        assert_eq!(
            cfg(&["-l", "-s", "127.0.0.1"]).address,
            inet(Some("127.0.0.1"), 31337)
        );
        let t = Personality::Traditional;
        assert_eq!(cfg_p(t, &["-l"]).address, inet(None, 0));
        assert_eq!(
            cfg_p(t, &["-l", "127.0.0.1"]).address,
            inet(Some("127.0.0.1"), 0)
        );
        let o = Personality::OpenBsd;
        assert_eq!(err_p(o, &["-l"]), "rnc: -l : missing port number");
        assert_eq!(
            err_p(o, &["-l", "127.0.0.1"]),
            "rnc: -l : missing port number"
        );
        assert_eq!(
            err_p(o, &["--listen"]),
            "rnc: --listen : missing port number"
        );
    }

    #[test]
    fn listen_address_errors() {
        for p in ALL {
            assert_eq!(
                err_p(p, &["-l", "-p", "99999"]),
                "rnc: -p : invalid port '99999' (expected 0-65535)"
            );
            assert_eq!(
                err_p(p, &["-l", "70000"]),
                "rnc: PORT : invalid port '70000' (expected 0-65535)"
            );
            assert_eq!(
                err_p(p, &["-l", "host", "http"]),
                "rnc: PORT : invalid port 'http' (expected 0-65535)"
            );
            assert_eq!(
                err_p(p, &["-l", "-p", "1", "127.0.0.1", "2"]),
                "rnc: -p : conflicts with the port argument '2'"
            );
            assert_eq!(
                err_p(p, &["-l", "-s", "127.0.0.1", "::1", "2"]),
                "rnc: -s : conflicts with the address argument '::1'"
            );
            assert!(err_p(p, &["-l", "a", "1", "extra"]).contains("unexpected argument"));
            assert_eq!(err_p(p, &["-l", "", "1"]), "rnc: HOST : empty host name");
        }
    }

    #[test]
    fn connect_forms() {
        for p in ALL {
            let c = cfg_p(p, &["example.com", "80"]);
            assert_eq!(c.role, Role::Connect);
            assert_eq!(c.address, inet(Some("example.com"), 80));
            assert_eq!((c.source.as_deref(), c.source_port), (None, None));

            let c = cfg_p(p, &["-s", "10.0.0.1", "-p", "5000", "127.0.0.1", "65535"]);
            assert_eq!(c.address, inet(Some("127.0.0.1"), 65535));
            assert_eq!(c.source.as_deref(), Some("10.0.0.1"));
            assert_eq!(c.source_port, Some(5000));

            assert_eq!(cfg_p(p, &["[::1]", "22"]).address, inet(Some("::1"), 22));
            assert_eq!(cfg_p(p, &["-u", "h", "53"]).proto, Proto::Udp);
        }
    }

    #[test]
    fn connect_address_errors() {
        for p in ALL {
            assert_eq!(
                err_p(p, &["h", "0"]),
                "rnc: PORT : invalid port '0' (expected 1-65535)"
            );
            assert_eq!(
                err_p(p, &["h", "65536"]),
                "rnc: PORT : invalid port '65536' (expected 1-65535)"
            );
            assert_eq!(
                err_p(p, &["h", "http"]),
                "rnc: PORT : invalid port 'http' (expected 1-65535)"
            );
            assert_eq!(
                err_p(p, &["h", "1-10"]),
                "rnc: PORT : invalid port '1-10' (expected 1-65535)"
            );
            assert_eq!(
                err_p(p, &["h", "99999999999999999999"]),
                "rnc: PORT : invalid port '99999999999999999999' (expected 1-65535)"
            );
            assert_eq!(
                err_p(p, &["-p", "x", "h", "1"]),
                "rnc: -p : invalid port 'x' (expected 0-65535)"
            );
            assert_eq!(
                err_p(p, &["h"]),
                "rnc: h : missing port number (usage: rnc [OPTIONS] HOST PORT)"
            );
            assert_eq!(
                err_p(p, &[]),
                "rnc: HOST : missing host to connect to (see rnc --help)"
            );
            assert_eq!(
                err_p(p, &["h", "1", "2"]),
                "rnc: 2 : unexpected argument (see rnc --help)"
            );
            assert_eq!(err_p(p, &["a b", "1"]), "rnc: a b : invalid host name");
        }
    }

    #[test]
    fn nodns_requires_literals() {
        for p in ALL {
            assert_eq!(
                err_p(p, &["-n", "localhost", "80"]),
                "rnc: localhost : not a numeric address (-n forbids name lookups)"
            );
            assert!(err_p(p, &["--nodns", "-l", "localhost", "80"]).contains("not a numeric"));
            assert!(err_p(p, &["-n", "-s", "localhost", "::1", "80"]).contains("not a numeric"));
            let c = cfg_p(p, &["-n", "127.0.0.1", "80"]);
            assert!(c.numeric);
            assert!(cfg_p(p, &["-n", "-l", "::", "80"]).numeric);
            assert!(cfg_p(p, &["-nlp", "80"]).numeric);
        }
    }

    #[test]
    fn family() {
        assert_eq!(cfg(&["h", "1"]).family, Family::Any);
        assert_eq!(cfg(&["-4", "h", "1"]).family, Family::V4);
        assert_eq!(cfg(&["-6", "h", "1"]).family, Family::V6);
        assert_eq!(
            err(&["-4", "-6", "h", "1"]),
            "rnc: -4 : cannot be used with -6"
        );
        assert_eq!(
            err(&["-4", "::1", "1"]),
            "rnc: ::1 : is an IPv6 address but -4 was given"
        );
        assert_eq!(
            err(&["-6", "-l", "127.0.0.1", "1"]),
            "rnc: 127.0.0.1 : is an IPv4 address but -6 was given"
        );
    }

    #[test]
    fn unix_sockets() {
        for p in ALL {
            let c = cfg_p(p, &["-U", "/tmp/sock"]);
            assert_eq!(c.proto, Proto::UnixStream);
            assert_eq!(c.address, Address::Unix(PathBuf::from("/tmp/sock")));
            let c = cfg_p(p, &["--unixsock", "@abstract"]);
            assert_eq!(c.address, Address::Unix(PathBuf::from("@abstract")));
            let c = cfg_p(p, &["-lU", "/tmp/sock"]);
            assert_eq!((c.role, c.proto), (Role::Listen, Proto::UnixStream));
            // A path made of digits is still a path.
            assert_eq!(
                cfg_p(p, &["-lU", "1234"]).address,
                Address::Unix("1234".into())
            );
            let c = cfg_p(p, &["-U", "-u", "/tmp/d"]);
            assert_eq!(c.proto, Proto::UnixDgram);
            let c = cfg_p(p, &["-Uu", "-s", "/tmp/me", "/tmp/d"]);
            assert_eq!(c.source.as_deref(), Some("/tmp/me"));
            let c = cfg_p(p, &["-lUu", "/tmp/d"]);
            assert_eq!((c.role, c.proto), (Role::Listen, Proto::UnixDgram));

            assert_eq!(
                err_p(p, &["-U"]),
                "rnc: PATH : missing socket path (see rnc --help)"
            );
            assert_eq!(err_p(p, &["-U", ""]), "rnc: PATH : empty socket path");
            assert_eq!(
                err_p(p, &["-U", "/a", "/b"]),
                "rnc: /b : unexpected argument (with -U give only the socket PATH)"
            );
            assert_eq!(
                err_p(p, &["-U", "-p", "1", "/a"]),
                "rnc: -p : cannot be used with -U"
            );
            assert!(err_p(p, &["-U", "-s", "/me", "/a"]).starts_with("rnc: -s : "));
        }
    }

    #[test]
    fn non_utf8_arguments() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'/', b't', 0xff]);
        // A Unix path may be any bytes.
        let args = vec![OsString::from("rnc"), OsString::from("-U"), bad.clone()];
        match parse_with_env(args, None) {
            Ok(Parsed::Run(c)) => assert_eq!(c.address, Address::Unix(PathBuf::from(bad.clone()))),
            other => panic!("{other:?}"),
        }
        // A host may not.
        let args = vec![OsString::from("rnc"), bad.clone(), OsString::from("1")];
        let e = parse_with_env(args, None).unwrap_err();
        assert_eq!(
            (e.line.as_str(), e.code),
            ("rnc: /t\u{fffd} : host is not valid UTF-8", 2)
        );
        // Nor an option value.
        let args = vec![
            OsString::from("rnc"),
            OsString::from("-w"),
            bad,
            OsString::from("h"),
        ];
        let e = parse_with_env(args, None).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(
            e.line.starts_with("rnc: ") && !e.line.contains('\n'),
            "{}",
            e.line
        );
    }

    // --- conflicting letters ------------------------------------------------

    #[test]
    fn letter_w_per_personality() {
        let two = Some(secs(2.0));
        let t = cfg_p(Personality::Ncat, &["-w", "2", "h", "1"]).timeouts;
        assert_eq!(
            t,
            Timeouts {
                connect: two,
                idle: None,
                idle_after_stdin_eof: None
            }
        );
        let t = cfg_p(Personality::OpenBsd, &["-w", "2", "h", "1"]).timeouts;
        assert_eq!(
            t,
            Timeouts {
                connect: two,
                idle: two,
                idle_after_stdin_eof: None
            }
        );
        let t = cfg_p(Personality::Traditional, &["-w", "2", "h", "1"]).timeouts;
        assert_eq!(
            t,
            Timeouts {
                connect: two,
                idle: None,
                idle_after_stdin_eof: two
            }
        );
        for p in ALL {
            assert_eq!(cfg_p(p, &["--wait", "2", "h", "1"]).timeouts.connect, two);
            assert_eq!(cfg_p(p, &["-w2", "h", "1"]).timeouts.connect, two);
            assert_eq!(cfg_p(p, &["h", "1"]).timeouts, Timeouts::default());
        }
    }

    #[test]
    fn letter_i_per_personality() {
        let c = cfg_p(Personality::Ncat, &["-i", "5", "h", "1"]);
        assert_eq!(c.timeouts.idle, Some(secs(5.0)));
        assert_eq!(c.bytes.line_interval, None);
        for p in [Personality::OpenBsd, Personality::Traditional] {
            let c = cfg_p(p, &["-i", "1", "h", "1"]);
            assert_eq!(c.bytes.line_interval, Some(secs(1.0)));
            assert_eq!(c.timeouts.idle, None);
            assert!(c.bytes.any());
            // 0 means no interval.
            assert_eq!(cfg_p(p, &["-i", "0", "h", "1"]).bytes.line_interval, None);
            // The ncat meaning stays reachable by its long name.
            let c = cfg_p(p, &["--idle-timeout", "3", "h", "1"]);
            assert_eq!(c.timeouts.idle, Some(secs(3.0)));
        }
        assert_eq!(
            cfg_p(
                Personality::OpenBsd,
                &["-w", "2", "--idle-timeout", "3", "h", "1"]
            )
            .timeouts
            .idle,
            Some(secs(3.0))
        );
    }

    #[test]
    fn letter_d_per_personality() {
        for p in [Personality::Ncat, Personality::Traditional] {
            let c = cfg_p(p, &["-d", "300ms", "h", "1"]);
            assert_eq!(c.bytes.delay, Some(secs(0.3)));
            assert!(c.eof.read_stdin);
            assert!(err_p(p, &["-d", "h", "1"]).starts_with("rnc: -d : invalid time 'h'"));
        }
        let c = cfg_p(Personality::OpenBsd, &["-d", "h", "1"]);
        assert!(!c.eof.read_stdin);
        assert_eq!(c.bytes.delay, None);
        assert_eq!(c.address, inet(Some("h"), 1));
        let c = cfg_p(Personality::OpenBsd, &["--delay", "1s", "h", "1"]);
        assert_eq!(c.bytes.delay, Some(secs(1.0)));
        for p in ALL {
            assert!(!cfg_p(p, &["--no-stdin", "h", "1"]).eof.read_stdin);
        }
    }

    #[test]
    fn letter_k_per_personality() {
        for p in [Personality::Ncat, Personality::OpenBsd] {
            let c = cfg_p(p, &["-k", "h", "1"]);
            assert!(c.keep_open);
            assert!(!c.eof.quit_on_socket_eof);
            assert!(!c.sock.keepalive);
            let c = cfg_p(p, &["-lk", "1234"]);
            assert!(c.keep_open && c.eof.quit_on_socket_eof);
            assert!(cfg_p(p, &["-u", "-lk", "1234"]).keep_open);
            assert!(cfg_p(p, &["-u", "-lk", "-e", "/bin/cat", "1234"]).keep_open);
        }
        let t = Personality::Traditional;
        let c = cfg_p(t, &["-k", "h", "1"]);
        assert!(c.sock.keepalive);
        assert!(!c.keep_open);
        assert!(c.eof.quit_on_socket_eof);
        assert!(cfg_p(t, &["-lk", "-p", "1234"]).sock.keepalive);
        assert!(cfg_p(t, &["--keep-open", "h", "1"]).keep_open);
        assert!(cfg_p(t, &["--keep-open", "-l", "1"]).keep_open);
    }

    #[test]
    fn exec_options() {
        assert_eq!(
            cfg(&["-e", "/bin/cat -n", "h", "1"]).exec,
            Some(vec!["/bin/cat".to_string(), "-n".to_string()])
        );
        assert_eq!(
            cfg(&["--sh-exec", "echo hi", "-l", "1"]).exec,
            Some(vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                "echo hi".to_string()
            ])
        );
        // The child is both ends: the session outlives the peer's FIN.
        let c = cfg(&["-e", "/bin/cat", "h", "1"]);
        assert!(!c.eof.quit_on_socket_eof && c.eof.read_stdin && c.eof.shutdown_on_stdin_eof);
        assert_eq!(
            err(&["-e", "/bin/cat", "-c", "cat", "h", "1"]),
            "rnc: -e with -c : only one program can be run"
        );
        assert!(err(&["--lua-exec", "x.lua", "h", "1"]).contains("--sh-exec"));
    }

    #[test]
    fn broker_and_chat_are_keep_open_listeners() {
        for p in ALL {
            let c = cfg_p(p, &["--broker", "-l", "1234"]);
            assert_eq!(c.fanout, Fanout::Broker, "{p:?}");
            assert!(c.keep_open && c.role == Role::Listen, "{p:?}");
            // --broker alone listens (ncat: "--broker implies --listen").
            let c = cfg_p(p, &["--broker", "127.0.0.1", "1234"]);
            assert_eq!((c.fanout, c.role), (Fanout::Broker, Role::Listen), "{p:?}");
            let c = cfg_p(p, &["--chat", "-l", "1234"]);
            assert_eq!(c.fanout, Fanout::Chat, "{p:?}");
            assert!(c.keep_open && c.role == Role::Listen, "{p:?}");
            assert_eq!(
                cfg_p(p, &["--chat", "--broker", "1234"]).fanout,
                Fanout::Chat
            );
            assert_eq!(cfg_p(p, &["-l", "1234"]).fanout, Fanout::Stdio);
            assert_eq!(
                err_p(p, &["--chat", "h", "1"]),
                "rnc: --chat : only valid with -l (a chat server listens)"
            );
            assert_eq!(
                err_p(p, &["--broker", "-u", "-l", "1"]),
                "rnc: --broker : cannot be used with -u (UDP has no connections to broker)"
            );
            assert_eq!(
                err_p(p, &["--chat", "-lu", "1"]),
                "rnc: --chat : cannot be used with -u (UDP has no connections to broker)"
            );
        }
        assert_eq!(
            err(&["--broker", "-e", "/bin/cat", "1"]),
            "rnc: --broker with -e : a broker relays between its clients and runs no program"
        );
        assert_eq!(
            err(&["--chat", "-l", "--sh-exec", "cat", "1"]),
            "rnc: --chat with --sh-exec : a broker relays between its clients and runs no program"
        );
        // A broker over a Unix socket is served too (ncat refuses it).
        let c = cfg(&["--broker", "-U", "/tmp/x.sock"]);
        assert_eq!((c.fanout, c.proto), (Fanout::Broker, Proto::UnixStream));
        let help = command(Personality::Ncat).render_long_help().to_string();
        assert!(help.contains("--broker") && help.contains("--chat"));
    }

    #[test]
    fn letter_m_is_max_conns_except_for_openbsd() {
        for p in [Personality::Ncat, Personality::Traditional] {
            assert_eq!(cfg_p(p, &["-m", "3", "-lk", "1"]).max_conns, 3);
            assert_eq!(cfg_p(p, &["-lk", "1"]).max_conns, DEFAULT_MAX_CONNS);
        }
        assert_eq!(
            err_p(Personality::OpenBsd, &["-m", "3", "h", "1"]),
            "rnc: -m : not supported yet"
        );
        assert_eq!(cfg(&["--max-conns", "20000", "-lk", "1"]).max_conns, 20000);
        // -x is the hex dump, except for OpenBSD nc (the proxy address).
        let c = cfg_p(Personality::OpenBsd, &["-x", "a", "h", "1"]);
        assert_eq!(c.proxy.map(|p| (p.host, p.port)), Some(("a".into(), 3128)));
        assert_eq!(c.bytes.dump.hex, None);
    }

    // --- values --------------------------------------------------------------

    #[test]
    fn time_values() {
        let ok = |s: &str| parse_time(s).map(|t| (t.negative, t.value));
        assert_eq!(ok("500ms"), Ok((false, Duration::from_millis(500))));
        assert_eq!(ok("2s"), Ok((false, Duration::from_secs(2))));
        assert_eq!(ok("1m"), Ok((false, Duration::from_secs(60))));
        assert_eq!(ok("1h"), Ok((false, Duration::from_secs(3600))));
        assert_eq!(ok("2"), Ok((false, Duration::from_secs(2))));
        assert_eq!(ok("1.5"), Ok((false, Duration::from_millis(1500))));
        assert_eq!(ok("0.25s"), Ok((false, Duration::from_millis(250))));
        assert_eq!(ok(".5"), Ok((false, Duration::from_millis(500))));
        assert_eq!(ok("1.5m"), Ok((false, Duration::from_secs(90))));
        assert_eq!(ok("0.5h"), Ok((false, Duration::from_secs(1800))));
        assert_eq!(ok("1.5ms"), Ok((false, Duration::from_micros(1500))));
        assert_eq!(ok("2S"), Ok((false, Duration::from_secs(2))));
        assert_eq!(ok("0"), Ok((false, Duration::ZERO)));
        assert_eq!(ok("-1"), Ok((true, Duration::from_secs(1))));
        assert_eq!(ok("0.0000000001"), Ok((false, Duration::ZERO)));
        assert_eq!(
            ok("18446744073709551615"),
            Ok((false, Duration::from_secs(u64::MAX)))
        );
        for bad in [
            "", "-", "abc", "1x", "1.2.3", ".", "s", "ms", "1 s", " 1", "1e3", "+1", "--1", "1sec",
            "0x10",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_time("99999999999999999999999"), Err("time too large"));
        assert_eq!(parse_time("18446744073709551615h"), Err("time too large"));
        assert_eq!(
            err(&["-w", "abc", "h", "1"]),
            "rnc: -w : invalid time 'abc'"
        );
        assert_eq!(
            err(&["--wait=1x", "h", "1"]),
            "rnc: --wait : invalid time '1x'"
        );
        assert_eq!(
            err(&["-w", "0", "h", "1"]),
            "rnc: -w : invalid time '0' (must be greater than 0)"
        );
        assert_eq!(
            err(&["-w", "-1", "h", "1"]),
            "rnc: -w : invalid time '-1' (must be greater than 0)"
        );
        assert_eq!(
            err(&["-w=-1", "h", "1"]),
            "rnc: -w : invalid time '-1' (must be greater than 0)"
        );
        assert_eq!(
            err(&["-i", "0", "h", "1"]),
            "rnc: -i : invalid time '0' (must be greater than 0)"
        );
        assert_eq!(
            err(&["-d", "0", "h", "1"]),
            "rnc: -d : invalid time '0' (must be greater than 0)"
        );
        assert_eq!(
            err_p(Personality::OpenBsd, &["-i=-1", "h", "1"]),
            "rnc: -i : invalid time '-1' (must not be negative)"
        );
        assert_eq!(
            cfg(&["-w", "1.5", "h", "1"]).timeouts.connect,
            Some(secs(1.5))
        );
        assert_eq!(
            cfg(&["-w", "500ms", "h", "1"]).timeouts.connect,
            Some(secs(0.5))
        );
    }

    #[test]
    fn quit_after_stdin_eof() {
        for p in ALL {
            let q = |args: &[&str]| cfg_p(p, args).eof.quit_after_stdin_eof;
            assert_eq!(q(&["h", "1"]), None);
            assert_eq!(q(&["-q", "0", "h", "1"]), Some(Duration::ZERO));
            assert_eq!(q(&["-q0", "h", "1"]), Some(Duration::ZERO));
            assert_eq!(q(&["-q", "2", "h", "1"]), Some(secs(2.0)));
            assert_eq!(q(&["-q", "500ms", "h", "1"]), Some(secs(0.5)));
            assert_eq!(q(&["-q", "-1", "h", "1"]), None);
            assert_eq!(q(&["-q-1", "h", "1"]), None);
            assert_eq!(q(&["-q", "-5", "-l", "1"]), None);
            assert_eq!(q(&["--send-only", "h", "1"]), Some(Duration::ZERO));
            assert_eq!(q(&["--send-only", "-q", "-1", "h", "1"]), None);
            assert_eq!(q(&["--send-only", "-q", "3", "h", "1"]), Some(secs(3.0)));
            assert_eq!(
                err_p(p, &["-q", "x", "h", "1"]),
                "rnc: -q : invalid time 'x'"
            );
        }
    }

    #[test]
    fn eof_policies() {
        let d = EofPolicy::default();
        assert_eq!(cfg(&["h", "1"]).eof, d);
        for p in ALL {
            // -N is accepted and changes nothing.
            assert_eq!(cfg_p(p, &["-N", "h", "1"]).eof, d);
            assert_eq!(
                cfg_p(p, &["-Nq", "1", "h", "1"]).eof.quit_after_stdin_eof,
                Some(secs(1.0))
            );
        }
        let e = cfg(&["--send-only", "h", "1"]).eof;
        assert!(!e.write_stdout && e.read_stdin && e.shutdown_on_stdin_eof);
        let e = cfg(&["--recv-only", "h", "1"]).eof;
        assert!(!e.read_stdin && !e.shutdown_on_stdin_eof && e.write_stdout);
        assert!(e.quit_on_socket_eof);
        let e = cfg(&["--no-shutdown", "h", "1"]).eof;
        assert!(!e.shutdown_on_stdin_eof && e.read_stdin);
        let e = cfg(&["--no-stdin", "h", "1"]).eof;
        assert!(!e.read_stdin && e.shutdown_on_stdin_eof);
        assert_eq!(
            err(&["--send-only", "--recv-only", "h", "1"]),
            "rnc: --send-only : cannot be used with --recv-only"
        );
        assert_eq!(
            err(&["--recv-only", "--send-only", "-l"]),
            "rnc: --send-only : cannot be used with --recv-only"
        );
    }

    #[test]
    fn socket_options() {
        let s = cfg(&[
            "-b", "-I", "64K", "-O", "1m", "-T", "lowdelay", "-M", "64", "h", "1",
        ])
        .sock;
        assert!(s.broadcast);
        assert_eq!(s.recv_buffer, Some(65536));
        assert_eq!(s.send_buffer, Some(1 << 20));
        assert_eq!(s.tos, Some(0x10));
        assert_eq!(s.ttl, Some(64));
        assert_eq!(cfg(&["-I", "1000", "h", "1"]).sock.recv_buffer, Some(1000));
        assert_eq!(cfg(&["-T", "0x20", "h", "1"]).sock.tos, Some(0x20));
        assert_eq!(cfg(&["-T", "16", "h", "1"]).sock.tos, Some(16));
        assert_eq!(cfg(&["-T", "EF", "h", "1"]).sock.tos, Some(0xb8));
        assert_eq!(
            cfg(&["-T", "Minimize-Delay", "h", "1"]).sock.tos,
            Some(0x10)
        );
        for bad in ["0", "abc", "1T", "-1", "4G", "", "99999999999999999999K"] {
            assert!(
                err(&["-I", bad, "h", "1"]).starts_with("rnc: -I : invalid size"),
                "{bad}"
            );
        }
        assert!(err(&["-O", "x", "h", "1"]).starts_with("rnc: -O : invalid size 'x'"));
        for bad in ["256", "bogus", "0x", "0x100"] {
            assert!(
                err(&["-T", bad, "h", "1"]).starts_with("rnc: -T : invalid type of service"),
                "{bad}"
            );
        }
        for bad in ["0", "256", "x"] {
            assert!(
                err(&["-M", bad, "h", "1"]).starts_with("rnc: -M : invalid TTL"),
                "{bad}"
            );
        }
    }

    #[test]
    fn tls_options() {
        assert_eq!(cfg(&["h", "1"]).tls, None);
        assert_eq!(cfg(&["--ssl", "h", "1"]).tls, Some(TlsOptions::default()));
        let t = cfg(&["--ssl-verify", "h", "1"]).tls.unwrap_or_default();
        assert!(t.verify);
        let t = cfg(&[
            "--ssl",
            "--ssl-cert",
            "c.pem",
            "--ssl-key",
            "k.pem",
            "--ssl-trustfile",
            "ca.pem",
            "--ssl-servername",
            "example.com",
            "--ssl-alpn",
            "h2,http/1.1",
            "--ssl-ciphers",
            "HIGH",
            "h",
            "1",
        ])
        .tls
        .unwrap_or_default();
        assert_eq!(t.cert, Some(PathBuf::from("c.pem")));
        assert_eq!(t.key, Some(PathBuf::from("k.pem")));
        assert_eq!(t.trustfile, Some(PathBuf::from("ca.pem")));
        assert_eq!(t.servername.as_deref(), Some("example.com"));
        assert_eq!(t.alpn, vec!["h2".to_string(), "http/1.1".to_string()]);
        assert_eq!(t.ciphers.as_deref(), Some("HIGH"));
        assert!(!t.verify);
        for opt in [
            "--ssl-cert",
            "--ssl-key",
            "--ssl-trustfile",
            "--ssl-servername",
            "--ssl-alpn",
            "--ssl-ciphers",
        ] {
            assert_eq!(
                err(&[opt, "x", "h", "1"]),
                format!("rnc: {opt} : requires --ssl")
            );
        }
        assert_eq!(
            err(&["--ssl", "--ssl-cert", "c", "h", "1"]),
            "rnc: --ssl-cert : requires --ssl-key"
        );
        assert_eq!(
            err(&["--ssl", "--ssl-key", "k", "-l", "1"]),
            "rnc: --ssl-key : requires --ssl-cert"
        );
        assert!(err(&["--ssl", "--ssl-alpn", "h2,,x", "h", "1"]).contains("invalid protocol list"));
    }

    // --- errors ----------------------------------------------------------------

    #[test]
    fn clap_errors_are_one_line() {
        assert_eq!(
            err(&["--frobnicate"]),
            "rnc: --frobnicate : unknown option (see rnc --help)"
        );
        assert_eq!(
            err(&["-Z", "h", "1"]),
            "rnc: -Z : unknown option (see rnc --help)"
        );
        assert_eq!(err(&["-lZ"]), "rnc: -Z : unknown option (see rnc --help)");
        assert_eq!(
            err(&["--liste"]),
            "rnc: --liste : unknown option (did you mean --listen?)"
        );
        assert_eq!(err(&["-w"]), "rnc: -w : a value is required");
        assert_eq!(err(&["h", "1", "-w"]), "rnc: -w : a value is required");
        assert_eq!(err(&["--wait"]), "rnc: --wait : a value is required");
        assert_eq!(err(&["-lp"]), "rnc: -p : a value is required");
        assert_eq!(
            err(&["--listen=yes"]),
            "rnc: --listen : does not take a value"
        );
        assert_eq!(
            err(&["--send-only=1", "h", "1"]),
            "rnc: --send-only : does not take a value"
        );
        assert_eq!(err(&["--compat"]), "rnc: --compat : a value is required");
        // Every personality: unknown letters from other netcats.
        for p in ALL {
            for bad in ["-D", "-F", "-S", "-V", "-W", "-Z", "-1"] {
                assert_eq!(
                    err_p(p, &[bad, "h", "1"]),
                    format!("rnc: {bad} : unknown option (see rnc --help)")
                );
            }
        }
        assert_eq!(err(&["-\n"]), "rnc: -\\n : unknown option (see rnc --help)");
    }

    #[test]
    fn later_issue_options_are_rejected() {
        let cases: &[(&[&str], &str)] = &[
            (&["-r"], "-r"),
            (&["--sctp"], "--sctp"),
            (&["--vsock"], "--vsock"),
            (&["-vr"], "-r"),
        ];
        for p in ALL {
            for (args, name) in cases {
                let mut a: Vec<&str> = args.to_vec();
                a.extend(["h", "1"]);
                assert_eq!(
                    err_p(p, &a),
                    format!("rnc: {name} : not supported yet"),
                    "{p:?}"
                );
            }
        }
        // Hidden from help.
        let help = command(Personality::Ncat).render_long_help().to_string();
        for hidden in ["--test", "-g ", "-G ", "-r,"] {
            assert!(!help.contains(hidden), "{hidden} shown in help");
        }
    }

    #[test]
    fn proxy_options() {
        let spec = |p: Personality, args: &[&str]| {
            let mut a = args.to_vec();
            a.extend(["h", "1"]);
            cfg_p(p, &a).proxy.expect("a proxy")
        };
        for p in ALL {
            let s = spec(p, &["--proxy", "p"]);
            assert_eq!(
                (s.host.as_str(), s.port, s.kind),
                ("p", 3128, ProxyKind::Http)
            );
            assert_eq!((s.dns, s.auth), (ProxyDns::Remote, None));
            let s = spec(
                p,
                &["--proxy", "[::1]:99", "-X", "5", "--proxy-dns", "local"],
            );
            assert_eq!(
                (s.host.as_str(), s.port, s.kind),
                ("::1", 99, ProxyKind::Socks5)
            );
            assert_eq!(s.dns, ProxyDns::Local);
            assert_eq!(s.label(), "[::1]:99");
            let s = spec(p, &["--proxy", "::1", "--proxy-type", "socks4"]);
            assert_eq!(
                (s.host.as_str(), s.port, s.kind),
                ("::1", 1080, ProxyKind::Socks4)
            );
            let s = spec(
                p,
                &["--proxy=q:7", "-X", "connect", "--proxy-auth", "u:p:w"],
            );
            assert_eq!(
                (s.kind, s.auth),
                (ProxyKind::Http, Some(("u".into(), "p:w".into())))
            );
            assert_eq!(
                spec(p, &["--proxy", "q", "-X", "4"]).kind,
                ProxyKind::Socks4
            );
            let bad: &[(&[&str], &str)] = &[
                (&["--proxy", "p", "-l"], "rnc: --proxy : a proxy to connect through is for connect mode (to be one: -l --proxy-type http)"),
                (&["--proxy-auth", "u:p", "-l"], "rnc: --proxy-auth : in listen mode needs --proxy-type http"),
                (&["--proxy-type", "socks5", "-l"], "rnc: --proxy-type : the proxy server speaks http only, not 'socks5'"),
                (&["--proxy-type", "http", "-l", "--sh-exec", "cat"], "rnc: --sh-exec : cannot be used with the HTTP proxy server (--proxy-type http)"),
                (&["--proxy-type", "http", "-l", "--proxy-auth", "user"], "rnc: --proxy-auth : the proxy server needs USER:PASS"),
                (&["--proxy-dns", "local"], if p == Personality::OpenBsd { "rnc: --proxy-dns : only valid with -x" } else { "rnc: --proxy-dns : only valid with --proxy" }),
                (&["--proxy", "p", "-X", "9"], "rnc: -X : invalid proxy type '9' (http, socks4 or socks5)"),
                (&["--proxy", "p", "--proxy-dns", "x"], "rnc: --proxy-dns : invalid value 'x' (local, remote, both or none)"),
                (&["--proxy", "p:0"], "rnc: --proxy : invalid port in 'p:0'"),
                (&["--proxy", "[::1"], "rnc: --proxy : missing ] in '[::1'"),
                (&["--proxy", ":1"], "rnc: --proxy : no host in ':1'"),
                (&["--proxy", "p", "-u"], "rnc: --proxy : cannot be used with -u"),
                (&["--proxy", "p", "-z"], "rnc: --proxy : cannot be used with -z"),
                (&["--proxy", "p", "--proxy-auth", ":x"], "rnc: --proxy-auth : the user must be 1 to 255 bytes and the password at most 255"),
            ];
            for (args, want) in bad {
                let mut a = args.to_vec();
                a.extend(["h", "1"]);
                assert_eq!(err_p(p, &a), *want, "{p:?} {args:?}");
            }
        }
        for p in [
            Personality::Ncat,
            Personality::OpenBsd,
            Personality::Traditional,
        ] {
            let c = cfg_p(
                p,
                &["-l", "--proxy-type", "http", "--proxy-auth", "u:p:q", "1"],
            );
            assert_eq!(
                c.proxy_server,
                Some(ProxyServer {
                    auth: Some(("u".into(), "p:q".into()))
                })
            );
            assert_eq!(c.proxy, None);
            assert_eq!(cfg_p(p, &["-l", "1"]).proxy_server, None);
        }
        let s = spec(
            Personality::OpenBsd,
            &["-X", "connect", "-x", "127.0.0.1:8080", "-P", "bob"],
        );
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 8080));
        assert_eq!(s.auth, Some(("bob".into(), String::new())));
        // Shown in help.
        let help = command(Personality::Ncat).render_long_help().to_string();
        for shown in ["--proxy ", "--proxy-type", "--proxy-auth", "--proxy-dns"] {
            assert!(help.contains(shown), "{shown} missing from help");
        }
    }

    // --- personality selection --------------------------------------------------

    fn personality_of(argv0: &str, env: Option<&str>, args: &[&str]) -> Personality {
        let mut a = args.to_vec();
        a.extend(["h", "1"]);
        match try_parse(argv0, env, &a) {
            Ok(Parsed::Run(c)) => c.personality,
            other => panic!("{argv0} {env:?} {args:?}: {other:?}"),
        }
    }

    #[test]
    fn personality_detection() {
        use Personality::*;
        assert_eq!(personality_of("rnc", None, &[]), Ncat);
        assert_eq!(personality_of("ncat", None, &[]), Ncat);
        assert_eq!(personality_of("/usr/bin/rnc", None, &[]), Ncat);
        assert_eq!(personality_of("nc", None, &[]), OpenBsd);
        assert_eq!(personality_of("/bin/netcat", None, &[]), OpenBsd);
        assert_eq!(personality_of("nc.openbsd", None, &[]), OpenBsd);
        assert_eq!(
            personality_of("/usr/bin/nc.traditional", None, &[]),
            Traditional
        );
        assert_eq!(personality_of("something-else", None, &[]), Ncat);
        // RNC_COMPAT beats argv[0]; --compat beats both; the last --compat wins.
        assert_eq!(personality_of("nc", Some("ncat"), &[]), Ncat);
        assert_eq!(personality_of("rnc", Some("traditional"), &[]), Traditional);
        assert_eq!(personality_of("rnc", Some(""), &[]), Ncat);
        assert_eq!(
            personality_of("nc", Some("ncat"), &["--compat", "traditional"]),
            Traditional
        );
        assert_eq!(personality_of("rnc", None, &["--compat=openbsd"]), OpenBsd);
        assert_eq!(
            personality_of("rnc", None, &["--compat", "openbsd", "--compat", "ncat"]),
            Ncat
        );
        assert_eq!(
            personality_of("rnc", None, &["-v", "--compat", "traditional", "-v"]),
            Traditional
        );
        // The personality changes the grammar.
        let c = match try_parse("rnc", None, &["-d", "--compat", "openbsd", "h", "1"]) {
            Ok(Parsed::Run(c)) => c,
            other => panic!("{other:?}"),
        };
        assert!(!c.eof.read_stdin);
        assert_eq!(c.prog, "rnc");
        let c = match try_parse("/usr/bin/nc", None, &["h", "1"]) {
            Ok(Parsed::Run(c)) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(c.prog, "nc");
    }

    #[test]
    fn bad_personality_names() {
        let e = try_parse("rnc", None, &["--compat", "bsd", "h", "1"]).unwrap_err();
        assert_eq!(
            (e.line.as_str(), e.code),
            (
                "rnc: --compat : unknown personality 'bsd' (expected ncat, openbsd or traditional)",
                2
            )
        );
        let e = try_parse("rnc", None, &["--compat=", "h", "1"]).unwrap_err();
        assert!(
            e.line.starts_with("rnc: --compat : unknown personality ''"),
            "{}",
            e.line
        );
        let e = try_parse("rnc", Some("nope"), &["h", "1"]).unwrap_err();
        assert_eq!(
            (e.line.as_str(), e.code),
            ("rnc: RNC_COMPAT : unknown personality 'nope' (expected ncat, openbsd or traditional)", 2)
        );
        // A valid --compat does not excuse a bad RNC_COMPAT.
        assert!(try_parse("rnc", Some("nope"), &["--compat", "ncat", "h", "1"]).is_err());
        // After "--" nothing is an option.
        let e = try_parse("rnc", None, &["--", "--compat", "bsd"]).unwrap_err();
        assert!(!e.line.contains("personality"), "{}", e.line);
    }

    #[test]
    fn help_and_version() {
        for p in ALL {
            for args in [&["--help"][..], &["-h"], &["h", "1", "--help"]] {
                match try_parse("rnc", Some(p.name()), args) {
                    Ok(Parsed::Exit { text, code: 0 }) => assert!(text.contains("Usage: rnc")),
                    other => panic!("{other:?}"),
                }
            }
            match try_parse("rnc", Some(p.name()), &["--version"]) {
                Ok(Parsed::Exit { text, code: 0 }) => {
                    assert_eq!(text, format!("rnc {}\n", env!("CARGO_PKG_VERSION")))
                }
                other => panic!("{other:?}"),
            }
        }
        let long = match try_parse("rnc", None, &["--help"]) {
            Ok(Parsed::Exit { text, .. }) => text,
            other => panic!("{other:?}"),
        };
        assert!(long.contains("PERSONALITIES") && long.contains("EXIT STATUS"));
        let obsd = command(Personality::OpenBsd).render_help().to_string();
        assert!(obsd.contains("-d, --no-stdin"));
        let trad = command(Personality::Traditional).render_help().to_string();
        assert!(trad.contains("SO_KEEPALIVE"));
    }

    // --- server features: -z, -o/-x, -C/-t, --allow/--deny, -g/-G ---------------

    #[test]
    fn zero_io_ports() {
        for p in ALL {
            let c = cfg_p(p, &["-z", "h", "22"]);
            assert_eq!(c.zero_io, Some(vec![22]));
            assert_eq!(c.address, inet(Some("h"), 22));
            assert_eq!(c.role, Role::Connect);
            let c = cfg_p(p, &["-zv", "h", "22,80", "443"]);
            assert_eq!(c.zero_io, Some(vec![22, 80, 443]));
            assert_eq!(c.verbose, 1);
            assert_eq!(cfg_p(p, &["-zu", "h", "53"]).proto, Proto::Udp);
            assert_eq!(cfg_p(p, &["h", "22"]).zero_io, None);
        }
        // Ranges run upwards, except in the traditional personality.
        assert_eq!(
            cfg(&["-z", "h", "20-22", "80,25-24"]).zero_io,
            Some(vec![20, 21, 22, 80, 24, 25])
        );
        assert_eq!(
            cfg_p(Personality::OpenBsd, &["-z", "h", "22-20"]).zero_io,
            Some(vec![20, 21, 22])
        );
        let c = cfg_p(Personality::Traditional, &["-z", "h", "20-22", "80"]);
        assert_eq!(c.zero_io, Some(vec![22, 21, 20, 80]));
        assert_eq!(c.address, inet(Some("h"), 22));
        assert_eq!(
            cfg(&["-z", "h", "1-65535"]).zero_io.map(|v| v.len()),
            Some(65535)
        );
    }

    #[test]
    fn zero_io_errors() {
        for p in ALL {
            for bad in [
                "0", "1-70000", "a", "1-", "1--2", "", ",", "22,", "2-3-4", "0-5", "http",
            ] {
                assert_eq!(
                    err_p(p, &["-z", "h", bad]),
                    format!(
                        "rnc: PORT : invalid port '{bad}' (expected a port, list or range of 1-65535)"
                    ),
                    "{p:?} {bad}"
                );
            }
            assert_eq!(
                err_p(p, &["-z", "-l", "22"]),
                "rnc: -z : cannot be used with -l"
            );
            assert_eq!(
                err_p(p, &["-z", "-U", "/tmp/s"]),
                "rnc: -z : cannot be used with -U"
            );
            assert_eq!(
                err_p(p, &["-z", "--ssl", "h", "1"]),
                "rnc: -z : cannot be used with --ssl"
            );
            assert_eq!(
                err_p(p, &["-z", "--ssl-verify", "h", "1"]),
                "rnc: -z : cannot be used with --ssl-verify"
            );
            // Lists and ranges need -z; so do extra port arguments.
            assert_eq!(
                err_p(p, &["h", "20-25"]),
                "rnc: PORT : invalid port '20-25' (expected 1-65535)"
            );
            assert_eq!(
                err_p(p, &["h", "22", "80"]),
                "rnc: 80 : unexpected argument (see rnc --help)"
            );
            assert_eq!(
                err_p(p, &["-z", "h"]),
                "rnc: h : missing port number (usage: rnc [OPTIONS] HOST PORT)"
            );
        }
    }

    #[test]
    fn session_logs() {
        let raw = |f: &str| DumpOptions {
            raw: Some(PathBuf::from(f)),
            ..DumpOptions::default()
        };
        let hex = |f: &str| DumpOptions {
            hex: Some(PathBuf::from(f)),
            ..DumpOptions::default()
        };
        let trad_hex = |f: &str| DumpOptions {
            trad_hex: Some(PathBuf::from(f)),
            ..DumpOptions::default()
        };
        use Personality::*;
        let cases: &[(Personality, &[&str], DumpOptions)] = &[
            (Ncat, &["-o", "f"], raw("f")),
            (Ncat, &["--output", "f"], raw("f")),
            (Ncat, &["-x", "f"], hex("f")),
            (Ncat, &["--hex-dump=f"], hex("f")),
            (OpenBsd, &["-o", "f"], raw("f")),
            (OpenBsd, &["--hex-dump", "f"], hex("f")),
            (Traditional, &["-o", "f"], trad_hex("f")),
            (Traditional, &["--output", "f"], raw("f")),
            (Traditional, &["-x", "f"], hex("f")),
        ];
        for (p, args, want) in cases {
            let mut a = args.to_vec();
            a.extend(["h", "1"]);
            let c = cfg_p(*p, &a);
            assert_eq!(&c.bytes.dump, want, "{p:?} {args:?}");
            assert!(
                c.bytes.any(),
                "{p:?} {args:?}: the zero-copy path must be off"
            );
        }
        let c = cfg(&["-o", "a", "-x", "b", "--append-output", "h", "1"]);
        assert_eq!(
            c.bytes.dump,
            DumpOptions {
                raw: Some("a".into()),
                hex: Some("b".into()),
                trad_hex: None,
                append: true
            }
        );
        let c = cfg_p(Traditional, &["-o", "a", "--output", "b", "h", "1"]);
        assert_eq!(c.bytes.dump.trad_hex, Some("a".into()));
        assert_eq!(c.bytes.dump.raw, Some("b".into()));
        // Listen mode too.
        assert_eq!(cfg(&["-l", "-o", "f", "1"]).bytes.dump, raw("f"));
        for p in ALL {
            assert_eq!(
                err_p(p, &["--append-output", "h", "1"]),
                "rnc: --append-output : requires --output or --hex-dump"
            );
            assert_eq!(
                err_p(p, &["--output", "", "h", "1"]),
                "rnc: --output : a value is required"
            );
        }
        // Opening happens at run time (dump::Dump::open), not while parsing.
        assert!(cfg(&["-o", "/nonexistent/dir/f", "h", "1"])
            .bytes
            .dump
            .any());
    }

    #[test]
    fn crlf_and_telnet() {
        for p in ALL {
            let c = cfg_p(p, &["h", "1"]);
            assert!(!c.bytes.crlf && !c.bytes.telnet && !c.bytes.any());
            for args in [&["-C"][..], &["--crlf"]] {
                let mut a = args.to_vec();
                a.extend(["h", "1"]);
                let c = cfg_p(p, &a);
                assert!(c.bytes.crlf && !c.bytes.telnet && c.bytes.any(), "{p:?}");
            }
            for args in [&["-t"][..], &["--telnet"]] {
                let mut a = args.to_vec();
                a.extend(["h", "1"]);
                let c = cfg_p(p, &a);
                assert!(c.bytes.telnet && !c.bytes.crlf && c.bytes.any(), "{p:?}");
            }
            let c = cfg_p(p, &["-Ctl", "1"]);
            assert!(c.bytes.telnet && c.bytes.crlf);
        }
    }

    #[test]
    fn source_routing_is_refused() {
        for p in ALL {
            for (args, name) in [
                (&["-g", "10.0.0.1"][..], "-g"),
                (&["-G", "4"], "-G"),
                (&["-g", "10.0.0.1", "-g", "10.0.0.2"], "-g"),
                (&["-vg10.0.0.1"], "-g"),
            ] {
                let mut a = args.to_vec();
                a.extend(["h", "1"]);
                assert_eq!(
                    err_p(p, &a),
                    format!("rnc: {name} : source routing is obsolete and not supported")
                );
            }
        }
    }

    #[test]
    fn access_lists() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])) };
        for p in ALL {
            assert_eq!(cfg_p(p, &["-l", "1"]).access, None);
            let c = cfg_p(
                p,
                &[
                    "-l",
                    "--allow",
                    "10.0.0.0/8",
                    "--allow",
                    "127.0.0.1",
                    "--deny",
                    "10.9.*.*",
                    "1",
                ],
            );
            let a = c.access.unwrap_or_default();
            assert!(a.permits(ip("127.0.0.1")));
            assert!(a.permits(ip("10.1.2.3")));
            assert!(!a.permits(ip("10.9.2.3")));
            assert!(!a.permits(ip("192.168.0.1")));
            // Deny wins.
            let a = cfg_p(
                p,
                &["-l", "--allow", "127.0.0.1", "--deny", "127.0.0.1", "1"],
            )
            .access
            .unwrap_or_default();
            assert!(!a.permits(ip("127.0.0.1")));
            // Names resolve (localhost is in /etc/hosts).
            let a = cfg_p(p, &["-l", "--allow", "localhost", "1"])
                .access
                .unwrap_or_default();
            assert!(a.permits(ip("127.0.0.1")));

            assert_eq!(
                err_p(p, &["--allow", "127.0.0.1", "h", "1"]),
                "rnc: --allow : only valid with -l (it filters the clients of a listener)"
            );
            assert_eq!(
                err_p(p, &["--denyfile", "f", "h", "1"]),
                "rnc: --denyfile : only valid with -l (it filters the clients of a listener)"
            );
            assert_eq!(
                err_p(p, &["-l", "--allow", "1.2.3.4/33", "1"]),
                "rnc: --allow : invalid host specification '1.2.3.4/33' (netmask /33 is longer than 32 bits)"
            );
            assert_eq!(
                err_p(p, &["-l", "--deny", "10-5.1.1.1", "1"]),
                "rnc: --deny : invalid host specification '10-5.1.1.1' (backwards range 10-5)"
            );
            assert_eq!(
                err_p(p, &["-l", "-n", "--allow", "localhost", "1"]),
                "rnc: --allow : 'localhost' is not a numeric address (-n forbids name lookups)"
            );
            assert_eq!(
                err_p(p, &["-l", "--allowfile", "/nonexistent/hosts", "1"]),
                "rnc: --allowfile : cannot read '/nonexistent/hosts': No such file or directory"
            );
            assert_eq!(
                err_p(p, &["-lU", "--allow", "127.0.0.1", "/tmp/s"]),
                "rnc: --allow : cannot be used with -U"
            );
        }
        // Files.
        let dir = std::env::temp_dir().join(format!("rnc-cli-access-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("deny");
        let _ = std::fs::write(&f, "# blocked\n192.168.0.0/16\n\n::1\n");
        let fs = f.display().to_string();
        let a = cfg(&["-l", "--denyfile", &fs, "1"])
            .access
            .unwrap_or_default();
        assert!(!a.permits(ip("192.168.1.1")));
        assert!(!a.permits(ip("::1")));
        assert!(a.permits(ip("127.0.0.1")));
        let _ = std::fs::write(&f, "127.0.0.1\nnot/a/spec\n");
        assert_eq!(
            err(&["-l", "--allowfile", &fs, "1"]),
            format!("rnc: --allowfile : '{fs}', line 2: invalid host specification 'not/a/spec' (invalid netmask /a/spec)")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn server_options_in_help() {
        let ncat = command(Personality::Ncat).render_long_help().to_string();
        for shown in [
            "-z",
            "-o, --output <FILE>",
            "-x, --hex-dump <FILE>",
            "--append-output",
            "-C, --crlf",
            "-t, --telnet",
            "--allow <HOST>",
            "--allowfile <FILE>",
            "--deny <HOST>",
            "--denyfile <FILE>",
            "ALLOW AND DENY",
            "LOG FORMATS",
            "deny wins",
            "ZERO-I/O MODE",
        ] {
            assert!(ncat.contains(shown), "{shown} missing from help");
        }
        let obsd = command(Personality::OpenBsd).render_help().to_string();
        assert!(obsd.contains("    --hex-dump <FILE>"));
        assert!(!obsd.contains("-x, --hex-dump"));
        let trad = command(Personality::Traditional).render_help().to_string();
        assert!(trad.contains("-o <FILE>"));
        assert!(trad.contains("    --output <FILE>"));
    }

    #[test]
    fn misc_fields() {
        let c = cfg(&["-vvv", "--test", "h", "1"]);
        assert_eq!(c.verbose, 3);
        assert!(c.test_banner);
        let c = cfg(&["h", "1"]);
        assert_eq!(
            (c.verbose, c.test_banner, c.keep_open, c.numeric),
            (0, false, false, false)
        );
        assert_eq!(c.personality, Personality::Ncat);
        assert_eq!(c.sock, SockOptions::default());
        assert_eq!(c.bytes, ByteOptions::default());
        // Repeating an option keeps the last value.
        assert_eq!(
            cfg(&["-w", "1", "-w", "2", "h", "1"]).timeouts.connect,
            Some(secs(2.0))
        );
        let c = cfg(&["-v", "-v", "h", "1"]);
        assert_eq!(c.verbose, 2);
    }

    #[test]
    fn random_command_lines_never_panic() {
        const POOL: &[&str] = &[
            "-l",
            "-p",
            "-s",
            "-n",
            "-u",
            "-U",
            "-w",
            "-q",
            "-i",
            "-d",
            "-k",
            "-N",
            "-b",
            "-I",
            "-O",
            "-T",
            "-M",
            "-v",
            "-4",
            "-6",
            "-x",
            "-m",
            "-e",
            "-z",
            "-h",
            "--",
            "-",
            "",
            "--ssl",
            "--ssl-cert",
            "--ssl-verify",
            "--ssl-alpn",
            "--send-only",
            "--recv-only",
            "--no-stdin",
            "--keep-open",
            "--idle-timeout",
            "--delay",
            "--compat",
            "openbsd",
            "traditional",
            "ncat",
            "--compat=ncat",
            "--wait=",
            "-lp",
            "-q-1",
            "-1",
            "0",
            "1",
            "1234",
            "65536",
            "127.0.0.1",
            "::1",
            "[::1]",
            "@abs",
            "/tmp/x",
            "host",
            "1.5m",
            "500ms",
            "64K",
            "lowdelay",
            "--version",
            "--frob",
            "-lvnp",
            "\n",
            "é",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..3000 {
            let argv0 = ["rnc", "nc", "nc.traditional"][round % 3];
            let len = next(7);
            let args: Vec<&str> = (0..len).map(|_| POOL[next(POOL.len())]).collect();
            let env = [None, Some("openbsd")][next(2)];
            match try_parse(argv0, env, &args) {
                Ok(_) => {}
                Err(e) => {
                    assert_eq!(e.code, 2, "{args:?}");
                    assert!(!e.line.contains('\n'), "{args:?}: {:?}", e.line);
                    assert!(e.line.starts_with("rnc: "), "{args:?}: {:?}", e.line);
                }
            }
        }
        // No argv at all.
        assert!(parse_with_env(Vec::<OsString>::new(), None).is_err());
    }

    #[test]
    fn commands_are_valid() {
        for p in ALL {
            command(p).debug_assert();
            let docs = docs_command(p);
            docs.clone().debug_assert();
            assert!(docs.get_arguments().all(|a| !a.is_hide_set()));
            // The documented command is the real one minus hidden options.
            let real = command(p);
            for a in docs.get_arguments() {
                assert!(real.get_arguments().any(|r| r.get_id() == a.get_id()));
            }
        }
    }
}
