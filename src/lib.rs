//! rnc — a memory-safe netcat that speaks ncat, OpenBSD nc and traditional nc.
//!
//! Layers: `cli` (argv → `Config`) → `run` (connect / listen) → `relay` (one
//! session moving bytes between stdio and a socket, with `relay::eof` holding the
//! half-close policy). Beside them: `access` (who a listener admits), `scan`
//! (`-z`), `dump` (`-o`/`-x` session logs) and `transform` (`-C`, `-t`).

pub mod access;
pub mod child;
pub mod cli;
pub mod config;
pub mod dump;
pub mod error;
pub mod hook;
pub mod hub;
pub mod log;
pub mod net;
pub mod proxy;
pub mod relay;
pub mod run;
pub mod scan;
pub mod signals;
pub mod sys;
pub mod tls;
pub mod transform;
pub mod udp_hub;

use std::ffi::OsString;

/// Parse `args` (argv[0] included), run, and return the process exit code.
pub fn main_with_args<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    match cli::parse(args) {
        Ok(cli::Parsed::Exit { text, code }) => {
            if code == 0 {
                print!("{text}");
            } else {
                eprint!("{text}");
            }
            code
        }
        // -z checks ports instead of running a session.
        Ok(cli::Parsed::Run(cfg)) if cfg.zero_io.is_some() => match scan::main(&cfg) {
            Ok(code) => code,
            Err(e) => fail(&e),
        },
        Ok(cli::Parsed::Run(cfg)) => match run::run(&cfg) {
            Ok(code) => code,
            Err(e) => fail(&e),
        },
        Err(e) => fail(&e),
    }
}

fn fail(e: &error::Error) -> i32 {
    sys::restore_stdio();
    if !e.line.is_empty() {
        log::emit(&e.line);
    }
    e.code
}
