//! Wavefront OBJ text, as CTHarvester writes it: `v x y z` lines, then `f a b c` (vertex
//! numbers from 1), in two streams assembled behind the comments.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::{assemble, Stream};
use crate::error::Result;
use crate::publish::TemporaryFile;

pub struct Obj {
    comments: Vec<String>,
    vertices: Stream,
    faces: Stream,
}

impl Obj {
    pub fn create(path: &Path, comments: &[String]) -> Result<Obj> {
        Ok(Obj {
            comments: comments.to_vec(),
            vertices: Stream::create(path, Some("vertices"))?,
            faces: Stream::create(path, Some("faces"))?,
        })
    }

    /// Each coordinate in the fewest digits that read back as the same float.
    pub fn vertices(&mut self, positions: &[[f32; 3]]) -> io::Result<()> {
        for [x, y, z] in positions {
            writeln!(self.vertices.out, "v {x} {y} {z}")?;
        }
        Ok(())
    }

    pub fn triangles(&mut self, triangles: &[[u32; 3]]) -> io::Result<()> {
        for t in triangles {
            let [a, b, c] = t.map(|i| u64::from(i) + 1);
            writeln!(self.faces.out, "f {a} {b} {c}")?;
        }
        Ok(())
    }

    pub fn finish(self, path: &Path, _: (u64, u64)) -> Result<(TemporaryFile, File)> {
        let head: String = self.comments.iter().map(|l| format!("# {l}\n")).collect();
        assemble(path, head.as_bytes(), vec![self.vertices, self.faces])
    }
}
