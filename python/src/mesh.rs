//! The function `ctpyramid.mesh` (the surface of a box of a level at an iso value), over the
//! library's `mesh` (a file) and `mesh_arrays` (in memory). Its documented wrapper, which
//! also turns the summary's `warning` into a Python warning, is in src/ctpyramid/__init__.py.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ctpyramid::progress::mesh_summary;
use ctpyramid::MeshArrays;
use numpy::ndarray::Array2;
use numpy::{Element, PyArray2};
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::conversion::to_py;
use crate::error::Cancelled;
use crate::functions::{finish, Events};
use crate::options::mesh_options;
use crate::run::{run, Outcome};

/// See `ctpyramid.mesh`: with `out`, writes the file and returns the summary dict; without,
/// returns `(vertices, faces, summary)`, the arrays made of the library's vectors without a
/// copy.
#[pyfunction]
#[pyo3(signature = (input, iso, options, out=None, progress=None))]
pub(crate) fn mesh<'py>(
    py: Python<'py>,
    input: PathBuf,
    iso: f64,
    options: &Bound<'py, PyDict>,
    out: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (mut options, durable, threads) = mesh_options(input, iso, options)?;
    let cancel = Arc::new(AtomicBool::new(false));
    options.read.cancel = Some(cancel.clone());
    let mut listener = Events(progress);
    if let Some(out) = out {
        let written = AtomicBool::new(false);
        let outcome = run(py, &cancel, threads, &mut listener, |on_event| {
            let summary = ctpyramid::mesh(&options, &out, durable, on_event)?;
            written.store(true, Ordering::Relaxed);
            Ok(summary)
        });
        // Stopped (a callback's False or exception, Ctrl-C) after the library had finished,
        // as it came with the last slice's event: the file is complete, but the caller asked
        // for none.
        if written.load(Ordering::Relaxed) && !matches!(outcome, Ok(Outcome::Done(_))) {
            std::fs::remove_file(&out).map_err(|e| {
                PyOSError::new_err((
                    e.raw_os_error().unwrap_or(5),
                    format!("cannot remove the mesh of a cancelled run: {e}"),
                    out.clone().into_os_string(),
                ))
            })?;
        }
        let outcome = outcome?;
        let done = finish(py, &listener, outcome, mesh_summary)
            .map_err(|e| cancelled(py, e, &format!("{} was not written", out.display())))?;
        return to_py(py, &done);
    }
    // numpy, imported before the job: an ImportError, as for `read`, not a panic of the
    // numpy crate's first use of its C API.
    numpy::get_array_module(py)?;
    let outcome = run(py, &cancel, threads, &mut listener, |on_event| {
        ctpyramid::mesh_arrays(&options, on_event)
    })?;
    let (arrays, outcome) = match outcome {
        Outcome::Done((arrays, summary)) => (Some(arrays), Outcome::Done(summary)),
        Outcome::Cancelled => (None, Outcome::Cancelled),
    };
    let done = finish(py, &listener, outcome, mesh_summary)
        .map_err(|e| cancelled(py, e, "no arrays were made"))?;
    let MeshArrays {
        vertices,
        triangles,
    } = arrays.ok_or_else(|| PyRuntimeError::new_err("ctpyramid: a mesh without its arrays"))?;
    let vertices = rows_of_three(py, vertices)?;
    let faces = rows_of_three(py, triangles)?;
    let done = to_py(py, &done)?;
    Ok(PyTuple::new(py, [vertices, faces, done])?.into_any())
}

/// `Cancelled` in a mesh's words: the library's message for a cancel (outputs complete or
/// absent, run again to resume) is a build's or a crop's, and a mesh resumes nothing.
fn cancelled(py: Python<'_>, e: PyErr, what: &str) -> PyErr {
    if e.is_instance_of::<Cancelled>(py) {
        Cancelled::new_err(format!(
            "cancelled: the mesh stopped between two slices; {what}"
        ))
    } else {
        e
    }
}

/// `rows` as a numpy array of shape `(len, 3)` that takes over the vector's memory: the
/// `[T; 3]`s flattened in place, handed to numpy with no copy (it frees them with the array).
fn rows_of_three<'py, T: Element>(
    py: Python<'py>,
    rows: Vec<[T; 3]>,
) -> PyResult<Bound<'py, PyAny>> {
    let n = rows.len();
    let flat = Array2::from_shape_vec((n, 3), rows.into_flattened())
        .map_err(|e| PyRuntimeError::new_err(format!("ctpyramid: {e}")))?;
    Ok(PyArray2::from_owned_array(py, flat).into_any())
}
