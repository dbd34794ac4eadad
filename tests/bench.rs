//! `ctpyramid bench`: every method timed, the filesystem it found and what `--reader auto`
//! does there.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn bench_times_every_method_and_names_the_filesystem() {
    let stack = fixture_stack("u16_odd");
    let out = ctpyramid(&["bench", s(stack.path()), "--runs", "1", "--json"]);
    assert_ok(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let methods: Vec<&str> = report["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["cat (read only)", "mmap", "buffered", "tiff crate decode"]
    );
    // A temporary folder is on a local disk (or tmpfs): auto maps its files.
    assert_eq!(report["filesystem"], "local");
    assert_eq!(report["auto_reader"], "mmap");
    let text = ctpyramid(&["bench", s(stack.path()), "--runs", "1"]);
    assert_ok(&text);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("filesystem: local: --reader auto maps the files"),
        "{text}"
    );
}
