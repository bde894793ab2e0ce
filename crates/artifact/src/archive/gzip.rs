//! The gzip writer of [`super::write_tar_gz`]: flate2's raw deflate inside
//! the header `GzBuilder::new().mtime(0).operating_system(0xff)` writes at
//! the default level and its CRC-32/size trailer, over a deflate state
//! taken from a small pool. Given the same writes it gives that builder's
//! bytes (a reused state compresses as a fresh one).
//!
//! A deflate state is about 300 KiB that zlib zeroes when it is made:
//! made afresh for each of a thousand GitRepositories' artifacts, that was
//! over half of the controller's page faults and left the allocator's
//! heaps fragmented. The pool keeps [`POOLED`] states, reset between
//! uses; a writer beyond them makes its own.

use std::io::{self, Write};
use std::sync::Mutex;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// States kept for reuse (the source kinds archive at most a few at once).
const POOLED: usize = 4;

/// Compressed bytes gathered before they are written out.
const CHUNK: usize = 32 * 1024;

static POOL: Mutex<Vec<Compress>> = Mutex::new(Vec::new());

fn take() -> Compress {
    POOL.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop()
        .unwrap_or_else(|| Compress::new(Compression::default(), false))
}

fn give_back(mut z: Compress) {
    z.reset();
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if pool.len() < POOLED {
        pool.push(z);
    }
}

/// gzip member writer; [`GzWriter::finish`] ends the stream and returns
/// the inner writer. Dropped unfinished (an error), its state is not
/// returned to the pool: it may be mid-stream.
pub(crate) struct GzWriter<W: Write> {
    inner: W,
    z: Compress,
    crc: Crc,
    buf: Vec<u8>,
}

impl<W: Write> GzWriter<W> {
    pub(crate) fn new(mut inner: W) -> io::Result<GzWriter<W>> {
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 (default level) OS=0xff.
        inner.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
        Ok(GzWriter {
            inner,
            z: take(),
            crc: Crc::new(),
            buf: Vec::with_capacity(CHUNK),
        })
    }

    /// Writes out what the last call compressed, then compresses with
    /// the buffer's whole [`CHUNK`] free, as flate2's `zio::Writer` does:
    /// zlib-rs's output depends on the room it is given, so the same
    /// rhythm gives `GzBuilder`'s bytes.
    fn deflate(&mut self, input: &[u8], flush: FlushCompress) -> io::Result<(usize, Status)> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        let before = self.z.total_in();
        let status = self
            .z
            .compress_vec(input, &mut self.buf, flush)
            .map_err(io::Error::other)?;
        Ok(((self.z.total_in() - before) as usize, status))
    }

    pub(crate) fn finish(mut self) -> io::Result<W> {
        loop {
            let before = self.z.total_out();
            self.deflate(&[], FlushCompress::Finish)?;
            if self.z.total_out() == before {
                break;
            }
        }
        self.inner.write_all(&self.buf)?;
        let mut trailer = [0u8; 8];
        trailer[..4].copy_from_slice(&self.crc.sum().to_le_bytes());
        trailer[4..].copy_from_slice(&self.crc.amount().to_le_bytes());
        self.inner.write_all(&trailer)?;
        let GzWriter { inner, z, .. } = self;
        give_back(z);
        Ok(inner)
    }
}

impl<W: Write> Write for GzWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        loop {
            let (n, status) = self.deflate(data, FlushCompress::None)?;
            if n > 0 || status == Status::StreamEnd {
                self.crc.update(&data[..n]);
                return Ok(n);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::GzBuilder;

    // zlib-rs's output depends on how the input is split across writes:
    // both sides get the same writes.
    fn builder(data: &[u8], pieces: usize) -> Vec<u8> {
        let mut gz = GzBuilder::new()
            .mtime(0)
            .operating_system(0xff)
            .write(Vec::new(), Compression::default());
        for part in data.chunks(data.len().div_ceil(pieces).max(1)) {
            gz.write_all(part).expect("write");
        }
        gz.finish().expect("finish")
    }

    fn ours(data: &[u8], pieces: usize) -> Vec<u8> {
        let mut gz = GzWriter::new(Vec::new()).expect("header");
        for part in data.chunks(data.len().div_ceil(pieces).max(1)) {
            gz.write_all(part).expect("write");
        }
        gz.finish().expect("finish")
    }

    #[test]
    fn the_bytes_are_gzbuilders_whatever_the_writes_and_state_reuse() {
        let mut big = Vec::new();
        let mut x: u32 = 7;
        for i in 0..300_000u32 {
            // Compressible text mixed with pseudo-random bytes.
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            big.push(if i % 3 == 0 {
                (x >> 16) as u8
            } else {
                b'a' + (i % 7) as u8
            });
        }
        for data in [&b""[..], b"x", b"hello hello hello hello\n", &big] {
            // Twice each: the second takes the first's pooled state.
            for pieces in [1, 5, 1] {
                assert!(
                    ours(data, pieces) == builder(data, pieces),
                    "{} bytes, {pieces} pieces",
                    data.len()
                );
            }
        }
    }

    #[test]
    fn an_inner_write_error_is_returned() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = GzWriter::new(Full).err().expect("the header write fails");
        assert_eq!(err.to_string(), "disk full");
    }
}
