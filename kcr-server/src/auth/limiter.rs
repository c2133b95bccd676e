//! Slows down repeated failed logins from one client: after `max_failures` failures within
//! `window`, further attempts are refused with 429 until the window has passed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed-login counter per client address.
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    state: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl LoginLimiter {
    /// A limiter allowing `max_failures` per `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginLimiter {
            max_failures,
            window,
            state: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds to wait before `client` may try again, if it is blocked.
    pub fn retry_after(&self, client: IpAddr) -> Option<u64> {
        let map = self.lock();
        let (count, since) = map.get(&client)?;
        let elapsed = since.elapsed();
        (*count >= self.max_failures && elapsed < self.window)
            .then(|| (self.window - elapsed).as_secs().max(1))
    }

    /// Records a failed attempt.
    pub fn failed(&self, client: IpAddr) {
        let mut map = self.lock();
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, (_, since)| since.elapsed() < window);
        }
        let entry = map.entry(client).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    /// Clears a client's failures after a successful login.
    pub fn succeeded(&self, client: IpAddr) {
        self.lock().remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_repeated_failures() {
        let l = LoginLimiter::new(3, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..2 {
            l.failed(ip);
        }
        assert!(l.retry_after(ip).is_none());
        l.failed(ip);
        assert!(l.retry_after(ip).is_some());
        assert!(l.retry_after(other).is_none());
        l.succeeded(ip);
        assert!(l.retry_after(ip).is_none());
    }
}
