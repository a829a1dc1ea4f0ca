//! The one error type: a line for the user and the exit code that goes with it.
//!
//! Exit codes follow ncat (reference §2.11): 0 ok, 1 network, 2 usage or other.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The complete line printed on stderr, prefix included.
    pub line: String,
    pub code: i32,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Bad input: `rnc: <what> : <why>`, exit 2.
    pub fn usage(what: impl fmt::Display, why: impl fmt::Display) -> Error {
        Error {
            line: format!("rnc: {what} : {why}"),
            code: 2,
        }
    }
    /// A network failure phrased by the caller (already personality-styled), exit 1.
    pub fn network(line: impl Into<String>) -> Error {
        Error {
            line: line.into(),
            code: 1,
        }
    }
    /// Any line with an explicit exit code.
    pub fn with_code(line: impl Into<String>, code: i32) -> Error {
        Error {
            line: line.into(),
            code,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Error {}
