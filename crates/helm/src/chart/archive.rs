//! A chart archive (`.tgz`) read as Helm's `archive.LoadArchiveFiles`
//! reads it (helm-semantics.md §2.4): gzip (multi-member) around a tar
//! stream read as Go's `archive/tar` reads it (USTAR prefix, PAX `path` and
//! `size` records, GNU long names), directories and PAX headers skipped,
//! the first path segment dropped, Helm's path checks, 100 MiB in all and
//! 5 MiB per file.

use std::io::Read;

use super::File;

/// `archive.MaxDecompressedChartSize`.
pub const MAX_DECOMPRESSED_CHART_SIZE: u64 = 100 * 1024 * 1024;
/// `archive.MaxDecompressedFileSize`.
pub const MAX_DECOMPRESSED_FILE_SIZE: u64 = 5 * 1024 * 1024;
/// Bound on one PAX or GNU long-name record (Go's `maxSpecialFileSize`).
const MAX_SPECIAL_FILE_SIZE: u64 = 1 << 20;
const BLOCK: usize = 512;

const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// The files of an archive, names relative to the chart directory.
pub(crate) fn load_archive_files(data: &[u8]) -> Result<Vec<File>, String> {
    if data.len() < 10 || data[0] != 0x1f || data[1] != 0x8b {
        return Err(if data.is_empty() {
            "EOF".to_string()
        } else {
            "gzip: invalid header".to_string()
        });
    }
    let mut tar = Tar {
        r: flate2::read::MultiGzDecoder::new(data),
    };
    let mut files = Vec::new();
    let mut remaining = MAX_DECOMPRESSED_CHART_SIZE;
    while let Some(hd) = tar.next()? {
        let is_dir = hd.typeflag == b'5' || (hd.mode & 0o170_000) == 0o040_000;
        if is_dir {
            tar.skip(hd.size)?;
            continue;
        }
        if hd.typeflag == b'g' || hd.typeflag == b'x' {
            tar.skip(hd.size)?;
            continue;
        }
        let delimiter = if hd.name.contains('\\') { '\\' } else { '/' };
        let parts: Vec<&str> = hd.name.split(delimiter).collect();
        let n = parts[1..]
            .join(&delimiter.to_string())
            .replace(delimiter, "/");
        if n.starts_with('/') {
            return Err("chart illegally contains absolute paths".to_string());
        }
        let n = go_path_clean(&n);
        if n == "." {
            return Err(format!(
                "chart illegally contains content outside the base directory: {}",
                crate::strvals::go_quote(&hd.name)
            ));
        }
        if n.starts_with("..") {
            return Err("chart illegally references parent directory".to_string());
        }
        let b = n.as_bytes();
        if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
            return Err("chart contains illegally named files".to_string());
        }
        if parts[0] == "Chart.yaml" {
            return Err("chart yaml not in base directory".to_string());
        }
        if hd.size > remaining {
            return Err(format!(
                "decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"
            ));
        }
        if hd.size > MAX_DECOMPRESSED_FILE_SIZE {
            return Err(format!(
                "decompressed chart file {} is larger than the maximum file size \
                 {MAX_DECOMPRESSED_FILE_SIZE}",
                crate::strvals::go_quote(&hd.name)
            ));
        }
        let mut content = tar.content(hd.size)?;
        remaining -= hd.size;
        if remaining == 0 {
            return Err(format!(
                "decompressed chart is larger than the maximum size {MAX_DECOMPRESSED_CHART_SIZE}"
            ));
        }
        if content.starts_with(BOM) {
            content.drain(..3);
        }
        files.push(File {
            name: n,
            data: content,
        });
    }
    if files.is_empty() {
        return Err("no files in chart archive".to_string());
    }
    Ok(files)
}

/// Go's `path.Clean`.
pub(crate) fn go_path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

struct Header {
    name: String,
    size: u64,
    mode: u64,
    typeflag: u8,
}

struct Tar<R: Read> {
    r: R,
}

const INVALID: &str = "archive/tar: invalid header";

impl<R: Read> Tar<R> {
    /// A full block, `Ok(None)` at a clean end of stream.
    fn block(&mut self) -> Result<Option<[u8; BLOCK]>, String> {
        let mut buf = [0u8; BLOCK];
        let mut got = 0;
        while got < BLOCK {
            match self.r.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(gzip_error(&e)),
            }
        }
        match got {
            0 => Ok(None),
            BLOCK => Ok(Some(buf)),
            _ => Err("unexpected EOF".to_string()),
        }
    }

    fn content(&mut self, size: u64) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        (&mut self.r)
            .take(size)
            .read_to_end(&mut out)
            .map_err(|e| gzip_error(&e))?;
        if (out.len() as u64) < size {
            return Err("unexpected EOF".to_string());
        }
        self.pad(size)?;
        Ok(out)
    }

    fn skip(&mut self, size: u64) -> Result<(), String> {
        let copied = std::io::copy(&mut (&mut self.r).take(size), &mut std::io::sink())
            .map_err(|e| gzip_error(&e))?;
        if copied < size {
            return Err("unexpected EOF".to_string());
        }
        self.pad(size)
    }

    fn pad(&mut self, size: u64) -> Result<(), String> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            let mut pad = vec![0u8; BLOCK - rem];
            self.r
                .read_exact(&mut pad)
                .map_err(|_| "unexpected EOF".to_string())?;
        }
        Ok(())
    }

    /// `tar.Reader.Next`: the next entry, PAX and GNU long-name records
    /// folded in; `None` at the end of the archive.
    fn next(&mut self) -> Result<Option<Header>, String> {
        let mut pax_path: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        let mut gnu_name: Option<String> = None;
        loop {
            let Some(block) = self.block()? else {
                return Ok(None);
            };
            if block.iter().all(|b| *b == 0) {
                return match self.block()? {
                    None => Ok(None),
                    Some(b) if b.iter().all(|x| *x == 0) => Ok(None),
                    Some(_) => Err(INVALID.to_string()),
                };
            }
            if !checksum_ok(&block) {
                return Err(INVALID.to_string());
            }
            let magic = &block[257..265];
            let ustar = &magic[..6] == b"ustar\0";
            let mut name = cstr(&block[0..100]);
            if ustar {
                let prefix = cstr(&block[345..500]);
                if !prefix.is_empty() {
                    name = format!("{prefix}/{name}");
                }
            }
            let mode = parse_numeric(&block[100..108])?;
            let mut size = parse_numeric(&block[124..136])?;
            let mut typeflag = block[156];
            match typeflag {
                b'x' | b'L' | b'K' => {
                    if size > MAX_SPECIAL_FILE_SIZE {
                        return Err(INVALID.to_string());
                    }
                    let data = self.content(size)?;
                    match typeflag {
                        b'x' => {
                            for (k, v) in parse_pax(&data)? {
                                match k.as_str() {
                                    "path" => pax_path = Some(v),
                                    "size" => {
                                        pax_size =
                                            Some(v.parse().map_err(|_| INVALID.to_string())?);
                                    }
                                    _ => {}
                                }
                            }
                        }
                        b'L' => gnu_name = Some(cstr(&data)),
                        _ => {}
                    }
                    continue;
                }
                _ => {}
            }
            if let Some(n) = gnu_name.take() {
                name = n;
            }
            if let Some(p) = pax_path.take() {
                name = p;
            }
            if let Some(s) = pax_size.take() {
                size = s;
            }
            if typeflag == 0 || typeflag == b'7' {
                typeflag = if name.ends_with('/') { b'5' } else { b'0' };
            }
            // Links and devices carry no data in the stream.
            if matches!(typeflag, b'1' | b'2' | b'3' | b'4' | b'6') {
                size = 0;
            }
            return Ok(Some(Header {
                name,
                size,
                mode,
                typeflag,
            }));
        }
    }
}

fn gzip_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("invalid gzip header") {
        "gzip: invalid header".to_string()
    } else if text.contains("corrupt deflate stream") || text.contains("invalid") {
        "flate: corrupt input".to_string()
    } else {
        "unexpected EOF".to_string()
    }
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|x| *x == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Go's `parseNumeric`: base-256 when the high bit is set, else octal
/// with spaces and NULs trimmed.
fn parse_numeric(b: &[u8]) -> Result<u64, String> {
    if b.first().is_some_and(|x| x & 0x80 != 0) {
        if b[0] & 0x40 != 0 {
            return Err(INVALID.to_string());
        }
        let mut v: u64 = u64::from(b[0] & 0x3f);
        for x in &b[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(*x)))
                .ok_or_else(|| INVALID.to_string())?;
        }
        return Ok(v);
    }
    let s = String::from_utf8_lossy(b);
    let s = s.trim_matches(|c| c == ' ' || c == '\0');
    if s.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(s, 8).map_err(|_| INVALID.to_string())
}

fn checksum_ok(block: &[u8; BLOCK]) -> bool {
    let Ok(want) = parse_numeric(&block[148..156]) else {
        return false;
    };
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    i64::try_from(want).is_ok_and(|w| w == unsigned || w == signed)
}

/// PAX records: `"<len> <key>=<value>\n"`.
fn parse_pax(mut data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    while !data.is_empty() && data[0] != 0 {
        let sp = data
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| INVALID.to_string())?;
        let len: usize = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| INVALID.to_string())?;
        if len <= sp + 1 || len > data.len() || data[len - 1] != b'\n' {
            return Err(INVALID.to_string());
        }
        let record = &data[sp + 1..len - 1];
        let eq = record
            .iter()
            .position(|b| *b == b'=')
            .ok_or_else(|| INVALID.to_string())?;
        out.push((
            String::from_utf8_lossy(&record[..eq]).into_owned(),
            String::from_utf8_lossy(&record[eq + 1..]).into_owned(),
        ));
        data = &data[len..];
    }
    Ok(out)
}
