//! Regenerate the man page and shell completions from the clap definition:
//!
//! ```text
//! cargo run --example gen-docs
//! ```
//!
//! Writes `man/rnc.1`, `completions/rnc.bash`, `completions/_rnc` (zsh) and
//! `completions/rnc.fish`. `tests/generated_docs.rs` fails when the checked-in
//! files differ from what this produces.

use clap_complete::Shell;
use clap_mangen::Man;
use rnetcat::cli::{docs_command, DOC_SECTIONS};
use rnetcat::config::Personality;
use std::io;
use std::path::Path;

/// Every generated file: (path relative to the package root, contents).
pub fn render_all() -> io::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut files = vec![("man/rnc.1", man_page()?)];
    for (path, shell) in [
        ("completions/rnc.bash", Shell::Bash),
        ("completions/_rnc", Shell::Zsh),
        ("completions/rnc.fish", Shell::Fish),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut docs_command(Personality::Ncat), "rnc", &mut buf);
        files.push((path, buf));
    }
    Ok(files)
}

/// Escape text for roff: backslashes, hyphens (so they are not turned into
/// typographic dashes) and a control character at the start of a line.
fn roff_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

fn man_page() -> io::Result<Vec<u8>> {
    let man = Man::new(docs_command(Personality::Ncat));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut extra = String::new();
    for section in DOC_SECTIONS {
        extra.push_str(&format!(".SH \"{}\"\n", section.title));
        if !section.intro.is_empty() {
            extra.push_str(&roff_escape(section.intro));
            extra.push('\n');
        }
        for (term, desc) in section.items {
            extra.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_escape(term),
                roff_escape(desc)
            ));
        }
    }
    extra.push_str(".SH \"SEE ALSO\"\n\\fBncat\\fR(1), \\fBnc\\fR(1)\n");
    out.extend_from_slice(extra.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn main() -> io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (path, contents) in render_all()? {
        let path = root.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, contents)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
