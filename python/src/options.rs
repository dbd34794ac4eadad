//! The keyword arguments of `ctpyramid.build`, `inspect` and `plan` as the library's
//! `BuildOptions`: one keyword per CLI option, named as the option without its dashes, each
//! checked as the CLI checks it (choices, the slice selection, chunks, slices).

use std::path::PathBuf;

use ctpyramid::discover::{Pattern, Selection};
use ctpyramid::BuildOptions;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// `BuildOptions` from the keyword arguments of `ctpyramid.build` (also `inspect` and
/// `plan`, which take a subset): one keyword per CLI option, named as the option without its
/// dashes. Returns the options and the number of worker threads asked for.
pub(crate) fn build_options(
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
