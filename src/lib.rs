//! rnc — a memory-safe netcat that speaks ncat, OpenBSD nc and traditional nc.
//!
//! Layers: `cli` (argv → `Config`) → `run` (connect / listen) → `relay` (one
//! session moving bytes between stdio and a socket, with `relay::eof` holding the
//! half-close policy).

pub mod cli;
pub mod config;
pub mod error;

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
        Ok(cli::Parsed::Run(cfg)) => {
            let _ = cfg;
            eprintln!("rnc: runtime : not built yet");
            2
        }
        Err(e) => {
            eprintln!("{e}");
            e.code
        }
    }
}
