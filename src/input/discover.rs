//! Which files of a folder are the slices, in what order, and why.
//!
//! One rule decides ([`select`]), and says what it decided and what it left out
//! ([`Listing`]), so that `build` and `inspect` print the same lines:
//!
//! 1. a SkyScan reconstruction log in the folder ([`super::skyscan`]) names the slices;
//! 2. without a usable log, CTHarvester's rule: the files of the most common numbered name
//!    `<prefix><digits>.<ext>`, ordered by their number, every number from the first to the
//!    last present (a gap shifts every later slice in z: an error unless `--skip-missing`);
//! 3. names that carry no number: every image file, in natural order.
//!
//! Image files that the rule leaves out are always named, never dropped silently.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::names::{MAX_SLICES, SLICE_EXTENSIONS};
use super::skyscan::{self, LogFile, SkyScanLog};
use crate::error::{Error, Hint, Result};

/// Which files of the folder are the slices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// A SkyScan reconstruction log's sections if the folder holds one (see [`SkyScanLog`]),
    /// else CTHarvester's rule: the most common numbered name; every image file if no name
    /// carries a number. A number missing from the range is an error. The default.
    #[default]
    Auto,
    /// [`Selection::Auto`], leaving out numbers whose file is missing (`--skip-missing`).
    AutoSkipMissing,
    /// Every image file of the folder in natural order, ignoring any log.
    All,
    /// `{prefix}{index:0width}.{ext}` for `first..=last`, as CTHarvester's GUI selects them.
    Pattern(Pattern),
}

/// What a front end collects a [`Selection`] from: the pattern's five parts (all or none),
/// and the two switches. [`SelectionParts::selection`] is the one place they are combined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectionParts {
    /// The pattern's name before the number (`CO-1__rec`).
    pub prefix: Option<String>,
    /// The pattern's extension, without the dot.
    pub ext: Option<String>,
    /// The pattern's first number.
    pub first: Option<u64>,
    /// The pattern's last number, included.
    pub last: Option<u64>,
    /// Digits of the pattern's zero-padded number.
    pub index_length: Option<usize>,
    /// Leave out numbers whose file is missing instead of failing.
    pub skip_missing: bool,
    /// Every image file of the folder, ignoring logs and numbers.
    pub all_images: bool,
}

impl SelectionParts {
    /// The selection the parts make, or an error naming the part that does not fit.
    pub fn selection(self) -> Result<Selection> {
        let SelectionParts {
            prefix,
            ext,
            first,
            last,
            index_length,
            skip_missing,
            all_images,
        } = self;
        match (prefix, ext, first, last, index_length) {
            (Some(_), ..) if all_images => Err(Error::invalid(
                "all_images",
                true,
                "takes every image file: it cannot be combined with a prefix pattern",
            )),
            (Some(prefix), Some(ext), Some(first), Some(last), Some(index_length)) => {
                Ok(Selection::Pattern(Pattern {
                    prefix,
                    ext,
                    first,
                    last,
                    index_length,
                    skip_missing,
                }))
            }
            (None, None, None, None, None) if all_images => Ok(Selection::All),
            (None, None, None, None, None) if skip_missing => Ok(Selection::AutoSkipMissing),
            (None, None, None, None, None) => Ok(Selection::Auto),
            (prefix, ..) => Err(Error::invalid(
                "prefix",
                prefix.unwrap_or_default(),
                "prefix, ext, first, last and index_length select slices together: give all \
                 five or none",
            )),
        }
    }
}

/// A numbered file name pattern: `CO-1__rec` + `00000010` + `.bmp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The name before the number.
    pub prefix: String,
    /// Extension without the dot; matched case-insensitively, `tif` also finding `.tiff`.
    pub ext: String,
    /// The first number.
    pub first: u64,
    /// The last number, included.
    pub last: u64,
    /// Digits of the index, zero-padded.
    pub index_length: usize,
    /// Leave out numbers whose file is missing instead of failing.
    pub skip_missing: bool,
}

/// The slices of a build, how they were chosen and what was left out.
#[derive(Clone, Debug)]
pub struct Listing {
    pub paths: Vec<PathBuf>,
    /// What `build` prints before it starts, one fact a line: the rule and why, the files
    /// left out, what the log and the files disagree on. `None` when every image file of
    /// the folder is a slice and there is nothing more to say.
    pub note: Option<String>,
    /// The rule that chose the slices and why, in one line, always (`inspect` shows it).
    pub rule: String,
    /// Image files of the folder that are not slices, by name, in natural order.
    pub left_out: Vec<String>,
    /// The SkyScan log used, if any (it also carries the voxel size).
    pub log: Option<SkyScanLog>,
    /// The lines of the note after the rule.
    more: Vec<String>,
    /// Every image file of the folder is a slice, by an unremarkable rule.
    plain: bool,
}

impl Listing {
    fn new(paths: Vec<PathBuf>, rule: String, plain: bool) -> Listing {
        Listing {
            paths,
            note: None,
            rule,
            left_out: Vec::new(),
            log: None,
            more: Vec::new(),
            plain,
        }
        .noted()
    }

    /// Names the image files of `folder` that are not slices, and why, in one line.
    fn leaving_out(mut self, folder: &Folder, why: &str) -> Listing {
        let taken: HashSet<&PathBuf> = self.paths.iter().collect();
        self.left_out = folder
            .images
            .iter()
            .filter(|(_, path)| !taken.contains(path))
            .map(|(name, _)| name.clone())
            .collect();
        if !self.left_out.is_empty() {
            self.more.insert(0, left_out_line(&self.left_out, why));
        }
        self.noted()
    }

    fn noted(mut self) -> Listing {
        self.renote();
        self
    }

    fn renote(&mut self) {
        self.note = (!self.plain || !self.more.is_empty()).then(|| self.lines().join("\n"));
    }

    /// The rule, then what the note says after it: what `inspect` prints.
    pub fn lines(&self) -> Vec<String> {
        std::iter::once(self.rule.clone())
            .chain(self.more.iter().cloned())
            .collect()
    }

    /// Checks what the log says against the first slice (`width` x `height`): a line in the
    /// note for each disagreement. The files win: the log may belong to another
    /// reconstruction, and the user is told.
    pub fn check_first(&mut self, width: usize, height: usize) {
        if let Some(log) = &self.log {
            self.more.extend(log.disagreements(width, height));
            self.renote();
        }
    }
}

/// "has" for one, "have" for more.
fn has<N: PartialEq + From<u8>>(n: N) -> &'static str {
    if n == N::from(1) {
        "has"
    } else {
        "have"
    }
}

/// "left out: a.bmp, b.tif and 3 more (why)": the first few names, so the line stays a line.
fn left_out_line(names: &[String], why: &str) -> String {
    const SHOWN: usize = 5;
    let mut list = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        list.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    format!("left out: {list} ({why})")
}

/// The slice files of `input` as `selection` says: the file itself if `input` is a file (a
/// multi-page TIFF stack), else files of the folder.
pub fn select(input: &Path, selection: &Selection) -> Result<Listing> {
    if input.is_file() {
        let rule = format!("the pages of {}", file_name(input));
        return Ok(Listing::new(vec![input.to_path_buf()], rule, true));
    }
    let folder = Folder::read(input)?;
    let skip_missing = match selection {
        Selection::All => {
            return folder.every_image("every image file, in natural order (--all-images)")
        }
        Selection::Pattern(pattern) => return pattern.select(&folder),
        Selection::Auto => false,
        Selection::AutoSkipMissing => true,
    };
    let logs = skyscan::reconstruction_logs(&folder.logs);
    let why_no_log = match logs.as_slice() {
        [] => None,
        [(_, LogFile::Reconstruction(log))] => match by_log(&folder, log.clone(), skip_missing) {
            // A log none of whose slices is here describes another folder (copied along,
            // or the slices renamed since): the files decide.
            Err(_) if by_log(&folder, log.clone(), true).is_err() => Some(format!(
                "{}: none of its slices {} is here: the log is not used",
                file_name(&log.path),
                log.describe()
            )),
            listing => return listing,
        },
        [(_, LogFile::Unusable(reason))] => Some(format!("{reason}: the log is not used")),
        several => Some(format!(
            "{} reconstruction logs ({}): none is used, which one describes the slices would be \
             a guess",
            several.len(),
            several
                .iter()
                .map(|(path, _)| file_name(path))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    let mut listing = most_common_numbered(&folder, skip_missing)?;
    if let Some(why) = why_no_log {
        listing.rule = format!("{why}; {}", listing.rule);
        listing.plain = false;
        listing.renote();
    }
    Ok(listing)
}

/// The sections `log` names, in order.
fn by_log(folder: &Folder, log: SkyScanLog, skip_missing: bool) -> Result<Listing> {
    let name = file_name(&log.path);
    let ext = log.file_type.to_lowercase();
    let (paths, missing) = folder.numbered(
        &log.prefix,
        &ext,
        log.index_length,
        log.sections(),
        skip_missing,
    )?;
    let mut rule = format!("slices {} as {name} says", log.describe());
    if log.step > 1 {
        rule.push_str(&format!(" (Section to Section Step={})", log.step));
    }
    if missing > 0 {
        rule.push_str(&format!(
            "; {missing} of its sections {} no file (left out: --skip-missing)",
            has(missing)
        ));
    }
    let why = format!(
        "not sections {}..{} of {name}; --all-images takes every image",
        log.first, log.last
    );
    let mut listing = Listing::new(paths, rule, false);
    listing.log = Some(log);
    Ok(listing.leaving_out(folder, &why))
}

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
fn most_common_numbered(folder: &Folder, skip_missing: bool) -> Result<Listing> {
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

    fn select(&self, folder: &Folder) -> Result<Listing> {
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

/// The entries of a folder that selection looks at, listed once.
struct Folder {
    dir: PathBuf,
    /// Image files (by extension, case-insensitively), in natural order of their names.
    images: Vec<(String, PathBuf)>,
    /// `*.log` files, by name.
    logs: Vec<PathBuf>,
    /// Every file by its lowercased name: scanner PCs run Windows, where `.BMP` and `.bmp`
    /// are the same file.
    by_name: HashMap<String, PathBuf>,
}

impl Folder {
    /// Subfolders (the `.thumbnail` output among them), other files and hidden files are
    /// skipped: a name starting with `.` is never a slice, which also keeps out the
    /// `._name.tif` companions that macOS leaves on exFAT drives copied from the scanner PC.
    fn read(dir: &Path) -> Result<Folder> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, e))?;
        let mut folder = Folder {
            dir: dir.to_path_buf(),
            images: Vec::new(),
            logs: Vec::new(),
            by_name: HashMap::new(),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(dir, e))?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            // The type read with the listing (no stat) unless it is a link: a link to a
            // file counts as one, so a folder of links to slices works.
            let is_file = match entry.file_type() {
                Ok(t) if !t.is_symlink() => t.is_file(),
                _ => path.is_file(),
            };
            if !is_file {
                continue;
            }
            let name = name.to_string();
            folder.by_name.insert(name.to_lowercase(), path.clone());
            if is_slice_name(&name) {
                folder.images.push((name, path));
            } else if name.to_ascii_lowercase().ends_with(".log") {
                folder.logs.push(path);
            }
        }
        folder.images.sort_by(|a, b| natord::compare(&a.0, &b.0));
        folder.logs.sort();
        Ok(folder)
    }

    fn every_image(&self, rule: &str) -> Result<Listing> {
        if self.images.is_empty() {
            return Err(Error::NoSlices {
                dir: self.dir.clone(),
            });
        }
        let paths = self.images.iter().map(|(_, p)| p.clone()).collect();
        Ok(Listing::new(paths, rule.to_string(), true))
    }

    /// The files `{prefix}{number:0index_length}.{ext}` for `numbers`, in that order, and
    /// how many numbers had no file. A missing one is an error naming it unless
    /// `skip_missing`.
    fn numbered(
        &self,
        prefix: &str,
        ext: &str,
        index_length: usize,
        numbers: impl Iterator<Item = u64> + Clone,
        skip_missing: bool,
    ) -> Result<(Vec<PathBuf>, u64)> {
        let ext = ext.trim_start_matches('.').to_lowercase();
        let exts: &[&str] = match ext.as_str() {
            "tif" | "tiff" => &["tif", "tiff"],
            "jpg" | "jpeg" => &["jpg", "jpeg"],
            other => &[other],
        };
        let mut files = Vec::new();
        let mut missing = Vec::new();
        let name = |n: u64| format!("{prefix}{n:0index_length$}");
        for number in numbers.clone() {
            let stem = name(number).to_lowercase();
            let found = exts
                .iter()
                .find_map(|e| self.by_name.get(&format!("{stem}.{e}")));
            match found {
                Some(path) => files.push(path.clone()),
                None => missing.push(number),
            }
        }
        let (first, last) = (numbers.clone().next(), numbers.last());
        if let (Some(&gap), Some(first), Some(last), false) =
            (missing.first(), first, last, skip_missing)
        {
            return Err(Error::bad_input(
                &self.dir.join(format!("{}.{ext}", name(gap))),
                format!(
                    "missing: {} of the {} slices {first}..{last} do not exist",
                    missing.len(),
                    missing.len() + files.len(),
                ),
            )
            .with_hint(Hint::SkipMissing));
        }
        if files.is_empty() {
            return Err(Error::NoSlices {
                dir: self.dir.clone(),
            });
        }
        Ok((files, missing.len() as u64))
    }
}

/// Every image file directly inside `dir`, in natural order of their names (`s2.tif` before
/// `s10.tif`), as scanner software numbers them and CTHarvester sorts them. Subfolders, other
/// files and hidden files (`.name`, macOS's `._name.tif` companions among them) are skipped.
#[cfg(test)]
fn list_slices(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(Folder::read(dir)?.every_image("")?.paths)
}

fn is_slice_name(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => SLICE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known)),
        _ => false,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(paths: &[PathBuf]) -> Vec<String> {
        paths.iter().map(|p| file_name(p)).collect()
    }

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(is_slice_name("a.tif"));
        assert!(is_slice_name("a.TIFF"));
        assert!(is_slice_name("scan_rec00000001.Tif"));
        assert!(!is_slice_name("a.log"));
        assert!(!is_slice_name("tif"));
        assert!(!is_slice_name("a.tif.tmp"));
    }

    #[test]
    fn natural_order_hidden_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["s10.tif", "s2.TIF", "s1.tiff", "._s0.tif", "notes.log"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.tif")).unwrap();
        let names: Vec<String> = list_slices(dir.path())
            .unwrap()
            .iter()
            .map(|p| file_name(p))
            .collect();
        assert_eq!(names, ["s1.tiff", "s2.TIF", "s10.tif"]);
        // A link to a file is a file; a link to a folder or to nothing is not.
        #[cfg(unix)]
        {
            let link = |to: &str, name: &str| {
                std::os::unix::fs::symlink(dir.path().join(to), dir.path().join(name)).unwrap()
            };
            link("s10.tif", "s11.tif");
            link("sub.tif", "s12.tif");
            link("gone.tif", "s13.tif");
            assert_eq!(
                super::tests::names(&list_slices(dir.path()).unwrap()),
                ["s1.tiff", "s2.TIF", "s10.tif", "s11.tif"]
            );
        }
    }

    const LOG: &str = "[System]\r\nScanner=Skyscan1173\r\n[Acquisition]\r\n\
        Filename Prefix=CO-1_\r\nFilename Index Length=4\r\n[Reconstruction]\r\n\
        Pixel Size (um)=12.50\r\nResult File Type=BMP\r\nFirst Section=10\r\n\
        Last Section=12\r\n[File name convention]\r\nFilename Index Length=8\r\n\
        Filename Prefix=CO-1__rec\r\n";

    fn folder(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        dir
    }

    #[test]
    fn log_selects_its_range_and_missing_slices_are_named() {
        let dir = tempfile::tempdir().unwrap();
        for i in 9..=13 {
            std::fs::write(dir.path().join(format!("CO-1__rec{i:08}.BMP")), b"x").unwrap();
        }
        std::fs::write(dir.path().join("CO-1__rec_spr.bmp"), b"x").unwrap();
        std::fs::write(dir.path().join("CO-1__rec.log"), LOG).unwrap();
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(
            names(&listing.paths),
            [
                "CO-1__rec00000010.BMP",
                "CO-1__rec00000011.BMP",
                "CO-1__rec00000012.BMP"
            ]
        );
        let note = listing.note.unwrap();
        assert_eq!(
            note,
            "slices CO-1__rec00000010..00000012.bmp as CO-1__rec.log says\n\
             left out: CO-1__rec00000009.BMP, CO-1__rec00000013.BMP, CO-1__rec_spr.bmp \
             (not sections 10..12 of CO-1__rec.log; --all-images takes every image)"
        );
        assert_eq!(listing.log.unwrap().pixel_size_um, Some(12.5));
        assert_eq!(select(dir.path(), &Selection::All).unwrap().paths.len(), 6);

        std::fs::remove_file(dir.path().join("CO-1__rec00000011.BMP")).unwrap();
        let err = select(dir.path(), &Selection::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CO-1__rec00000011.bmp") && err.contains("missing: 1 of the 3"),
            "{err}"
        );
        let listing = select(dir.path(), &Selection::AutoSkipMissing).unwrap();
        assert_eq!(listing.paths.len(), 2);
        assert!(
            listing.rule.contains("1 of its sections has no file"),
            "{}",
            listing.rule
        );
    }

    #[test]
    fn a_log_none_of_whose_slices_is_here_is_not_used() {
        let dir = folder(&["renamed0001.bmp", "renamed0002.bmp"]);
        std::fs::write(dir.path().join("CO-1__rec.log"), LOG).unwrap();
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(
            names(&listing.paths),
            ["renamed0001.bmp", "renamed0002.bmp"]
        );
        assert!(
            listing.rule.starts_with(
                "CO-1__rec.log: none of its slices CO-1__rec00000010..00000012.bmp is here: the \
                 log is not used; slices renamed####.bmp"
            ),
            "{}",
            listing.rule
        );
        assert!(listing.log.is_none());
    }

    #[test]
    fn the_log_type_tif_finds_tiff_files() {
        let log = LOG.replace("BMP", "TIF");
        let dir = folder(&[
            "CO-1__rec00000010.tiff",
            "CO-1__rec00000011.TIF",
            "CO-1__rec00000012.tif",
        ]);
        std::fs::write(dir.path().join("CO-1__rec.log"), log).unwrap();
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(listing.paths.len(), 3);
        assert!(listing.left_out.is_empty());
    }

    #[test]
    fn an_unusable_log_says_why_and_the_numbered_rule_applies() {
        let dir = folder(&["a_rec0001.tif", "a_rec0002.tif", "a_rec_spr.bmp"]);
        let log = LOG.replace("[File name convention]", "[Other]");
        std::fs::write(dir.path().join("a_rec.log"), log).unwrap();
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(names(&listing.paths), ["a_rec0001.tif", "a_rec0002.tif"]);
        assert!(
            listing.rule.starts_with(
                "a_rec.log: no Filename Prefix in its [File name convention] section: the log \
                 is not used; slices a_rec####.tif, 1..2"
            ),
            "{}",
            listing.rule
        );
        // Two reconstruction logs: neither is used.
        std::fs::write(dir.path().join("a_rec.log"), LOG).unwrap();
        std::fs::write(dir.path().join("b_rec.log"), LOG).unwrap();
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert!(listing
            .rule
            .starts_with("2 reconstruction logs (a_rec.log, b_rec.log)"));
        assert_eq!(listing.paths.len(), 2);
    }

    #[test]
    fn the_most_common_numbered_name_by_number() {
        let dir = folder(&[
            "s_rec10.tif",
            "s_rec9.tif",
            "S_REC11.TIFF",
            "s_rec_spr.bmp",
            "s_rec12.tiff",
            "preview1.bmp",
            "notes.txt",
            "scan.log",
        ]);
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(
            names(&listing.paths),
            ["s_rec9.tif", "s_rec10.tif", "S_REC11.TIFF", "s_rec12.tiff"]
        );
        assert_eq!(listing.left_out, ["preview1.bmp", "s_rec_spr.bmp"]);
        assert_eq!(
            listing.note.unwrap(),
            "slices s_rec<n>.tif, 9..12: the most common numbered name, 4 of the 6 images\n\
             left out: preview1.bmp, s_rec_spr.bmp (not s_rec<n>.tif; --all-images takes every \
             image)"
        );
    }

    #[test]
    fn a_gap_names_the_first_missing_file() {
        let dir = folder(&["a0007.png", "a0008.png", "a0010.png", "a0012.png", "x.bmp"]);
        let err = select(dir.path(), &Selection::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a0009.png: missing: 2 of the numbers 7..12 of a####.png"),
            "{err}"
        );
        let listing = select(dir.path(), &Selection::AutoSkipMissing).unwrap();
        assert_eq!(listing.paths.len(), 4);
        assert!(listing
            .rule
            .ends_with("; 2 missing numbers left out (--skip-missing)"));
        assert_eq!(listing.left_out, ["x.bmp"]);
        // --all-images keeps the every-image rule.
        assert_eq!(select(dir.path(), &Selection::All).unwrap().paths.len(), 5);
    }

    #[test]
    fn ties_go_to_the_first_name_and_say_so() {
        let dir = folder(&["b_01.tif", "b_02.tif", "a_01.bmp", "a_02.bmp"]);
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(names(&listing.paths), ["a_01.bmp", "a_02.bmp"]);
        assert!(
            listing
                .rule
                .contains("tied with b_##.tif at 2 files: the first by name"),
            "{}",
            listing.rule
        );
        assert_eq!(listing.left_out, ["b_01.tif", "b_02.tif"]);
    }

    #[test]
    fn names_without_numbers_are_every_image_in_natural_order() {
        let dir = folder(&["b.tif", "a.tif", "c.png"]);
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(names(&listing.paths), ["a.tif", "b.tif", "c.png"]);
        assert_eq!(listing.note, None);
        assert!(listing.rule.contains("no name carries a number"));
        // One numbered name covering every image: nothing to say either.
        let dir = folder(&["s1.tif", "s2.tif", "s3.tif"]);
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        assert_eq!(listing.note, None);
        assert!(listing.left_out.is_empty());
    }

    #[test]
    fn one_number_twice_is_an_error() {
        let dir = folder(&["a1.tif", "a01.tif", "a2.tif"]);
        let err = select(dir.path(), &Selection::Auto)
            .unwrap_err()
            .to_string();
        assert!(err.contains("numbered 1 like"), "{err}");
    }

    #[test]
    fn huge_numbers_and_ranges_are_refused_not_walked() {
        let dir = folder(&[
            "a0.tif",
            "a18446744073709551615.tif",
            "a99999999999999999999.tif",
        ]);
        let err = select(dir.path(), &Selection::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a1.tif: missing: 18446744073709551614 of"),
            "{err}"
        );
        let pattern = Pattern {
            prefix: "a".into(),
            ext: "tif".into(),
            first: 0,
            last: u64::MAX,
            index_length: 1,
            skip_missing: true,
        };
        let err = select(dir.path(), &Selection::Pattern(pattern)).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { option: "last", .. }),
            "{err}"
        );
    }

    proptest::proptest! {
        /// Any file names (digits at the end or not, non-ASCII, huge numbers, several
        /// extensions): the rule picks slices or says why not, never a panic, and the slices
        /// and the files left out are every image file exactly once.
        #[test]
        fn any_names_are_selected_without_panic(
            names in proptest::collection::btree_set("[a-c\u{e9}_.]{0,3}[0-9]{0,22}\\.(tif|TIFF|bmp|png|log)", 0..12),
        ) {
            let dir = tempfile::tempdir().unwrap();
            for name in &names {
                std::fs::write(dir.path().join(name), b"x").unwrap();
            }
            for selection in [Selection::Auto, Selection::AutoSkipMissing] {
                if let Ok(listing) = select(dir.path(), &selection) {
                    let images = list_slices(dir.path()).map(|p| p.len()).unwrap_or(0);
                    proptest::prop_assert_eq!(listing.paths.len() + listing.left_out.len(), images);
                    proptest::prop_assert!(!listing.rule.is_empty());
                }
            }
        }
    }

    #[test]
    fn many_left_out_stay_one_line() {
        let mut files: Vec<String> = (0..10).map(|i| format!("s{i:03}.tif")).collect();
        files.extend((0..8).map(|i| format!("p{i}.bmp")));
        let refs: Vec<&str> = files.iter().map(|s| s.as_str()).collect();
        let dir = folder(&refs);
        let note = select(dir.path(), &Selection::Auto).unwrap().note.unwrap();
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(
            lines[1],
            "left out: p0.bmp, p1.bmp, p2.bmp, p3.bmp, p4.bmp and 3 more (not s###.tif; \
             --all-images takes every image)"
        );
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_slices(dir.path()).unwrap_err();
        assert!(err.to_string().contains("no slice images"), "{err}");
    }
}
