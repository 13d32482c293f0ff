//! Timestamps comparable across processes, resident memory, and latency summaries.

use hdrhistogram::Histogram;

/// Nanoseconds since the Unix epoch: both processes read the same system clock, so a publish
/// time in one and a delivery time in the other can be subtracted.
#[allow(clippy::disallowed_methods)] // the benchmark's edge clock, shared by two processes
pub(crate) fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// This process's resident set size in KiB (`VmRSS` of `/proc/self/status`).
pub(crate) fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this process has used (user + system), in milliseconds, from `/proc/self/stat`
/// (clock ticks of 10 ms).
pub(crate) fn cpu_ms() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) * 10
}

/// The open-file limit of this process (soft), from `/proc/self/limits`.
pub(crate) fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A latency histogram in microseconds.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// `p50 / p99 / max` of `histogram` as text.
pub(crate) fn millis(histogram: &Histogram<u64>, quantile: f64) -> String {
    let micros = if quantile >= 1.0 {
        histogram.max()
    } else {
        histogram.value_at_quantile(quantile)
    };
    format!("{:.2} ms", micros as f64 / 1_000.0)
}
