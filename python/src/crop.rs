//! The functions `ctpyramid.read` (a box of a level as a numpy array) and `ctpyramid.crop`
//! (a box of a level written as TIFF files), over the library's `RegionRead` and `crop`.
//! Their documented wrappers are in src/ctpyramid/__init__.py.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ctpyramid::progress::crop_summary;
use ctpyramid::{CropSummary, Depth, RegionRead};
use numpy::{
    dtype, BorrowError, Element, PyArray3, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::conversion::to_py;
use crate::error::Cancelled;
use crate::functions::{finish, Events};
use crate::options::{crop_options, read_options};
use crate::run::{run, Listener, Outcome};

/// See `ctpyramid.read`: the box as a new array, or in `out` (then returned).
#[pyfunction]
#[pyo3(signature = (input, options, out=None, progress=None))]
pub(crate) fn read<'py>(
    py: Python<'py>,
    input: PathBuf,
    options: &Bound<'py, PyDict>,
    out: Option<Bound<'py, PyAny>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (mut options, threads) = read_options(input, options)?;
    // numpy, imported here: the numpy crate's own first use of its C API (getting the array
    // API capsule, through a call to `numpy.lib.NumpyVersion`) panics on any error, numpy
    // missing or a Ctrl-C met during the import; this raises it as any import does.
    numpy::get_array_module(py)?;
    let cancel = Arc::new(AtomicBool::new(false));
    options.cancel = Some(cancel.clone());
    let mut listener = Events(progress);
    // Listing the folder and checking the level take a while on a large stack: on the job's
    // thread too, the GIL released.
    let job = Job {
        py,
        cancel: &cancel,
        threads,
    };
    let region = match job.run(&mut listener, |_| RegionRead::open(&options))? {
        Outcome::Done(region) => region,
        Outcome::Cancelled => return Err(read_cancelled()),
    };
    let (array, outcome) =
        ctpyramid::with_sample!(region.depth(), T => job.fill::<T>(&mut listener, region, out)?);
    if let Outcome::Cancelled = outcome {
        return Err(read_cancelled());
    }
    finish(py, &listener, outcome, crop_summary)?;
    Ok(array)
}

/// A read writes no file: the library's message for a cancel (outputs complete or absent,
/// run again to resume) is a build's or a crop's.
fn read_cancelled() -> PyErr {
    Cancelled::new_err(
        "cancelled: the read stopped between two slices (out, if given, is partly filled)",
    )
}

/// See `ctpyramid.crop`.
#[pyfunction]
#[pyo3(signature = (input, out, options, progress=None))]
pub(crate) fn crop(
    py: Python<'_>,
    input: PathBuf,
    out: PathBuf,
    options: &Bound<'_, PyDict>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Py<PyAny>> {
    let (mut options, threads) = crop_options(input, out, options)?;
    let cancel = Arc::new(AtomicBool::new(false));
    options.read.cancel = Some(cancel.clone());
    let mut listener = Events(progress);
    let outcome = run(py, &cancel, threads, &mut listener, |on_event| {
        ctpyramid::crop(&options, on_event)
    })?;
    let done = finish(py, &listener, outcome, crop_summary)?;
    Ok(to_py(py, &done)?.unbind())
}

/// The run of a read: its cancel flag (the one its options hold) and threads.
struct Job<'a, 'py> {
    py: Python<'py>,
    cancel: &'a AtomicBool,
    threads: Option<usize>,
}

impl<'py> Job<'_, 'py> {
    fn run<T: Send>(
        &self,
        listener: &mut dyn Listener,
        job: impl FnOnce(&mut dyn FnMut(ctpyramid::Event)) -> ctpyramid::Result<T> + Send,
    ) -> PyResult<Outcome<T>> {
        run(self.py, self.cancel, self.threads, listener, job)
    }

    /// Reads the box of `region` into `out` (checked) or a new array of samples `T`, straight
    /// from the files into the array's memory on the job's thread, the GIL released. The
    /// array is borrowed (numpy's borrow flags: no other Rust code writes it meanwhile) until
    /// the job has ended, whatever happened: [`run`] returns only then.
    fn fill<T: Element + bytemuck::Pod>(
        &self,
        listener: &mut dyn Listener,
        region: RegionRead,
        out: Option<Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, Outcome<CropSummary>)> {
        let shape = region.shape();
        let array = match &out {
            Some(out) => checked_out::<T>(out, shape, region.depth())?,
            None => PyArray3::<T>::zeros(self.py, shape, false),
        };
        let mut borrowed = array.try_readwrite().map_err(|e| match e {
            BorrowError::AlreadyBorrowed => PyValueError::new_err(
                "out: in use: another read (or Rust extension) is reading or writing it",
            ),
            e => PyValueError::new_err(format!("out: {e}")),
        })?;
        // C-contiguous (checked, or new): the box's samples in order, slices, rows, columns.
        let samples = borrowed
            .as_slice_mut()
            .map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(samples);
        let outcome = self.run(listener, move |on_event| region.read_into(bytes, on_event))?;
        drop(borrowed);
        Ok((array.into_any(), outcome))
    }
}

/// `out` as the array a read of `shape` samples of `depth` fills, or the error that names
/// what is wrong with it: not a numpy array (TypeError); its shape, dtype (native byte
/// order), order (C-contiguous), or a read-only array (ValueError).
fn checked_out<'py, T: Element>(
    out: &Bound<'py, PyAny>,
    shape: [usize; 3],
    depth: Depth,
) -> PyResult<Bound<'py, PyArray3<T>>> {
    let py = out.py();
    let Ok(array) = out.cast::<PyUntypedArray>() else {
        let kind = out.get_type().name()?;
        return Err(PyTypeError::new_err(format!(
            "out: expected a numpy array (numpy.ndarray, numpy.memmap...), got {kind}"
        )));
    };
    let (got, want) = (array.shape(), shape.as_slice());
    let got_dtype = array.dtype();
    if got != want || !got_dtype.is_equiv_to(&dtype::<T>(py)) {
        return Err(PyValueError::new_err(format!(
            "out: shape {} and dtype {got_dtype}, expected shape {} (the box's slices, rows, \
             columns) and dtype {} (the stack's samples, native byte order)",
            tuple(got),
            tuple(want),
            depth.dtype()
        )));
    }
    if !array.is_c_contiguous() {
        return Err(PyValueError::new_err(
            "out: not C-contiguous: the read writes the box's samples in order (slices, rows, \
             columns) into one block of memory (numpy.ascontiguousarray makes a copy that is)",
        ));
    }
    if !array.getattr("flags")?.getattr("writeable")?.is_truthy()? {
        return Err(PyValueError::new_err(
            "out: read-only (its flags.writeable is False)",
        ));
    }
    Ok(array.cast::<PyArray3<T>>()?.clone())
}

/// A shape as Python writes it: `(3, 10, 20)`.
fn tuple(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
    format!("({})", dims.join(", "))
}
