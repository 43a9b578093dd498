//! Brute-force and flood guards of the handshake: the lockout after failed password logins
//! (per identity and per source address) and the cap on handshakes at once per address.
//!
//! Both are in-memory and per process: a restart forgets them, which only gives an attacker
//! the few attempts before the next lock.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ampere_domain::ChargerId;
use tokio::time::Instant;

use crate::config::LockoutConfig;

/// Entries kept before expired ones are swept.
const SWEEP_ABOVE: usize = 4096;
/// Entries kept at most: beyond that, new failures are not counted (the limit holds memory
/// bounded under a flood of spoofed identities; addresses are what that flood cannot fake).
const MAX_ENTRIES: usize = 100_000;

/// What is locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockScope {
    Identity,
    Address,
}

impl LockScope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Address => "address",
        }
    }
}

/// A lock that is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Locked {
    pub(crate) scope: LockScope,
    /// Time left, rounded up to whole seconds (at least 1).
    pub(crate) retry_after_secs: u64,
}

/// A lock that a failure just started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NewLock {
    pub(crate) scope: LockScope,
    pub(crate) duration: Duration,
    /// How many locks in a row (the duration doubles with each).
    pub(crate) nth: u32,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    window_start: Instant,
    count: u32,
    locked_until: Option<Instant>,
    /// Locks in a row; reset by a success or a long quiet time.
    locks: u32,
}

impl Failures {
    fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            count: 0,
            locked_until: None,
            locks: 0,
        }
    }

    fn expired(&self, now: Instant, config: &LockoutConfig) -> bool {
        let lock_over = self
            .locked_until
            .is_none_or(|until| until + config.max_lock <= now);
        lock_over && self.window_start + config.window <= now
    }
}

/// Counts failures in a window and locks keys that reach their limit.
struct Counter<K> {
    entries: HashMap<K, Failures>,
}

impl<K: Eq + Hash + Clone> Counter<K> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }

    fn locked(&self, key: &K, now: Instant) -> Option<Duration> {
        let until = self.entries.get(key)?.locked_until?;
        (until > now).then(|| until - now)
    }

    fn fail(
        &mut self,
        key: &K,
        limit: u32,
        now: Instant,
        config: &LockoutConfig,
    ) -> Option<(Duration, u32)> {
        if limit == 0 {
            return None;
        }
        if self.entries.len() >= SWEEP_ABOVE && !self.entries.contains_key(key) {
            self.entries.retain(|_, f| !f.expired(now, config));
            if self.entries.len() >= MAX_ENTRIES {
                return None;
            }
        }
        let entry = self
            .entries
            .entry(key.clone())
            .or_insert_with(|| Failures::new(now));
        if entry.window_start + config.window <= now {
            entry.window_start = now;
            entry.count = 0;
        }
        // A long quiet time since the last lock ended starts the doubling again.
        if entry
            .locked_until
            .is_some_and(|until| until + config.max_lock <= now)
        {
            entry.locks = 0;
        }
        entry.count += 1;
        if entry.count < limit {
            return None;
        }
        entry.count = 0;
        entry.window_start = now;
        entry.locks = entry.locks.saturating_add(1);
        let factor = 1u32 << (entry.locks - 1).min(16);
        let duration = config.lock.saturating_mul(factor).min(config.max_lock);
        entry.locked_until = Some(now + duration);
        Some((duration, entry.locks))
    }

    fn forget(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

/// The lockout after failed logins.
pub(crate) struct AuthGuard {
    config: LockoutConfig,
    state: Mutex<GuardState>,
}

struct GuardState {
    identities: Counter<ChargerId>,
    addresses: Counter<IpAddr>,
}

impl AuthGuard {
    pub(crate) fn new(config: LockoutConfig) -> Self {
        Self {
            config,
            state: Mutex::new(GuardState {
                identities: Counter::new(),
                addresses: Counter::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, GuardState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a login for `identity` from `address` may be tried now.
    pub(crate) fn check(&self, identity: &ChargerId, address: IpAddr) -> Result<(), Locked> {
        self.check_at(identity, address, Instant::now())
    }

    fn check_at(&self, identity: &ChargerId, address: IpAddr, now: Instant) -> Result<(), Locked> {
        let state = self.state();
        let locked = |scope, left: Duration| Locked {
            scope,
            retry_after_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        };
        if let Some(left) = state.identities.locked(identity, now) {
            return Err(locked(LockScope::Identity, left));
        }
        if let Some(left) = state.addresses.locked(&address, now) {
            return Err(locked(LockScope::Address, left));
        }
        Ok(())
    }

    /// Counts a failed login; returns the locks it started.
    pub(crate) fn failed(&self, identity: &ChargerId, address: IpAddr) -> Vec<NewLock> {
        self.failed_at(identity, address, Instant::now())
    }

    fn failed_at(&self, identity: &ChargerId, address: IpAddr, now: Instant) -> Vec<NewLock> {
        let config = self.config;
        let mut state = self.state();
        let mut locks = Vec::new();
        if let Some((duration, nth)) =
            state
                .identities
                .fail(identity, config.max_failures_per_identity, now, &config)
        {
            locks.push(NewLock {
                scope: LockScope::Identity,
                duration,
                nth,
            });
        }
        if let Some((duration, nth)) =
            state
                .addresses
                .fail(&address, config.max_failures_per_address, now, &config)
        {
            locks.push(NewLock {
                scope: LockScope::Address,
                duration,
                nth,
            });
        }
        locks
    }

    /// A successful login clears its identity's failures. The address keeps its count: one
    /// valid password must not buy an attacker fresh guesses at other identities.
    pub(crate) fn succeeded(&self, identity: &ChargerId) {
        self.state().identities.forget(identity);
    }
}

/// Handshakes in progress per source address, capped.
pub(crate) struct HandshakeSlots {
    max_per_address: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One handshake's place; freed when dropped.
pub(crate) struct HandshakeSlot {
    slots: Arc<HandshakeSlots>,
    address: IpAddr,
}

impl HandshakeSlots {
    pub(crate) fn new(max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_address: max_per_address.max(1),
            counts: Mutex::new(HashMap::new()),
        })
    }

    fn counts(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A slot for a handshake from `address`, or `None` when it has its maximum already.
    pub(crate) fn acquire(self: &Arc<Self>, address: IpAddr) -> Option<HandshakeSlot> {
        let mut counts = self.counts();
        let count = counts.entry(address).or_insert(0);
        if *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(HandshakeSlot {
            slots: self.clone(),
            address,
        })
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut counts = self.slots.counts();
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LockoutConfig {
        LockoutConfig {
            max_failures_per_identity: 3,
            max_failures_per_address: 5,
            window: Duration::from_secs(60),
            lock: Duration::from_secs(10),
            max_lock: Duration::from_secs(25),
        }
    }

    fn id(s: &str) -> ChargerId {
        ChargerId::new(s).unwrap()
    }

    #[test]
    fn identity_locks_after_its_limit_and_the_lock_grows() {
        let guard = AuthGuard::new(config());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let mut now = Instant::now();
        let secs = Duration::from_secs;
        assert!(guard.failed_at(&id("CP-1"), ip, now).is_empty());
        assert!(guard.failed_at(&id("CP-1"), other, now).is_empty());
        let locks = guard.failed_at(&id("CP-1"), ip, now);
        assert_eq!(
            locks,
            vec![NewLock {
                scope: LockScope::Identity,
                duration: secs(10),
                nth: 1
            }]
        );
        let locked = guard.check_at(&id("CP-1"), other, now).unwrap_err();
        assert_eq!(locked.scope, LockScope::Identity);
        assert_eq!(locked.retry_after_secs, 10);
        assert!(
            guard.check_at(&id("CP-2"), ip, now).is_ok(),
            "other identities unaffected"
        );

        now += secs(10);
        assert!(
            guard.check_at(&id("CP-1"), ip, now).is_ok(),
            "the lock ends"
        );
        for _ in 0..2 {
            assert!(guard.failed_at(&id("CP-1"), other, now).is_empty());
        }
        let again = guard.failed_at(&id("CP-1"), other, now);
        assert_eq!(again[0].duration, secs(20), "doubled");
        now += secs(20);
        for _ in 0..2 {
            guard.failed_at(&id("CP-1"), other, now);
        }
        let capped = guard.failed_at(&id("CP-1"), other, now);
        assert_eq!(capped[0].duration, secs(25), "capped");

        now += secs(25);
        guard.succeeded(&id("CP-1"));
        let fresh_ip: IpAddr = "10.0.0.3".parse().unwrap();
        for _ in 0..2 {
            guard.failed_at(&id("CP-1"), fresh_ip, now);
        }
        let fresh = guard.failed_at(&id("CP-1"), fresh_ip, now);
        assert_eq!(fresh[0].nth, 1, "a success starts the doubling again");
    }

    #[test]
    fn address_locks_across_identities_and_failures_expire() {
        let guard = AuthGuard::new(config());
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let now = Instant::now();
        for n in 0..4 {
            assert!(guard.failed_at(&id(&format!("CP-{n}")), ip, now).is_empty());
        }
        let locks = guard.failed_at(&id("CP-9"), ip, now);
        assert_eq!(locks[0].scope, LockScope::Address);
        assert_eq!(
            guard.check_at(&id("CP-NEW"), ip, now).unwrap_err().scope,
            LockScope::Address
        );
        assert!(
            guard
                .check_at(&id("CP-NEW"), "10.0.0.10".parse().unwrap(), now)
                .is_ok()
        );

        // Failures older than the window do not count.
        let guard = AuthGuard::new(config());
        guard.failed_at(&id("CP-1"), ip, now);
        guard.failed_at(&id("CP-1"), ip, now);
        assert!(
            guard
                .failed_at(&id("CP-1"), ip, now + Duration::from_secs(61))
                .is_empty()
        );
    }

    #[test]
    fn handshake_slots_are_capped_per_address_and_freed() {
        let slots = HandshakeSlots::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = slots.acquire(a).unwrap();
        let _second = slots.acquire(a).unwrap();
        assert!(slots.acquire(a).is_none());
        assert!(slots.acquire(b).is_some());
        drop(first);
        assert!(slots.acquire(a).is_some());
    }
}
