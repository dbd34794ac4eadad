//! One input file in a folder: `inspect` of the folder (headers only, no pixel decoded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if ctpyramid_fuzz::place(data).is_some() {
        ctpyramid_fuzz::inspect_dir(ctpyramid_fuzz::workdir());
    }
});
