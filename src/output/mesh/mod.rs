//! Meshes as files, in the format the extension of the path names: binary PLY (`.ply`:
//! shared vertices, what MeshLab, Blender, ParaView and trimesh read fastest), binary STL
//! (`.stl`: each triangle with its facet normal, for printing) and Wavefront OBJ (`.obj`:
//! text, as CTHarvester writes it). Vertices and triangles are written as the surface is
//! made; a file is complete under its final name or absent ([`crate::publish`]): PLY and OBJ
//! gather vertices and triangles in two temporary streams and are assembled at the end, STL
//! is written in place and its count filled in last.

mod obj;
mod ply;
mod stl;

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::options::MeshFormat;
use crate::publish::{self, TemporaryFile};
use crate::surface::{MeshSink, Window};

/// A mesh file being written: a [`MeshSink`]; [`MeshFile::finish`] publishes it.
pub struct MeshFile {
    path: PathBuf,
    writer: Writer,
    /// Vertices and triangles given so far.
    vertices: u64,
    triangles: u64,
}

enum Writer {
    Ply(ply::Ply),
    Stl(stl::Stl),
    Obj(obj::Obj),
}

impl MeshFile {
    /// Starts the file `path` in `format`; `comments` say what it is (lines, ASCII).
    pub fn create(path: &Path, format: MeshFormat, comments: &[String]) -> Result<MeshFile> {
        let writer = match format {
            MeshFormat::Ply => Writer::Ply(ply::Ply::create(path, comments)?),
            MeshFormat::Stl => Writer::Stl(stl::Stl::create(path, comments)?),
            MeshFormat::Obj => Writer::Obj(obj::Obj::create(path, comments)?),
        };
        Ok(MeshFile {
            path: path.to_path_buf(),
            writer,
            vertices: 0,
            triangles: 0,
        })
    }

    /// Completes the file and gives it its final name (flushed to disk first if
    /// `durable`); returns its size in bytes.
    pub fn finish(self, durable: bool) -> Result<u64> {
        let counts = (self.vertices, self.triangles);
        let (tmp, file) = match self.writer {
            Writer::Ply(w) => w.finish(&self.path, counts)?,
            Writer::Stl(w) => w.finish(&self.path, counts)?,
            Writer::Obj(w) => w.finish(&self.path, counts)?,
        };
        let size = file
            .metadata()
            .map_err(|e| Error::write(&self.path, e))?
            .len();
        publish::publish(tmp, &file, &self.path, durable)?;
        Ok(size)
    }
}

impl MeshSink for MeshFile {
    fn vertices(&mut self, positions: &[[f32; 3]]) -> Result<()> {
        self.vertices += positions.len() as u64;
        let written = match &mut self.writer {
            Writer::Ply(w) => w.vertices(positions),
            Writer::Stl(_) => Ok(()),
            Writer::Obj(w) => w.vertices(positions),
        };
        written.map_err(|e| Error::write(&self.path, e))
    }

    fn triangles(&mut self, triangles: &[[u32; 3]], window: &Window) -> Result<()> {
        self.triangles += triangles.len() as u64;
        let written = match &mut self.writer {
            Writer::Ply(w) => w.triangles(triangles),
            Writer::Stl(w) => w.triangles(triangles, window),
            Writer::Obj(w) => w.triangles(triangles),
        };
        written.map_err(|e| Error::write(&self.path, e))
    }
}

/// A mesh kept in memory: the vertices and the triangles (vertex numbers), for callers who
/// want arrays rather than a file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeshArrays {
    /// Vertex positions, x y z.
    pub vertices: Vec<[f32; 3]>,
    /// Triangles as three vertex numbers, facing out.
    pub triangles: Vec<[u32; 3]>,
}

impl MeshSink for MeshArrays {
    fn vertices(&mut self, positions: &[[f32; 3]]) -> Result<()> {
        self.vertices.extend_from_slice(positions);
        Ok(())
    }

    fn triangles(&mut self, triangles: &[[u32; 3]], _: &Window) -> Result<()> {
        self.triangles.extend_from_slice(triangles);
        Ok(())
    }
}

/// Bytes a stream gathers before a write: vertices and triangles come in small pieces.
const BUFFER: usize = 1 << 20;

/// One temporary stream of a file written in pieces (`part` of `path`), buffered.
struct Stream {
    tmp: TemporaryFile,
    out: BufWriter<File>,
}

impl Stream {
    fn create(path: &Path, part: Option<&str>) -> Result<Stream> {
        let (tmp, file) = publish::create_temporary(path, part)?;
        Ok(Stream {
            tmp,
            out: BufWriter::with_capacity(BUFFER, file),
        })
    }

    /// The stream's file, flushed and rewound to its start, and its temporary name.
    fn rewound(self) -> std::io::Result<(TemporaryFile, File)> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok((self.tmp, file))
    }
}

/// Writes `head`, then the streams' bytes one after another, as the file `path` (under its
/// temporary name, space reserved first): the assembly of PLY and OBJ.
fn assemble(path: &Path, head: &[u8], streams: Vec<Stream>) -> Result<(TemporaryFile, File)> {
    let write = |e| Error::write(path, e);
    let parts = streams
        .into_iter()
        .map(Stream::rewound)
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(write)?;
    let mut len = head.len() as u64;
    for (_, file) in &parts {
        len += file.metadata().map_err(write)?.len();
    }
    let (tmp, mut out) = publish::create_reserved(path, len)?;
    out.write_all(head).map_err(write)?;
    for (_, mut part) in parts {
        // Between two files the kernel copies (copy_file_range on Linux).
        std::io::copy(&mut part, &mut out).map_err(write)?;
    }
    Ok((tmp, out))
}
