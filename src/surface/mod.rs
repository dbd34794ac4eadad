//! Surfaces: marching cubes over a volume streamed plane by plane ([`Marcher`]), giving the
//! triangles PyMCubes gives on the same array with each vertex made once, to a [`MeshSink`]
//! as they are made. The kernels of meshing: nothing here knows of files or formats.

mod bits;
pub(crate) mod classify;
mod edge;
mod layer;
mod march;
mod slab;
mod tables;

pub use classify::Classify;
pub use layer::Placement;
pub use march::{Marcher, MeshSink, Tally, Window};

use crate::pixel::{Plane, Sample};

/// Row `y` of a plane of samples, wherever they are: borrowed, or converted into `scratch`.
pub trait Rows<T>: Sync {
    /// Row `y` (`y` below the plane's height), as many samples as the plane is wide.
    fn row<'s>(&'s self, y: usize, scratch: &'s mut Vec<T>) -> &'s [T];
}

impl<T: Sample> Rows<T> for Plane<'_, T> {
    #[inline]
    fn row<'s>(&'s self, y: usize, scratch: &'s mut Vec<T>) -> &'s [T] {
        Plane::row(self, y, scratch)
    }
}

/// A plane held as its samples, row after row, `width` a row.
pub struct Samples<'a, T> {
    pub samples: &'a [T],
    pub width: usize,
}

impl<T: Sync> Rows<T> for Samples<'_, T> {
    #[inline]
    fn row<'s>(&'s self, y: usize, _: &'s mut Vec<T>) -> &'s [T] {
        &self.samples[y * self.width..(y + 1) * self.width]
    }
}
