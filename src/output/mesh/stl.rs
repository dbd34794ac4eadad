//! Binary STL: an 80-byte header, the triangle count, then each triangle as its facet normal
//! and its three corners (float32) and a zero attribute, written in place under the file's
//! temporary name; the count is filled in at the end.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

use super::Stream;
use crate::error::{Error, Result};
use crate::publish::TemporaryFile;
use crate::surface::Window;

pub struct Stl {
    out: Stream,
    bytes: Vec<u8>,
}

impl Stl {
    /// The header is the comments, joined, cut to 80 bytes: never starting with `solid`,
    /// which would make readers take the file for ASCII STL.
    pub fn create(path: &Path, comments: &[String]) -> Result<Stl> {
        let mut out = Stream::create(path, None)?;
        let mut header = [b' '; 80];
        let text = comments.join("; ");
        for (h, c) in header.iter_mut().zip(text.bytes()) {
            *h = if c.is_ascii() { c } else { b'?' };
        }
        let mut head = header.to_vec();
        head.extend_from_slice(&0u32.to_le_bytes());
        out.out
            .write_all(&head)
            .map_err(|e| Error::write(path, e))?;
        Ok(Stl {
            out,
            bytes: Vec::new(),
        })
    }

    pub fn triangles(&mut self, triangles: &[[u32; 3]], window: &Window) -> io::Result<()> {
        self.bytes.clear();
        for t in triangles {
            let [a, b, c] = t.map(|i| window.position(i));
            for v in normal(a, b, c).iter().chain(&a).chain(&b).chain(&c) {
                self.bytes.extend_from_slice(&v.to_le_bytes());
            }
            self.bytes.extend_from_slice(&[0, 0]);
        }
        self.out.out.write_all(&self.bytes)
    }

    pub fn finish(self, path: &Path, (_, triangles): (u64, u64)) -> Result<(TemporaryFile, File)> {
        let count = u32::try_from(triangles).map_err(|_| {
            Error::invalid(
                "out",
                path.display(),
                format!(
                    "{triangles} triangles, more than binary STL counts (4294967295): write a .ply"
                ),
            )
        })?;
        let write = |e| Error::write(path, e);
        let (tmp, mut file) = self.out.rewound().map_err(write)?;
        file.seek(SeekFrom::Start(80)).map_err(write)?;
        file.write_all(&count.to_le_bytes()).map_err(write)?;
        Ok((tmp, file))
    }
}

/// The unit normal of the triangle a, b, c by the right-hand rule (corners counter-clockwise
/// seen from where it points), computed in float64; zero for a triangle without area.
fn normal(a: [f32; 3], b: [f32; 3], c: [f32; 3]) -> [f32; 3] {
    let d = |p: [f32; 3], q: [f32; 3]| -> [f64; 3] {
        std::array::from_fn(|i| f64::from(p[i]) - f64::from(q[i]))
    };
    let (u, v) = (d(b, a), d(c, a));
    let n = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
    match len > 0.0 {
        true => n.map(|c| (c / len) as f32),
        false => [0.0; 3],
    }
}
