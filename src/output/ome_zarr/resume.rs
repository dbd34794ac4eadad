//! What an earlier run left in the store: its temporary files (removed), and which chunk rows
//! a rerun keeps: those of arrays whose metadata is this build's, byte for byte, with every
//! chunk file there (and, resuming, decoding).

use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;
use zarrs::array::{Array, ArrayBytes};
use zarrs::filesystem::FilesystemStore;

use crate::error::Result;
use crate::output::{Check, Scan};
use crate::publish::remove_partial;
use crate::shard;

use super::metadata::{foreign_names, Meta};
use super::writer::{open_array, LevelArray, OmeZarr};

impl OmeZarr<'_> {
    /// Whether a metadata file of the other Zarr version is in `dir`: a store (or array)
    /// written with the other `--ngff`, which this build's files must not join.
    pub(super) fn foreign_metadata(&self, dir: &Path) -> bool {
        foreign_names(self.options.ngff)
            .iter()
            .any(|name| dir.join(name).is_file())
    }

    /// How the metadata files of `level` on disk compare with this build's, byte for byte.
    pub(super) fn metadata_state(&self, level: &LevelArray) -> Meta {
        if self.foreign_metadata(&self.level_dir(level.level)) {
            return Meta::Differs;
        }
        let (mut present, mut differ) = (0, false);
        for (key, bytes) in &level.metadata {
            if let Ok(on_disk) = std::fs::read(self.root.join(key)) {
                present += 1;
                differ |= on_disk != *bytes;
            }
        }
        match present {
            _ if differ => Meta::Differs,
            0 => Meta::Absent,
            n if n == level.metadata.len() => Meta::Same,
            _ => Meta::Partial,
        }
    }

    /// Removes the temporary files of an earlier run: in this shard's chunk rows, and, unless
    /// other shards may be writing them now (under names of their own), beside the metadata.
    pub(super) fn remove_partials(&self, range: &Range<usize>) -> Result<()> {
        let mut dirs = vec![self.root.clone()];
        for l in &self.levels {
            dirs.push(self.level_dir(l.level));
            let c = l.chunking();
            for row in c.rows(shard::level_range(range, l.level, c.shape[0])) {
                // The folder of a chunk row: `<L>/<z>` (v2) or `<L>/c/<z>` (v3).
                let first = l.chunk_key([row, 0, 0]);
                let row_dir = Path::new(&first).parent().and_then(Path::parent);
                if let Some(dir) = row_dir {
                    remove_partial(&self.root.join(dir), true)?;
                }
            }
        }
        if !self.sharded {
            for dir in dirs {
                remove_partial(&dir, false)?;
            }
        }
        Ok(())
    }

    /// Which slices of `range` an earlier run completed, level by level (none if `force`):
    /// those of whole chunk rows kept.
    pub(super) fn scan_store(&self, force: bool, range: &Range<usize>, check: Check) -> Scan {
        let mut stale = false;
        let mut complete: Vec<Vec<bool>> = Vec::with_capacity(self.levels.len());
        for l in &self.levels {
            let c = l.chunking();
            let mut done = vec![false; c.shape[0]];
            let meta = self.metadata_state(l);
            stale |= meta == Meta::Differs;
            if !force && meta == Meta::Same {
                let rows = c.rows(shard::level_range(range, l.level, c.shape[0]));
                let first = rows.start;
                for (i, ok) in self.complete_rows(l, rows, check).into_iter().enumerate() {
                    done[c.slices(first + i)].fill(ok);
                }
            }
            complete.push(done);
        }
        let input = complete.remove(0);
        Scan {
            levels: complete,
            input,
            stale,
        }
    }

    /// Which chunk rows of `level` in `rows` are complete: every chunk file there, and with
    /// `Check::Thorough`, decoding to a chunk of the right size.
    fn complete_rows(&self, level: &LevelArray, rows: Range<usize>, check: Check) -> Vec<bool> {
        let reader: Option<Array<FilesystemStore>> = match check {
            Check::Present => None,
            Check::Thorough => match open_array(&self.root, level.level) {
                Ok(array) => Some(array),
                Err(_) => return vec![false; rows.len()],
            },
        };
        let (gy, gx) = level.chunking().grid();
        let rows: Vec<(usize, Vec<String>)> = rows.map(|r| (r, level.row_keys(r))).collect();
        let root = &self.root;
        rows.into_par_iter()
            .map(|(row, keys)| {
                if !keys.iter().all(|k| root.join(k).is_file()) {
                    return false;
                }
                let Some(array) = &reader else { return true };
                (0..gy * gx).all(|i| {
                    let indices = [row as u64, (i / gx) as u64, (i % gx) as u64];
                    array
                        .retrieve_chunk_if_exists::<ArrayBytes>(&indices)
                        .is_ok_and(|c| c.is_some())
                })
            })
            .collect()
    }
}
