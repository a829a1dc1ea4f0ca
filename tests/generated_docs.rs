//! The checked-in man page and completions must match the clap definition.

#[path = "../examples/gen-docs.rs"]
#[allow(dead_code)]
mod gen_docs;

use std::path::Path;

#[test]
fn generated_docs_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = match gen_docs::render_all() {
        Ok(f) => f,
        Err(e) => panic!("rendering the docs failed: {e}"),
    };
    let mut stale = Vec::new();
    for (path, want) in files {
        if std::fs::read(root.join(path)).ok().as_deref() != Some(&want[..]) {
            stale.push(path);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {}; run cargo run --example gen-docs",
        stale.join(", ")
    );
}
