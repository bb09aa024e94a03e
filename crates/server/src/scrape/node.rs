//! A host's resources from its node_exporter metrics: CPU from the deltas of
//! `node_cpu_seconds_total` (busy = all modes but idle and iowait), memory
//! from `MemTotal` minus `MemAvailable` (as `free` counts it), disk from the
//! filesystem mounted at `/` (size minus available), network from the deltas
//! of the byte counters of every interface but `lo`. Rates need two scrapes:
//! the first one only sets the baseline.

use std::collections::BTreeSet;

use vigie_api::{HostCapacities, HostSample};

use super::text::Sample;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Counters {
    at_ms: i64,
    cpu_busy: f64,
    cpu_total: f64,
    rx: f64,
    tx: f64,
}

/// What a node_exporter scrape yields once a baseline exists.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeReading {
    pub sample: HostSample,
    pub capacities: HostCapacities,
}

/// The previous scrape's counters of one target.
#[derive(Debug, Default)]
pub struct NodeState {
    prev: Option<Counters>,
}

fn sum(samples: &[Sample], name: &str, keep: impl Fn(&Sample) -> bool) -> Option<f64> {
    let mut found = false;
    let total = samples
        .iter()
        .filter(|s| s.name == name && keep(s))
        .inspect(|_| found = true)
        .map(|s| s.value)
        .sum();
    found.then_some(total)
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part * 100.0 / whole).clamp(0.0, 100.0)
    } else {
        0.0
    }
}

impl NodeState {
    /// `None` when the exposition is not node_exporter's, or on the first
    /// scrape (no rate yet). A counter that went down (the exporter
    /// restarted) starts a new baseline.
    pub fn read(&mut self, samples: &[Sample], ts_ms: i64) -> Option<NodeReading> {
        let cpu_total = sum(samples, "node_cpu_seconds_total", |_| true)?;
        let idle = sum(samples, "node_cpu_seconds_total", |s| {
            matches!(s.label("mode"), Some("idle" | "iowait"))
        })
        .unwrap_or(0.0);
        let not_lo = |s: &Sample| s.label("device") != Some("lo");
        let now = Counters {
            at_ms: ts_ms,
            cpu_busy: cpu_total - idle,
            cpu_total,
            rx: sum(samples, "node_network_receive_bytes_total", not_lo).unwrap_or(0.0),
            tx: sum(samples, "node_network_transmit_bytes_total", not_lo).unwrap_or(0.0),
        };
        let prev = self.prev.replace(now)?;
        let secs = (now.at_ms - prev.at_ms) as f64 / 1000.0;
        let dt_total = now.cpu_total - prev.cpu_total;
        if secs <= 0.0 || dt_total <= 0.0 || now.rx < prev.rx || now.tx < prev.tx {
            return None;
        }
        let root = |s: &Sample| s.label("mountpoint") == Some("/");
        let disk_size = sum(samples, "node_filesystem_size_bytes", root).unwrap_or(0.0);
        let disk_avail = sum(samples, "node_filesystem_avail_bytes", root).unwrap_or(0.0);
        let mem_total = sum(samples, "node_memory_MemTotal_bytes", |_| true).unwrap_or(0.0);
        let mem_avail = sum(samples, "node_memory_MemAvailable_bytes", |_| true).unwrap_or(0.0);
        let (rx_rate, tx_rate) = ((now.rx - prev.rx) / secs, (now.tx - prev.tx) / secs);
        let cpus: BTreeSet<&str> = samples
            .iter()
            .filter(|s| s.name == "node_cpu_seconds_total")
            .filter_map(|s| s.label("cpu"))
            .collect();
        let hostname = samples
            .iter()
            .find(|s| s.name == "node_uname_info")
            .and_then(|s| s.label("nodename"))
            .unwrap_or_default()
            .to_owned();
        Some(NodeReading {
            sample: HostSample {
                ts_ms,
                cpu_usage: percent(now.cpu_busy - prev.cpu_busy, dt_total),
                memory_usage: percent(mem_total - mem_avail, mem_total),
                disk_usage: percent(disk_size - disk_avail, disk_size),
                network_usage: (rx_rate + tx_rate) / 1024.0,
                memory_used_bytes: (mem_total - mem_avail).max(0.0) as u64,
                disk_used_bytes: (disk_size - disk_avail).max(0.0) as u64,
                network_rx_bytes_per_s: rx_rate,
                network_tx_bytes_per_s: tx_rate,
            },
            capacities: HostCapacities {
                hostname,
                cpu_cores: cpus.len() as u32,
                memory_total_bytes: mem_total as u64,
                disk_total_bytes: disk_size as u64,
                disk_mount: "/".into(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrape::text::parse;

    fn exposition(idle: f64, user: f64, rx: f64) -> String {
        format!(
            "node_cpu_seconds_total{{cpu=\"0\",mode=\"idle\"}} {idle}\n\
             node_cpu_seconds_total{{cpu=\"0\",mode=\"user\"}} {user}\n\
             node_cpu_seconds_total{{cpu=\"1\",mode=\"idle\"}} {idle}\n\
             node_cpu_seconds_total{{cpu=\"1\",mode=\"iowait\"}} 0\n\
             node_memory_MemTotal_bytes 1000\nnode_memory_MemAvailable_bytes 250\n\
             node_filesystem_size_bytes{{mountpoint=\"/\"}} 200\n\
             node_filesystem_avail_bytes{{mountpoint=\"/\"}} 50\n\
             node_filesystem_size_bytes{{mountpoint=\"/boot\"}} 9\n\
             node_network_receive_bytes_total{{device=\"eth0\"}} {rx}\n\
             node_network_receive_bytes_total{{device=\"lo\"}} 999999\n\
             node_network_transmit_bytes_total{{device=\"eth0\"}} 0\n\
             node_uname_info{{nodename=\"web-1\"}} 1\n"
        )
    }

    #[test]
    fn rates_come_from_two_scrapes() {
        let mut state = NodeState::default();
        let first = parse(&exposition(100.0, 10.0, 0.0)).expect("valid");
        assert_eq!(
            state.read(&first, 0),
            None,
            "the first scrape is the baseline"
        );
        // 2 s later: 3 s more busy, 1 s more idle on each of 2 cpus → 3 / 5 busy.
        let second = parse(&exposition(101.0, 13.0, 2048.0)).expect("valid");
        let r = state.read(&second, 2000).expect("a reading");
        assert!((r.sample.cpu_usage - 60.0).abs() < 1e-9);
        assert_eq!(r.sample.memory_usage, 75.0);
        assert_eq!(r.sample.disk_usage, 75.0, "the root filesystem only");
        assert_eq!(r.sample.network_rx_bytes_per_s, 1024.0, "lo left out");
        assert_eq!(r.sample.network_usage, 1.0);
        assert_eq!(r.capacities.cpu_cores, 2);
        assert_eq!(r.capacities.hostname, "web-1");
    }

    #[test]
    fn other_expositions_and_counter_resets_give_nothing() {
        let mut state = NodeState::default();
        assert_eq!(
            state.read(&parse("http_requests_total 5").expect("valid"), 0),
            None
        );
        state.read(&parse(&exposition(100.0, 10.0, 500.0)).expect("valid"), 0);
        assert_eq!(
            state.read(&parse(&exposition(1.0, 1.0, 1.0)).expect("valid"), 1000),
            None
        );
    }
}
