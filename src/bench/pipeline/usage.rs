//! What this process used, read from Linux's `/proc`: CPU seconds (its own and the whole
//! machine's) and resident memory (now and at its peak).

/// Linux: clears the process's peak RSS (VmHWM), so it measures what follows.
pub(super) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU seconds so far: this process's (user + system) and the whole machine's busy time (every
/// core: Postgres, NATS and whatever else runs).
pub(super) fn cpu_seconds() -> (f64, f64) {
    // Clock ticks: USER_HZ, 100 on Linux.
    let ticks = |fields: &[&str]| -> f64 {
        fields
            .iter()
            .filter_map(|f| f.parse::<f64>().ok())
            .sum::<f64>()
            / 100.0
    };
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(ticks(fields.get(11..13)?))
        })
        .unwrap_or(0.0);
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<&str> = s.lines().next()?.split_whitespace().skip(1).collect();
            // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
            let busy: Vec<&str> = fields
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
                .map(|(_, f)| *f)
                .collect();
            Some(ticks(&busy))
        })
        .unwrap_or(0.0);
    (own, machine)
}

pub(super) fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
