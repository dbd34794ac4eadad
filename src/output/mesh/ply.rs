//! Binary little-endian PLY: vertices and faces in two streams, assembled behind the header
//! once their counts are known.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::{assemble, Stream};
use crate::error::Result;
use crate::publish::TemporaryFile;

pub struct Ply {
    comments: Vec<String>,
    vertices: Stream,
    faces: Stream,
    bytes: Vec<u8>,
}

impl Ply {
    pub fn create(path: &Path, comments: &[String]) -> Result<Ply> {
        Ok(Ply {
            comments: comments.to_vec(),
            vertices: Stream::create(path, Some("vertices"))?,
            faces: Stream::create(path, Some("faces"))?,
            bytes: Vec::new(),
        })
    }

    pub fn vertices(&mut self, positions: &[[f32; 3]]) -> io::Result<()> {
        self.bytes.clear();
        for v in positions.iter().flatten() {
            self.bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.vertices.out.write_all(&self.bytes)
    }

    pub fn triangles(&mut self, triangles: &[[u32; 3]]) -> io::Result<()> {
        self.bytes.clear();
        for t in triangles {
            self.bytes.push(3);
            for i in t {
                self.bytes.extend_from_slice(&i.to_le_bytes());
            }
        }
        self.faces.out.write_all(&self.bytes)
    }

    pub fn finish(
        self,
        path: &Path,
        (vertices, faces): (u64, u64),
    ) -> Result<(TemporaryFile, File)> {
        let mut head = String::from("ply\nformat binary_little_endian 1.0\n");
        for line in &self.comments {
            head += &format!("comment {line}\n");
        }
        head += &format!(
            "element vertex {vertices}\nproperty float x\nproperty float y\nproperty float z\n\
             element face {faces}\nproperty list uchar uint vertex_indices\nend_header\n"
        );
        assemble(path, head.as_bytes(), vec![self.vertices, self.faces])
    }
}
