//! Reading a body: a known number of bytes, or chunks (RFC 9112 §7.1).
//!
//! Both the server (request bodies) and the client (response bodies) use these.
//! The chunked grammar is enforced to the letter, because framing is where
//! request smuggling lives: hex digits only, a size that fits in 64 bits,
//! CRLF (never a bare LF) after every size line and every chunk, and the body
//! limit checked before each chunk is read, not after. A request body must
//! also keep up a minimum rate ([`BodyPace`]), checked after every read
//! from the peer that brings bytes.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::buffer::ReadBuf;
use super::error::{Failure, RequestError};

/// Longest chunk-size line (size, extensions): generous for real extensions,
/// small enough that a line never needs a large buffer.
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// The most a body read asks the kernel for at once: memory follows the bytes
/// that actually arrive, not what a header promised.
const READ_STEP: usize = 64 * 1024;

// ANCHOR: body_pace
/// The minimum data rate of a request body, after a grace period (ASP.NET
/// Kestrel's `MinRequestBodyDataRate`). The clock starts just before the
/// first read from the peer ([`start`](Self::start)), and the rate is
/// checked after every read that brought bytes, those bytes counted
/// ([`check`](Self::check)): a body that is all in the buffer never reads
/// the clock, bytes that had arrived while the server was busy elsewhere
/// are credited before any verdict, and a client is cut off at most one
/// socket read timeout after it falls below the line. Only body bytes
/// count, not a chunked body's framing.
pub(crate) struct BodyPace {
    /// Bytes per second; 0 turns the check off.
    min_rate: u64,
    grace: Duration,
    /// Bytes already in the output when the body began (not this body's).
    base: usize,
    /// When the body began: taken just before the first read from the peer.
    start: Option<Instant>,
}

impl BodyPace {
    /// At least `min_rate` bytes/s (0: no check) after `grace`, for a body
    /// appended to an output that already holds `base` bytes.
    pub(crate) fn new(min_rate: u64, grace: Duration, base: usize) -> BodyPace {
        BodyPace {
            min_rate,
            grace,
            base,
            start: None,
        }
    }

    /// No minimum rate: what the client uses for response bodies.
    pub(crate) fn unlimited() -> BodyPace {
        BodyPace::new(0, Duration::ZERO, 0)
    }

    /// Called just before a read from the peer: the first call starts the
    /// clock.
    pub(crate) fn start(&mut self) {
        if self.min_rate != 0 && self.start.is_none() {
            self.start = Some(Instant::now());
        }
    }

    /// Called after a read that brought bytes, with the output's length
    /// then: 408 if the body is behind its schedule.
    pub(crate) fn check(&mut self, out_len: usize) -> Result<(), RequestError> {
        if self.min_rate == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let start = *self.start.get_or_insert(now);
        let received = out_len.saturating_sub(self.base) as u64;
        match behind(
            now.saturating_duration_since(start),
            received,
            self.min_rate,
            self.grace,
        ) {
            true => Err(RequestError::body_too_slow()),
            false => Ok(()),
        }
    }
}

/// Whether `elapsed > grace + received / rate`, exactly and in integers:
/// past the grace, `over > received / rate` is `over_ns * rate > received *
/// 10^9`. `received * 10^9` fits in a `u128`; a product that does not is
/// larger than it, so it is behind.
pub(super) fn behind(elapsed: Duration, received: u64, rate: u64, grace: Duration) -> bool {
    let Some(over) = elapsed.checked_sub(grace) else {
        return false;
    };
    match over.as_nanos().checked_mul(u128::from(rate)) {
        Some(owed) => owed > u128::from(received) * 1_000_000_000,
        None => true,
    }
}
// ANCHOR_END: body_pace

// ANCHOR: read_exact_body
/// Appends exactly `len` more body bytes to `out`: first those already
/// buffered, then straight from `reader` into `out` (no copy through the
/// buffer), keeping `pace` with each read. The end of input first is
/// `UnexpectedEof`.
pub(crate) fn read_exact_body<R: Read + ?Sized>(
    rbuf: &mut ReadBuf,
    reader: &mut R,
    out: &mut Vec<u8>,
    len: u64,
    pace: &mut BodyPace,
) -> Result<(), Failure> {
    let buffered = rbuf.data();
    let take = buffered
        .len()
        .min(usize::try_from(len).unwrap_or(usize::MAX));
    out.extend_from_slice(&buffered[..take]);
    rbuf.consume(take);
    match len - take as u64 {
        0 => Ok(()), // all here already: the usual case for a small body
        remaining => read_rest(reader, out, remaining, pace),
    }
}

/// The part of [`read_exact_body`] that reads from the peer: `remaining`
/// bytes straight into `out`, keeping `pace` with each read. Kept out of
/// line so that a body that came whole with its head pays nothing for it.
#[inline(never)]
fn read_rest<R: Read + ?Sized>(
    reader: &mut R,
    out: &mut Vec<u8>,
    mut remaining: u64,
    pace: &mut BodyPace,
) -> Result<(), Failure> {
    while remaining > 0 {
        pace.start();
        let step = remaining.min(READ_STEP as u64) as usize;
        let old_len = out.len();
        out.resize(old_len + step, 0);
        let result = reader.read(&mut out[old_len..]);
        let got = *result.as_ref().unwrap_or(&0);
        out.truncate(old_len + got);
        match result {
            Ok(0) => return Err(Failure::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => {
                remaining -= n as u64;
                pace.check(out.len())?;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(Failure::Io(err)),
        }
    }
    Ok(())
}
// ANCHOR_END: read_exact_body

// ANCHOR: read_chunked
/// Decodes a chunked body into `out`, then reads and drops its trailer
/// fields. Refuses (413) a body that would pass `max_body` before reading the
/// chunk that would pass it, and (431) trailers over `max_trailer` bytes.
/// `pace` is kept with every read, framing and trailers included.
pub(crate) fn read_chunked<R: Read + ?Sized>(
    rbuf: &mut ReadBuf,
    reader: &mut R,
    out: &mut Vec<u8>,
    max_body: usize,
    max_trailer: usize,
    pace: &mut BodyPace,
) -> Result<(), Failure> {
    loop {
        let line = read_line(rbuf, reader, MAX_CHUNK_LINE, out.len(), pace)?;
        let size = parse_chunk_size(&rbuf.data()[..line])?;
        rbuf.consume(line + 2);
        if size == 0 {
            return skip_trailers(rbuf, reader, max_trailer, out.len(), pace);
        }
        if size > (max_body - out.len().min(max_body)) as u64 {
            return Err(RequestError::body_too_large().into());
        }
        read_exact_body(rbuf, reader, out, size, pace)?;
        while rbuf.data().len() < 2 {
            paced_fill(rbuf, reader, out.len(), pace)?;
        }
        if &rbuf.data()[..2] != b"\r\n" {
            return Err(RequestError::bad("chunk data not followed by CRLF").into());
        }
        rbuf.consume(2);
    }
}
// ANCHOR_END: read_chunked

/// Waits until the buffer holds a whole line and returns its length without
/// the CRLF. A line must end in CRLF: a bare LF is refused, as is a line
/// longer than `max`. `pace` is kept with each read, with the body's
/// length so far, `body_len`.
fn read_line<R: Read + ?Sized>(
    rbuf: &mut ReadBuf,
    reader: &mut R,
    max: usize,
    body_len: usize,
    pace: &mut BodyPace,
) -> Result<usize, Failure> {
    let mut scanned = 0;
    loop {
        let data = rbuf.data();
        if let Some(at) = data[scanned..].iter().position(|&b| b == b'\n') {
            let lf = scanned + at;
            if lf == 0 || data[lf - 1] != b'\r' {
                return Err(RequestError::bad("bare LF in chunked framing").into());
            }
            if lf - 1 > max {
                return Err(RequestError::bad("chunk line too long").into());
            }
            return Ok(lf - 1);
        }
        scanned = data.len();
        if scanned > max.saturating_add(1) {
            return Err(RequestError::bad("chunk line too long").into());
        }
        paced_fill(rbuf, reader, body_len, pace)?;
    }
}

/// Reads more framing bytes into `rbuf` for a body `body_len` bytes long so
/// far: the clock started before the read, the pace checked after it (the
/// framing itself counts for nothing). The end of input is `UnexpectedEof`.
fn paced_fill<R: Read + ?Sized>(
    rbuf: &mut ReadBuf,
    reader: &mut R,
    body_len: usize,
    pace: &mut BodyPace,
) -> Result<(), Failure> {
    pace.start();
    if rbuf.fill(reader)? == 0 {
        return Err(Failure::Io(io::ErrorKind::UnexpectedEof.into()));
    }
    pace.check(body_len)?;
    Ok(())
}

// ANCHOR: parse_chunk_size
/// Parses a chunk-size line (without its CRLF): hex digits, then optionally
/// spaces and `;extensions`, which are ignored but must be visible text.
fn parse_chunk_size(line: &[u8]) -> Result<u64, RequestError> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(RequestError::bad("chunk size is not hexadecimal"));
    }
    let mut size: u64 = 0;
    for &b in &line[..digits] {
        let digit = (b as char).to_digit(16).unwrap_or(0);
        size = size
            .checked_mul(16)
            .and_then(|size| size.checked_add(u64::from(digit)))
            .ok_or(RequestError::bad("chunk size overflows"))?;
    }
    let rest = &line[digits..];
    let after_spaces = rest.iter().position(|&b| b != b' ' && b != b'\t');
    match after_spaces {
        None if rest.is_empty() => Ok(size),
        Some(at) if rest[at] == b';' && rest[at..].iter().all(|&b| is_text(b)) => Ok(size),
        _ => Err(RequestError::bad("malformed chunk size line")),
    }
}
// ANCHOR_END: parse_chunk_size

/// Visible ASCII, space, tab or obs-text: what field and extension text may hold.
fn is_text(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

/// Reads the trailer section after the last chunk, up to its blank line, and
/// drops it (trailers are not merged into the headers: no field here may
/// change how the request was framed or routed).
fn skip_trailers<R: Read + ?Sized>(
    rbuf: &mut ReadBuf,
    reader: &mut R,
    max_trailer: usize,
    body_len: usize,
    pace: &mut BodyPace,
) -> Result<(), Failure> {
    let mut total = 0;
    loop {
        let line = read_line(rbuf, reader, max_trailer, body_len, pace)?;
        total += line + 2;
        if total > max_trailer {
            return Err(
                RequestError::head_too_large("trailer section larger than the limit").into(),
            );
        }
        let text = &rbuf.data()[..line];
        check_trailer(text)?;
        rbuf.consume(line + 2);
        if line == 0 {
            return Ok(());
        }
    }
}

/// A trailer line is `name: value`, the name a token, the value text.
fn check_trailer(line: &[u8]) -> Result<(), RequestError> {
    if line.is_empty() {
        return Ok(());
    }
    let colon = line.iter().position(|&b| b == b':');
    match colon {
        Some(at)
            if at > 0
                && line[..at].iter().all(|&b| super::method::is_tchar(b))
                && line[at + 1..].iter().all(|&b| is_text(b)) =>
        {
            Ok(())
        }
        _ => Err(RequestError::bad("malformed trailer field")),
    }
}

/// Appends everything up to the end of input to `out`, refusing more than
/// `max` bytes in all (a response without length: the client's case).
pub(crate) fn read_to_end_limited<R: Read + ?Sized>(
    rbuf: &mut ReadBuf,
    reader: &mut R,
    out: &mut Vec<u8>,
    max: usize,
) -> io::Result<()> {
    out.extend_from_slice(rbuf.data());
    rbuf.consume(rbuf.data().len());
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if out.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "body larger than the limit",
            ));
        }
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` fed `step` bytes a read (to cross every boundary).
    fn decode(wire: &[u8], step: usize, max_body: usize) -> Result<(Vec<u8>, Vec<u8>), u16> {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut reader = Trickle(wire, step);
        let mut rbuf = ReadBuf::with_capacity(16);
        let mut out = Vec::new();
        let mut pace = BodyPace::unlimited();
        match read_chunked(&mut rbuf, &mut reader, &mut out, max_body, 1024, &mut pace) {
            Ok(()) => {
                let mut rest = rbuf.data().to_vec();
                rest.extend_from_slice(reader.0);
                Ok((out, rest))
            }
            Err(Failure::Reject(err)) => Err(err.status),
            Err(Failure::Io(err)) => {
                assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
                Err(0)
            }
        }
    }

    #[test]
    fn decodes_across_any_split() {
        let wire = b"5\r\nhello\r\n7;name=\"v\"\r\n, world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in 1..wire.len() {
            let (body, rest) = decode(wire, step, 100).unwrap();
            assert_eq!(body, b"hello, world", "step {step}");
            assert_eq!(rest, b"NEXT", "step {step}");
        }
    }

    #[test]
    fn big_and_uppercase_sizes() {
        let mut wire = b"1A\r\n".to_vec();
        wire.extend_from_slice(&[b'x'; 26]);
        wire.extend_from_slice(b"\r\n000\r\n\r\n");
        assert_eq!(decode(&wire, 1000, 100).unwrap().0.len(), 26);
    }

    #[test]
    fn refuses_malformed_framing() {
        for bad in [
            &b"5\nhello\r\n0\r\n\r\n"[..],
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhello\r\n0\n\r\n",
            b"5\r\nhello\r\n0\r\n\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"x\r\nhello\r\n0\r\n\r\n",
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"5 \r\nhello\r\n0\r\n\r\n",
            b"5;a\x01b\r\nhello\r\n0\r\n\r\n",
            b"10000000000000000\r\n",
            b"0\r\nBad Trailer\r\n\r\n",
            b"0\r\n folded: x\r\n\r\n",
        ] {
            assert_eq!(
                decode(bad, 3, 1 << 20),
                Err(400),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn sizes_up_to_64_bits_parse_then_hit_the_limit() {
        assert_eq!(decode(b"ffffffffffffffff\r\n", 100, 1 << 20), Err(413));
        assert_eq!(
            decode(b"0000000000000000000005\r\nhello\r\n0\r\n\r\n", 100, 10)
                .unwrap()
                .0,
            b"hello"
        );
    }

    #[test]
    fn limit_counts_the_running_total() {
        let wire = b"4\r\nabcd\r\n4\r\nefgh\r\n0\r\n\r\n";
        assert!(decode(wire, 100, 8).is_ok());
        assert_eq!(decode(wire, 100, 7), Err(413));
    }

    #[test]
    fn overlong_lines_and_trailers() {
        let mut wire = b"5;".to_vec();
        wire.extend_from_slice(&[b'e'; MAX_CHUNK_LINE]);
        wire.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        assert_eq!(decode(&wire, 100, 100), Err(400));
        let mut wire = b"0\r\n".to_vec();
        for _ in 0..100 {
            wire.extend_from_slice(b"X-Trailer: 0123456789\r\n");
        }
        wire.extend_from_slice(b"\r\n");
        assert_eq!(decode(&wire, 100, 100), Err(431));
    }

    #[test]
    fn a_trailer_limit_of_usize_max_means_no_limit() {
        // `http.request.max_header_size` at its largest value also bounds the
        // trailers: a trailer line split over reads must still be read.
        let wire = b"2\r\nhi\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
        let mut reader: &[u8] = wire;
        let mut rbuf = ReadBuf::with_capacity(16);
        let mut out = Vec::new();
        let mut pace = BodyPace::unlimited();
        struct OneByte<'a>(&'a mut &'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                *self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let result = read_chunked(
            &mut rbuf,
            &mut OneByte(&mut reader),
            &mut out,
            100,
            usize::MAX,
            &mut pace,
        );
        assert!(result.is_ok());
        assert_eq!(out, b"hi");
    }

    #[test]
    fn truncated_input_is_eof() {
        assert_eq!(decode(b"5\r\nhel", 2, 100), Err(0));
        assert_eq!(decode(b"5\r\nhello\r\n", 2, 100), Err(0));
    }

    #[test]
    fn exact_body_takes_buffered_bytes_first() {
        let mut first: &[u8] = b"abc";
        let mut rbuf = ReadBuf::with_capacity(16);
        rbuf.fill(&mut first).unwrap();
        let mut rest: &[u8] = b"defgh-next";
        let mut out = Vec::new();
        let mut pace = BodyPace::unlimited();
        read_exact_body(&mut rbuf, &mut rest, &mut out, 8, &mut pace).unwrap();
        assert_eq!(out, b"abcdefgh");
        assert_eq!(rest, b"-next");
        let mut empty: &[u8] = b"";
        let err = read_exact_body(&mut rbuf, &mut empty, &mut out, 1, &mut pace).unwrap_err();
        assert_eq!(err.into_io().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn behind_is_exact_at_the_line_and_never_overflows() {
        let ms = Duration::from_millis;
        // 5 s of grace, 240 B/s: 480 bytes buy 2 s more.
        assert!(!behind(ms(7000), 480, 240, ms(5000)));
        assert!(behind(ms(7001), 480, 240, ms(5000)));
        assert!(!behind(ms(4999), 0, 240, ms(5000)));
        assert!(behind(ms(5001), 0, 240, ms(5000)));
        // Extremes: no panic, no wrap.
        assert!(behind(Duration::MAX, u64::MAX, u64::MAX, Duration::ZERO));
        assert!(!behind(Duration::MAX, u64::MAX, 1, Duration::MAX));
        assert!(!behind(ms(1000), u64::MAX, 1, Duration::ZERO));
        assert!(behind(ms(1), 0, u64::MAX, Duration::ZERO));
    }

    #[test]
    fn a_buffered_body_never_checks_the_pace() {
        // A zero grace and the highest rate: any check would refuse.
        let mut pace = BodyPace::new(u64::MAX, Duration::ZERO, 0);
        let mut wire: &[u8] = b"5\r\nhello\r\n0\r\n\r\n";
        let mut rbuf = ReadBuf::with_capacity(64);
        rbuf.fill(&mut wire).unwrap();
        let mut out = Vec::new();
        let mut nothing: &[u8] = b"";
        assert!(read_chunked(&mut rbuf, &mut nothing, &mut out, 100, 100, &mut pace).is_ok());
        assert_eq!(pace.start, None);
        // A read from the peer starts the clock (an hour of grace: it passes).
        let mut pace = BodyPace::new(1, Duration::from_secs(3600), 0);
        let mut more: &[u8] = b"abc";
        read_exact_body(&mut rbuf, &mut more, &mut out, 3, &mut pace).unwrap();
        assert!(pace.start.is_some());
    }
}
