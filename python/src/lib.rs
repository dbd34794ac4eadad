//! `ctpyramid._native`: the Python modules `ctpyramid` and `ct_thumbnail` over the ctpyramid
//! library. A thin layer: options in, the library's job (a build, a read, a crop, a mesh) on
//! a thread of its own with the GIL released, its events out to the caller's callback on the
//! calling thread, its errors as Python exceptions naming the file. No pixel is touched here:
//! a read hands the library the memory of a numpy array to fill, a mesh in memory hands
//! numpy the library's vectors.
//!
//! By concern: [`options`] (keyword arguments to `BuildOptions`, `ReadOptions`,
//! `CropOptions` and `MeshOptions`), [`error`] (the library's errors as Python exceptions),
//! [`conversion`] (JSON values to Python objects), [`run`] (a job on its own thread: cancel,
//! Ctrl-C, panics), and the functions of the two modules, [`functions`], [`crop`] and
//! [`mesh`] (`ctpyramid`) and [`thumbnail`] (`ct_thumbnail`). This file only registers them.

mod conversion;
mod crop;
mod error;
mod functions;
mod mesh;
mod options;
mod run;
mod thumbnail;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_function(wrap_pyfunction!(functions::build, m)?)?;
    m.add_function(wrap_pyfunction!(functions::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(functions::plan, m)?)?;
    m.add_function(wrap_pyfunction!(functions::slurm_script, m)?)?;
    m.add_function(wrap_pyfunction!(crop::read, m)?)?;
    m.add_function(wrap_pyfunction!(crop::crop, m)?)?;
    m.add_function(wrap_pyfunction!(mesh::mesh, m)?)?;
    m.add_function(wrap_pyfunction!(functions::_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(thumbnail::build_thumbnails, m)?)?;
    // CTHarvester's module has both names for the one function.
    m.add("build_thumbnails_optimized", m.getattr("build_thumbnails")?)?;
    m.add("Cancelled", py.get_type::<error::Cancelled>())?;
    m.add("SliceError", py.get_type::<error::SliceError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
