//! What the benchmark reads from and sets on the operating system (Linux):
//! CPU affinity, resident memory, CPU time of this process and of the
//! simulator's, the machine's CPU model and the open-files limit.
//!
//! Every reader returns `None` (or a documented fallback) when `/proc` is not
//! there or says something unexpected: the benchmark then prints "n/a" instead
//! of a figure, it never fails because of it.

use std::io;

pub use crate::runner::executor::process_cpu_ns;

/// The machine the figures were taken on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Machine {
    /// `model name` of the first processor in `/proc/cpuinfo` ("unknown" when absent).
    pub cpu_model: String,
    /// Logical CPUs online (`sysconf(_SC_NPROCESSORS_ONLN)`).
    pub logical_cpus: usize,
    /// CPUs the client (this process's benchmark threads) was pinned to; empty = not pinned.
    pub client_cpus: Vec<usize>,
    /// CPUs the simulator process was pinned to; empty = not pinned.
    pub sim_cpus: Vec<usize>,
    /// `/proc/loadavg` when the benchmark started (other work on the machine skews figures).
    pub loadavg_at_start: Option<String>,
    /// The kernel (`/proc/sys/kernel/osrelease`).
    pub kernel: Option<String>,
}

impl Machine {
    /// Reads the machine description; the pinning is filled in by the caller.
    #[must_use]
    pub fn detect() -> Machine {
        Machine {
            cpu_model: cpu_model().unwrap_or_else(|| "unknown".to_owned()),
            logical_cpus: logical_cpus(),
            client_cpus: Vec::new(),
            sim_cpus: Vec::new(),
            loadavg_at_start: read_trimmed("/proc/loadavg"),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
        }
    }

    /// One line for the report, e.g.
    /// `machine: AMD EPYC, 2 logical CPUs, Linux 6.1; client on CPU 0, simulator on CPU 1; load 0.81 0.56 1.20`.
    #[must_use]
    pub fn line(&self) -> String {
        let cpus = |v: &[usize]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let pinning = if self.client_cpus.is_empty() {
            "not pinned".to_owned()
        } else {
            format!(
                "client on CPU {}, simulator on CPU {}",
                cpus(&self.client_cpus),
                cpus(&self.sim_cpus)
            )
        };
        let kernel = self
            .kernel
            .as_deref()
            .map(|k| format!(", Linux {k}"))
            .unwrap_or_default();
        let load = self
            .loadavg_at_start
            .as_deref()
            .map(|l| {
                let first3: Vec<&str> = l.split_whitespace().take(3).collect();
                format!("; load average at start {}", first3.join(" "))
            })
            .unwrap_or_default();
        format!(
            "machine: {}, {} logical CPUs{kernel}; {pinning}{load}",
            self.cpu_model, self.logical_cpus
        )
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `model name` (x86) or `Model` / `Hardware` (ARM) of the first processor in `/proc/cpuinfo`.
#[must_use]
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    parse_cpu_model(&info)
}

fn parse_cpu_model(info: &str) -> Option<String> {
    for key in ["model name", "Model", "Hardware"] {
        for line in info.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == key && !v.trim().is_empty() {
                    return Some(v.trim().to_owned());
                }
            }
        }
    }
    None
}

/// Logical CPUs online; 1 when the system does not say.
#[must_use]
pub fn logical_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(1)
}

/// The CPUs the calling thread may run on (`sched_getaffinity`), ascending.
#[must_use]
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity writes at most its size.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..logical_cpus()).collect();
        }
        set
    };
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `i` is below CPU_SETSIZE, the capacity of the set.
        .filter(|&i| unsafe { libc::CPU_ISSET(i, &set) })
        .collect()
}

/// A CPU set with exactly `cpus` (ids at or above `CPU_SETSIZE` are an error).
///
/// # Errors
/// `InvalidInput` for an empty list or an id out of range.
pub fn cpu_set(cpus: &[usize]) -> io::Result<libc::cpu_set_t> {
    if cpus.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty CPU list",
        ));
    }
    // SAFETY: a zeroed cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is out of range"),
            ));
        }
        // SAFETY: `cpu` is below CPU_SETSIZE.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    Ok(set)
}

/// Pins the calling thread to `cpus`. Threads it creates afterwards inherit the
/// set (this is how the benchmark's runtime workers are pinned).
///
/// # Errors
/// When the set is invalid or the kernel refuses it (e.g. a CPU that does not exist).
pub fn pin_current_thread(cpus: &[usize]) -> io::Result<()> {
    let set = cpu_set(cpus)?;
    // SAFETY: `set` is a valid cpu_set_t of the size passed; 0 = the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Resident memory of this process in bytes (`VmRSS` of `/proc/self/status`).
#[must_use]
pub fn vm_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value * 1024),
        _ => None,
    }
}

/// Bytes the allocator has handed out and not had back (glibc `mallinfo2`:
/// `uordblks + hblkhd`, all arenas). Next to VmRSS it tells live data from
/// memory the allocator keeps. `None` off glibc.
#[must_use]
pub fn heap_in_use_bytes() -> Option<u64> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 has no preconditions; it returns a plain struct.
        let info = unsafe { libc::mallinfo2() };
        Some((info.uordblks as u64).saturating_add(info.hblkhd as u64))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// CPU time (user + system) of process `pid` so far in ns, from fields 14 and 15
/// of `/proc/<pid>/stat` (clock ticks of `sysconf(_SC_CLK_TCK)`, usually 10 ms).
#[must_use]
pub fn pid_cpu_ns(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    parse_stat_cpu_ticks(&stat).map(|t| t.saturating_mul(1_000_000_000) / ticks)
}

/// `utime + stime` in clock ticks. The command name (field 2) is in parentheses
/// and may contain spaces, so fields are counted after the last `)`: there the
/// first field is field 3 (`state`), so utime (14) and stime (15) are at 11 and 12.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Time the threads of process `pid` spent runnable but waiting for a CPU, in
/// ns: the sum of the second field of `/proc/<pid>/task/*/schedstat`. Its growth
/// over a window, divided by the window, is how many CPUs' worth of time the
/// process was kept waiting (by other processes, or by its own threads when it
/// has more runnable threads than CPUs). Threads that ended are not counted.
#[must_use]
pub fn run_delay_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    let mut any = false;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        if let Some(wait) = text
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<u64>().ok())
        {
            total = total.saturating_add(wait);
            any = true;
        }
    }
    any.then_some(total)
}

/// CPU time and run-queue wait of a process at one instant (ns).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSnapshot {
    /// User + system CPU time.
    pub cpu_ns: Option<u64>,
    /// Time runnable but waiting for a CPU ([`run_delay_ns`]).
    pub wait_ns: Option<u64>,
}

impl CpuSnapshot {
    /// This process: CPU from `getrusage(RUSAGE_SELF)`, wait from schedstat.
    #[must_use]
    pub fn this_process() -> CpuSnapshot {
        CpuSnapshot {
            cpu_ns: Some(process_cpu_ns()),
            wait_ns: run_delay_ns(std::process::id()),
        }
    }

    /// Process `pid`: CPU from `/proc/<pid>/stat`, wait from schedstat.
    #[must_use]
    pub fn of(pid: u32) -> CpuSnapshot {
        CpuSnapshot {
            cpu_ns: pid_cpu_ns(pid),
            wait_ns: run_delay_ns(pid),
        }
    }

    /// `(cpu cores busy, cores' worth of waiting)` from `self` to `later` over `wall_s` seconds.
    #[must_use]
    pub fn rates(&self, later: &CpuSnapshot, wall_s: f64) -> (Option<f64>, Option<f64>) {
        let rate = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) if wall_s > 0.0 => Some(b.saturating_sub(a) as f64 / 1e9 / wall_s),
            _ => None,
        };
        (
            rate(self.cpu_ns, later.cpu_ns),
            rate(self.wait_ns, later.wait_ns),
        )
    }
}

/// Raises the soft open-files limit to the hard one (thousands of streams need
/// thousands of sockets, in this process and in the simulator, which inherits
/// the limit). Returns the soft limit now in force.
#[must_use]
pub fn raise_nofile_limit() -> Option<u64> {
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return Some(raised.rlim_cur);
            }
        }
        Some(lim.rlim_cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_model_prefers_model_name() {
        let info = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Some CPU @ 3GHz\n\nprocessor\t: 1\nmodel name\t: Some CPU @ 3GHz\n";
        assert_eq!(parse_cpu_model(info).as_deref(), Some("Some CPU @ 3GHz"));
        assert_eq!(
            parse_cpu_model("Hardware\t: BCM2835\n").as_deref(),
            Some("BCM2835")
        );
        assert_eq!(parse_cpu_model("processor: 0\n"), None);
    }

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\tx\nVmPeak:\t  100 kB\nVmRSS:\t    2048 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(2048 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert!(
            vm_rss_bytes().is_some_and(|b| b > 0),
            "this process has RSS"
        );
    }

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        // pid (comm with spaces and a paren) state ppid ... utime=7 stime=5
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 100 1000 10";
        assert_eq!(parse_stat_cpu_ticks(stat), Some(12));
        assert_eq!(parse_stat_cpu_ticks("garbage"), None);
        assert!(pid_cpu_ns(std::process::id()).is_some());
    }

    #[test]
    fn snapshots_give_rates_over_a_window() {
        let a = CpuSnapshot {
            cpu_ns: Some(1_000_000_000),
            wait_ns: Some(0),
        };
        let b = CpuSnapshot {
            cpu_ns: Some(1_500_000_000),
            wait_ns: Some(250_000_000),
        };
        assert_eq!(a.rates(&b, 1.0), (Some(0.5), Some(0.25)));
        assert_eq!(a.rates(&CpuSnapshot::default(), 1.0), (None, None));
        assert!(CpuSnapshot::this_process().cpu_ns.is_some());
    }

    #[test]
    fn cpu_sets_reject_bad_lists() {
        assert!(cpu_set(&[]).is_err());
        assert!(cpu_set(&[usize::MAX]).is_err());
        assert!(cpu_set(&[0]).is_ok());
        assert!(!allowed_cpus().is_empty());
    }
}
