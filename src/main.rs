//! `rnc`: thin entry point; everything lives in the library.

fn main() {
    std::process::exit(rnetcat::main_with_args(std::env::args_os()));
}
