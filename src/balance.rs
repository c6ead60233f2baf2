//! The load and health of a [`Router`](crate::Router)'s backends, and the choice of the
//! backend for each attempt.
//!
//! Each backend has its calls in flight, a latency estimate and a count of failures in a row.
//! An attempt goes to the backend with the lowest `(in flight + 1) × latency`, the wait one
//! more call should expect there: "fewest in flight" alone would give a slow backend as many
//! calls as a fast one, and each would wait its full slowness. The estimate is a decaying peak
//! (Finagle's and Linkerd's "peak EWMA"): an answer slower than the estimate raises it at once,
//! and between answers it decays toward zero, so a backend that got fast again is tried again
//! and wins its traffic back. A call still out for longer than the estimate counts as the
//! estimate: a slow backend is known as slow before its first answer. A backend that keeps
//! failing is set aside for a cool-down, then probed by one call.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::error::Error;

/// Latencies below this count as this: calls of a few milliseconds (one host, a fast network)
/// differ by that much from one call to the next (a new connection, the scheduler of a busy
/// machine), and such noise must not pick favourites among equal backends. Model calls take
/// longer than this, so it leaves their choice alone.
const FLOOR: Duration = Duration::from_millis(20);
/// The time constant of the estimate's decay toward zero (it halves in about 2 s): short
/// enough that a backend that got fast again is soon tried again, long enough that one slow
/// answer keeps calls away for a while. Measured: 1 s and 3 s did as well, 10 s worse.
const DECAY: Duration = Duration::from_secs(3);

/// When a backend is set aside: the router's cool-down settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cooldown {
    /// Failures in a row that set a backend aside; 0: never.
    pub(crate) after: u32,
    /// The first cool-down.
    pub(crate) first: Duration,
    /// The longest cool-down (each failed probe doubles it up to this).
    pub(crate) max: Duration,
}

/// A backend's load and health.
struct Health {
    /// Calls in flight: sent and not ended (a routed stream ends when dropped).
    in_flight: usize,
    /// When each call not answered yet was sent.
    unanswered: Vec<Instant>,
    /// The latency estimate in seconds and when it was set; `None` before the first answer.
    latency: Option<(f64, Instant)>,
    failures: u32,
    /// Set aside until then; stays set, once passed, until the backend answers again.
    aside: Option<Instant>,
    /// The length of the current cool-down.
    cooldown: Duration,
    /// A probe is out: no other call goes there until it ends.
    probing: bool,
}

impl Health {
    /// The call sent at `sent` has its result.
    fn answered(&mut self, sent: Instant) {
        if let Some(k) = self.unanswered.iter().position(|&t| t == sent) {
            self.unanswered.swap_remove(k);
        }
    }

    /// The latency estimate now, decayed since it was set.
    fn estimate(&self, now: Instant) -> Option<f64> {
        self.latency.map(|(secs, at)| {
            let age = now.saturating_duration_since(at).as_secs_f64();
            secs * (-age / DECAY.as_secs_f64()).exp()
        })
    }

    /// How long the oldest call not answered yet has been out.
    fn waiting(&self, now: Instant) -> f64 {
        self.unanswered
            .iter()
            .min()
            .map_or(0.0, |&t| now.saturating_duration_since(t).as_secs_f64())
    }
}

/// The load and health of every backend of one router.
pub(crate) struct Balancer {
    /// Base URLs, for the log.
    names: Vec<String>,
    cooldown: Cooldown,
    health: Mutex<Vec<Health>>,
    /// Where the next choice starts among equals, so that they take turns.
    next: AtomicUsize,
}

/// A backend's load and health, as [`Router::backend_stats`](crate::Router::backend_stats)
/// reports them at one moment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BackendStats {
    /// The backend's base URL.
    pub base_url: String,
    /// Calls sent to it and not ended yet (a routed stream counts until it is dropped).
    pub in_flight: usize,
    /// The latency estimate the choice weighs, `None` before its first answer.
    pub latency: Option<Duration>,
    /// Failures in a row (connection errors, timeouts, 5xx); an answer resets it.
    pub failures: u32,
    /// Set aside until then. Once that time has passed, the next call probes the backend;
    /// `None` again when it answers.
    pub cooling_until: Option<Instant>,
}

impl Balancer {
    pub(crate) fn new(names: Vec<String>, cooldown: Cooldown) -> Balancer {
        let health = names
            .iter()
            .map(|_| Health {
                in_flight: 0,
                unanswered: Vec::new(),
                latency: None,
                failures: 0,
                aside: None,
                cooldown: cooldown.first.min(cooldown.max),
                probing: false,
            })
            .collect();
        Balancer {
            names,
            cooldown,
            health: Mutex::new(health),
            next: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Health>> {
        // Every critical section is a few assignments: the data stays consistent.
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot on the backend for the next attempt, among `candidates` not in `tried`: first
    /// one whose cool-down ended (the probe), else the lowest score among those not set
    /// aside, else the one whose cool-down ends first. `None` when every candidate was tried.
    pub(crate) fn take(self: &Arc<Self>, candidates: &[usize], tried: &[usize]) -> Option<Slot> {
        let open: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| !tried.contains(i))
            .collect();
        if open.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let turn: Vec<usize> = (0..open.len())
            .map(|k| open[start.wrapping_add(k) % open.len()])
            .collect();
        let now = Instant::now();
        let mut all = self.lock();
        let probe = turn
            .iter()
            .copied()
            .find(|&i| all[i].aside.is_some_and(|t| t <= now) && !all[i].probing);
        let (index, probe) = match probe {
            Some(i) => (i, true),
            None => (self.best(&all, candidates, &turn, now), false),
        };
        if probe {
            all[index].probing = true;
        }
        let slot = self.open(&mut all, index, probe);
        drop(all);
        if probe {
            log::info!("{}: cool-down over, probing it", self.names[index]);
        }
        Some(slot)
    }

    /// A slot on backend `index`, whatever its load and health (a retry of the same backend).
    pub(crate) fn take_this(self: &Arc<Self>, index: usize) -> Slot {
        self.open(&mut self.lock(), index, false)
    }

    /// Counts a call to backend `index` in flight from now.
    fn open(self: &Arc<Self>, all: &mut [Health], index: usize, probe: bool) -> Slot {
        let started = Instant::now();
        if let Some(h) = all.get_mut(index) {
            h.in_flight = h.in_flight.saturating_add(1);
            h.unanswered.push(started);
        }
        Slot {
            balancer: Arc::clone(self),
            index,
            started,
            probe,
            answered: false,
        }
    }

    /// The lowest score among `turn` not set aside (the first in turn among equals), else the
    /// backend whose cool-down ends first. `turn` is not empty.
    fn best(&self, all: &[Health], candidates: &[usize], turn: &[usize], now: Instant) -> usize {
        // A backend with no answer yet is taken to be as fast as the others on average.
        let known: Vec<f64> = candidates
            .iter()
            .filter_map(|&i| all[i].estimate(now))
            .collect();
        let neutral = if known.is_empty() {
            FLOOR.as_secs_f64()
        } else {
            known.iter().sum::<f64>() / known.len() as f64
        };
        let score = |i: usize| {
            let h = &all[i];
            let latency = h
                .estimate(now)
                .unwrap_or(neutral)
                .max(h.waiting(now))
                .max(FLOOR.as_secs_f64());
            (h.in_flight as f64 + 1.0) * latency
        };
        let ready: Vec<usize> = turn
            .iter()
            .copied()
            .filter(|&i| all[i].aside.is_none())
            .collect();
        let lowest = ready
            .iter()
            .map(|&i| score(i))
            .fold(f64::INFINITY, f64::min);
        if let Some(&i) = ready.iter().find(|&&i| score(i) <= lowest) {
            return i;
        }
        // All set aside: the call is sent anyway rather than failed.
        turn.iter()
            .copied()
            .min_by_key(|&i| all[i].aside)
            .unwrap_or(turn[0])
    }

    /// Every backend's load and health now.
    pub(crate) fn stats(&self) -> Vec<BackendStats> {
        let now = Instant::now();
        let all = self.lock();
        self.names
            .iter()
            .zip(all.iter())
            .map(|(name, h)| BackendStats {
                base_url: name.clone(),
                in_flight: h.in_flight,
                latency: h
                    .estimate(now)
                    .and_then(|s| Duration::try_from_secs_f64(s).ok()),
                failures: h.failures,
                cooling_until: h.aside,
            })
            .collect()
    }
}

impl fmt::Debug for Balancer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.stats()).finish()
    }
}

/// `now + d`, or as late as an `Instant` can be if that is past its range.
fn later(now: Instant, mut d: Duration) -> Instant {
    loop {
        if let Some(t) = now.checked_add(d) {
            return t;
        }
        if d.is_zero() {
            return now;
        }
        d /= 2;
    }
}

/// One attempt's place on a backend: it counts in flight until dropped (a routed stream
/// holds it until the stream is dropped).
pub(crate) struct Slot {
    balancer: Arc<Balancer>,
    index: usize,
    started: Instant,
    /// This attempt is the probe of a backend whose cool-down ended.
    probe: bool,
    /// Its result came back ([`Slot::settle`]).
    answered: bool,
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("backend", &self.index)
            .finish()
    }
}

impl Slot {
    /// The backend's index.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Records how the attempt ended: its latency, and a failure (connection error, timeout,
    /// 5xx) or an answer (anything else: a 4xx is the caller's fault, the server is fine).
    pub(crate) fn settle(&mut self, outcome: Result<(), &Error>) {
        let fault = outcome.err().filter(|e| {
            matches!(e, Error::Connection(_) | Error::Timeout(_))
                || e.status().is_some_and(|s| s >= 500)
        });
        // A refusal or a 5xx can come back at once: it says nothing of how fast the backend
        // answers, and taking it as a sample would draw calls to a broken server.
        let timed = fault.is_none_or(|e| matches!(e, Error::Timeout(_)));
        let now = Instant::now();
        let cd = self.balancer.cooldown;
        let name = self
            .balancer
            .names
            .get(self.index)
            .map_or("?", String::as_str);
        let mut all = self.balancer.lock();
        let Some(h) = all.get_mut(self.index) else {
            return;
        };
        if !self.answered {
            h.answered(self.started);
            self.answered = true;
        }
        if timed {
            let took = now.saturating_duration_since(self.started).as_secs_f64();
            let peak = h.estimate(now).map_or(took, |e| e.max(took));
            h.latency = Some((peak, now));
        }
        match fault {
            Some(err) => {
                h.failures = h.failures.saturating_add(1);
                if self.probe {
                    h.cooldown = h.cooldown.saturating_mul(2).min(cd.max);
                    h.aside = Some(later(now, h.cooldown));
                    log::warn!(
                        "{name}: the probe failed ({err}); set aside again for {:?}",
                        h.cooldown
                    );
                } else if h.aside.is_none() && cd.after > 0 && h.failures >= cd.after {
                    h.cooldown = cd.first.min(cd.max);
                    h.aside = Some(later(now, h.cooldown));
                    log::warn!(
                        "{name}: set aside for {:?} after {} failures in a row (the last: {err})",
                        h.cooldown,
                        h.failures
                    );
                }
            }
            None => {
                h.failures = 0;
                if h.aside.take().is_some() {
                    h.cooldown = cd.first.min(cd.max);
                    log::info!("{name}: answering again, back in use");
                }
            }
        }
        if self.probe {
            h.probing = false;
            self.probe = false;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut all = self.balancer.lock();
        if let Some(h) = all.get_mut(self.index) {
            h.in_flight = h.in_flight.saturating_sub(1);
            if !self.answered {
                h.answered(self.started);
            }
            // A probe dropped before it ended (a cancelled future): let another call probe.
            if self.probe {
                h.probing = false;
            }
        }
    }
}
