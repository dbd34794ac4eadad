//! `ctpyramid._native`: the Python modules `ctpyramid` and `ct_thumbnail` over the ctpyramid
//! library. A thin layer: options in, the library's build on a thread of its own with the
//! GIL released, its events out to the caller's callback on the calling thread, its errors
//! as Python exceptions naming the file. No pixel is touched here.

use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpyramid::discover::{Pattern, Selection};
use ctpyramid::progress::JsonEvents;
use ctpyramid::{BuildOptions, Error, Event, Summary};
use pyo3::exceptions::{PyException, PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyList};
use serde_json::Value;

pyo3::create_exception!(
    ctpyramid,
    Cancelled,
    PyException,
    "The build was cancelled (the progress callback returned False): every output is \
     complete or absent, and building again resumes."
);
pyo3::create_exception!(
    ctpyramid,
    SliceError,
    PyValueError,
    "A slice that cannot be used: damaged, truncated, unsupported, missing from a numbered \
     selection, or not matching the first slice. `filename` names it."
);

/// How long the calling thread waits for the build with the GIL released before it looks
/// for signals (Ctrl-C) again: a cancel takes effect well within a second.
const TICK: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------
// Options

/// `BuildOptions` from the keyword arguments of `ctpyramid.build` (also `inspect` and
/// `plan`, which take a subset): one keyword per CLI option, named as the option without its
/// dashes. Returns the options and the number of worker threads asked for.
fn build_options(
    input: PathBuf,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<(BuildOptions, Option<usize>)> {
    let mut o = BuildOptions::new(input);
    let mut threads = None;
    let mut select = SelectArgs::default();
    for (key, value) in kwargs.iter() {
        if value.is_none() {
            continue;
        }
        let key: String = key.extract()?;
        match key.as_str() {
            "out" => o.out = Some(value.extract()?),
            "min_size" => o.min_size = value.extract()?,
            "sync" => o.durable = value.extract()?,
            "force" => o.force = value.extract()?,
            "reader" => o.reader = choice(&key, &value)?,
            "writer" => o.writer = choice(&key, &value)?,
            "layout" => o.layout = choice(&key, &value)?,
            "format" => o.format = choice(&key, &value)?,
            "ngff" => o.zarr.ngff = choice(&key, &value)?,
            "codec" => o.zarr.codec = choice(&key, &value)?,
            "chunks" => o.zarr.chunks = chunks(&value)?,
            "voxel_size" => o.voxel_um = Some(positive(&key, value.extract()?)?),
            "slices" => o.slices = Some(slices(&value)?),
            "threads" => threads = Some(value.extract::<usize>()?).filter(|&n| n > 0),
            "prefix" => select.prefix = Some(value.extract()?),
            "ext" => select.ext = Some(value.extract()?),
            "first" => select.first = Some(value.extract()?),
            "last" => select.last = Some(value.extract()?),
            "index_length" => select.index_length = Some(value.extract()?),
            "skip_missing" => select.skip_missing = value.extract()?,
            "all_images" => select.all_images = value.extract()?,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "unexpected keyword argument {key:?}"
                )))
            }
        }
    }
    o.selection = select.selection()?;
    // Every field of BuildOptions is set above from its keyword, or named here as not one:
    // a field added to the library stops this crate compiling until it is mapped (and given
    // its keyword in ctpyramid/__init__.py and __init__.pyi).
    let BuildOptions {
        input: _,
        cancel: _,
        out: _,
        min_size: _,
        durable: _,
        selection: _,
        force: _,
        reader: _,
        writer: _,
        layout: _,
        voxel_um: _,
        slices: _,
        format: _,
        zarr: _,
    } = &o;
    Ok((o, threads))
}

/// The CLI's slice selection options.
#[derive(Default)]
struct SelectArgs {
    prefix: Option<String>,
    ext: Option<String>,
    first: Option<u64>,
    last: Option<u64>,
    index_length: Option<usize>,
    skip_missing: bool,
    all_images: bool,
}

impl SelectArgs {
    fn selection(self) -> PyResult<Selection> {
        match (
            self.prefix,
            self.ext,
            self.first,
            self.last,
            self.index_length,
        ) {
            (Some(prefix), Some(ext), Some(first), Some(last), Some(index_length)) => {
                if self.all_images {
                    return Err(PyValueError::new_err(
                        "all_images cannot be combined with prefix",
                    ));
                }
                Ok(Selection::Pattern(Pattern {
                    prefix,
                    ext,
                    first,
                    last,
                    index_length,
                    skip_missing: self.skip_missing,
                }))
            }
            (None, None, None, None, None) if self.all_images => Ok(Selection::All),
            (None, None, None, None, None) if self.skip_missing => Ok(Selection::AutoSkipMissing),
            (None, None, None, None, None) => Ok(Selection::Auto),
            _ => Err(PyValueError::new_err(
                "prefix, ext, first, last and index_length select slices together: give all \
                 five or none",
            )),
        }
    }
}

/// A value of one of the CLI's choices (`layout="stack"`), by the same names.
fn choice<T: clap::ValueEnum>(key: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let text: String = value.extract()?;
    T::from_str(&text, true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| format!("{:?}", p.get_name()))
            .collect();
        PyValueError::new_err(format!(
            "{key}={text:?}: expected one of {}",
            names.join(", ")
        ))
    })
}

/// OME-Zarr chunks: `(z, y, x)` or `"Z,Y,X"`, as the CLI's `--chunks`.
fn chunks(value: &Bound<'_, PyAny>) -> PyResult<[usize; 3]> {
    if let Ok(text) = value.extract::<String>() {
        return ctpyramid::output::ome_zarr::parse_chunks(&text).map_err(PyValueError::new_err);
    }
    let (z, y, x): (usize, usize, usize) = value.extract()?;
    if z == 0 || y == 0 || x == 0 {
        return Err(PyValueError::new_err(format!(
            "chunks=({z}, {y}, {x}): expected three positive integers"
        )));
    }
    Ok([z, y, x])
}

fn positive(key: &str, value: f64) -> PyResult<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(PyValueError::new_err(format!(
            "{key}={value}: expected a positive number"
        )))
    }
}

/// `slices`: `(a, b)`, `(a, None)` or the CLI's `"a..b"` / `"a.."`.
fn slices(value: &Bound<'_, PyAny>) -> PyResult<(usize, Option<usize>)> {
    if let Ok(text) = value.extract::<String>() {
        return ctpyramid::shard::parse(&text).map_err(PyValueError::new_err);
    }
    value.extract::<(usize, Option<usize>)>().map_err(|_| {
        PyTypeError::new_err("slices: expected (start, end), (start, None) or \"start..end\"")
    })
}

// ---------------------------------------------------------------------------------------
// Errors

/// errno for an I/O error the OS gave no number for.
fn errno_of(source: &std::io::Error) -> i32 {
    use std::io::ErrorKind;
    source.raw_os_error().unwrap_or(match source.kind() {
        ErrorKind::NotFound => 2,          // ENOENT
        ErrorKind::PermissionDenied => 13, // EACCES
        ErrorKind::AlreadyExists => 17,    // EEXIST
        _ => 5,                            // EIO
    })
}

/// The library's error as the exception the docs promise: `OSError` (errno, filename) for
/// the file system, `SliceError` (a `ValueError`, filename) for a slice, `ValueError` for
/// options, `Cancelled`. Every message is the CLI's, naming the file.
fn to_pyerr(py: Python<'_>, error: Error) -> PyErr {
    let message = error.to_string();
    // The message without its leading "<path>: ", for OSError's strerror (Python adds the
    // file name itself).
    let strip = |path: &Path| {
        message
            .strip_prefix(&format!("{}: ", path.display()))
            .unwrap_or(&message)
            .to_string()
    };
    let os_error = |errno: i32, path: &Path| {
        PyOSError::new_err((errno, strip(path), path.as_os_str().to_os_string()))
    };
    match &error {
        Error::Read { path, source } | Error::Write { path, source } => {
            os_error(errno_of(source), path)
        }
        Error::NoSlices { dir } => os_error(2, dir),
        Error::BadInput { path, .. } | Error::Mismatch { path, .. } => {
            let err = SliceError::new_err(message.clone());
            // Only fails if the exception object cannot take attributes, which it can.
            let _ = err
                .value(py)
                .setattr("filename", path.as_os_str().to_os_string());
            err
        }
        Error::Usage(_) => PyValueError::new_err(message),
        Error::Cancelled => Cancelled::new_err(message),
    }
}

// ---------------------------------------------------------------------------------------
// Running a build

/// What the build thread reports to the calling thread.
enum Message {
    Event(Value),
    /// Boxed: a summary is far larger than an event, and one is sent per build.
    Done(Box<Result<Summary, Failure>>),
}

enum Failure {
    Library(Error),
    Panic(String),
}

/// How a build ended, when it raised nothing.
enum Outcome {
    Built(Box<Summary>),
    /// A callback returned False and the build stopped cleanly.
    Cancelled,
}

/// What the build thread runs: `ctpyramid::build`, or in a test, something that panics.
type Work = fn(&BuildOptions, &mut dyn FnMut(Event)) -> ctpyramid::Result<Summary>;

/// The caller's side of a build: what its callbacks make of the events.
trait Listener {
    /// Whether to send events at all (none without a callback: the build pays nothing).
    fn wants_events(&self) -> bool;
    /// A `--progress json` object. `Break`: a callback returned False.
    fn event(&mut self, py: Python<'_>, value: Value) -> PyResult<ControlFlow<()>>;
    /// No event for a tick.
    fn tick(&mut self, py: Python<'_>) -> PyResult<ControlFlow<()>>;
}

/// Runs the library's build on a thread of its own while the calling thread, with the GIL
/// released between messages, hands each event to `listener` and ticks it when none came
/// for a while. The listener returning `Break` (a callback returned False) or failing (it
/// raised; or Ctrl-C, seen by `check_signals`) sets the build's cancel flag; the build then
/// stops between two output files, every output complete or absent, and only then does this
/// return: the callback's exception, a `KeyboardInterrupt`, or `Outcome::Cancelled`. No
/// callback is called once the flag is set. A panic in the build is caught on its thread and
/// raised as a `RuntimeError`.
fn run(
    py: Python<'_>,
    mut options: BuildOptions,
    threads: Option<usize>,
    listener: &mut dyn Listener,
    work: Work,
) -> PyResult<Outcome> {
    let events = listener.wants_events();
    let cancel = Arc::new(AtomicBool::new(false));
    options.cancel = Some(cancel.clone());
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("ctpyramid-build".into())
        .spawn(move || {
            let events_tx = tx.clone();
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut json = JsonEvents::new();
                let mut on_event = |event: Event| {
                    if events {
                        if let Some(value) = json.event(&event) {
                            // The receiver lives until Done is sent.
                            let _ = events_tx.send(Message::Event(value));
                        }
                    }
                };
                match threads {
                    None => work(&options, &mut on_event),
                    Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
                        Ok(pool) => pool.install(|| work(&options, &mut on_event)),
                        Err(e) => Err(Error::Usage(format!("threads={n}: {e}"))),
                    },
                }
            }));
            let result = match result {
                Ok(Ok(summary)) => Ok(summary),
                Ok(Err(e)) => Err(Failure::Library(e)),
                Err(panic) => Err(Failure::Panic(panic_text(panic.as_ref()))),
            };
            let _ = tx.send(Message::Done(Box::new(result)));
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the build thread: {e}")))?;

    let mut raised: Option<PyErr> = None;
    let mut stopped = false;
    let mut stop = |flow: PyResult<ControlFlow<()>>, raised: &mut Option<PyErr>| match flow {
        Ok(ControlFlow::Continue(())) => {}
        Ok(ControlFlow::Break(())) => {
            stopped = true;
            cancel.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            *raised = Some(e);
            cancel.store(true, Ordering::Relaxed);
        }
    };
    let mut rx = Some(rx);
    let result = loop {
        // The receiver goes to the wait and back (a `&Receiver` cannot: it is not Sync).
        let Some(receiver) = rx.take() else {
            break Err(Failure::Panic("lost the build's channel".into()));
        };
        let (receiver, message) = py.detach(move || {
            let message = receiver.recv_timeout(TICK);
            (receiver, message)
        });
        rx = Some(receiver);
        let live = raised.is_none() && !cancel.load(Ordering::Relaxed);
        match message {
            Ok(Message::Done(result)) => break *result,
            Ok(Message::Event(value)) if live => stop(listener.event(py, value), &mut raised),
            Ok(Message::Event(_)) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if live => stop(listener.tick(py), &mut raised),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(Failure::Panic(
                    "the build thread ended without a result".into(),
                ))
            }
        }
        if raised.is_none() {
            if let Err(e) = py.check_signals() {
                stop(Err(e), &mut raised);
            }
        }
    };
    // It has sent Done: it is finishing, if not finished.
    let _ = py.detach(|| worker.join());
    if let Some(e) = raised {
        return Err(e);
    }
    match result {
        // Asked to cancel, the build may still have finished first: cancelled all the same,
        // as the caller asked (every output is complete, and a rerun keeps them all).
        Ok(_) | Err(Failure::Library(Error::Cancelled)) if stopped => Ok(Outcome::Cancelled),
        Ok(summary) => Ok(Outcome::Built(Box::new(summary))),
        Err(Failure::Library(e)) => Err(to_pyerr(py, e)),
        Err(Failure::Panic(text)) => Err(PyRuntimeError::new_err(format!(
            "ctpyramid: internal error (a bug, please report it): {text}"
        ))),
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".into()
    }
}

/// Exactly `False`: CTHarvester's and ctpyramid's signal to cancel (`None`, `True` and
/// anything else go on).
fn is_false(value: &Bound<'_, PyAny>) -> bool {
    value.is(PyBool::new(value.py(), false).as_any())
}

/// A JSON value as the Python object `json.loads` would give.
fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.into_pyobject(py)?.into_any(),
            (None, Some(i), _) => i.into_pyobject(py)?.into_any(),
            (None, None, f) => f.unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

// ---------------------------------------------------------------------------------------
// ctpyramid

/// `ctpyramid.build`'s progress callback: every event, as a dict.
struct Events(Option<Py<PyAny>>);

impl Listener for Events {
    fn wants_events(&self) -> bool {
        self.0.is_some()
    }

    fn event(&mut self, py: Python<'_>, value: Value) -> PyResult<ControlFlow<()>> {
        match &self.0 {
            Some(cb) if is_false(cb.call1(py, (to_py(py, &value)?,))?.bind(py)) => {
                Ok(ControlFlow::Break(()))
            }
            _ => Ok(ControlFlow::Continue(())),
        }
    }

    fn tick(&mut self, _: Python<'_>) -> PyResult<ControlFlow<()>> {
        Ok(ControlFlow::Continue(()))
    }
}

/// See `ctpyramid.build` (ctpyramid/__init__.py) for the documentation.
#[pyfunction]
#[pyo3(signature = (input, options, progress=None))]
fn build(
    py: Python<'_>,
    input: PathBuf,
    options: &Bound<'_, PyDict>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (options, threads) = build_options(input, options)?;
    let mut listener = Events(progress);
    let outcome = run(py, options, threads, &mut listener, ctpyramid::build)?;
    let progress = listener.0;
    match outcome {
        Outcome::Cancelled => Err(to_pyerr(py, Error::Cancelled)),
        Outcome::Built(summary) => {
            let done = ctpyramid::progress::summary(&summary);
            if let Some(cb) = &progress {
                // As `--progress json` ends: the `done` object. Its return value can no
                // longer cancel anything.
                cb.call1(py, (to_py(py, &done)?,))?;
            }
            Ok(to_py(py, &done)?.unbind())
        }
    }
}

/// For the tests: a build whose thread panics must raise RuntimeError, never a
/// PanicException (which is not an `Exception`, and escapes `except Exception`).
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    fn panics(_: &BuildOptions, _: &mut dyn FnMut(Event)) -> ctpyramid::Result<Summary> {
        panic!("a deliberate panic, for the tests")
    }
    run(py, BuildOptions::new("."), None, &mut Events(None), panics).map(|_| ())
}

/// See `ctpyramid.inspect`.
#[pyfunction]
#[pyo3(signature = (input, options))]
fn inspect(py: Python<'_>, input: PathBuf, options: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
    let (o, _) = build_options(input, options)?;
    let report = py
        .detach(|| ctpyramid::inspect::inspect_options(&o))
        .map_err(|e| to_pyerr(py, e))?;
    Ok(to_py(py, &report.to_json())?.unbind())
}

/// See `ctpyramid.plan`.
#[pyfunction]
#[pyo3(signature = (input, shards, options))]
fn plan(
    py: Python<'_>,
    input: PathBuf,
    shards: usize,
    options: &Bound<'_, PyDict>,
) -> PyResult<Py<PyAny>> {
    let (o, _) = build_options(input, options)?;
    let (_, ranges) = py
        .detach(|| ctpyramid::shard::plan(&o, shards))
        .map_err(|e| to_pyerr(py, e))?;
    Ok(to_py(py, &ctpyramid::progress::shards(&ranges))?.unbind())
}

// ---------------------------------------------------------------------------------------
// ct_thumbnail

/// At most this often a percentage to CTHarvester's callback (about 100 calls a second).
const PERCENT_EVERY: Duration = Duration::from_millis(10);
/// With no new percentage, the last one again this often, so that a cancel (the callback
/// returning False) is seen within a second even while one large slice is read.
const PERCENT_REPEAT: Duration = Duration::from_millis(200);

/// The percentage of output slices written, for CTHarvester's callback.
struct Percent {
    callback: Option<Py<PyAny>>,
    to_write: usize,
    written: usize,
    last: f64,
    last_call: Instant,
}

impl Percent {
    /// Calls the callback with `pct`; `Break` if it returned exactly False.
    fn report(&mut self, py: Python<'_>, pct: f64) -> PyResult<ControlFlow<()>> {
        let Some(cb) = &self.callback else {
            return Ok(ControlFlow::Continue(()));
        };
        self.last = pct;
        self.last_call = Instant::now();
        let result = cb.call1(py, (pct,))?;
        Ok(if is_false(result.bind(py)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    }
}

impl Listener for Percent {
    fn wants_events(&self) -> bool {
        self.callback.is_some()
    }

    fn event(&mut self, py: Python<'_>, value: Value) -> PyResult<ControlFlow<()>> {
        match value["event"].as_str() {
            Some("plan") => {
                // One `progress` event comes for each of them.
                self.to_write = value["slices_to_write"].as_u64().unwrap_or(0) as usize;
            }
            Some("progress") => self.written += 1,
            _ => {}
        }
        if self.last_call.elapsed() < PERCENT_EVERY {
            return Ok(ControlFlow::Continue(()));
        }
        // Below 100 until the build has returned: 100.0 means done.
        let pct = match self.to_write {
            0 => 0.0,
            n => (100.0 * self.written as f64 / n as f64).min(99.9),
        };
        self.report(py, pct.max(self.last))
    }

    fn tick(&mut self, py: Python<'_>) -> PyResult<ControlFlow<()>> {
        if self.last_call.elapsed() < PERCENT_REPEAT {
            return Ok(ControlFlow::Continue(()));
        }
        self.report(py, self.last)
    }
}

/// Builds the thumbnails of `input_dir` into `<input_dir>/.thumbnail/<level>/<k:06>.tif`,
/// as CTHarvester's own `ct_thumbnail` module does, with ctpyramid.
///
/// `py_progress_cb(percentage: float)` is called on the calling thread with 0.0 first, then
/// rising percentages (about 100 calls a second at most), then 100.0 on success. Returning
/// exactly False cancels: the call returns None within a second, every output complete or
/// absent (calling again resumes), and no 100.0 follows. An exception it raises, or Ctrl-C,
/// stops the build the same way and propagates.
///
/// With all five of `prefix`, `file_type`, `seq_begin`, `seq_end`, `index_length`, the
/// slices are `<prefix><seq, index_length digits>.<file_type>` for seq from seq_begin to
/// seq_end, numbers without a file skipped; otherwise ctpyramid's default selection, with
/// missing numbers skipped too (as `ctpyramid build --skip-missing`).
///
/// Raises OSError (errno, filename) for a file-system problem, ValueError (ctpyramid.SliceError,
/// filename) for a damaged or mismatched slice; returns None.
#[pyfunction]
#[pyo3(signature = (input_dir, py_progress_cb=None, prefix=None, file_type=None, seq_begin=None, seq_end=None, index_length=None))]
#[allow(clippy::too_many_arguments)]
fn build_thumbnails(
    py: Python<'_>,
    input_dir: PathBuf,
    py_progress_cb: Option<Py<PyAny>>,
    prefix: Option<String>,
    file_type: Option<String>,
    seq_begin: Option<u64>,
    seq_end: Option<u64>,
    index_length: Option<usize>,
) -> PyResult<()> {
    let mut options = BuildOptions::new(input_dir);
    // CTHarvester calls this with the folder alone, and its own module stacks whatever images
    // are there: a gap in the numbers must not stop a build that used to succeed. So the
    // default rule here leaves missing numbers out, as `--skip-missing` does on the CLI.
    options.selection = Selection::AutoSkipMissing;
    if let (Some(prefix), Some(ext), Some(first), Some(last), Some(index_length)) =
        (prefix, file_type, seq_begin, seq_end, index_length)
    {
        // CTHarvester's module skips numbers that have no file.
        options.selection = Selection::Pattern(Pattern {
            prefix,
            ext,
            first,
            last,
            index_length,
            skip_missing: true,
        });
    }
    let mut percent = Percent {
        callback: py_progress_cb,
        to_write: 0,
        written: 0,
        last: 0.0,
        last_call: Instant::now(),
    };
    if percent.report(py, 0.0)?.is_break() {
        return Ok(());
    }
    if let Outcome::Built(_) = run(py, options, None, &mut percent, ctpyramid::build)? {
        // The return value can no longer cancel anything.
        let _ = percent.report(py, 100.0)?;
    }
    Ok(())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(build, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(build_thumbnails, m)?)?;
    // CTHarvester's module has both names for the one function.
    m.add("build_thumbnails_optimized", m.getattr("build_thumbnails")?)?;
    m.add("Cancelled", py.get_type::<Cancelled>())?;
    m.add("SliceError", py.get_type::<SliceError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
