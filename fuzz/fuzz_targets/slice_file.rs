//! One input file: `Stack::new`, then every row of every slice through `plane`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(path) = ctpyramid_fuzz::place(data) {
        ctpyramid_fuzz::read_stack(&path);
    }
});
