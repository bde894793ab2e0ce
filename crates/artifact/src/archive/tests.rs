use std::os::unix::fs::{PermissionsExt as _, symlink};

use super::*;

/// (name, typeflag, mode, content) of every entry of a tar stream.
fn entries(tar: &[u8]) -> Vec<(String, u8, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut long: Option<Vec<u8>> = None;
    while at + BLOCK <= tar.len() {
        let h = &tar[at..at + BLOCK];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = parse_octal(&h[124..136]).expect("size") as usize;
        let data = tar[at + BLOCK..at + BLOCK + size].to_vec();
        at += BLOCK + size + padding(size as u64) as usize;
        let mut name = cstr(&h[0..100]).to_vec();
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            name = [prefix, b"/", &name].concat();
        }
        if h[156] == b'x' {
            long = pax_path(&data);
            continue;
        }
        if let Some(l) = long.take() {
            name = l;
        }
        let mode = parse_octal(&h[100..108]).expect("mode");
        out.push((String::from_utf8(name).expect("utf-8"), h[156], mode, data));
    }
    out
}

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    std::fs::create_dir_all(r.join("b/c")).expect("mkdir");
    std::fs::create_dir_all(r.join(".git/objects")).expect("mkdir");
    std::fs::create_dir_all(r.join("empty")).expect("mkdir");
    std::fs::write(r.join("a.yaml"), "a: 1\n").expect("write");
    std::fs::write(r.join("b/c/run.sh"), "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(r.join("b/c/run.sh"), std::fs::Permissions::from_mode(0o751))
        .expect("chmod");
    std::fs::write(r.join("b.txt"), "b").expect("write");
    std::fs::write(r.join(".git/HEAD"), "ref: refs/heads/main\n").expect("write");
    std::fs::write(r.join("logo.png"), "png").expect("write");
    symlink("/etc/passwd", r.join("escape")).expect("symlink");
    symlink("b", r.join("link-dir")).expect("symlink");
    t
}

fn tar_of(dir: &Path, ignore: Option<&str>) -> Vec<u8> {
    let fs = ferroflux_kustomize::fs::DiskFs::new(dir).expect("fs");
    let m = Matcher::for_artifact(&fs, dir, ignore);
    write_tar(dir, Some(&m), &Limits::default(), Vec::new()).expect("tar")
}

#[test]
fn walk_order_names_modes_and_exclusions_are_flux_s() {
    let t = tree();
    let got: Vec<(String, u8, u64)> = entries(&tar_of(t.path(), None))
        .into_iter()
        .map(|(n, f, m, _)| (n, f, m))
        .collect();
    let want = [
        (".", b'5', 0o750),
        ("a.yaml", b'0', 0o600),
        ("b", b'5', 0o750),
        ("b/c", b'5', 0o750),
        ("b/c/run.sh", b'0', 0o700),
        ("b.txt", b'0', 0o600),
        ("empty", b'5', 0o750),
    ];
    let want: Vec<(String, u8, u64)> = want
        .iter()
        .map(|(n, f, m)| (n.to_string(), *f, *m))
        .collect();
    // .git and logo.png are excluded; symlinks (to a file outside the
    // tree, to a directory inside) are never stored.
    assert_eq!(got, want);
}

#[test]
fn headers_are_go_s_ustar_with_zero_owner_and_time() {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::write(t.path().join("f"), "x").expect("write");
    let tar = write_tar(t.path(), None, &Limits::default(), Vec::new()).expect("tar");
    let h = &tar[BLOCK..2 * BLOCK];
    assert_eq!(&h[0..2], b"f\0");
    assert_eq!(&h[100..108], b"0000600\0");
    assert_eq!(&h[108..116], b"0000000\0");
    assert_eq!(&h[124..136], b"00000000001\0");
    assert_eq!(&h[136..148], b"00000000000\0");
    assert_eq!(&h[257..265], b"ustar\x0000");
    assert_eq!(&h[329..345], b"0000000\x000000000\0");
    assert_eq!(h[155], b' ');
    assert_eq!(h[154], 0);
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                c as u64
            }
        })
        .sum();
    assert_eq!(parse_octal(&h[148..155]), Some(sum));
    // Content padded to a block, then two zero blocks, nothing more.
    assert_eq!(tar.len(), BLOCK * 3 + 2 * BLOCK);
}

#[test]
fn long_names_split_into_the_prefix_and_others_get_a_pax_record() {
    let t = tempfile::tempdir().expect("tempdir");
    let long_dir = "d".repeat(120);
    std::fs::create_dir_all(t.path().join(&long_dir)).expect("mkdir");
    std::fs::write(t.path().join(&long_dir).join("f.yaml"), "x").expect("write");
    std::fs::write(t.path().join("é.yaml"), "y").expect("write");
    let tar = write_tar(t.path(), None, &Limits::default(), Vec::new()).expect("tar");
    let names: Vec<String> = entries(&tar).into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        [
            ".".to_string(),
            long_dir.clone(),
            format!("{long_dir}/f.yaml"),
            "é.yaml".to_string()
        ]
    );
    // The 120-byte directory name has no '/' to split at: a PAX record
    // (header, one block of records), then its own header.
    assert_eq!(tar[BLOCK + 156], b'x');
    assert_eq!(tar[3 * BLOCK + 156], b'5');
    // Below it: prefix of 120 bytes, name "f.yaml".
    let f = &tar[4 * BLOCK..5 * BLOCK];
    assert_eq!(cstr(&f[0..100]), b"f.yaml");
    assert_eq!(cstr(&f[345..500]), long_dir.as_bytes());
    // The non-ASCII name: "x" header "PaxHeaders.0/é.yaml" made ASCII.
    let at = tar
        .windows(20)
        .position(|w| w == b"PaxHeaders.0/.yaml\0\0")
        .expect("pax header");
    assert_eq!(tar[at + 156], b'x');
    assert_eq!(
        pax_record(b"path", "é.yaml".as_bytes()),
        b"16 path=\xc3\xa9.yaml\n"
    );
    // 99 bytes plus "99" is 101, whose three digits make it 102.
    assert_eq!(
        pax_record(b"path", &[b'a'; 92]),
        [b"102 path=", &[b'a'; 92][..], b"\n"].concat()
    );
}

#[test]
fn a_negated_pattern_re_includes_a_file_below_an_ignored_directory() {
    let t = tree();
    std::fs::create_dir_all(t.path().join("drafts")).expect("mkdir");
    std::fs::write(t.path().join("drafts/keep.yaml"), "k").expect("write");
    std::fs::write(t.path().join("drafts/drop.yaml"), "d").expect("write");
    let names: Vec<String> = entries(&tar_of(t.path(), Some("drafts/\n!drafts/keep.yaml\n")))
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert!(names.contains(&"drafts/keep.yaml".to_string()), "{names:?}");
    assert!(!names.contains(&"drafts".to_string()), "{names:?}");
    assert!(
        !names.contains(&"drafts/drop.yaml".to_string()),
        "{names:?}"
    );
    // spec.ignore dropped Flux's defaults: the image is back.
    assert!(names.contains(&"logo.png".to_string()), "{names:?}");
}

#[test]
fn limits_bound_entries_and_bytes() {
    let t = tree();
    let few = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    assert!(matches!(
        write_tar(t.path(), None, &few, Vec::new()),
        Err(Error::TooManyEntries { limit: 3, .. })
    ));
    let small = Limits {
        max_bytes: 4,
        ..Limits::default()
    };
    let err = write_tar(t.path(), None, &small, Vec::new()).expect_err("too large");
    assert!(matches!(err, Error::TooLarge { limit: 4, .. }), "{err}");
    assert!(err.to_string().contains("holds more than 4 bytes"), "{err}");
}

#[test]
fn a_missing_or_non_directory_root_is_an_error() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("f");
    std::fs::write(&file, "x").expect("write");
    for p in [file.clone(), t.path().join("missing")] {
        let err = write_tar(&p, None, &Limits::default(), Vec::new()).expect_err("not a dir");
        assert_eq!(
            err.to_string(),
            format!("invalid dir path: {}", p.display())
        );
    }
}

#[test]
fn gzip_header_is_go_s_and_unpacking_round_trips() {
    let t = tree();
    let gz = write_tar_gz(t.path(), None, &Limits::default(), Vec::new()).expect("gz");
    assert_eq!(&gz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("a.tar.gz");
    std::fs::write(&file, &gz).expect("write");
    unpack_tar_gz(&file, &out.path().join("u"), &Limits::default()).expect("unpack");
    let u = out.path().join("u");
    assert_eq!(
        std::fs::read(u.join("b/c/run.sh")).expect("read"),
        b"#!/bin/sh\n"
    );
    let mode = std::fs::metadata(u.join("b/c/run.sh"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(u.join("empty").is_dir());
    assert!(!u.join("escape").exists());
}

#[test]
fn unpacking_refuses_names_that_leave_the_root_and_bounds_size() {
    let mut tar = Vec::new();
    write_header(&mut tar, b"../evil", b'0', 0o600, 1).expect("header");
    tar.extend_from_slice(b"x");
    pad(&mut tar, 1).expect("pad");
    tar.extend_from_slice(&[0u8; 2 * BLOCK]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gz");
    let gz = gz.finish().expect("gz");
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("a.tar.gz");
    std::fs::write(&file, gz).expect("write");
    let err = unpack_tar_gz(&file, &t.path().join("u"), &Limits::default()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "invalid tar entry '../evil': path leaves the archive root"
    );
    assert!(!t.path().join("evil").exists());

    let src = tree();
    let gz = write_tar_gz(src.path(), None, &Limits::default(), Vec::new()).expect("gz");
    std::fs::write(&file, gz).expect("write");
    let small = Limits {
        max_bytes: 3,
        ..Limits::default()
    };
    let err = unpack_tar_gz(&file, &t.path().join("v"), &small).expect_err("too large");
    assert!(matches!(err, Error::TooLarge { limit: 3, .. }), "{err}");
}

/// A tar.gz of `(name, typeflag, content)` entries, written to `dir/a.tar.gz`.
fn hostile(dir: &Path, entries: &[(&[u8], u8, &[u8])]) -> std::path::PathBuf {
    let mut tar = Vec::new();
    for (name, flag, content) in entries {
        let size = content.len() as u64;
        write_header(&mut tar, name, *flag, 0o600, size).expect("header");
        tar.extend_from_slice(content);
        pad(&mut tar, size).expect("pad");
    }
    tar.extend_from_slice(&[0u8; 2 * BLOCK]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).expect("gz");
    let file = dir.join("a.tar.gz");
    std::fs::write(&file, gz.finish().expect("gz")).expect("write");
    file
}

#[test]
fn absolute_names_stay_under_the_root_and_links_are_skipped() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = hostile(
        t.path(),
        &[
            (b"/abs/file", b'0', b"a"),
            (b"link", b'2', b""),
            (b"hard", b'1', b""),
            (b"./ok/../ok2", b'5', b""),
        ],
    );
    let u = t.path().join("u");
    let err = unpack_tar_gz(&file, &u, &Limits::default()).expect_err("'..' inside a name");
    assert!(
        err.to_string().contains("path leaves the archive root"),
        "{err}"
    );
    assert_eq!(std::fs::read(u.join("abs/file")).expect("confined"), b"a");
    assert!(std::fs::symlink_metadata(u.join("link")).is_err());
    assert!(std::fs::symlink_metadata(u.join("hard")).is_err());
}

#[test]
fn entry_count_and_skipped_content_are_bounded() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = hostile(
        t.path(),
        &[(b"a", b'5', b""), (b"b", b'5', b""), (b"c", b'5', b"")],
    );
    let two = Limits {
        max_entries: 2,
        ..Limits::default()
    };
    let err = unpack_tar_gz(&file, &t.path().join("u"), &two).expect_err("three entries");
    assert!(
        matches!(err, Error::TooManyEntries { limit: 2, .. }),
        "{err}"
    );

    // A symlink's (or any skipped entry's) content is decompressed too.
    let file = hostile(t.path(), &[(b"l", b'2', &[b'x'; 600])]);
    let small = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    let err = unpack_tar_gz(&file, &t.path().join("v"), &small).expect_err("too large");
    assert!(matches!(err, Error::TooLarge { limit: 100, .. }), "{err}");
}

#[test]
fn truncated_and_non_gzip_archives_are_errors() {
    let t = tempfile::tempdir().expect("tempdir");
    let file = t.path().join("plain.tar");
    std::fs::write(&file, [0u8; 1024]).expect("write");
    assert!(unpack_tar_gz(&file, &t.path().join("u"), &Limits::default()).is_err());
    let file = hostile(t.path(), &[(b"f", b'0', b"hello")]);
    let bytes = std::fs::read(&file).expect("read");
    std::fs::write(&file, &bytes[..bytes.len() / 2]).expect("write");
    assert!(unpack_tar_gz(&file, &t.path().join("v"), &Limits::default()).is_err());
}

#[test]
fn a_deep_name_cannot_make_more_directories_than_the_limit() {
    let t = tempfile::tempdir().expect("tempdir");
    let deep = "d/".repeat(40) + "f";
    let file = hostile(t.path(), &[(deep.as_bytes(), b'0', b"x")]);
    let ten = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let err = unpack_tar_gz(&file, &t.path().join("u"), &ten).expect_err("40 directories");
    assert!(
        matches!(err, Error::TooManyEntries { limit: 10, .. }),
        "{err}"
    );
    assert!(
        !t.path().join("u/d").exists(),
        "refused before creating any"
    );
    unpack_tar_gz(&file, &t.path().join("v"), &Limits::default()).expect("within the default");
}
