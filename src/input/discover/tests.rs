use super::folder::{is_slice_name, list_slices};
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
