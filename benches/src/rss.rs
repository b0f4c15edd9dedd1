//! Resident memory of this process from `/proc/self/status` (Linux): `VmHWM` is the peak
//! resident set size since the process started, `VmRSS` the current one.

/// A `kB` field of `/proc/self/status`, in bytes; `None` off Linux.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Peak resident set size, bytes.
pub fn peak_bytes() -> Option<u64> {
    status_kb("VmHWM")
}

/// Current resident set size, bytes.
pub fn current_bytes() -> Option<u64> {
    status_kb("VmRSS")
}
