//! Command line: the clap definition, personalities and resolution into `Config`.
//! (Placeholder until the cli module lands.)

use crate::config::Config;
use crate::error::{Error, Result};
use std::ffi::OsString;

pub enum Parsed {
    Run(Box<Config>),
    Exit { text: String, code: i32 },
}

pub fn parse<I: IntoIterator<Item = OsString>>(_args: I) -> Result<Parsed> {
    Err(Error::usage("arguments", "command line parsing is not built yet"))
}
