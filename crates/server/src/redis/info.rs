//! What Vigie reads of a Redis server's `INFO` answer.

/// One sample's figures. The counters (`hits` … `expired`) grow from the
/// server's start (or its last `CONFIG RESETSTAT`); the rest are gauges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub version: Option<String>,
    /// Changes when the server restarts: counters then start from zero.
    pub run_id: Option<String>,
    /// Seconds since the server started.
    pub uptime_s: Option<u64>,
    pub hits: u64,
    pub misses: u64,
    pub evicted: u64,
    pub expired: u64,
    pub used_memory: Option<u64>,
    /// `None` when 0 (no limit).
    pub maxmemory: Option<u64>,
    pub ops_per_sec: Option<u64>,
    pub clients: Option<u64>,
}

/// Reads `INFO`'s `key:value` lines (sections and other lines ignored).
/// The keyspace counters are needed: without them there is no hit rate,
/// and the error says which is missing.
pub fn parse(text: &str) -> Result<Info, String> {
    let mut info = Info::default();
    let (mut hits, mut misses) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.trim_end().split_once(':') else {
            continue;
        };
        let number = || value.parse::<u64>().ok();
        match key {
            "redis_version" => info.version = Some(value.to_owned()),
            "run_id" => info.run_id = Some(value.to_owned()),
            "uptime_in_seconds" => info.uptime_s = number(),
            "keyspace_hits" => hits = number(),
            "keyspace_misses" => misses = number(),
            "evicted_keys" => info.evicted = number().unwrap_or(0),
            "expired_keys" => info.expired = number().unwrap_or(0),
            "used_memory" => info.used_memory = number(),
            "maxmemory" => info.maxmemory = number().filter(|&m| m > 0),
            "instantaneous_ops_per_sec" => info.ops_per_sec = number(),
            "connected_clients" => info.clients = number(),
            _ => {}
        }
    }
    info.hits = hits.ok_or("INFO has no keyspace_hits (is this a Redis server?)")?;
    info.misses = misses.ok_or("INFO has no keyspace_misses (is this a Redis server?)")?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_read_from_their_sections() {
        let text = "# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\nuptime_in_seconds:3600\r\n\r\n# Clients\r\nconnected_clients:3\r\n\r\n# Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\n\r\n# Stats\r\ninstantaneous_ops_per_sec:12\r\nexpired_keys:4\r\nevicted_keys:2\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\n\r\n# Keyspace\r\ndb0:keys=5,expires=0,avg_ttl=0\r\n";
        assert_eq!(
            parse(text).expect("info"),
            Info {
                version: Some("7.0.15".into()),
                run_id: Some("abc123".into()),
                uptime_s: Some(3600),
                hits: 90,
                misses: 10,
                evicted: 2,
                expired: 4,
                used_memory: Some(1_048_576),
                maxmemory: None,
                ops_per_sec: Some(12),
                clients: Some(3),
            }
        );
    }

    #[test]
    fn without_the_keyspace_counters_it_is_an_error() {
        let e = parse("# Server\r\nredis_version:7.0.15\r\nkeyspace_hits:1\r\n")
            .expect_err("no misses");
        assert!(e.contains("keyspace_misses"), "{e}");
        assert!(parse("HTTP/1.1 200 OK\r\n").is_err());
    }
}
