//! The functions of the module `ctpyramid`: `build`, `inspect`, `plan` and `slurm_script` (their documented
//! wrappers are in src/ctpyramid/__init__.py), and `_panic_for_tests`; `read` and `crop`
//! are in [`crate::crop`].

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ctpyramid::{BuildOptions, Error};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

use crate::conversion::to_py;
use crate::error::to_pyerr;
use crate::options::{build_options, int};
use crate::run::{is_false, run, Listener, Outcome};

/// The progress callback of `ctpyramid.build`, `read` and `crop`: every event, as a dict.
pub(crate) struct Events(pub(crate) Option<Py<PyAny>>);

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
    let (mut options, threads) = build_options(input, options)?;
    let cancel = Arc::new(AtomicBool::new(false));
    options.cancel = Some(cancel.clone());
    let mut listener = Events(progress);
    let outcome = run(py, &cancel, threads, &mut listener, |on_event| {
        ctpyramid::build(&options, on_event)
    })?;
    let done = finish(py, &listener, outcome, ctpyramid::progress::summary)?;
    Ok(to_py(py, &done)?.unbind())
}

/// The `done` object of a job that ended (`summary` makes it of the job's result), also
/// handed to the progress callback, as `--progress json` ends; `Cancelled` if a callback
/// cancelled it.
pub(crate) fn finish<T>(
    py: Python<'_>,
    listener: &Events,
    outcome: Outcome<T>,
    summary: impl FnOnce(&T) -> Value,
) -> PyResult<Value> {
    match outcome {
        Outcome::Cancelled => Err(to_pyerr(py, Error::Cancelled)),
        Outcome::Done(result) => {
            let done = summary(&result);
            if let Some(cb) = &listener.0 {
                // Its return value can no longer cancel anything.
                cb.call1(py, (to_py(py, &done)?,))?;
            }
            Ok(done)
        }
    }
}

/// For the tests: a job whose thread panics must raise RuntimeError, never a
/// PanicException (which is not an `Exception`, and escapes `except Exception`).
#[pyfunction]
pub(crate) fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    let panics = |_: &mut dyn FnMut(ctpyramid::Event)| -> ctpyramid::Result<()> {
        panic!("a deliberate panic, for the tests")
    };
    run(py, &AtomicBool::new(false), None, &mut Events(None), panics).map(|_| ())
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
