//! Numbered names: CTHarvester's rule (the files of the most common numbered name, by
//! number) and a pattern given by its parts (`--prefix`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::folder::Folder;
use super::{has, Listing, Pattern};
use crate::error::{Error, Hint, Result};
use crate::input::names::{MAX_SLICES, SLICE_EXTENSIONS};

/// An image file name split as CTHarvester's folder analysis splits it:
/// `<prefix><digits>.<ext>`, the digits the last run of them before the extension.
#[derive(Clone, Copy, Debug)]
struct Numbered<'a> {
    name: &'a str,
    path: &'a PathBuf,
    prefix: &'a str,
    number: u64,
    digits: usize,
    ext: &'a str,
}

impl<'a> Numbered<'a> {
    fn of(name: &'a str, path: &'a PathBuf) -> Option<Numbered<'a>> {
        let (stem, ext) = name.rsplit_once('.')?;
        let prefix = stem.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = &stem[prefix.len()..];
        Some(Numbered {
            name,
            path,
            prefix,
            // More digits than a u64 holds: not an index.
            number: digits.parse().ok()?,
            digits: digits.len(),
            ext,
        })
    }

    /// What files of one numbered name share: the prefix, compared case-insensitively (the
    /// scanner PC's filesystem does), and the extension, `.tif` and `.tiff` (`.jpg` and
    /// `.jpeg`) being one.
    fn key(&self) -> (String, &'static str) {
        let ext = self.ext.to_ascii_lowercase();
        let class = SLICE_EXTENSIONS
            .iter()
            .find(|e| **e == ext)
            .map_or("", |e| match *e {
                "tiff" => "tif",
                "jpeg" => "jpg",
                e => e,
            });
        (self.prefix.to_lowercase(), class)
    }
}

/// `sample_rec########.tif`, or `s<n>.tif` when the numbers are not padded to one width.
fn pattern_name(files: &[Numbered]) -> String {
    let Some(first) = files.first() else {
        return String::new();
    };
    let digits = if files.iter().all(|f| f.digits == first.digits) {
        "#".repeat(first.digits)
    } else {
        "<n>".into()
    };
    format!(
        "{}{digits}.{}",
        first.prefix,
        first.ext.to_ascii_lowercase()
    )
}

/// CTHarvester's rule: the files of the most common numbered name, by number.
pub(super) fn most_common_numbered(folder: &Folder, skip_missing: bool) -> Result<Listing> {
    let mut groups: BTreeMap<(String, &str), Vec<Numbered>> = BTreeMap::new();
    for (name, path) in &folder.images {
        if let Some(n) = Numbered::of(name, path) {
            groups.entry(n.key()).or_default().push(n);
        }
    }
    // Ties go to the first name in order (prefix, then extension): the same folder always
    // gives the same slices, whatever order the filesystem lists it in.
    let mut chosen: Option<&Vec<Numbered>> = None;
    for group in groups.values() {
        match chosen {
            Some(c) if c.len() >= group.len() => {}
            _ => chosen = Some(group),
        }
    }
    let Some(chosen) = chosen else {
        return folder.every_image("every image file, in natural order: no name carries a number");
    };
    let mut files = chosen.clone();
    files.sort_by_key(|f| f.number);
    let pattern = pattern_name(&files);
    let tied: Vec<String> = groups
        .values()
        .filter(|g| g.len() == files.len() && !std::ptr::eq(*g, chosen))
        .map(|g| pattern_name(g))
        .collect();
    for pair in files.windows(2) {
        if pair[0].number == pair[1].number {
            return Err(Error::bad_input(
                pair[1].path,
                format!(
                    "numbered {} like {}: which one is the slice would be a guess",
                    pair[1].number, pair[0].name
                ),
            )
            .with_hint(Hint::Prefix));
        }
    }
    let (first, last) = match (files.first(), files.last()) {
        (Some(f), Some(l)) => (f.number, l.number),
        _ => {
            return Err(Error::NoSlices {
                dir: folder.dir.clone(),
            })
        }
    };
    // In u128: numbers go up to u64::MAX.
    let missing = u128::from(last - first) + 1 - files.len() as u128;
    if missing > 0 && !skip_missing {
        let gap = files
            .windows(2)
            .find(|p| p[1].number > p[0].number + 1)
            .map_or(first, |p| p[0].number + 1);
        let width = files.iter().map(|f| f.digits).min().unwrap_or(1);
        let name = format!("{}{gap:0width$}.{}", files[0].prefix, files[0].ext);
        return Err(Error::bad_input(
            &folder.dir.join(name),
            format!(
                "missing: {missing} of the numbers {first}..{last} of {pattern} {} no file",
                has(missing)
            ),
        )
        .with_hint(Hint::SkipMissing));
    }
    let mut rule = format!(
        "slices {pattern}, {first}..{last}: the most common numbered name, {} of the {} images",
        files.len(),
        folder.images.len()
    );
    if !tied.is_empty() {
        rule.push_str(&format!(
            "; tied with {} at {} files: the first by name (--prefix selects another)",
            tied.join(", "),
            files.len()
        ));
    }
    if missing > 0 {
        rule.push_str(&format!(
            "; {missing} missing {} left out (--skip-missing)",
            if missing == 1 { "number" } else { "numbers" }
        ));
    }
    let plain = tied.is_empty() && missing == 0;
    let paths = files.iter().map(|f| f.path.clone()).collect();
    let why = format!("not {pattern}; --all-images takes every image");
    Ok(Listing::new(paths, rule, plain).leaving_out(folder, &why))
}

impl Pattern {
    /// The files of the pattern in `dir`, in index order. A missing number is an error naming
    /// it (a gap in a CT stack shifts every later slice), unless `skip_missing`.
    pub fn files(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        Ok(self.select(&Folder::read(dir)?)?.paths)
    }

    pub(super) fn select(&self, folder: &Folder) -> Result<Listing> {
        if self.first > self.last {
            return Err(Error::bad_input(
                &folder.dir,
                format!(
                    "first slice {} is after last slice {}",
                    self.first, self.last
                ),
            ));
        }
        if self.last - self.first >= MAX_SLICES {
            let reason = format!(
                "more than {MAX_SLICES} slices from the first, {}: more than any stack holds",
                self.first
            );
            return Err(Error::invalid("last", self.last, reason));
        }
        let (paths, missing) = folder.numbered(
            &self.prefix,
            &self.ext,
            self.index_length,
            self.first..=self.last,
            self.skip_missing,
        )?;
        let w = self.index_length;
        let range = format!(
            "{}{:0w$}..{:0w$}.{}",
            self.prefix, self.first, self.last, self.ext
        );
        let mut rule = format!("slices {range} (--prefix)");
        if missing > 0 {
            rule.push_str(&format!(
                "; {missing} {} no file (left out: --skip-missing)",
                has(missing)
            ));
        }
        let why = format!("not {range}");
        Ok(Listing::new(paths, rule, false).leaving_out(folder, &why))
    }
}
