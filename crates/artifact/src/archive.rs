//! The tarball source-controller writes (`pkg/artifact` `Storage.Archive`):
//! gzip around a Go `archive/tar` stream. Entries come in `filepath.Walk`
//! order (each directory's names sorted bytewise, depth first), the root
//! first as `.`; names are relative, `/`-separated, directories without a
//! trailing slash. Only directories and regular files are stored (symlinks,
//! devices and sockets are skipped, so nothing can point out of the tree).
//! Headers are normalised: uid/gid 0, no user or group name, mtime 0,
//! directories `0750`, files `0600`, or `0700` with any execute bit. A
//! name that USTAR cannot hold (over 100 bytes without a prefix split, or
//! not ASCII) gets a PAX `path` record, as Go's `tar.Writer` does.
//!
//! The tar bytes are Go's byte for byte; the gzip header is Go's (no name,
//! mtime 0, OS `0xff`), but the deflate stream is flate2's, so the
//! compressed bytes and thus `digest` differ from source-controller's for
//! the same tree. Consumers compare only against the advertised digest.
//!
//! A directory an ignore pattern excludes is still entered, so a later
//! `!pattern` can re-include a file below it (Flux's walk does not prune);
//! when no pattern re-includes anything the walk skips such directories
//! (`.git` above all), which changes nothing in the output.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use ferroflux_kustomize::flux::ignore::Matcher;

mod gzip;
#[cfg(test)]
mod tests;

/// `pkg/artifact` `DefaultDirMode`, `DefaultFileMode`, `DefaultExeFileMode`.
pub const DIR_MODE: u64 = 0o750;
pub const FILE_MODE: u64 = 0o600;
pub const EXE_FILE_MODE: u64 = 0o700;

const BLOCK: usize = 512;
const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;

/// Bounds on what one archive may hold: a repository is a stranger's
/// input. Flux has none; these are far above any real GitOps tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries walked (directories and files, excluded ones included).
    pub max_entries: usize,
    /// Bytes of file content stored (before compression).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 500_000,
            max_bytes: 4 << 30,
        }
    }
}

/// Archiving and unpacking errors; messages name the path, never content.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid dir path: {}", path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot {op} '{}': {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("'{}' holds more than {limit} files and directories", path.display())]
    TooManyEntries { path: PathBuf, limit: usize },
    #[error("'{}' holds more than {limit} bytes", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("'{}' changed while it was archived", path.display())]
    Changed { path: PathBuf },
    #[error("invalid tar entry '{name}': {why}")]
    BadEntry { name: String, why: &'static str },
}

pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// Write `dir` as Flux's tar.gz to `out`, leaving out what `ignore`
/// matches (a `None` keeps everything); returns `out`.
pub fn write_tar_gz<W: Write>(
    dir: &Path,
    ignore: Option<&Matcher>,
    limits: &Limits,
    out: W,
) -> Result<W, Error> {
    let gz = gzip::GzWriter::new(out).map_err(io("compress", dir))?;
    let gz = write_tar(dir, ignore, limits, gz)?;
    gz.finish().map_err(io("compress", dir))
}

/// The uncompressed tar stream of [`write_tar_gz`].
pub fn write_tar<W: Write>(
    dir: &Path,
    ignore: Option<&Matcher>,
    limits: &Limits,
    mut out: W,
) -> Result<W, Error> {
    let meta = std::fs::metadata(dir).map_err(|_| Error::NotADirectory {
        path: dir.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let prune = ignore.is_none_or(|m| !m.has_inclusions());
    let mut entries = 0usize;
    let mut bytes = 0u64;
    // Depth first, each directory's names sorted: `filepath.Walk`.
    let mut stack: Vec<(PathBuf, Vec<u8>)> = vec![(dir.to_path_buf(), b".".to_vec())];
    while let Some((path, name)) = stack.pop() {
        entries += 1;
        if entries > limits.max_entries {
            return Err(Error::TooManyEntries {
                path: dir.to_path_buf(),
                limit: limits.max_entries,
            });
        }
        let meta = std::fs::symlink_metadata(&path).map_err(io("stat", &path))?;
        let ft = meta.file_type();
        if !(ft.is_file() || ft.is_dir()) {
            continue;
        }
        let ignored = ignore.is_some_and(|m| m.is_ignored(&path, ft.is_dir()));
        if ft.is_dir() {
            if !ignored {
                write_header(&mut out, &name, b'5', DIR_MODE, 0).map_err(io("write", &path))?;
            }
            if ignored && prune {
                continue;
            }
            let mut names: Vec<Vec<u8>> = Vec::new();
            for e in std::fs::read_dir(&path).map_err(io("read directory", &path))? {
                let e = e.map_err(io("read directory", &path))?;
                names.push(e.file_name().as_bytes().to_vec());
                if entries + names.len() > limits.max_entries {
                    return Err(Error::TooManyEntries {
                        path: dir.to_path_buf(),
                        limit: limits.max_entries,
                    });
                }
            }
            names.sort();
            for child in names.into_iter().rev() {
                let child_path = path.join(std::ffi::OsStr::from_bytes(&child));
                let child_name = if name == b"." {
                    child
                } else {
                    [name.as_slice(), b"/", &child].concat()
                };
                stack.push((child_path, child_name));
            }
            continue;
        }
        if ignored {
            continue;
        }
        let size = meta.len();
        bytes = bytes.saturating_add(size);
        if bytes > limits.max_bytes {
            return Err(Error::TooLarge {
                path: dir.to_path_buf(),
                limit: limits.max_bytes,
            });
        }
        let mode = if meta.permissions().mode() & 0o111 != 0 {
            EXE_FILE_MODE
        } else {
            FILE_MODE
        };
        write_header(&mut out, &name, b'0', mode, size).map_err(io("write", &path))?;
        let file = File::open(&path).map_err(io("open", &path))?;
        let copied = std::io::copy(&mut file.take(size), &mut out).map_err(io("read", &path))?;
        if copied != size {
            return Err(Error::Changed { path });
        }
        pad(&mut out, size).map_err(io("write", &path))?;
    }
    out.write_all(&[0u8; 2 * BLOCK]).map_err(io("write", dir))?;
    Ok(out)
}

fn pad(out: &mut impl Write, size: u64) -> std::io::Result<()> {
    let rem = (size % BLOCK as u64) as usize;
    if rem != 0 {
        out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

/// Go's `isASCII`: no NUL and nothing at or above 0x80.
fn is_ascii(s: &[u8]) -> bool {
    s.iter().all(|&b| b != 0 && b < 0x80)
}

/// Go's `toASCII`: every rune below 0x80 but NUL (an invalid UTF-8 byte is
/// U+FFFD there, dropped like any other non-ASCII rune).
fn to_ascii(s: &[u8]) -> Vec<u8> {
    s.iter().copied().filter(|&b| b != 0 && b < 0x80).collect()
}

/// Go's `splitUSTARPath`.
fn split_ustar(name: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut length = name.len();
    if length <= NAME_SIZE || !is_ascii(name) {
        return None;
    } else if length > PREFIX_SIZE + 1 {
        length = PREFIX_SIZE + 1;
    } else if name[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].iter().rposition(|&b| b == b'/')?;
    let nlen = name.len() - i - 1;
    if i == 0 || nlen > NAME_SIZE || nlen == 0 || i > PREFIX_SIZE {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Go's `formatter.formatString`.
fn put_str(field: &mut [u8], s: &[u8]) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s[..n]);
    if s.len() < field.len() {
        field[s.len()] = 0;
    }
    if s.len() > field.len() && field[field.len() - 1] == b'/' {
        let kept = field.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        field[kept] = 0;
    }
}

/// Go's `formatter.formatOctal` (values here always fit).
fn put_octal(field: &mut [u8], x: u64) {
    let s = format!("{x:o}");
    let zeros = field.len().saturating_sub(s.len() + 1);
    let padded = format!("{}{s}", "0".repeat(zeros));
    put_str(field, padded.as_bytes());
}

/// `templateV7Plus`, or `writeRawFile`'s header when `raw`.
fn block(name: &[u8], typeflag: u8, mode: u64, size: u64, raw: bool) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[156] = typeflag;
    put_str(&mut b[0..100], name);
    if !raw {
        put_str(&mut b[157..257], b"");
    }
    put_octal(&mut b[100..108], mode);
    put_octal(&mut b[108..116], 0);
    put_octal(&mut b[116..124], 0);
    put_octal(&mut b[124..136], size);
    put_octal(&mut b[136..148], 0);
    if !raw {
        put_str(&mut b[265..297], b"");
        put_str(&mut b[297..329], b"");
        put_octal(&mut b[329..337], 0);
        put_octal(&mut b[337..345], 0);
    }
    b
}

/// `setFormat` for USTAR and PAX: magic, version, checksum.
fn seal(b: &mut [u8; BLOCK]) {
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    let sum: u64 = b
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
    put_octal(&mut b[148..155], sum);
    b[155] = b' ';
}

/// One entry's header as Go's `tar.Writer.WriteHeader` writes it for
/// Flux's normalised headers: USTAR when the name fits, else PAX.
fn write_header(
    out: &mut impl Write,
    name: &[u8],
    typeflag: u8,
    mode: u64,
    size: u64,
) -> std::io::Result<()> {
    if name.len() <= NAME_SIZE && is_ascii(name) {
        let mut b = block(name, typeflag, mode, size, false);
        seal(&mut b);
        return out.write_all(&b);
    }
    if let Some((prefix, suffix)) = split_ustar(name) {
        let mut b = block(suffix, typeflag, mode, size, false);
        put_str(&mut b[345..500], prefix);
        seal(&mut b);
        return out.write_all(&b);
    }
    let record = pax_record(b"path", name);
    let (dir, file) = match name.iter().rposition(|&b| b == b'/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => (&b""[..], name),
    };
    let mut pax_name = [dir, b"PaxHeaders.0/", file].concat();
    pax_name = to_ascii(&pax_name);
    pax_name.truncate(NAME_SIZE);
    while pax_name.last() == Some(&b'/') {
        pax_name.pop();
    }
    let mut x = block(&pax_name, b'x', 0, record.len() as u64, true);
    seal(&mut x);
    out.write_all(&x)?;
    out.write_all(&record)?;
    pad(out, record.len() as u64)?;
    let mut b = block(&to_ascii(name), typeflag, mode, size, false);
    seal(&mut b);
    out.write_all(&b)
}

/// Go's `formatPAXRecord`: `"<len> <key>=<value>\n"`, the length counting
/// itself.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let base = key.len() + value.len() + 3;
    let mut size = base + base.to_string().len();
    let build = |size: usize| [size.to_string().as_bytes(), b" ", key, b"=", value, b"\n"].concat();
    let mut rec = build(size);
    if rec.len() != size {
        size = rec.len();
        rec = build(size);
    }
    rec
}

/// Unpack a tar.gz written by [`write_tar_gz`] into `to` (created):
/// directories and regular files only, names confined to `to`, within
/// `limits` (`pkg/tar` `Untar`).
pub fn unpack_tar_gz(archive: &Path, to: &Path, limits: &Limits) -> Result<(), Error> {
    let file = File::open(archive).map_err(io("open", archive))?;
    let mut r = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    std::fs::create_dir_all(to).map_err(io("create", to))?;
    let mut entries = 0usize;
    let mut bytes = 0u64;
    let mut long_name: Option<Vec<u8>> = None;
    let mut dirs = Dirs::default();
    loop {
        let mut h = [0u8; BLOCK];
        r.read_exact(&mut h).map_err(io("read", archive))?;
        if h.iter().all(|&b| b == 0) {
            return Ok(());
        }
        entries += 1;
        if entries > limits.max_entries {
            return Err(Error::TooManyEntries {
                path: archive.to_path_buf(),
                limit: limits.max_entries,
            });
        }
        let size = parse_octal(&h[124..136]).ok_or(Error::BadEntry {
            name: String::from_utf8_lossy(cstr(&h[0..100])).into_owned(),
            why: "bad size",
        })?;
        let typeflag = h[156];
        let mut name = cstr(&h[0..100]).to_vec();
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            name = [prefix, b"/", &name].concat();
        }
        if let Some(n) = long_name.take() {
            name = n;
        }
        let shown = || String::from_utf8_lossy(&name).into_owned();
        match typeflag {
            b'x' => {
                if size > 1 << 20 {
                    return Err(Error::BadEntry {
                        name: shown(),
                        why: "PAX header too large",
                    });
                }
                let mut data = vec![0u8; size as usize];
                r.read_exact(&mut data).map_err(io("read", archive))?;
                skip(&mut r, padding(size)).map_err(io("read", archive))?;
                long_name = pax_path(&data);
                continue;
            }
            b'5' | b'0' | 0 => {}
            _ => {
                // Skipped content is still decompressed: it counts.
                bytes = bytes.saturating_add(size);
                if bytes > limits.max_bytes {
                    return Err(Error::TooLarge {
                        path: archive.to_path_buf(),
                        limit: limits.max_bytes,
                    });
                }
                skip(&mut r, size + padding(size)).map_err(io("read", archive))?;
                continue;
            }
        }
        let rel = confined(&name).ok_or_else(|| Error::BadEntry {
            name: shown(),
            why: "path leaves the archive root",
        })?;
        let dest = to.join(&rel);
        if typeflag == b'5' {
            dirs.make(to, &rel, archive, limits)?;
            continue;
        }
        bytes = bytes.saturating_add(size);
        if bytes > limits.max_bytes {
            return Err(Error::TooLarge {
                path: archive.to_path_buf(),
                limit: limits.max_bytes,
            });
        }
        if let Some(parent) = rel.parent() {
            dirs.make(to, parent, archive, limits)?;
        }
        let mut f = File::create(&dest).map_err(io("create", &dest))?;
        let copied = std::io::copy(&mut (&mut r).take(size), &mut f).map_err(io("write", &dest))?;
        if copied != size {
            return Err(Error::BadEntry {
                name: shown(),
                why: "truncated",
            });
        }
        let mode = (parse_octal(&h[100..108]).unwrap_or(FILE_MODE) as u32) & 0o700;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode | 0o600))
            .map_err(io("chmod", &dest))?;
        skip(&mut r, padding(size)).map_err(io("read", archive))?;
    }
}

/// The directories an unpack created, bounded like the entries: one
/// deep name (`a/a/a/…`) cannot make more directories than the limit.
#[derive(Default)]
struct Dirs(std::collections::HashSet<PathBuf>);

impl Dirs {
    fn make(
        &mut self,
        to: &Path,
        rel: &Path,
        archive: &Path,
        limits: &Limits,
    ) -> Result<(), Error> {
        let new: Vec<&Path> = rel
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !self.0.contains(*a))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if self.0.len() + new.len() > limits.max_entries {
            return Err(Error::TooManyEntries {
                path: archive.to_path_buf(),
                limit: limits.max_entries,
            });
        }
        let dest = to.join(rel);
        std::fs::create_dir_all(&dest).map_err(io("create", &dest))?;
        self.0.extend(new.into_iter().map(Path::to_path_buf));
        Ok(())
    }
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

fn skip(r: &mut impl Read, n: u64) -> std::io::Result<()> {
    let copied = std::io::copy(&mut r.take(n), &mut std::io::sink())?;
    if copied != n {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn cstr(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}

fn parse_octal(b: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(cstr(b)).ok()?.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn pax_path(data: &[u8]) -> Option<Vec<u8>> {
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if len <= sp || len > rest.len() {
            return None;
        }
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(v) = rec.strip_prefix(b"path=") {
            return Some(v.to_vec());
        }
        rest = &rest[len..];
    }
    None
}

/// The entry name as a relative path without `..`, absolute parts or
/// `.`-only components (`.` itself is the root).
fn confined(name: &[u8]) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => continue,
            b".." => return None,
            p => out.push(std::ffi::OsStr::from_bytes(p)),
        }
    }
    Some(out)
}
