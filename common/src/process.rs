//! The process collector's standard metrics, as Prometheus' client libraries name them
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`, ...),
//! read from `/proc/self` at each scrape and rendered after the recorder's own, with the
//! memory the process may hold, `shippy_memory_limit_bytes`: its container's (cgroup's)
//! limit, or the machine's memory when it has none. The alert on memory near the limit
//! divides by it. Linux only: elsewhere (no `/proc`) there are none.

use std::fmt::Write as _;

/// Clock ticks per second of `/proc`'s CPU times: `USER_HZ`, 100 on every Linux
/// architecture (Prometheus' procfs reads it the same way).
const USER_HZ: f64 = 100.0;

/// The standard process metrics of this process, in Prometheus text.
pub fn render() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    let stat = stat.as_deref().and_then(Stat::parse);
    let mut out = String::new();
    let mut put = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(value) = value {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            );
        }
    };
    put(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        stat.map(|s| (s.utime + s.stime) / USER_HZ),
    );
    put(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        open_fds(),
    );
    put(
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        max_fds(),
    );
    put(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        stat.map(|s| s.vsize),
    );
    put(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        resident_bytes(),
    );
    put(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        stat.zip(boot_time())
            .map(|(s, boot)| boot + s.starttime / USER_HZ),
    );
    put(
        "shippy_memory_limit_bytes",
        "gauge",
        "Memory this process may hold: its container's (cgroup's) limit, else the machine's.",
        memory_limit().or_else(machine_memory),
    );
    out
}

/// The memory limit of this process's cgroup, v2 (`memory.max`) or v1
/// (`memory.limit_in_bytes`); none when unlimited (`max`, or v1's near-2^63 stand-in).
fn memory_limit() -> Option<f64> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut files = Vec::new();
    for line in groups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.is_empty() {
            files.push(format!("/sys/fs/cgroup{path}/memory.max"));
            files.push("/sys/fs/cgroup/memory.max".to_owned());
        } else if controllers.split(',').any(|c| c == "memory") {
            files.push(format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"));
            files.push("/sys/fs/cgroup/memory/memory.limit_in_bytes".to_owned());
        }
    }
    let limit: f64 = files
        .iter()
        .find_map(|f| std::fs::read_to_string(f).ok())?
        .trim()
        .parse()
        .ok()?;
    (limit < 2f64.powi(62)).then_some(limit)
}

/// What `/proc/self/stat` says that is used here.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stat {
    /// CPU time in user and in kernel mode, in clock ticks.
    utime: f64,
    stime: f64,
    /// When the process started, in clock ticks after boot.
    starttime: f64,
    /// Virtual memory size, bytes.
    vsize: f64,
}

impl Stat {
    /// Fields 14, 15, 22 and 23 of `proc(5)`; the command name (field 2, in parentheses)
    /// may hold spaces and parentheses, so counting starts after its last `)`.
    fn parse(text: &str) -> Option<Self> {
        let (_, rest) = text.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
        Some(Self {
            utime: field(14)?,
            stime: field(15)?,
            starttime: field(22)?,
            vsize: field(23)?,
        })
    }
}

fn open_fds() -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|entries| entries.count() as f64)
}

/// The soft limit of open files (`unlimited`: none to give).
fn max_fds() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `VmRSS` of `/proc/self/status`, in bytes.
fn resident_bytes() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
fn machine_memory() -> Option<f64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024.0)
}

/// When the system booted, Unix seconds (`btime` of `/proc/stat`).
fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::{Stat, render};

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194304 10 0 0 0 250 50 0 0 20 0 8 0 \
                    1000 123456 789 18446744073709551615";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                utime: 250.0,
                stime: 50.0,
                starttime: 1000.0,
                vsize: 123_456.0
            })
        );
        assert_eq!(Stat::parse("42 (cut short) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reports_every_standard_metric_with_a_plausible_value() {
        let text = render();
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no {name} in\n{text}"));
            line.rsplit_once(' ').unwrap().1.parse().unwrap()
        };
        assert!(value("process_resident_memory_bytes") > 1_000_000.0);
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_cpu_seconds_total") >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = value("process_start_time_seconds");
        assert!(
            started <= now + 1.0 && started > now - 86_400.0,
            "{started} vs {now}"
        );
        assert!(text.contains("# TYPE process_cpu_seconds_total counter"));
        let limit = value("shippy_memory_limit_bytes");
        assert!(limit > value("process_resident_memory_bytes"), "{limit}");
    }
}
