//! The keyword arguments of `ctpyramid.build`, `inspect`, `plan`, `read`, `crop` and `mesh`
//! as the library's `BuildOptions`, `ReadOptions`, `CropOptions` and `MeshOptions`: one
//! keyword per CLI option, named as the option without its dashes, each checked as the CLI
//! checks it (choices, the slice selection, chunks, ranges), integers by range: a negative or
//! too large one is a ValueError naming its keyword.

use std::path::PathBuf;

use ctpyramid::{BuildOptions, Choice, CropOptions, MeshOptions, ReadOptions, SelectionParts};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::to_pyerr;

/// The keywords every job takes: the slice selection (`prefix`, `ext`, `first`, `last`,
/// `index_length`, `skip_missing`, `all_images`) and `threads`.
#[derive(Default)]
struct Common {
    select: SelectionParts,
    threads: Option<usize>,
}

impl Common {
    /// Takes `key` if it is one of these keywords; false if not.
    fn take(&mut self, key: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        let select = &mut self.select;
        match key {
            "threads" => self.threads = Some(thread_count(value)?),
            "prefix" => select.prefix = Some(value.extract()?),
            "ext" => select.ext = Some(value.extract()?),
            "first" => select.first = Some(int(key, value)?),
            "last" => select.last = Some(int(key, value)?),
            "index_length" => select.index_length = Some(int(key, value)?),
            "skip_missing" => select.skip_missing = value.extract()?,
            "all_images" => select.all_images = value.extract()?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The selection the keywords make, or a ValueError naming the one that does not fit.
    fn selection(self, py: Python<'_>) -> PyResult<(ctpyramid::Selection, Option<usize>)> {
        let selection = self.select.selection().map_err(|e| to_pyerr(py, e))?;
        Ok((selection, self.threads))
    }
}

fn unexpected(key: &str) -> PyErr {
    PyTypeError::new_err(format!("unexpected keyword argument {key:?}"))
}

/// `BuildOptions` from the keyword arguments of `ctpyramid.build` (also `inspect` and
/// `plan`, which take a subset): one keyword per CLI option, named as the option without its
/// dashes. Returns the options and the number of worker threads asked for.
pub(crate) fn build_options(
    input: PathBuf,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<(BuildOptions, Option<usize>)> {
    let mut o = BuildOptions::new(input);
    let mut common = Common::default();
    for (key, value) in kwargs.iter() {
        if value.is_none() {
            continue;
        }
        let key: String = key.extract()?;
        match key.as_str() {
            "out" => o.out = Some(value.extract()?),
            "min_size" => o.min_size = int(&key, &value)?,
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
            "slices" => o.slices = Some(range("slices", &value)?),
            _ if common.take(&key, &value)? => {}
            _ => return Err(unexpected(&key)),
        }
    }
    let (selection, threads) = common.selection(kwargs.py())?;
    o.selection = selection;
    // Every field of BuildOptions is set above from its keyword, or named here as not one:
    // a field added to the library stops this crate compiling until it is mapped (and given
    // its keyword in src/ctpyramid/__init__.py).
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

/// Takes `key` if it is a keyword of `ReadOptions` (`level`, `x`, `y`, `z`, `pyramid`,
/// `reader`); false if not.
fn take_read(o: &mut ReadOptions, key: &str, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    match key {
        "level" => o.level = int(key, value)?,
        "x" => o.region.x = Some(range(key, value)?),
        "y" => o.region.y = Some(range(key, value)?),
        "z" => o.region.z = Some(range(key, value)?),
        "pyramid" => o.pyramid = Some(value.extract()?),
        "reader" => o.reader = choice(key, value)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Fills `read` from the keyword arguments of a function that reads a box (`read`, `crop`,
/// `mesh`): the box, the level and the selection, and those `own` takes (it returns false
/// for a keyword not its own); returns the number of worker threads asked for. None is the
/// default of every keyword.
fn box_keywords(
    read: &mut ReadOptions,
    kwargs: &Bound<'_, PyDict>,
    mut own: impl FnMut(&str, &Bound<'_, PyAny>) -> PyResult<bool>,
) -> PyResult<Option<usize>> {
    let mut common = Common::default();
    for (key, value) in kwargs.iter() {
        if value.is_none() {
            continue;
        }
        let key: String = key.extract()?;
        if !own(&key, &value)? && !take_read(read, &key, &value)? && !common.take(&key, &value)? {
            return Err(unexpected(&key));
        }
    }
    let (selection, threads) = common.selection(kwargs.py())?;
    read.selection = selection;
    Ok(threads)
}

/// `ReadOptions` from the keyword arguments of `ctpyramid.read`, and the number of worker
/// threads asked for.
pub(crate) fn read_options(
    input: PathBuf,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<(ReadOptions, Option<usize>)> {
    let mut o = ReadOptions::new(input);
    let threads = box_keywords(&mut o, kwargs, |_, _| Ok(false))?;
    // As in build_options: every field mapped to its keyword, or named as not one.
    let ReadOptions {
        input: _,
        selection: _,
        level: _,
        region: _,
        pyramid: _,
        reader: _,
        cancel: _,
    } = &o;
    Ok((o, threads))
}

/// `CropOptions` from the keyword arguments of `ctpyramid.crop` (those of `read`, and
/// `layout`, `force`, `sync`), and the number of worker threads asked for.
pub(crate) fn crop_options(
    input: PathBuf,
    out: PathBuf,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<(CropOptions, Option<usize>)> {
    let mut o = CropOptions {
        read: ReadOptions::new(input),
        out,
        format: Default::default(),
        layout: Default::default(),
        zarr: Default::default(),
        min_size: ctpyramid::DEFAULT_MIN_SIZE,
        durable: false,
        force: false,
    };
    let mut read = ReadOptions::new(&o.read.input);
    let threads = box_keywords(&mut read, kwargs, |key, value| {
        match key {
            "layout" => o.layout = choice(key, value)?,
            "format" => o.format = choice(key, value)?,
            "ngff" => o.zarr.ngff = choice(key, value)?,
            "codec" => o.zarr.codec = choice(key, value)?,
            "chunks" => o.zarr.chunks = chunks(value)?,
            "min_size" => o.min_size = int(key, value)?,
            "sync" => o.durable = value.extract()?,
            "force" => o.force = value.extract()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    o.read = read;
    // As in build_options: every field mapped to its keyword, or named as not one.
    let CropOptions {
        read: _,
        out: _,
        format: _,
        layout: _,
        zarr: _,
        min_size: _,
        durable: _,
        force: _,
    } = &o;
    Ok((o, threads))
}

/// `MeshOptions` at `iso` from the keyword arguments of `ctpyramid.mesh` (those of `read`,
/// and `units`, `sync`), whether to flush the file before naming it (`sync`), and the number
/// of worker threads asked for. The iso value is checked by the library (NaN refused).
pub(crate) fn mesh_options(
    input: PathBuf,
    iso: f64,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<(MeshOptions, bool, Option<usize>)> {
    let mut o = MeshOptions::new(input, iso);
    let mut durable = false;
    let mut read = ReadOptions::new(&o.read.input);
    let threads = box_keywords(&mut read, kwargs, |key, value| {
        match key {
            "units" => o.units = choice(key, value)?,
            "sync" => durable = value.extract()?,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    o.read = read;
    // As in build_options: every field mapped to its keyword, or named as not one.
    let MeshOptions {
        read: _,
        iso: _,
        units: _,
    } = &o;
    Ok((o, durable, threads))
}

/// A value of one of the library's choices (`layout="stack"`), by the CLI's names.
fn choice<T: Choice>(key: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let text: String = value.extract()?;
    T::from_name(&text).map_err(|e| PyValueError::new_err(format!("{key}={e}")))
}

/// OME-Zarr chunks: `(z, y, x)` or `"Z,Y,X"`, as the CLI's `--chunks`.
fn chunks(value: &Bound<'_, PyAny>) -> PyResult<[usize; 3]> {
    if let Ok(text) = value.extract::<String>() {
        return ctpyramid::parse_chunks(&text)
            .map_err(|e| PyValueError::new_err(format!("chunks={e}")));
    }
    let (z, y, x): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>) = value
        .extract()
        .map_err(|_| PyTypeError::new_err("chunks: expected (z, y, x) or \"Z,Y,X\""))?;
    let mut edges = [0; 3];
    for (edge, item) in edges.iter_mut().zip([z, y, x]) {
        *edge = match unsigned::<usize>(&item) {
            Ok(n) if n > 0 => n,
            Err(Bad::NotInt(e)) => return Err(PyTypeError::new_err(format!("chunks: {e}"))),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "chunks={value}: expected three positive integers"
                )))
            }
        };
    }
    Ok(edges)
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

/// A half-open range, `slices` of a build or an axis of a box (`x`, `y`, `z`): `(a, b)`,
/// `(a, None)` (to the end) or the CLI's `"a..b"` / `"a.."`.
fn range(key: &str, value: &Bound<'_, PyAny>) -> PyResult<(usize, Option<usize>)> {
    if let Ok(text) = value.extract::<String>() {
        return ctpyramid::parse_range(&text)
            .map_err(|e| PyValueError::new_err(format!("{key}={e}")));
    }
    let shape = || {
        PyTypeError::new_err(format!(
            "{key}: expected (start, stop), (start, None) or \"start..stop\""
        ))
    };
    let (start, end): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
        value.extract().map_err(|_| shape())?;
    let index = |item: &Bound<'_, PyAny>| match unsigned::<usize>(item) {
        Ok(n) => Ok(n),
        Err(Bad::NotInt(_)) => Err(shape()),
        Err(_) => Err(PyValueError::new_err(format!(
            "{key}={value}: expected integers from 0 to {}",
            usize::MAX
        ))),
    };
    let start = index(&start)?;
    let end = if end.is_none() {
        None
    } else {
        Some(index(&end)?)
    };
    Ok((start, end))
}

/// `threads`: an integer the library's bound allows (1 to 4 per core); 0 is refused, not
/// taken for the default: that is `None`.
fn thread_count(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let n = int::<usize>("threads", value)?;
    ctpyramid::check_threads(n).map_err(|e| to_pyerr(value.py(), e))?;
    Ok(n)
}

/// The unsigned integer types of the integer keywords, with their largest value.
pub(crate) trait Unsigned: TryFrom<u64> {
    const MAX: u64;
}

impl Unsigned for u64 {
    const MAX: u64 = u64::MAX;
}

impl Unsigned for usize {
    const MAX: u64 = usize::MAX as u64;
}

/// Why a value is not a `T`.
enum Bad {
    /// Not an integer (nor of a type with `__index__`): the message of pyo3's TypeError.
    NotInt(String),
    /// An integer below 0 or above `T::MAX`.
    OutOfRange,
}

/// `value` as a `T`, or why not. pyo3 alone raises an OverflowError for an integer out of
/// range, which names no keyword, and is no ValueError.
fn unsigned<T: Unsigned>(value: &Bound<'_, PyAny>) -> Result<T, Bad> {
    match value.extract::<u64>() {
        Ok(n) => T::try_from(n).map_err(|_| Bad::OutOfRange),
        Err(e) if e.is_instance_of::<PyOverflowError>(value.py()) => Err(Bad::OutOfRange),
        Err(e) => Err(Bad::NotInt(e.value(value.py()).to_string())),
    }
}

/// The integer keyword `key`: a ValueError naming it (and its range) if out of range, a
/// TypeError naming it if not an integer.
pub(crate) fn int<T: Unsigned>(key: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    unsigned(value).map_err(|bad| match bad {
        Bad::NotInt(e) => PyTypeError::new_err(format!("{key}: {e}")),
        Bad::OutOfRange => PyValueError::new_err(format!(
            "{key}={value}: expected an integer from 0 to {}",
            T::MAX
        )),
    })
}
