//! Bruker SkyScan (NRecon) logs: which files of a reconstruction folder are the slices, how
//! large a voxel is, and which scanner and software made them.
//!
//! NRecon writes `<prefix>_rec.log` beside the slices: an INI-like text in sections, CRLF line
//! ends, in the scanner PC's code page (Latin-1 bytes in paths and units). The same key can
//! appear in several sections with different meanings: `[Acquisition]` has the projections'
//! `Filename Prefix`, `[File name convention]` the slices'. So every key is read from its own
//! section only:
//!
//! - `[Reconstruction]`: `First Section`, `Last Section`, `Section to Section Step`,
//!   `Sections Count`, `Result File Type`, `Pixel Size (um)`, `Result Image Width (pixels)`,
//!   `Result Image Height (pixels)`, `Reconstruction Program`, `Program Version`;
//! - `[File name convention]`: `Filename Prefix`, `Filename Index Length`;
//! - `[System]`: `Scanner`.
//!
//! A log without a `[Reconstruction]` section (the acquisition log of the projections, often
//! copied along) says nothing about slices and is not a reconstruction log.

use std::path::{Path, PathBuf};

use super::names::{MAX_SLICES, SLICE_EXTENSIONS};

/// Logs larger than this are not NRecon's (a few kilobytes): not read.
const MAX_LOG_BYTES: u64 = 1 << 20;

/// The sections of an INI-like text, in order, each with its `key=value` lines in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ini {
    sections: Vec<(String, Vec<(String, String)>)>,
}

impl Ini {
    /// Reads the bytes of a log: a UTF-8 byte order mark is skipped, text that is not UTF-8
    /// is Latin-1 (every byte a character), lines end in CRLF or LF, spaces around names,
    /// keys and values are not part of them. Lines before the first section belong to a
    /// section named "".
    pub fn parse(bytes: &[u8]) -> Ini {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        let mut sections: Vec<(String, Vec<(String, String)>)> = vec![(String::new(), Vec::new())];
        for line in text.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                sections.push((name.trim().to_string(), Vec::new()));
            } else if let Some((key, value)) = line.split_once('=') {
                if let Some((_, keys)) = sections.last_mut() {
                    keys.push((key.trim().to_string(), value.trim().to_string()));
                }
            }
        }
        Ini { sections }
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.sections
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(section))
    }

    /// The value of `key` in `section` (names compared case-insensitively); the first one if
    /// repeated. Never a key of another section.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(section))
            .flat_map(|(_, keys)| keys)
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// The facts of a SkyScan reconstruction log that select and describe the slices.
#[derive(Clone, Debug, PartialEq)]
pub struct SkyScanLog {
    /// The log file.
    pub path: PathBuf,
    /// `[File name convention]` Filename Prefix: the slices' names start with it.
    pub prefix: String,
    /// `[File name convention]` Filename Index Length: digits of the zero-padded index.
    pub index_length: usize,
    /// `First Section`: the first slice's number.
    pub first: u64,
    /// `Last Section`: the last slice's number.
    pub last: u64,
    /// `Section to Section Step`: 1 unless the log says otherwise.
    pub step: u64,
    /// `BMP`, `TIF`, `PNG`, `JPG` as written.
    pub file_type: String,
    /// Voxel edge in micrometres, if given.
    pub pixel_size_um: Option<f64>,
    /// `Result Image Width (pixels)` and `Result Image Height (pixels)`.
    pub width: Option<usize>,
    /// See `width`.
    pub height: Option<usize>,
    /// `Sections Count`.
    pub sections_count: Option<u64>,
    /// `[System]` Scanner, e.g. `SkyScan1275`.
    pub scanner: Option<String>,
    /// `Reconstruction Program` and `Program Version`, e.g. `NRecon Version: 1.7.1.2`.
    pub software: Option<String>,
}

/// What one `*.log` file is.
#[derive(Clone, Debug, PartialEq)]
pub enum LogFile {
    /// No `[Reconstruction]` section: an acquisition log, or not a SkyScan log at all.
    NotReconstruction,
    /// A reconstruction log that cannot select the slices, and why (for the user).
    Unusable(String),
    Reconstruction(SkyScanLog),
}

impl SkyScanLog {
    /// Reads the log in `bytes` (from `path`, for messages).
    pub fn parse(path: &Path, bytes: &[u8]) -> LogFile {
        let ini = Ini::parse(bytes);
        if !ini.has_section("Reconstruction") {
            return LogFile::NotReconstruction;
        }
        match SkyScanLog::from_ini(path, &ini) {
            Ok(log) => LogFile::Reconstruction(log),
            Err(reason) => LogFile::Unusable(format!("{}: {reason}", file_name(path))),
        }
    }

    /// Reads the log at `path`; a file that cannot be read, or is far larger than any log,
    /// is not a reconstruction log.
    pub fn read(path: &Path) -> LogFile {
        let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= MAX_LOG_BYTES);
        match std::fs::read(path) {
            Ok(bytes) if small => SkyScanLog::parse(path, &bytes),
            _ => LogFile::NotReconstruction,
        }
    }

    fn from_ini(path: &Path, ini: &Ini) -> Result<SkyScanLog, String> {
        const REC: &str = "Reconstruction";
        const NAMES: &str = "File name convention";
        let need = |section: &str, key: &str| {
            ini.get(section, key)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("no {key} in its [{section}] section"))
        };
        let number = |section: &str, key: &str| -> Result<u64, String> {
            let text = need(section, key)?;
            text.parse()
                .map_err(|_| format!("{key}={text} in [{section}] is not a whole number"))
        };
        let optional = |key: &str| ini.get(REC, key).and_then(|v| v.parse::<u64>().ok());
        let prefix = need(NAMES, "Filename Prefix")?.to_string();
        let index_length = number(NAMES, "Filename Index Length")?;
        if !(1..=20).contains(&index_length) {
            return Err(format!(
                "Filename Index Length={index_length} is not a number of digits"
            ));
        }
        let first = number(REC, "First Section")?;
        let last = number(REC, "Last Section")?;
        if first > last {
            return Err(format!(
                "First Section {first} is after Last Section {last}"
            ));
        }
        let step = optional("Section to Section Step")
            .filter(|&s| s >= 1)
            .unwrap_or(1);
        if (last - first) / step >= MAX_SLICES {
            return Err(format!(
                "sections {first}..{last} are more than {} slices, more than any reconstruction",
                MAX_SLICES
            ));
        }
        let file_type = need(REC, "Result File Type")?.to_string();
        let known = SLICE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&file_type));
        if !known {
            return Err(format!(
                "Result File Type={file_type} is not an image format ctpyramid reads"
            ));
        }
        let pixel_size_um = ["Pixel Size (um)", "Pixel Size (\u{b5}m)"]
            .iter()
            .find_map(|key| ini.get(REC, key))
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0);
        let software = match (
            ini.get(REC, "Reconstruction Program"),
            ini.get(REC, "Program Version"),
        ) {
            (Some(p), Some(v)) if !v.is_empty() => Some(format!("{p} {v}")),
            (Some(p), _) => Some(p.to_string()),
            (None, v) => v.map(str::to_string),
        };
        Ok(SkyScanLog {
            path: path.to_path_buf(),
            prefix,
            index_length: index_length as usize,
            first,
            last,
            step,
            file_type,
            pixel_size_um,
            width: optional("Result Image Width (pixels)").map(|v| v as usize),
            height: optional("Result Image Height (pixels)").map(|v| v as usize),
            sections_count: optional("Sections Count"),
            scanner: ini
                .get("System", "Scanner")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            software: software.filter(|s| !s.is_empty()),
        })
    }

    /// The section numbers the log names, in order.
    pub fn sections(&self) -> impl Iterator<Item = u64> + Clone {
        (self.first..=self.last).step_by(self.step.clamp(1, usize::MAX as u64) as usize)
    }

    /// "CO-1__rec00000010..00000017.bmp": the slices the log names, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{}{:0w$}..{:0w$}.{}",
            self.prefix,
            self.first,
            self.last,
            self.file_type.to_lowercase(),
            w = self.index_length
        )
    }

    /// What the log says that the files may contradict, checked against the files once the
    /// first slice's header is read: one line each.
    pub fn disagreements(&self, width: usize, height: usize) -> Vec<String> {
        let mut lines = Vec::new();
        let name = file_name(&self.path);
        if let (Some(w), Some(h)) = (self.width, self.height) {
            if (w, h) != (width, height) {
                lines.push(format!(
                    "{name} says the slices are {w}x{h} (Result Image Width/Height), the files \
                     are {width}x{height}: the log may describe another reconstruction"
                ));
            }
        }
        let named = self.sections().count() as u64;
        if let Some(count) = self.sections_count {
            if count != named {
                lines.push(format!(
                    "{name} says Sections Count={count}, but sections {}..{} are {named}",
                    self.first, self.last
                ));
            }
        }
        lines
    }
}

/// The reconstruction logs among `logs` (paths of `*.log` files), read, with their paths.
pub fn reconstruction_logs(logs: &[PathBuf]) -> Vec<(&Path, LogFile)> {
    logs.iter()
        .map(|p| (p.as_path(), SkyScanLog::read(p)))
        .filter(|(_, l)| !matches!(l, LogFile::NotReconstruction))
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reconstruction log as NRecon 1.7 writes it (keys of a real one, shortened): the
    /// acquisition section has its own Filename Prefix and Filename Index Length, the slices'
    /// are in [File name convention] at the end; CRLF; a Latin-1 path.
    fn nrecon_log() -> Vec<u8> {
        let lines = [
            "[System]",
            "Scanner=SkyScan1275",
            "Instrument S/N=001",
            "Software Version=1.0.16",
            "Home Directory=C:\\SkyScan1275",
            "Camera Pixel Size (um)=75.0",
            "[User]",
            "User Name=SkyScan",
            "[Acquisition]",
            "Data Directory=D:\\Results\\N\u{fa}ria\\embryo",
            "Filename Prefix=embryo_~00",
            "Number Of Files=  601",
            "Number Of Rows= 1536",
            "Number Of Columns= 1944",
            "Filename Index Length=4",
            "Image Pixel Size (um)=7.000817",
            "Image Format=TIFF",
            "[Reconstruction]",
            "Reconstruction Program=NRecon",
            "Program Version=Version: 1.7.1.2",
            "Dataset Prefix=embryo_~01",
            "First Section=421",
            "Last Section=2050",
            "Section to Section Step=1",
            "Sections Count=1630",
            "Result File Type=BMP",
            "Result File Header Length (bytes)=1134",
            "Result Image Width (pixels)=1108",
            "Result Image Height (pixels)=876",
            "Pixel Size (um)=7.00082",
            "[File name convention]",
            "Filename Index Length=8",
            "Filename Prefix=embryo__rec",
        ];
        let text = lines.join("\r\n") + "\r\n";
        // Latin-1, as the scanner PC writes it: ú is one byte, 0xFA.
        text.chars().map(|c| c as u32 as u8).collect()
    }

    fn parsed(bytes: &[u8]) -> SkyScanLog {
        match SkyScanLog::parse(Path::new("/x/embryo__rec.log"), bytes) {
            LogFile::Reconstruction(log) => log,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_come_from_their_own_section() {
        let bytes = nrecon_log();
        assert!(std::str::from_utf8(&bytes).is_err(), "the log is Latin-1");
        let log = parsed(&bytes);
        // Not the acquisition's embryo_~00 / 4, which come first.
        assert_eq!(log.prefix, "embryo__rec");
        assert_eq!(log.index_length, 8);
        assert_eq!((log.first, log.last, log.step), (421, 2050, 1));
        assert_eq!(log.sections_count, Some(1630));
        assert_eq!(log.file_type, "BMP");
        // Not Image Pixel Size (um) of the acquisition.
        assert_eq!(log.pixel_size_um, Some(7.00082));
        assert_eq!((log.width, log.height), (Some(1108), Some(876)));
        assert_eq!(log.scanner.as_deref(), Some("SkyScan1275"));
        assert_eq!(log.software.as_deref(), Some("NRecon Version: 1.7.1.2"));
        assert_eq!(log.describe(), "embryo__rec00000421..00002050.bmp");
        assert!(log.disagreements(1108, 876).is_empty());
    }

    #[test]
    fn bom_lf_spaces_and_case_are_tolerated() {
        let text = "\u{feff}[system]\nScanner = SkyScan1173\n[ RECONSTRUCTION ]\n\
                    first section = 7 \nLast Section=9\nResult File Type = tif\n\
                    Pixel Size (um) = 12.5\n[File Name Convention]\n\
                    Filename Prefix = a b_rec \nFilename Index Length= 4\n";
        let log = parsed(text.as_bytes());
        assert_eq!(log.prefix, "a b_rec");
        assert_eq!((log.first, log.last, log.index_length), (7, 9, 4));
        assert_eq!(log.file_type, "tif");
        assert_eq!(log.pixel_size_um, Some(12.5));
        assert_eq!(log.scanner.as_deref(), Some("SkyScan1173"));
        assert_eq!(log.describe(), "a b_rec0007..0009.tif");
    }

    #[test]
    fn an_acquisition_log_is_not_a_reconstruction_log() {
        let text = "[System]\r\nScanner=SkyScan1272\r\n[Acquisition]\r\n\
                    Filename Prefix=14~01\r\nFilename Index Length=8\r\nNumber Of Files=  315\r\n";
        assert_eq!(
            SkyScanLog::parse(Path::new("14~01.log"), text.as_bytes()),
            LogFile::NotReconstruction
        );
        assert_eq!(
            SkyScanLog::parse(Path::new("notes.log"), b"scan notes\n"),
            LogFile::NotReconstruction
        );
    }

    /// Why the log `text` cannot select the slices.
    fn unusable(text: &str) -> String {
        match SkyScanLog::parse(Path::new("/d/scan__rec.log"), text.as_bytes()) {
            LogFile::Unusable(reason) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_of_other_sections_never_stand_in() {
        // The slices' prefix only in [Acquisition] (and a [Reconstruction] without one):
        // the log cannot say which files are slices.
        let text = "[Acquisition]\r\nFilename Prefix=scan_\r\nFilename Index Length=8\r\n\
                    [Reconstruction]\r\nFirst Section=0\r\nLast Section=9\r\n\
                    Result File Type=BMP\r\n";
        assert_eq!(
            unusable(text),
            "scan__rec.log: no Filename Prefix in its [File name convention] section"
        );
    }

    #[test]
    fn impossible_values_make_a_log_unusable() {
        let log = |first: &str, last: &str, file_type: &str| {
            format!(
                "[Reconstruction]\r\nFirst Section={first}\r\nLast Section={last}\r\n\
                 Result File Type={file_type}\r\n[File name convention]\r\n\
                 Filename Prefix=s\r\nFilename Index Length=8\r\n"
            )
        };
        let reason = unusable(&log("3", "1", "BMP"));
        assert!(reason.contains("after Last Section"), "{reason}");
        let reason = unusable(&log("0", "1", "RAW"));
        assert!(reason.contains("RAW"), "{reason}");
        // A range no reconstruction has: refused, not looked up number by number.
        let reason = unusable(&log("0", "99999999999", "BMP"));
        assert!(reason.contains("more than"), "{reason}");
        let reason = unusable(&log("x", "1", "BMP"));
        assert!(reason.contains("First Section=x"), "{reason}");
    }

    #[test]
    fn disagreements_with_the_files_are_one_line_each() {
        let mut log = parsed(&nrecon_log());
        let lines = log.disagreements(554, 438);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("1108x876") && lines[0].contains("554x438"));
        log.sections_count = Some(1600);
        let lines = log.disagreements(1108, 876);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("Sections Count=1600"), "{lines:?}");
        assert!(lines[0].contains("421..2050 are 1630"), "{lines:?}");
    }

    proptest::proptest! {
        /// Any bytes, and NRecon's log with any byte changed: a log, an unusable one or none,
        /// never a panic.
        #[test]
        fn any_log_bytes_are_read_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            at in 0usize..4096,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let _ = SkyScanLog::parse(Path::new("x.log"), &bytes);
            let mut log = nrecon_log();
            let i = at % log.len();
            log[i] = byte;
            if let LogFile::Reconstruction(l) = SkyScanLog::parse(Path::new("x.log"), &log) {
                proptest::prop_assert!(l.first <= l.last && l.step >= 1);
                let _ = (l.describe(), l.disagreements(1, 1), l.sections().take(3).count());
            }
        }
    }

    #[test]
    fn a_step_names_every_other_section() {
        let mut log = parsed(&nrecon_log());
        (log.first, log.last, log.step) = (10, 16, 3);
        assert_eq!(log.sections().collect::<Vec<_>>(), [10, 13, 16]);
    }

    #[test]
    fn several_logs_in_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("embryo__rec.log"), nrecon_log()).unwrap();
        // The projections' log, copied along, and something else.
        std::fs::write(
            dir.path().join("embryo_.log"),
            "[System]\r\nScanner=SkyScan1275\r\n[Acquisition]\r\nFilename Prefix=embryo_\r\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.LOG"), "nothing\n").unwrap();
        let mut logs: Vec<PathBuf> = ["embryo__rec.log", "embryo_.log", "notes.LOG"]
            .iter()
            .map(|n| dir.path().join(n))
            .collect();
        logs.push(dir.path().join("gone.log"));
        let found = reconstruction_logs(&logs);
        assert_eq!(found.len(), 1);
        assert!(matches!(&found[0].1, LogFile::Reconstruction(l) if l.prefix == "embryo__rec"));
        assert_eq!(found[0].0, dir.path().join("embryo__rec.log"));
    }
}
