//! The library's errors as Python exceptions, and the two exception types of its own:
//! `Cancelled` and `SliceError`.

use std::path::Path;

use ctpyramid::{Error, Hint};
use pyo3::exceptions::{PyException, PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

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

/// A [`Hint`] in Python's words.
fn option_hint(hint: Hint) -> &'static str {
    match hint {
        Hint::SkipMissing => "skip_missing=True leaves them out, all_images=True takes every image",
        Hint::Prefix => {
            "prefix=..., with ext, first, last and index_length, selects slices by name"
        }
    }
}

/// The library's error as the exception the docs promise: `OSError` (errno, filename) for
/// the file system, `SliceError` (a `ValueError`, filename) for a slice, `ValueError` for
/// options, `Cancelled`. Every message is the CLI's, naming the file.
pub(crate) fn to_pyerr(py: Python<'_>, error: Error) -> PyErr {
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
            let message = match &error {
                Error::BadInput {
                    hint: Some(hint), ..
                } => format!("{message} ({})", option_hint(*hint)),
                _ => message.clone(),
            };
            let err = SliceError::new_err(message);
            // Only fails if the exception object cannot take attributes, which it can.
            let _ = err
                .value(py)
                .setattr("filename", path.as_os_str().to_os_string());
            err
        }
        // As Python spells the option: `min_size=0: must be at least 1 ...`.
        Error::Invalid {
            option,
            value,
            reason,
        } => PyValueError::new_err(format!("{option}={value}: {reason}")),
        Error::Internal(_) => PyRuntimeError::new_err(format!("ctpyramid: {message}")),
        Error::Cancelled => Cancelled::new_err(message),
    }
}
