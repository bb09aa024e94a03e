//! Reads this host's figures through sysinfo. Blocking (it reads /proc): call it
//! from a blocking thread. One instance is kept between samples because CPU
//! usage and network rates are differences between two readings.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sysinfo::{Disks, Networks, System};
use vigie_api::{HostCapacities, HostSample};

#[derive(Debug)]
pub struct HostCollector {
    system: System,
    disks: Disks,
    /// Index in `disks` of the filesystem that holds the data directory.
    disk: Option<usize>,
    networks: Networks,
    last_network: Option<(Instant, u64, u64)>,
    capacities: HostCapacities,
}

impl HostCollector {
    /// Takes the first readings; `data_dir` picks the filesystem whose usage is reported.
    pub fn new(data_dir: &Path) -> Self {
        let mut system = System::new();
        system.refresh_cpu_usage();
        system.refresh_memory();
        let disks = Disks::new_with_refreshed_list();
        let dir = std::fs::canonicalize(data_dir).unwrap_or_else(|_| PathBuf::from("/"));
        // The mount point that is the longest prefix of the data directory.
        let disk = disks
            .list()
            .iter()
            .enumerate()
            .filter(|(_, d)| dir.starts_with(d.mount_point()))
            .max_by_key(|(_, d)| d.mount_point().as_os_str().len())
            .map(|(i, _)| i);
        let (disk_total_bytes, disk_mount) = disk
            .map(|i| {
                let d = &disks.list()[i];
                (d.total_space(), d.mount_point().display().to_string())
            })
            .unwrap_or((0, String::new()));
        let mut collector = HostCollector {
            capacities: HostCapacities {
                hostname: System::host_name().unwrap_or_default(),
                cpu_cores: system.cpus().len() as u32,
                memory_total_bytes: system.total_memory(),
                disk_total_bytes,
                disk_mount,
            },
            system,
            disks,
            disk,
            networks: Networks::new_with_refreshed_list(),
            last_network: None,
        };
        collector.last_network = Some(collector.network_totals());
        collector
    }

    pub fn capacities(&self) -> &HostCapacities {
        &self.capacities
    }

    fn network_totals(&self) -> (Instant, u64, u64) {
        let (rx, tx) = self
            .networks
            .iter()
            .filter(|(name, _)| name.as_str() != "lo")
            .fold((0, 0), |(rx, tx), (_, n)| {
                (rx + n.total_received(), tx + n.total_transmitted())
            });
        (Instant::now(), rx, tx)
    }

    /// Reads every figure once and returns them stamped `ts_ms`.
    pub fn sample(&mut self, ts_ms: i64) -> HostSample {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.networks.refresh(true);

        let total = self.system.total_memory();
        let used = total.saturating_sub(self.system.available_memory());
        let (disk_used, disk_total) = match self.disk.and_then(|i| self.disks.list_mut().get_mut(i))
        {
            Some(d) => {
                d.refresh();
                (
                    d.total_space().saturating_sub(d.available_space()),
                    d.total_space(),
                )
            }
            None => (0, 0),
        };

        let now = self.network_totals();
        let (rx_rate, tx_rate) = match self.last_network {
            Some((then, rx, tx)) => {
                let secs = now.0.duration_since(then).as_secs_f64().max(1e-3);
                // Counters can go down when an interface disappears: never negative.
                (
                    now.1.saturating_sub(rx) as f64 / secs,
                    now.2.saturating_sub(tx) as f64 / secs,
                )
            }
            None => (0.0, 0.0),
        };
        self.last_network = Some(now);

        HostSample {
            ts_ms,
            cpu_usage: f64::from(self.system.global_cpu_usage()),
            memory_usage: percent(used, total),
            disk_usage: percent(disk_used, disk_total),
            network_usage: (rx_rate + tx_rate) / 1024.0,
            memory_used_bytes: used,
            disk_used_bytes: disk_used,
            network_rx_bytes_per_s: rx_rate,
            network_tx_bytes_per_s: tx_rate,
        }
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
