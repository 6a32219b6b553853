//! [`ReadBuf`]: the bytes read from a connection and not yet consumed.
//!
//! Pipelining lives here: one read may bring several requests, or one and a
//! half. Whatever a request did not consume stays in the buffer and is the
//! start of the next request. (sylar's session threw it away.)

use std::io::{self, Read};

/// The buffer a connection starts with: a typical request head fits several
/// times over, and 10,000 idle connections hold 40 MiB.
pub(crate) const INITIAL_READ_BUF: usize = 4 * 1024;

// ANCHOR: read_buf
/// A growable window `buf[start..end]` of unconsumed input.
///
/// # Invariant
/// `start <= end <= buf.len()`; the bytes before `start` are consumed, those
/// from `end` on are free space. The buffer only grows when it is full of
/// unconsumed bytes, so its size is bounded by what callers let accumulate
/// (the head limit, the chunk-line limit), never by the peer.
#[derive(Debug)]
pub(crate) struct ReadBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}
// ANCHOR_END: read_buf

impl ReadBuf {
    /// An empty buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> ReadBuf {
        ReadBuf {
            buf: vec![0; capacity.max(16)],
            start: 0,
            end: 0,
        }
    }

    /// The unconsumed bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// True if nothing unconsumed is left.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks the first `n` unconsumed bytes as used.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n.min(self.end - self.start);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    // ANCHOR: fill
    /// Reads once from `reader` into the free space, first moving the
    /// unconsumed bytes to the front, or doubling the buffer if they fill it.
    /// Returns the number of bytes read: 0 means end of input. Retries on
    /// `Interrupted`; any other error (a timeout included) is returned.
    #[inline] // once a request: the read itself is the call that matters
    pub fn fill<R: Read + ?Sized>(&mut self, reader: &mut R) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let doubled = self.buf.len() * 2;
                self.buf.resize(doubled, 0);
            }
        }
        loop {
            match reader.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        }
    }
    // ANCHOR_END: fill

    /// Goes back to `capacity` bytes if the buffer grew beyond twice that and
    /// holds nothing now: a connection that once sent a large head does not
    /// keep the memory while idle.
    pub fn shrink_if_idle(&mut self, capacity: usize) {
        if self.is_empty() && self.buf.len() > capacity * 2 {
            self.buf = vec![0; capacity];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_stay_for_the_next_reader() {
        let mut input: &[u8] = b"first|second";
        let mut buf = ReadBuf::with_capacity(64);
        assert_eq!(buf.fill(&mut input).unwrap(), 12);
        buf.consume(6);
        assert_eq!(buf.data(), b"second");
        buf.consume(6);
        assert!(buf.is_empty());
        assert_eq!(buf.fill(&mut input).unwrap(), 0);
    }

    #[test]
    fn compacts_then_grows() {
        let data: Vec<u8> = (0..100).collect();
        let mut input: &[u8] = &data;
        let mut buf = ReadBuf::with_capacity(16);
        buf.fill(&mut input).unwrap();
        buf.consume(10);
        // Full: the 6 unconsumed bytes move to the front, 10 more arrive.
        buf.fill(&mut input).unwrap();
        assert_eq!(buf.data(), &data[10..26]);
        assert_eq!(buf.buf.len(), 16);
        // Full of unconsumed bytes: it doubles, twice.
        buf.fill(&mut input).unwrap();
        assert_eq!(buf.data(), &data[10..42]);
        buf.fill(&mut input).unwrap();
        assert_eq!(buf.data(), &data[10..74]);
        assert_eq!(buf.buf.len(), 64);
        buf.consume(buf.data().len());
        buf.shrink_if_idle(16);
        assert_eq!(buf.buf.len(), 16);
    }
}
