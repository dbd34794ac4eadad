//! The module `ct_thumbnail`, CTHarvester's interface: `build_thumbnails`, its progress as
//! a percentage.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctpyramid::{BuildOptions, Pattern, Selection};
use pyo3::prelude::*;
use serde_json::Value;

use crate::options::int;
use crate::run::{is_false, run, Listener, Outcome};

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
/// filename) for a damaged or mismatched slice, ValueError naming the argument for a negative
/// or too large `seq_begin`, `seq_end` or `index_length`; returns None.
#[pyfunction]
#[pyo3(signature = (input_dir, py_progress_cb=None, prefix=None, file_type=None, seq_begin=None, seq_end=None, index_length=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_thumbnails(
    py: Python<'_>,
    input_dir: PathBuf,
    py_progress_cb: Option<Py<PyAny>>,
    prefix: Option<String>,
    file_type: Option<String>,
    seq_begin: Option<Bound<'_, PyAny>>,
    seq_end: Option<Bound<'_, PyAny>>,
    index_length: Option<Bound<'_, PyAny>>,
) -> PyResult<()> {
    // Converted here, not by pyo3, whose OverflowError for a negative number names nothing.
    let seq_begin: Option<u64> = seq_begin.map(|v| int("seq_begin", &v)).transpose()?;
    let seq_end: Option<u64> = seq_end.map(|v| int("seq_end", &v)).transpose()?;
    let index_length: Option<usize> = index_length.map(|v| int("index_length", &v)).transpose()?;
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
    let cancel = Arc::new(AtomicBool::new(false));
    options.cancel = Some(cancel.clone());
    let build = |on_event: &mut dyn FnMut(ctpyramid::Event)| ctpyramid::build(&options, on_event);
    if let Outcome::Done(_) = run(py, &cancel, None, &mut percent, build)? {
        // The return value can no longer cancel anything.
        let _ = percent.report(py, 100.0)?;
    }
    Ok(())
}
