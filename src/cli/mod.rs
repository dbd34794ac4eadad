//! The binary's own modules: arguments ([`args`]), each command's run ([`run`]), what a
//! running job shows ([`progress`]) and everything printed for people ([`render`]). The library knows nothing of them.

pub mod args;
pub mod progress;
pub mod render;
pub mod run;

/// Prints a line to stdout. A closed pipe (`ctpyramid inspect DIR | head`) is not an error
/// worth a panic: output simply stops.
pub fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
