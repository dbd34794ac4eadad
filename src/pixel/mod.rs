//! Pixels, the bottom of the crate: sample types ([`Depth`], [`Sample`]), where a slice's
//! pixels lie in its bytes ([`SliceLayout`]), its rows ([`Plane`]), the reduce kernels
//! ([`kernel`], the only arithmetic) and the buffers pixels live in ([`Buffer`]). Nothing here
//! knows of files, formats or builds.

pub mod buffer;
pub mod kernel;
pub mod layout;
pub mod plane;
pub mod sample;

pub use buffer::{Buffer, BufferPool, Pooled};
pub use kernel::Reduce;
pub use layout::{Encoding, SliceLayout};
pub use plane::Plane;
pub use sample::{Depth, Kind, Sample};
