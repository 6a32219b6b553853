//! [`SendPace`]: the minimum rate at which a client must take a response,
//! kept through what a [`SessionStream`] lets the session do to its send
//! timeout.
//!
//! A socket's write timeout bounds one write. A client that reads a large
//! response a few bytes at a time (the *slow read* attack: a tiny receive
//! window, a read now and then) lets every write make a little progress, so
//! no write ever times out, and it can hold the connection, the response's
//! memory or a streamed body's reader for hours. The request side has
//! [`BodyPace`](super::body): this is its mirror. A large response must be
//! taken at `min_send_rate` bytes/s after `send_grace`, and each write that
//! may wait is given a timeout no longer than what that rate still allows,
//! so the cut comes on time even while the client keeps a write busy.

use std::io::{self, IoSlice, Write};
use std::time::{Duration, Instant};

use super::body::behind;
use super::session_stream::SessionStream;

/// Responses smaller than this are written with the socket's write timeout
/// alone: they fit in a socket's send buffer (so they rarely wait at all)
/// and cost little memory while they do. Larger writes, and every piece of
/// a streamed body, keep the pace.
pub(crate) const PACED_FROM: usize = 64 * 1024;

// ANCHOR: send_pace
/// The minimum rate at which a client must take one response, after a grace
/// period (Kestrel's `MinResponseDataRate`). Only the time spent waiting in
/// writes counts, so a streamed body whose reader is slow (a slow upstream)
/// is not blamed on its client. The response is too slow once that time
/// exceeds `grace + taken / min_rate`; before each write the socket's send
/// timeout is lowered to what is left of it, so no write waits past the
/// line, and put back when the response is done. `taken` is what the
/// writes accepted less what the peer has not taken yet
/// ([`SessionStream::unread_by_peer`], asked before each check but the
/// first): a send buffer the kernel filled buys the client nothing.
#[derive(Debug)]
pub(crate) struct SendPace {
    /// Bytes per second; 0 turns the check off.
    min_rate: u64,
    grace: Duration,
    /// Bytes of this response the writes accepted.
    sent: u64,
    /// Of all the bytes written to the stream, what the peer had not taken
    /// when last asked (0 if the stream cannot tell). It may include the
    /// tail of an earlier, unpaced response: that too is still unread.
    unread: u64,
    /// Time spent in writes of this response.
    waited: Duration,
    /// The stream's timeouts, once the pace has read them; `None` while it
    /// has not touched the stream.
    timeouts: Option<Timeouts>,
}

/// A stream's send timeouts, as [`SendPace`] knows them.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    /// The stream's own, read before the pace first changed it.
    base: Option<Duration>,
    /// The one the stream has now.
    current: Option<Duration>,
}

impl Timeouts {
    /// The pace's own timeout is in force, not the stream's.
    fn lowered(&self) -> bool {
        self.base != self.current
    }
}

impl SendPace {
    /// At least `min_rate` bytes/s (0: no check) after `grace`.
    pub(crate) fn new(min_rate: u64, grace: Duration) -> SendPace {
        SendPace {
            min_rate,
            grace,
            sent: 0,
            unread: 0,
            waited: Duration::ZERO,
            timeouts: None,
        }
    }

    /// How long the next write may wait: `None` without a minimum rate,
    /// zero once the response is behind its schedule.
    fn allowance(&self) -> Option<Duration> {
        match self.min_rate {
            0 => None,
            rate => Some(budget(self.taken(), rate, self.grace).saturating_sub(self.waited)),
        }
    }

    /// Bytes the client has taken: what the writes accepted, less what the
    /// kernel still holds for it.
    fn taken(&self) -> u64 {
        self.sent.saturating_sub(self.unread)
    }

    /// Asks `stream` what its peer has not taken yet. Not without a rate,
    /// and not before the first write (nothing of this response can be
    /// taken then): a response that goes out in one write pays no system
    /// call for it.
    fn recount<S: SessionStream + ?Sized>(&mut self, stream: &S) {
        if self.min_rate != 0 && self.sent > 0 {
            self.unread = stream.unread_by_peer().map_or(0, |n| n as u64);
        }
    }

    /// Whether the client has fallen behind: `waited > grace + taken / rate`,
    /// the body side's rule (never, with no rate).
    pub(crate) fn is_behind(&self) -> bool {
        behind(self.waited, self.taken(), self.min_rate, self.grace)
    }

    /// What the client took, and how long we waited for it (for the log).
    pub(crate) fn progress(&self) -> (u64, Duration) {
        (self.taken(), self.waited)
    }

    /// Gives the stream the send timeout for the next write: the smaller of
    /// its own and what the rate allows. Sets it only when it changes.
    fn arm<S: SessionStream + ?Sized>(&mut self, stream: &S, allowed: Duration) -> io::Result<()> {
        let timeouts = match &mut self.timeouts {
            Some(timeouts) => timeouts,
            None => {
                // Read once; the stream has it until the pace sets another.
                let base = stream.send_timeout()?;
                self.timeouts.insert(Timeouts {
                    base,
                    current: base,
                })
            }
        };
        let want = Some(timeouts.base.map_or(allowed, |base| base.min(allowed)));
        if timeouts.current != want {
            stream.set_send_timeout(want)?;
            timeouts.current = want;
        }
        Ok(())
    }

    /// Puts the stream's own send timeout back, if the pace changed it.
    pub(crate) fn restore<S: SessionStream + ?Sized>(&mut self, stream: &S) -> io::Result<()> {
        if let Some(timeouts) = &mut self.timeouts
            && timeouts.lowered()
        {
            stream.set_send_timeout(timeouts.base)?;
            timeouts.current = timeouts.base;
        }
        Ok(())
    }
}

/// `grace + sent / rate` (`rate > 0`), exactly to the nanosecond below,
/// in integers: `sent * 10^9` fits in a `u128`, and the quotient's seconds
/// in a `u64` (they are at most `sent`); past `Duration::MAX`, saturates.
/// `waited > budget` is then exactly `behind` of `BodyPace`: past the
/// grace, `over_ns * rate > sent * 10^9`.
fn budget(sent: u64, rate: u64, grace: Duration) -> Duration {
    let ns = u128::from(sent) * 1_000_000_000 / u128::from(rate);
    let secs = u64::try_from(ns / 1_000_000_000).unwrap_or(u64::MAX);
    let at_rate = Duration::new(secs, (ns % 1_000_000_000) as u32);
    grace.checked_add(at_rate).unwrap_or(Duration::MAX)
}
// ANCHOR_END: send_pace

/// Why a paced write stopped.
#[derive(Debug)]
pub(crate) enum Unsent {
    /// The client fell behind the minimum rate.
    TooSlow,
    /// The write failed, or waited past the socket's own timeout.
    Io(io::Error),
}

// ANCHOR: write_paced
/// `write_all` for several slices that keeps `pace`: before each write the
/// send timeout is the smaller of the socket's and what the rate allows
/// for the bytes the client has taken (written, less what the kernel still
/// holds); after it, the bytes written and the time spent are counted. A
/// write that times out is `TooSlow` if the rate is what cut it. The socket's own
/// timeout is left lowered: [`SendPace::restore`] puts it back.
pub(crate) fn write_paced<W: Write + SessionStream + ?Sized>(
    out: &mut W,
    mut slices: &mut [IoSlice<'_>],
    pace: &mut SendPace,
) -> Result<(), Unsent> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        pace.recount(out);
        if let Some(allowed) = pace.allowance() {
            if allowed.is_zero() {
                return Err(Unsent::TooSlow);
            }
            pace.arm(out, allowed).map_err(Unsent::Io)?;
        }
        let began = Instant::now();
        let result = out.write_vectored(slices);
        pace.waited = pace.waited.saturating_add(began.elapsed());
        match result {
            Ok(0) => return Err(Unsent::Io(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                pace.sent = pace.sent.saturating_add(n as u64);
                IoSlice::advance_slices(&mut slices, n);
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if timed_out(&err) && pace.cut_by_rate(out) => return Err(Unsent::TooSlow),
            Err(err) => return Err(Unsent::Io(err)),
        }
    }
    out.flush().map_err(Unsent::Io)
}
// ANCHOR_END: write_paced

/// How a send timeout shows: `WouldBlock` (EAGAIN) from the kernel and the
/// hook, `TimedOut` from streams that say so.
fn timed_out(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl SendPace {
    /// After a write that timed out: whether the rate's timeout was the one
    /// in force (shorter than the socket's own), or the response is behind.
    fn cut_by_rate<S: SessionStream + ?Sized>(&mut self, stream: &S) -> bool {
        if self.timeouts.is_some_and(|t| t.lowered()) {
            return true;
        }
        self.recount(stream);
        self.is_behind()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace_after(waited: Duration, sent: u64, rate: u64, grace: Duration) -> SendPace {
        SendPace {
            sent,
            waited,
            ..SendPace::new(rate, grace)
        }
    }

    #[test]
    fn behind_is_exact_at_the_line() {
        let ms = Duration::from_millis;
        // 5 s of grace, 240 B/s: 480 bytes buy 2 s more.
        assert!(!pace_after(ms(7000), 480, 240, ms(5000)).is_behind());
        assert!(pace_after(ms(7000) + Duration::from_nanos(1), 480, 240, ms(5000)).is_behind());
        assert!(!pace_after(ms(5000), 0, 240, ms(5000)).is_behind());
        assert!(pace_after(ms(5001), 0, 240, ms(5000)).is_behind());
        // A third of a second per byte: the budget rounds down, the rule
        // does not move (1 byte at 3 B/s is 333_333_333.3 ns).
        let third = Duration::from_nanos(333_333_333);
        assert!(!pace_after(third, 1, 3, Duration::ZERO).is_behind());
        assert!(pace_after(third + Duration::from_nanos(1), 1, 3, Duration::ZERO).is_behind());
        // What is left to wait is the distance to the line.
        assert_eq!(
            pace_after(ms(6000), 480, 240, ms(5000)).allowance(),
            Some(ms(1000))
        );
        assert_eq!(
            pace_after(ms(9000), 480, 240, ms(5000)).allowance(),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn extremes_neither_panic_nor_wrap() {
        let max = Duration::MAX;
        assert_eq!(budget(u64::MAX, 1, max), max);
        assert_eq!(budget(u64::MAX, 1, Duration::ZERO).as_secs(), u64::MAX);
        assert_eq!(
            budget(u64::MAX, u64::MAX, Duration::ZERO),
            Duration::from_secs(1)
        );
        assert_eq!(budget(0, u64::MAX, Duration::ZERO), Duration::ZERO);
        assert!(pace_after(max, u64::MAX, u64::MAX, Duration::ZERO).is_behind());
        assert!(!pace_after(max, u64::MAX, 1, max).is_behind());
        assert!(pace_after(Duration::from_nanos(1), 0, u64::MAX, Duration::ZERO).is_behind());
        assert_eq!(pace_after(max, 0, 0, Duration::ZERO).allowance(), None);
        assert!(!pace_after(max, 0, 0, Duration::ZERO).is_behind());
    }

    #[test]
    fn agrees_with_the_body_rule_everywhere_on_a_grid() {
        let times = [0, 1, 999, 1_000_000, 333_333_333, 2_000_000_000, u64::MAX];
        let counts = [0, 1, 3, 480, 1 << 20, u64::MAX];
        let rates = [1, 3, 240, 1 << 20, u64::MAX];
        for &t in &times {
            for &g in &times {
                for &sent in &counts {
                    for &rate in &rates {
                        let (t, g) = (Duration::from_nanos(t), Duration::from_nanos(g));
                        assert_eq!(
                            t > budget(sent, rate, g),
                            behind(t, sent, rate, g),
                            "waited {t:?}, grace {g:?}, sent {sent}, rate {rate}"
                        );
                    }
                }
            }
        }
    }

    /// Records the timeouts it is given, and counts how often its own is
    /// read; each write takes `step` bytes.
    struct Recorder {
        own: Option<Duration>,
        reads: std::cell::Cell<usize>,
        set: std::cell::RefCell<Vec<Option<Duration>>>,
        step: usize,
        written: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step);
            self.written += n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl SessionStream for Recorder {
        fn send_timeout(&self) -> io::Result<Option<Duration>> {
            self.reads.set(self.reads.get() + 1);
            Ok(self.own)
        }
        fn set_send_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            assert_ne!(timeout, Some(Duration::ZERO));
            self.set.borrow_mut().push(timeout);
            Ok(())
        }
    }

    #[test]
    fn each_write_waits_no_longer_than_the_rate_allows_and_the_timeout_comes_back() {
        let own = Some(Duration::from_secs(120));
        let mut out = Recorder {
            own,
            reads: Default::default(),
            set: Default::default(),
            step: 1000,
            written: 0,
        };
        // 1 s of grace, 1000 B/s: the first write may wait 1 s, the second
        // about 2 s, and so on, all below the socket's own 120 s.
        let mut pace = SendPace::new(1000, Duration::from_secs(1));
        let data = [7u8; 3000];
        write_paced(&mut out, &mut [IoSlice::new(&data)], &mut pace).unwrap();
        assert_eq!(out.written, 3000);
        assert_eq!(pace.progress().0, 3000);
        let set = out.set.borrow().clone();
        assert_eq!(set.len(), 3);
        assert_eq!(set[0], Some(Duration::from_secs(1)));
        for (i, t) in set.iter().enumerate() {
            let t = t.unwrap();
            assert!(t <= Duration::from_secs(1 + i as u64), "{i}: {t:?}");
            assert!(t > Duration::from_secs(i as u64), "{i}: {t:?}");
        }
        pace.restore(&out).unwrap();
        assert_eq!(out.set.borrow().last(), Some(&own));
        // A generous rate never needs the timeout lowered below the
        // socket's: it is read, and never set.
        let mut out = Recorder {
            own: Some(Duration::from_millis(10)),
            reads: Default::default(),
            set: Default::default(),
            step: usize::MAX,
            written: 0,
        };
        let mut pace = SendPace::new(1, Duration::from_secs(3600));
        write_paced(&mut out, &mut [IoSlice::new(&data)], &mut pace).unwrap();
        pace.restore(&out).unwrap();
        assert!(out.set.borrow().is_empty(), "{:?}", out.set.borrow());
    }

    #[test]
    fn without_a_rate_the_timeout_is_never_touched() {
        let mut out = Recorder {
            own: Some(Duration::from_secs(1)),
            reads: Default::default(),
            set: Default::default(),
            step: 10,
            written: 0,
        };
        let mut pace = SendPace::new(0, Duration::ZERO);
        write_paced(&mut out, &mut [IoSlice::new(&[1u8; 95])], &mut pace).unwrap();
        pace.restore(&out).unwrap();
        assert_eq!(out.written, 95);
        assert!(out.set.borrow().is_empty());
        assert_eq!(out.reads.get(), 0, "not even read");
    }

    /// Every write times out after taking nothing.
    struct Stalled;

    impl Write for Stalled {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::WouldBlock.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl SessionStream for Stalled {
        fn send_timeout(&self) -> io::Result<Option<Duration>> {
            Ok(Some(Duration::from_secs(120)))
        }
    }

    /// Takes every write whole, and says that `unread` bytes are still
    /// queued for the peer; records the timeouts it is given and counts the
    /// questions.
    struct Queued {
        unread: usize,
        asked: std::cell::Cell<usize>,
        set: std::cell::RefCell<Vec<Option<Duration>>>,
    }

    impl Queued {
        fn new(unread: usize) -> Queued {
            Queued {
                unread,
                asked: Default::default(),
                set: Default::default(),
            }
        }
    }

    impl Write for Queued {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl SessionStream for Queued {
        fn set_send_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
            self.set.borrow_mut().push(timeout);
            Ok(())
        }
        fn unread_by_peer(&self) -> Option<usize> {
            self.asked.set(self.asked.get() + 1);
            Some(self.unread)
        }
    }

    #[test]
    fn bytes_the_peer_has_not_taken_buy_no_time() {
        let (ms, grace) = (Duration::from_millis, Duration::from_secs(1));
        // 3000 bytes written at 1000 B/s, 1.5 s waited: counted as taken
        // they would allow 2.5 s more; all still queued, none.
        let mut out = Queued::new(3000);
        let mut pace = pace_after(ms(1500), 3000, 1000, grace);
        let got = write_paced(&mut out, &mut [IoSlice::new(b"abc")], &mut pace);
        assert!(matches!(got, Err(Unsent::TooSlow)), "{got:?}");
        assert_eq!(out.asked.get(), 1);
        assert_eq!(pace.progress(), (0, ms(1500)));
        // 1000 of them queued: 2000 taken buy 2 s, 0.5 s of which are left.
        let mut out = Queued::new(1000);
        let mut pace = pace_after(ms(2500), 3000, 1000, grace);
        write_paced(&mut out, &mut [IoSlice::new(b"abc")], &mut pace).unwrap();
        assert_eq!(out.set.borrow()[0], Some(ms(500)));
        // The first write of a response asks nothing, and neither does a
        // pace without a rate.
        for rate in [1000, 0] {
            let mut out = Queued::new(10);
            let mut pace = SendPace::new(rate, grace);
            write_paced(&mut out, &mut [IoSlice::new(&[0u8; 100])], &mut pace).unwrap();
            assert_eq!(out.asked.get(), 0, "rate {rate}");
        }
    }

    #[test]
    fn a_timeout_under_the_rate_is_too_slow_and_one_without_it_is_an_error() {
        let mut pace = SendPace::new(1000, Duration::from_secs(1));
        let got = write_paced(&mut Stalled, &mut [IoSlice::new(b"abc")], &mut pace);
        assert!(matches!(got, Err(Unsent::TooSlow)), "{got:?}");
        let mut pace = SendPace::new(0, Duration::ZERO);
        let got = write_paced(&mut Stalled, &mut [IoSlice::new(b"abc")], &mut pace);
        assert!(matches!(got, Err(Unsent::Io(ref e)) if e.kind() == io::ErrorKind::WouldBlock));
        // Already behind: refused before a write is tried.
        let mut pace = pace_after(Duration::from_secs(2), 0, 1000, Duration::from_secs(1));
        let got = write_paced(&mut Stalled, &mut [IoSlice::new(b"abc")], &mut pace);
        assert!(matches!(got, Err(Unsent::TooSlow)), "{got:?}");
        assert_eq!(pace.progress(), (0, Duration::from_secs(2)));
    }
}
