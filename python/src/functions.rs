//! The functions of the module `ctpyramid`: `build`, `inspect`, `plan` and `slurm_script` (their documented
//! wrappers are in src/ctpyramid/__init__.py), and `_panic_for_tests`.

use std::ops::ControlFlow;
use std::path::PathBuf;

use ctpyramid::{BuildOptions, Error, Event, Summary};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::conversion::to_py;
use crate::error::to_pyerr;
use crate::options::{build_options, int};
use crate::run::{is_false, run, Listener, Outcome};

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

/// See `ctpyramid.build` (src/ctpyramid/__init__.py) for the documentation.
#[pyfunction]
#[pyo3(signature = (input, options, progress=None))]
pub(crate) fn build(
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
pub(crate) fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    fn panics(_: &BuildOptions, _: &mut dyn FnMut(Event)) -> ctpyramid::Result<Summary> {
        panic!("a deliberate panic, for the tests")
    }
    run(py, BuildOptions::new("."), None, &mut Events(None), panics).map(|_| ())
}

/// See `ctpyramid.inspect`.
#[pyfunction]
#[pyo3(signature = (input, options))]
pub(crate) fn inspect(
    py: Python<'_>,
    input: PathBuf,
    options: &Bound<'_, PyDict>,
) -> PyResult<Py<PyAny>> {
    let (o, _) = build_options(input, options)?;
    let report = py
        .detach(|| ctpyramid::inspect(&o))
        .map_err(|e| to_pyerr(py, e))?;
    Ok(to_py(py, &report.to_json())?.unbind())
}

/// The shards of a build of `input` with the keyword `options`, and those options.
fn shard_plan(
    py: Python<'_>,
    input: PathBuf,
    shards: &Bound<'_, PyAny>,
    options: &Bound<'_, PyDict>,
) -> PyResult<(ctpyramid::ShardPlan, BuildOptions)> {
    let shards: usize = int("shards", shards)?;
    let (o, _) = build_options(input, options)?;
    let plan = py
        .detach(|| ctpyramid::plan_shards(&o, shards))
        .map_err(|e| to_pyerr(py, e))?;
    Ok((plan, o))
}

/// See `ctpyramid.plan`.
#[pyfunction]
#[pyo3(signature = (input, shards, options))]
pub(crate) fn plan(
    py: Python<'_>,
    input: PathBuf,
    shards: &Bound<'_, PyAny>,
    options: &Bound<'_, PyDict>,
) -> PyResult<Py<PyAny>> {
    let (plan, _) = shard_plan(py, input, shards, options)?;
    Ok(to_py(py, &ctpyramid::progress::shards(&plan.ranges))?.unbind())
}

/// See `ctpyramid.slurm_script`.
#[pyfunction]
#[pyo3(signature = (input, shards, options))]
pub(crate) fn slurm_script(
    py: Python<'_>,
    input: PathBuf,
    shards: &Bound<'_, PyAny>,
    options: &Bound<'_, PyDict>,
) -> PyResult<String> {
    let (plan, o) = shard_plan(py, input, shards, options)?;
    Ok(plan.slurm_script(&o))
}
