//! The per-charger message rate limit: a token bucket. A charger over its rate is not
//! refused anything: the connection reads its next message later, so the charger's own
//! socket buffers hold the rest and TCP slows it down. Only a charger that is held back
//! without a pause for a long time (`rate_limit_abuse_after`) is disconnected.

use std::time::Duration;

use tokio::time::Instant;

pub(crate) struct TokenBucket {
    /// Tokens per second; 0 means no limit.
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
    /// Since when the charger has been held back without the bucket refilling to full.
    held_since: Option<Instant>,
}

/// What the bucket says about reading the next message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Read now.
    Go,
    /// Wait until then; `first` is true for the first wait of a held-back stretch.
    WaitUntil { at: Instant, first: bool },
}

impl TokenBucket {
    pub(crate) fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: if rate.is_finite() && rate > 0.0 {
                rate
            } else {
                0.0
            },
            burst,
            tokens: burst,
            updated: now,
            held_since: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.updated = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= self.burst {
            // Full again: the charger paused; a held-back stretch is over.
            self.held_since = None;
        }
    }

    /// Whether the next message may be read at `now`.
    pub(crate) fn check(&mut self, now: Instant) -> Verdict {
        if self.rate == 0.0 {
            return Verdict::Go;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            return Verdict::Go;
        }
        let first = self.held_since.is_none();
        if first {
            self.held_since = Some(now);
        }
        let wait = Duration::from_secs_f64((1.0 - self.tokens) / self.rate);
        Verdict::WaitUntil {
            at: now + wait,
            first,
        }
    }

    /// A message was read.
    pub(crate) fn take(&mut self, now: Instant) {
        if self.rate == 0.0 {
            return;
        }
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// How long the charger has been held back without a pause.
    pub(crate) fn held_for(&self, now: Instant) -> Duration {
        self.held_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3, start);
        for _ in 0..3 {
            assert_eq!(bucket.check(start), Verdict::Go);
            bucket.take(start);
        }
        let Verdict::WaitUntil { at, first: true } = bucket.check(start) else {
            panic!("the burst is spent");
        };
        assert_eq!(at - start, Duration::from_millis(100));
        assert!(matches!(
            bucket.check(start + Duration::from_millis(50)),
            Verdict::WaitUntil { first: false, .. }
        ));
        let later = start + Duration::from_millis(100);
        assert_eq!(bucket.check(later), Verdict::Go);
        bucket.take(later);
        assert_eq!(bucket.held_for(later), Duration::from_millis(100));
        // A pause long enough to refill ends the held-back stretch.
        let rested = later + Duration::from_secs(1);
        assert_eq!(bucket.check(rested), Verdict::Go);
        assert_eq!(bucket.held_for(rested), Duration::ZERO);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let now = Instant::now();
        let mut bucket = TokenBucket::new(0.0, 1, now);
        for _ in 0..1000 {
            assert_eq!(bucket.check(now), Verdict::Go);
            bucket.take(now);
        }
    }
}
