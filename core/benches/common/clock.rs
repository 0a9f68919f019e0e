//! Which clock the benchmarks read: wall time (criterion's default), or with
//! `HG_BENCH_CLOCK=cpu` the calling thread's CPU time, which other processes on a shared
//! machine do not inflate (`openssl speed` also reports CPU time unless given `-elapsed`).

use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

pub struct BenchClock {
    cpu: bool,
    origin: Instant,
    wall: WallTime,
}

impl BenchClock {
    pub fn from_env() -> Self {
        let cpu = std::env::var("HG_BENCH_CLOCK").is_ok_and(|v| v == "cpu") && thread_cpu_time().is_some();
        BenchClock { cpu, origin: Instant::now(), wall: WallTime }
    }

    /// The current reading (from an arbitrary origin).
    pub fn now(&self) -> Duration {
        if self.cpu { thread_cpu_time().unwrap_or_default() } else { self.origin.elapsed() }
    }

    pub fn is_cpu(&self) -> bool {
        self.cpu
    }
}

impl Measurement for BenchClock {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        self.wall.to_f64(v)
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`, through the `cpu-time` crate).
pub fn thread_cpu_time() -> Option<Duration> {
    cpu_time::ThreadTime::try_now().ok().map(|t| t.as_duration())
}
