//! Resuming: a build over outputs an earlier run left (some deleted, cut short or damaged,
//! temporary files beside them) rewrites exactly the missing ones and reads only the inputs
//! they depend on; `--force` rewrites all; `--progress json`; cancelling with SIGINT or
//! SIGTERM; SIGKILL at any point; a full disk and a file size limit.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
#[cfg(unix)]
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_ctpyramid");

/// Parses every line of `stdout` as JSON: any line that is not fails the test.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line: {l:?}: {e}")))
        .collect()
}

/// Runs ctpyramid; returns its output and its stdout parsed as JSON lines.
fn run_json(args: &[&str]) -> (Output, Vec<Value>) {
    let out = ctpyramid(args);
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    (out, lines)
}

fn num(line: &Value, field: &str) -> f64 {
    line[field]
        .as_f64()
        .unwrap_or_else(|| panic!("field {field:?} is not a number in {line}"))
}

fn count(line: &Value, field: &str) -> usize {
    line[field]
        .as_u64()
        .unwrap_or_else(|| panic!("field {field:?} is not a count in {line}")) as usize
}

/// A folder of slices in a temporary folder, with the geometry the test expects of it.
struct Stack {
    dir: tempfile::TempDir,
    width: usize,
    height: usize,
    slices: usize,
    min_size: usize,
}

impl Stack {
    /// A copy of `fixtures/stacks/<name>` (geometry from fixtures/README.md).
    fn fixture(name: &str, width: usize, height: usize, slices: usize, min_size: usize) -> Stack {
        Stack {
            dir: copy_fixture(&fixtures().join("stacks").join(name)),
            width,
            height,
            slices,
            min_size,
        }
    }

    /// A phantom stack written by `ctpyramid demo`, without the pyramid the demo builds.
    fn demo(slices: usize, size: usize, min_size: usize) -> Stack {
        let dir = demo_stack(slices, size, min_size);
        Stack {
            dir,
            width: size,
            height: size,
            slices,
            min_size,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn out(&self) -> PathBuf {
        self.path().join(".thumbnail")
    }

    /// `(width, height, slices)` of each level, by the reference rule.
    fn levels(&self) -> Vec<(usize, usize, usize)> {
        reference_levels(self.width, self.height, self.slices, self.min_size)
    }

    fn total_files(&self) -> usize {
        self.levels().iter().map(|l| l.2).sum()
    }

    /// Relative paths of every output file of the pyramid.
    /// Every file of a complete pyramid: the slices, and `pyramid.json`, written last.
    fn output_names(&self) -> BTreeSet<String> {
        self.levels()
            .iter()
            .enumerate()
            .flat_map(|(l, &(_, _, n))| (0..n).map(move |k| format!("{}/{k:06}.tif", l + 1)))
            .chain(["pyramid.json".to_string()])
            .collect()
    }

    /// `build` of this stack with its min size, then `extra`.
    fn build(&self, extra: &[&str]) -> (Output, Vec<Value>) {
        let min = self.min_size.to_string();
        let mut args = vec!["build", s(self.path()), "--min-size", &min];
        args.extend_from_slice(extra);
        run_json(&args)
    }
}

/// Fails with the paths that differ, rather than megabytes of bytes.
fn assert_same_tree(got: &BTreeMap<String, Vec<u8>>, want: &BTreeMap<String, Vec<u8>>, what: &str) {
    let differ: Vec<&String> = got
        .keys()
        .chain(want.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .collect();
    assert!(differ.is_empty(), "{what}: files differ: {differ:?}");
}

/// Checks the `--progress json` stream of a successful build and returns the plan line,
/// the progress lines and the done line.
fn check_json_stream(lines: &[Value]) -> (&Value, Vec<&Value>, &Value) {
    assert!(
        lines.len() >= 2,
        "at least a plan and a done line: {lines:?}"
    );
    let plan = &lines[0];
    let done = lines.last().unwrap();
    assert_eq!(plan["event"], "plan", "first line: {plan}");
    assert_eq!(done["event"], "done", "last line: {done}");
    let progress: Vec<&Value> = lines[1..lines.len() - 1].iter().collect();
    let (mut last_done, mut last_bytes, mut last_elapsed) = (0usize, 0u64, 0f64);
    for line in &progress {
        assert_eq!(line["event"], "progress", "{line}");
        count(line, "level");
        count(line, "slice");
        let (done_now, total) = (count(line, "done"), count(line, "total"));
        let bytes = line["bytes"].as_u64().expect("bytes is a count");
        let (elapsed, eta) = (num(line, "elapsed"), num(line, "eta"));
        assert!(done_now <= total, "done > total: {line}");
        assert_eq!(total, count(plan, "total"), "total as planned: {line}");
        assert!(done_now >= last_done, "done decreased: {line}");
        assert!(bytes >= last_bytes, "bytes decreased: {line}");
        assert!(elapsed >= last_elapsed, "elapsed decreased: {line}");
        assert!(eta >= 0.0, "negative eta: {line}");
        (last_done, last_bytes, last_elapsed) = (done_now, bytes, elapsed);
    }
    if let Some(last) = progress.last() {
        assert_eq!(
            count(last, "done"),
            count(last, "total"),
            "last progress line: {last}"
        );
    }
    (plan, progress, done)
}

/// The (level, slice) of every progress line.
fn written(progress: &[&Value]) -> BTreeSet<(usize, usize)> {
    progress
        .iter()
        .map(|l| (count(l, "level"), count(l, "slice")))
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Damage {
    Delete,
    /// Cut to half its size.
    Truncate,
    /// The first 16 bytes (byte order, magic, IFD) overwritten, size unchanged.
    Garbage,
}

fn damage(out: &Path, level: usize, index: usize, how: Damage) {
    let path = out.join(level.to_string()).join(format!("{index:06}.tif"));
    assert!(path.is_file(), "{} exists before damage", path.display());
    match how {
        Damage::Delete => std::fs::remove_file(&path).unwrap(),
        Damage::Truncate => {
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let len = file.metadata().unwrap().len();
            file.set_len(len / 2).unwrap();
        }
        Damage::Garbage => {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[..16].copy_from_slice(b"GARBAGE GARBAGE!");
            std::fs::write(&path, bytes).unwrap();
        }
    }
}

/// Builds `stack`, damages its outputs as `damages` says (and leaves stray temporary files),
/// resumes, and checks the resumed run against numbers computed from the pyramid's tree.
fn check_resume(stack: &Stack, damages: &[(usize, usize, Damage)]) {
    let out = stack.out();
    let (first_run, lines) = stack.build(&["--progress", "json"]);
    assert_ok(&first_run);
    let (_, progress, done) = check_json_stream(&lines);
    assert_eq!(count(done, "files_written"), stack.total_files());
    assert_eq!(written(&progress).len(), stack.total_files());
    let first = read_tree(&out);
    assert_eq!(
        first.keys().cloned().collect::<BTreeSet<_>>(),
        stack.output_names(),
        "first run writes every level"
    );

    for &(level, index, how) in damages {
        damage(&out, level, index, how);
    }
    // What a killed run leaves: temporary files beside the outputs.
    std::fs::write(out.join("1").join(".000001.tif.partial"), b"killed").unwrap();
    std::fs::write(out.join("2").join(".000000.tif.partial"), b"").unwrap();

    let damaged: BTreeSet<(usize, usize)> = damages.iter().map(|d| (d.0, d.1)).collect();
    assert_eq!(damaged.len(), damages.len(), "each file damaged once");
    let kept = stack.total_files() - damaged.len();
    // Level 1 slice k comes from inputs 2k and 2k+1: only the inputs of a missing level 1
    // slice are read. A missing deeper slice is made from the level above (read back from
    // disk where complete), not from the inputs.
    let to_read = (0..stack.slices)
        .filter(|i| damaged.contains(&(1, i / 2)))
        .count();

    let (second_run, lines) = stack.build(&["--progress", "json"]);
    assert_ok(&second_run);
    let (plan, progress, done) = check_json_stream(&lines);
    assert_eq!(count(plan, "kept"), kept, "plan: {plan}");
    assert_eq!(count(plan, "total"), to_read, "plan: {plan}");
    assert_eq!(count(done, "files_written"), damaged.len(), "done: {done}");
    assert_eq!(count(done, "files_kept"), kept, "done: {done}");
    assert_eq!(count(done, "slices_read"), to_read, "done: {done}");
    assert_eq!(
        written(&progress),
        damaged,
        "exactly the damaged files are rewritten"
    );
    assert!(
        partial_files(&out).is_empty(),
        "temporary files left: {:?}",
        partial_files(&out)
    );
    assert_same_tree(&read_tree(&out), &first, "resumed run");
}

#[test]
fn resume_fixture_after_deletions_and_damage() {
    // 5 slices of 64x48: levels 32x24 x 3, 16x12 x 2, 8x6 x 1.
    let stack = Stack::fixture("u16_le_strip1", 64, 48, 5, 8);
    assert_eq!(stack.levels(), [(32, 24, 3), (16, 12, 2), (8, 6, 1)]);
    check_resume(
        &stack,
        &[
            (1, 1, Damage::Delete),  // inputs 2 and 3 are read again
            (1, 0, Damage::Garbage), // inputs 0 and 1 too
            (2, 1, Damage::Delete),  // from level 1 slice 2, complete: no input read
            (3, 0, Damage::Truncate),
        ],
    );
}

#[test]
fn resume_phantom_after_deletions_and_damage() {
    // 37 slices of 32x32: levels 16x16 x 19, 8x8 x 10, 4x4 x 5.
    let stack = Stack::demo(37, 32, 4);
    assert_eq!(stack.levels(), [(16, 16, 19), (8, 8, 10), (4, 4, 5)]);
    check_resume(
        &stack,
        &[
            (1, 3, Damage::Delete),
            (1, 4, Damage::Delete),
            (1, 18, Damage::Delete), // the lone last slice: input 36 only
            (1, 10, Damage::Truncate),
            (1, 0, Damage::Garbage),
            (2, 0, Damage::Delete), // level 1 slice 0 is damaged too
            (2, 6, Damage::Delete), // level 1 slices 12, 13 complete: no input read
            (2, 9, Damage::Truncate),
            (2, 7, Damage::Garbage),
            (3, 4, Damage::Delete), // from level 2 slice 8, complete, and 9, damaged
            (3, 1, Damage::Garbage),
        ],
    );
}

#[test]
fn resume_with_only_deeper_levels_missing_reads_no_input() {
    let stack = Stack::fixture("min16", 48, 34, 9, 16);
    assert_eq!(stack.levels(), [(24, 17, 5), (12, 8, 3)]);
    check_resume(&stack, &[(2, 0, Damage::Delete), (2, 2, Damage::Truncate)]);
}

#[test]
fn force_rewrites_everything_with_the_same_bytes() {
    let stack = Stack::fixture("u16_le_strip1", 64, 48, 5, 8);
    let (first_run, _) = stack.build(&["--quiet"]);
    assert_ok(&first_run);
    let first = read_tree(&stack.out());
    assert_eq!(
        first.len(),
        stack.total_files() + 1,
        "the slices and pyramid.json"
    );

    // A plain rerun keeps everything and reads nothing.
    let (rerun, lines) = stack.build(&["--progress", "json"]);
    assert_ok(&rerun);
    let (_, progress, done) = check_json_stream(&lines);
    assert!(progress.is_empty(), "nothing to write: {progress:?}");
    assert_eq!(count(done, "files_written"), 0);
    assert_eq!(count(done, "files_kept"), stack.total_files());
    assert_eq!(count(done, "slices_read"), 0);

    let (forced, lines) = stack.build(&["--force", "--progress", "json"]);
    assert_ok(&forced);
    let (plan, progress, done) = check_json_stream(&lines);
    assert_eq!(count(plan, "kept"), 0);
    assert_eq!(count(done, "files_written"), stack.total_files());
    assert_eq!(count(done, "files_kept"), 0);
    assert_eq!(count(done, "slices_read"), stack.slices);
    assert_eq!(written(&progress).len(), stack.total_files());
    assert_same_tree(&read_tree(&stack.out()), &first, "--force");
}

#[test]
fn progress_json_lines() {
    let stack = Stack::demo(100, 32, 4);
    let levels = stack.levels();
    let (out, lines) = stack.build(&["--progress", "json"]);
    assert_ok(&out);
    let (plan, progress, done) = check_json_stream(&lines);
    for field in ["level", "slice", "done", "total", "bytes", "elapsed", "eta"] {
        for line in &progress {
            assert!(line.get(field).is_some(), "no {field}: {line}");
        }
    }
    assert_eq!(count(plan, "slices"), stack.slices);
    assert_eq!(count(plan, "total"), stack.slices);
    let planned: Vec<(usize, usize, usize)> = plan["levels"]
        .as_array()
        .expect("levels is an array")
        .iter()
        .map(|l| (count(l, "width"), count(l, "height"), count(l, "slices")))
        .collect();
    assert_eq!(planned, levels);
    // Every output exactly once.
    assert_eq!(progress.len(), stack.total_files());
    let expected: BTreeSet<(usize, usize)> = levels
        .iter()
        .enumerate()
        .flat_map(|(l, &(_, _, n))| (0..n).map(move |k| (l + 1, k)))
        .collect();
    assert_eq!(written(&progress), expected);
    assert_eq!(count(done, "slices_read"), stack.slices);
    assert_eq!(count(done, "files_written"), stack.total_files());
    assert_eq!(count(done, "files_kept"), 0);
    assert_eq!(
        done["bytes"].as_u64(),
        Some((stack.slices * stack.width * stack.height * 2) as u64)
    );
    assert_eq!(
        progress.last().unwrap()["bytes"].as_u64(),
        done["bytes"].as_u64()
    );
}

// --- Interrupted runs ---------------------------------------------------------------------

/// Checks that every file under `out` is a complete output slice with its level's size: a
/// numbered `.tif` that decodes fully. Temporary files are allowed only if `partial_ok`.
/// Returns how many outputs there are.
fn check_complete_outputs(out: &Path, levels: &[(usize, usize, usize)], partial_ok: bool) -> usize {
    let mut found = 0;
    for (l, &(w, h, n)) in levels.iter().enumerate() {
        let dir = out.join((l + 1).to_string());
        for name in file_names(&dir) {
            if partial_ok && name.starts_with('.') && name.ends_with(".tif.partial") {
                continue;
            }
            let index: usize = name
                .strip_suffix(".tif")
                .filter(|num| num.len() == 6)
                .and_then(|num| num.parse().ok())
                .unwrap_or_else(|| panic!("unexpected file {}", dir.join(&name).display()));
            assert!(index < n, "level {} has {n} slices: {name}", l + 1);
            let path = dir.join(&name);
            let (dw, dh, bits, pixels) = decode_tiff(&path);
            assert_eq!((dw, dh, bits), (w, h, 16), "{}", path.display());
            assert_eq!(pixels.len(), w * h * 2, "{}", path.display());
            found += 1;
        }
    }
    found
}

fn spawn_build(stack: &Stack) -> Child {
    let mut command = Command::new(BIN);
    // Windows: a process group of its own, which Ctrl-Break can be sent to alone.
    #[cfg(windows)]
    std::os::windows::process::CommandExt::creation_flags(
        &mut command,
        windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP,
    );
    command
        .args(["build", s(stack.path()), "--min-size"])
        .arg(stack.min_size.to_string())
        .args(["--progress", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ctpyramid binary runs")
}

#[cfg(unix)]
fn send(child: &Child, signal: i32) {
    // SAFETY: kill(2) with the id of a child not yet waited for (so not reused).
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// The pyramid of `stack` built without interruption into another folder.
fn reference_tree(stack: &Stack) -> BTreeMap<String, Vec<u8>> {
    let reference = tempfile::tempdir().unwrap();
    let (out, _) = stack.build(&["--out", s(reference.path()), "--quiet"]);
    assert_ok(&out);
    let tree = read_tree(reference.path());
    assert_eq!(
        tree.keys().cloned().collect::<BTreeSet<_>>(),
        stack.output_names()
    );
    tree
}

/// Resumes after an interrupted run that left `complete` outputs, and checks the result is
/// the uninterrupted pyramid.
fn check_resume_after_interrupt(
    stack: &Stack,
    complete: usize,
    reference: &BTreeMap<String, Vec<u8>>,
) {
    let (out, lines) = stack.build(&["--progress", "json"]);
    assert_ok(&out);
    let (plan, _, done) = check_json_stream(&lines);
    assert_eq!(count(plan, "kept"), complete, "plan: {plan}");
    assert_eq!(count(done, "files_kept"), complete, "done: {done}");
    assert_eq!(
        count(done, "files_written"),
        stack.total_files() - complete,
        "done: {done}"
    );
    assert!(partial_files(stack.path()).is_empty());
    assert_same_tree(
        &read_tree(&stack.out()),
        reference,
        "resumed after interrupt",
    );
}

/// Builds with stdout piped, reads a few lines and stops reading: the build cannot finish
/// (the pipe fills and it blocks), so the signal surely lands in the middle of the run.
/// Then drain, and check the cancel.
fn check_cancel(signal: &str, interrupt: impl FnOnce(&Child), expected_code: i32) {
    // 600 slices: 525 output files, about 100 KB of progress lines, more than a pipe holds.
    let stack = Stack::demo(600, 64, 8);
    let levels = stack.levels();
    assert_eq!(levels, [(32, 32, 300), (16, 16, 150), (8, 8, 75)]);
    let reference = reference_tree(&stack);

    let mut child = spawn_build(&stack);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    for _ in 0..5 {
        assert!(
            stdout.read_line(&mut text).unwrap() > 0,
            "early end: {text}"
        );
    }
    interrupt(&child);
    stdout.read_to_string(&mut text).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(expected_code),
        "signal {signal}: {status:?}: {stderr}"
    );
    assert!(stderr.contains("cancelled"), "{stderr}");
    let lines = json_lines(&text);
    assert_eq!(lines[0]["event"], "plan");
    assert!(
        lines.iter().all(|l| l["event"] != "done"),
        "the run was cancelled, not done"
    );

    assert!(
        partial_files(stack.path()).is_empty(),
        "temporary files left: {:?}",
        partial_files(stack.path())
    );
    let complete = check_complete_outputs(&stack.out(), &levels, false);
    let reported = lines.iter().filter(|l| l["event"] == "progress").count();
    assert_eq!(
        complete, reported,
        "every output reported written is there, and no other"
    );
    assert!(
        complete >= 4 && complete < stack.total_files(),
        "{complete}"
    );
    check_resume_after_interrupt(&stack, complete, &reference);
}

#[cfg(unix)]
#[test]
fn sigint_cancels_cleanly_and_resume_completes() {
    check_cancel("SIGINT", |c| send(c, libc::SIGINT), 130);
}

#[cfg(unix)]
#[test]
fn sigterm_cancels_cleanly_and_resume_completes() {
    check_cancel("SIGTERM", |c| send(c, libc::SIGTERM), 143);
}

/// Windows' Ctrl-Break (Ctrl-C cannot be sent to another process group), handled as Ctrl-C.
/// Needs a real Windows console: under wine 8 `GenerateConsoleCtrlEvent` fails with
/// ERROR_INVALID_ACCESS, so CI (`.ci/windows`) covers the handler's reactions with the unit
/// tests of `platform::windows` instead. On Windows: `cargo test --test resume -- --ignored`.
#[cfg(windows)]
#[test]
#[ignore = "needs a real Windows console (wine's GenerateConsoleCtrlEvent fails)"]
fn ctrl_break_cancels_cleanly_and_resume_completes() {
    use windows_sys::Win32::System::Console::{
        AllocConsole, GenerateConsoleCtrlEvent, CTRL_BREAK_EVENT,
    };
    // The event goes to processes sharing the sender's console: a test run without one
    // makes one, which the build inherits. Fails harmlessly if there is one already.
    // SAFETY: no arguments; at worst it fails.
    unsafe { AllocConsole() };
    let ctrl_break = |child: &Child| {
        // SAFETY: sends an event to the process group of a child not yet waited for.
        let sent = unsafe { GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, child.id()) };
        assert_ne!(sent, 0, "{}", std::io::Error::last_os_error());
    };
    check_cancel("Ctrl-Break", ctrl_break, 130);
}

#[cfg(unix)]
#[test]
fn sigkill_anywhere_leaves_no_broken_output() {
    let stack = Stack::demo(600, 64, 8);
    let levels = stack.levels();
    let reference = reference_tree(&stack);
    // (lines read before the kill, keep reading meanwhile). Reading on lets the build run
    // freely, so the kill lands at an arbitrary point (it may even finish first); not
    // reading, it cannot finish (it blocks on a full pipe), so that kill is surely before
    // the end.
    for (lines_before, keep_reading) in [(1, true), (40, true), (150, true), (3, false)] {
        let _ = std::fs::remove_dir_all(stack.out());
        let status = kill_after(&stack, lines_before, keep_reading);
        if !keep_reading {
            assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
        }
        let complete = check_complete_outputs(&stack.out(), &levels, true);
        check_resume_after_interrupt(&stack, complete, &reference);
    }
}

/// Runs a build and SIGKILLs it once it has printed `lines_before` lines. With
/// `keep_reading`, its output is read on meanwhile, so the build runs freely and the kill
/// lands at an arbitrary point (it may even finish first); without, it cannot finish (it
/// would block on a full pipe), so the kill is surely before the end.
#[cfg(unix)]
fn kill_after(stack: &Stack, lines_before: usize, keep_reading: bool) -> std::process::ExitStatus {
    let mut child = spawn_build(stack);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    if keep_reading {
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut seen = 0;
            while stdout.read_line(&mut line).unwrap_or(0) > 0 {
                seen += 1;
                if seen == lines_before {
                    let _ = tx.send(());
                }
            }
        });
        // Closed without a message: the build ended before printing that many lines.
        let _ = rx.recv();
        send(&child, libc::SIGKILL);
        let status = child.wait().unwrap();
        reader.join().unwrap();
        status
    } else {
        for _ in 0..lines_before {
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "early end: {line}"
            );
        }
        send(&child, libc::SIGKILL);
        let _ = stdout.read_to_string(&mut line);
        child.wait().unwrap()
    }
}

// --- Full disk, file size limit ------------------------------------------------------------

/// Checks a build that ran out of room: exit 3 (not a signal), one error line naming an
/// output file under `out` with `reason`, and no temporary file left.
#[cfg(unix)]
fn check_output_error(out: &Output, root: &Path, reason: &str) {
    let stderr = stderr_of(out);
    assert_eq!(out.status.signal(), None, "killed by a signal: {stderr}");
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one error line: {stderr}");
    let line = lines[0];
    assert!(line.starts_with("ctpyramid: error: "), "{line}");
    assert!(line.contains(reason), "says {reason:?}? {line}");
    let named = line
        .strip_prefix("ctpyramid: error: ")
        .and_then(|l| l.split(": ").next())
        .unwrap();
    let named = Path::new(named);
    assert!(named.starts_with(root), "names an output file: {line}");
    let file = named.file_name().unwrap().to_string_lossy();
    assert!(
        file.len() == 10 && file.ends_with(".tif") && file[..6].bytes().all(|b| b.is_ascii_digit()),
        "names an output slice: {line}"
    );
    assert!(
        partial_files(root).is_empty(),
        "temporary files left: {:?}",
        partial_files(root)
    );
}

#[cfg(unix)]
#[test]
fn full_disk_is_an_output_error() {
    // 600 slices of 64x64: about 1.2 MB of outputs.
    let stack = Stack::demo(600, 64, 8);
    let min = stack.min_size.to_string();

    // A tmpfs is Linux's; the file size limit below is every Unix's.
    #[cfg(target_os = "linux")]
    let (levels, mount_point) = (stack.levels(), tempfile::tempdir().unwrap());
    #[cfg(target_os = "linux")]
    if let Some(_tmpfs) = Tmpfs::mount(mount_point.path(), "200k") {
        let root = mount_point.path();
        let out = ctpyramid(&[
            "build",
            s(stack.path()),
            "--min-size",
            &min,
            "--out",
            s(root),
            "--quiet",
        ]);
        check_output_error(&out, root, "No space left");
        // What was written before the disk filled is complete.
        check_complete_outputs(root, &levels, false);
    }

    // A file size limit, with SIGXFSZ ignored: writes past it fail with EFBIG.
    let root = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command.args([
        "build",
        s(stack.path()),
        "--min-size",
        &min,
        "--out",
        s(root.path()),
        "--quiet",
    ]);
    limit_file_size(&mut command, 1000);
    let out = command.output().expect("the ctpyramid binary runs");
    check_output_error(&out, root.path(), "File too large");
}
