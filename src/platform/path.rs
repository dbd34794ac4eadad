//! Windows path forms, as pure functions of the text (tested on every system): the verbatim
//! prefix `\\?\` that `canonicalize` adds and users never type, UNC shares
//! (`\\server\share\scan`) and drive letters.
//!
//! Paths longer than 260 characters need no code of ours: Rust's standard library adds the
//! `\\?\` prefix itself to every path it hands to Windows that is too long for `MAX_PATH`.

use std::path::{Path, PathBuf};

/// `\\?\C:\a` as `C:\a` and `\\?\UNC\server\share\a` as `\\server\share\a`, as Explorer and
/// the command prompt show them; any other path unchanged.
pub fn shown_windows(path: &Path) -> PathBuf {
    let Some(text) = path.to_str() else {
        return path.to_path_buf();
    };
    if let Some(rest) = strip_prefix_ignore_case(text, r"\\?\UNC\") {
        return PathBuf::from(format!(r"\\{rest}"));
    }
    match text.strip_prefix(r"\\?\") {
        Some(rest) if has_drive(rest) => PathBuf::from(rest),
        _ => path.to_path_buf(),
    }
}

/// Whether `path` names a file on a network share: `\\server\share\...` (or with forward
/// slashes, or verbatim `\\?\UNC\...`). Device paths (`\\.\`, `\\?\C:`) are not.
pub fn is_unc(path: &Path) -> bool {
    let Some(text) = path.to_str() else {
        return false;
    };
    if strip_prefix_ignore_case(text, r"\\?\UNC\").is_some() {
        return true;
    }
    let b = text.as_bytes();
    b.len() > 2
        && is_separator(b[0])
        && is_separator(b[1])
        && !matches!(b[2], b'?' | b'.')
        && !is_separator(b[2])
}

/// The root of the drive `path` is on (`C:\`), verbatim or not; `None` for a UNC path or a
/// relative one.
pub fn drive_root(path: &Path) -> Option<String> {
    let text = path.to_str()?;
    let text = text.strip_prefix(r"\\?\").unwrap_or(text);
    has_drive(text).then(|| format!(r"{}\", &text[..2]))
}

fn has_drive(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

fn is_separator(b: u8) -> bool {
    b == b'\\' || b == b'/'
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(s: &str) -> String {
        shown_windows(Path::new(s)).to_str().unwrap().to_string()
    }

    #[test]
    fn verbatim_prefixes_are_dropped_for_display() {
        assert_eq!(shown(r"\\?\C:\scans\sample_Rec"), r"C:\scans\sample_Rec");
        assert_eq!(shown(r"\\?\UNC\server\share\scan"), r"\\server\share\scan");
        assert_eq!(shown(r"\\?\unc\server\share"), r"\\server\share");
        assert_eq!(shown(r"\\?\D:\스캔 샘플\é"), r"D:\스캔 샘플\é");
        // Kept: what the user typed, and verbatim paths that are no drive (volume GUIDs).
        assert_eq!(shown(r"D:\scans\a b"), r"D:\scans\a b");
        assert_eq!(shown(r"\\server\share"), r"\\server\share");
        let guid = r"\\?\Volume{1b3b1146-4076-11e1-84aa-806e6f6e6963}\scan";
        assert_eq!(shown(guid), guid);
        assert_eq!(shown("/data/scan"), "/data/scan");
    }

    #[test]
    fn unc_shares_are_told_from_drives_and_devices() {
        assert!(is_unc(Path::new(r"\\server\share\scan")));
        assert!(is_unc(Path::new("//server/share/scan")));
        assert!(is_unc(Path::new(r"\\?\UNC\server\share\scan")));
        assert!(is_unc(Path::new(r"\\서버\공유\스캔")));
        assert!(!is_unc(Path::new(r"C:\scans")));
        assert!(!is_unc(Path::new(r"\\?\C:\scans")));
        assert!(!is_unc(Path::new(r"\\.\PhysicalDrive0")));
        assert!(!is_unc(Path::new(r"\scans")));
        assert!(!is_unc(Path::new("/data/scan")));
        assert!(!is_unc(Path::new(r"\\")));
    }

    #[test]
    fn drive_roots_come_from_plain_and_verbatim_paths() {
        assert_eq!(
            drive_root(Path::new(r"D:\scans\a")).as_deref(),
            Some(r"D:\")
        );
        assert_eq!(drive_root(Path::new(r"\\?\z:\a")).as_deref(), Some(r"z:\"));
        assert_eq!(drive_root(Path::new("C:")).as_deref(), Some(r"C:\"));
        assert_eq!(drive_root(Path::new(r"\\server\share")), None);
        assert_eq!(drive_root(Path::new(r"scans\a")), None);
        assert_eq!(drive_root(Path::new("/data")), None);
    }

    #[test]
    fn long_paths_keep_their_text() {
        let long = format!(r"\\?\C:\{}", "가나다 ".repeat(100));
        assert_eq!(shown(&long), &long[4..]);
        assert_eq!(drive_root(Path::new(&long)).as_deref(), Some(r"C:\"));
    }
}
