//! Where the files of a TIFF pyramid go, in either layout: the one place that knows their
//! names. CTHarvester's `<out>/<L>/<k:06>.tif` ([`slice_path`]) or one multi-page file a level,
//! `<out>/level<L>.tif` ([`stack_path`]); `pyramid.json` lists them ([`file_names`]). A
//! build of one layout removes the other's files ([`remove_other_layout`]): `pyramid.json`
//! describes one layout, and a folder of both misleads whoever opens it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::options::TiffLayout;
use crate::plan::{Level, Plan};
use crate::publish;

/// The folder of level `level`'s slice files.
pub fn level_dir(root: &Path, level: usize) -> PathBuf {
    root.join(level.to_string())
}

/// Level `level` slice `index`'s file, in the slices layout.
pub fn slice_path(root: &Path, level: usize, index: usize) -> PathBuf {
    level_dir(root, level).join(format!("{index:06}.tif"))
}

/// Level `level`'s file, in the stack layout.
pub fn stack_path(root: &Path, level: usize) -> PathBuf {
    root.join(format!("level{level}.tif"))
}

/// The names of each level's files in `layout`, relative to the output root.
pub fn file_names(plan: &Plan, layout: TiffLayout) -> Vec<Vec<String>> {
    let level = |l: &Level| match layout {
        TiffLayout::Slices => (0..l.slices)
            .map(|k| format!("{}/{k:06}.tif", l.level))
            .collect(),
        TiffLayout::Stack => vec![format!("level{}.tif", l.level)],
    };
    plan.levels.iter().map(level).collect()
}

/// The number of a slice file's name (`000012.tif` -> 12), complete or temporary
/// (`.000012.tif.partial`, `true`).
pub fn slice_number(name: &str) -> Option<(usize, bool)> {
    let number = |n: &str| (n.len() == 6).then(|| n.parse::<usize>().ok()).flatten();
    match name.strip_suffix(".tif") {
        Some(n) => number(n).map(|k| (k, false)),
        None if publish::is_temporary(name) => name
            .strip_prefix('.')
            .and_then(|n| n.strip_suffix(".tif.partial"))
            .and_then(number)
            .map(|k| (k, true)),
        None => None,
    }
}

/// The level of a stack file's name (`level3.tif` -> 3), complete or temporary.
fn stack_level(name: &str) -> Option<usize> {
    let name = name.strip_prefix('.').unwrap_or(name);
    let name = name.strip_suffix(".partial").unwrap_or(name);
    name.strip_prefix("level")?
        .strip_suffix(".tif")?
        .parse()
        .ok()
}

/// Removes, from `root`, the files of the layout other than `layout` (complete or temporary),
/// and the slices layout's level folders once empty. Nothing else is touched.
pub fn remove_other_layout(root: &Path, layout: TiffLayout) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        match layout {
            TiffLayout::Slices if !is_dir && stack_level(&name).is_some() => {
                std::fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
            }
            TiffLayout::Stack if is_dir && name.parse::<usize>().is_ok() => {
                remove_slice_files(&path)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Removes the slice files of a level folder, and the folder if nothing else is in it.
fn remove_slice_files(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if slice_number(&entry.file_name().to_string_lossy()).is_some() {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
        }
    }
    // Fails, harmlessly, if something else is still in it.
    let _ = std::fs::remove_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_back() {
        assert_eq!(slice_number("000012.tif"), Some((12, false)));
        assert_eq!(slice_number(".000012.tif.partial"), Some((12, true)));
        assert_eq!(slice_number("12.tif"), None);
        assert_eq!(stack_level("level3.tif"), Some(3));
        assert_eq!(stack_level(".level3.tif.partial"), Some(3));
        assert_eq!(stack_level("levels.tif"), None);
    }

    #[test]
    fn a_build_removes_the_other_layouts_files_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir(r.join("1")).unwrap();
        for name in [
            "1/000000.tif",
            "1/.000001.tif.partial",
            "1/notes.txt",
            "level1.tif",
        ] {
            std::fs::write(r.join(name), b"x").unwrap();
        }
        std::fs::write(r.join("pyramid.json"), b"{}").unwrap();
        remove_other_layout(r, TiffLayout::Slices).unwrap();
        assert!(!r.join("level1.tif").exists());
        assert!(r.join("1/000000.tif").exists());
        remove_other_layout(r, TiffLayout::Stack).unwrap();
        assert!(!r.join("1/000000.tif").exists() && !r.join("1/.000001.tif.partial").exists());
        assert!(
            r.join("1/notes.txt").exists(),
            "not a slice file: kept, and its folder"
        );
        assert!(r.join("pyramid.json").exists());
        std::fs::remove_file(r.join("1/notes.txt")).unwrap();
        remove_other_layout(r, TiffLayout::Stack).unwrap();
        assert!(!r.join("1").exists(), "an emptied level folder goes");
    }
}
