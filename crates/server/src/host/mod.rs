//! This host's resources: a collector that reads CPU, memory, disk and network
//! (sysinfo), the sampler task that runs it once per interval, and the
//! `system-resources` endpoint. Requests never touch sysinfo: they serve the
//! snapshot the last tick computed, already serialised.

mod collector;
mod sampler;
pub mod store;

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
pub use collector::HostCollector;
pub use sampler::{HostHub, HostSnapshot, SamplerDeps, spawn_sampler};
use vigie_api::{
    HostCapacities, HostSample, ResourceHistory, ResourcePoint, SystemResources,
    SystemResourcesQuery, TargetKind, TimeRange,
};

use crate::error::{ApiError, ApiQuery};
use crate::metrics::parse_range;
use crate::openapi::Op;
use crate::rollup::HostAggregate;

handler_ctx! {
    /// What this module's handlers reach.
    pub struct Ctx {
        store: crate::store::Store,
        host: crate::host::HostHub,
        config: std::sync::Arc<crate::Config>,
        prober: crate::probes::Prober,
    }
}

/// How many recent samples the API and the stream's replay keep in memory
/// (5 minutes at the default 1 s interval).
pub const SERIES_LEN: usize = 300;

/// The documentation of [`system_resources`].
pub fn system_resources_op() -> Op {
    Op::new(
        "systemResources",
        "Latest host sample, capacities and the recent series (5 min at 1 s); with range or from/to, also the stored samples of that range in at most `points` buckets (min/avg/max of each figure); with host, the host behind that node_exporter target",
    )
    .query::<SystemResourcesQuery>()
    .json::<SystemResources>(
        200,
        "latest values (null before the first sample) and series, oldest first",
    )
    .error(400, "bad range, points, or host")
}

/// `GET /api/performance/system-resources/`: the latest sample and the recent
/// series, as the last tick serialised them; with `range` (or `from`/`to`)
/// and `points`, also the stored samples of that range, bucketed.
pub async fn system_resources(
    State(state): State<Ctx>,
    ApiQuery(q): ApiQuery<SystemResourcesQuery>,
) -> Result<Response, ApiError> {
    let time = q.time_range();
    if let Some(host) = q.host {
        return remote_host(&state, host, &time)
            .await
            .map(|r| Json(r).into_response());
    }
    let snapshot = state.host.snapshot();
    if time == TimeRange::default() {
        let headers = [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ];
        return Ok((headers, snapshot.body.clone()).into_response());
    }
    let range = parse_range(
        &time,
        crate::now_ms(),
        state.config.retention().as_millis() as i64,
    )?;
    let (samples, rollups) = state
        .store
        .call(move |s| {
            Ok((
                s.host_samples_between(range.from_ms, range.to_ms)?,
                s.host_rollups_between(range.from_ms, range.to_ms)?,
            ))
        })
        .await?;
    let bucket_ms = crate::measures::bucket_ms(range.from_ms, range.to_ms, range.points);
    let mut body = snapshot.resources.clone();
    body.history = Some(ResourceHistory {
        from_ms: range.from_ms,
        to_ms: range.to_ms,
        bucket_ms,
        points: bucket_samples(&samples, &rollups, range.from_ms, bucket_ms),
    });
    Ok(Json(body).into_response())
}

/// `system-resources/?host=<target id>`: the host behind a node_exporter
/// target, from its stored samples (latest, recent series, and the range's
/// buckets when a range is asked for).
async fn remote_host(state: &Ctx, id: i64, time: &TimeRange) -> Result<SystemResources, ApiError> {
    let unknown = || ApiError::bad_request("host", format!("no Prometheus target with id {id}"));
    let spec = state
        .store
        .call(move |s| s.target(id))
        .await?
        .ok_or_else(unknown)?;
    if spec.kind != TargetKind::Prometheus {
        return Err(unknown());
    }
    let range = (*time != TimeRange::default())
        .then(|| {
            parse_range(
                time,
                crate::now_ms(),
                state.config.retention().as_millis() as i64,
            )
        })
        .transpose()?;
    let (series, in_range) = state
        .store
        .call(move |s| {
            let recent = s.node_samples_between(id, i64::MIN, i64::MAX, SERIES_LEN)?;
            let in_range = match range {
                Some(r) => Some(s.node_samples_between(id, r.from_ms, r.to_ms, usize::MAX >> 1)?),
                None => None,
            };
            Ok((recent, in_range))
        })
        .await?;
    let latest = series.last();
    let capacities = state
        .prober
        .runtime(id)
        .node
        .unwrap_or_else(|| HostCapacities {
            hostname: spec.name.clone(),
            cpu_cores: 0,
            memory_total_bytes: 0,
            disk_total_bytes: 0,
            disk_mount: "/".into(),
        });
    let history = range.zip(in_range).map(|(r, samples)| {
        let bucket_ms = crate::measures::bucket_ms(r.from_ms, r.to_ms, r.points);
        ResourceHistory {
            from_ms: r.from_ms,
            to_ms: r.to_ms,
            bucket_ms,
            points: bucket_samples(&samples, &[], r.from_ms, bucket_ms),
        }
    });
    Ok(SystemResources {
        ts_ms: latest.map(|s| s.ts_ms),
        cpu_usage: latest.map(|s| s.cpu_usage),
        memory_usage: latest.map(|s| s.memory_usage),
        disk_usage: latest.map(|s| s.disk_usage),
        network_usage: latest.map(|s| s.network_usage),
        capacities,
        interval_s: spec.interval_ms as f64 / 1000.0,
        series,
        history,
    })
}

/// One point per non-empty bucket of raw samples and per-minute rollups (a
/// rollup counts in the bucket its minute starts in). Means are sums over
/// counts, never means of means.
pub fn bucket_samples(
    samples: &[HostSample],
    rollups: &[(i64, HostAggregate)],
    from_ms: i64,
    bucket_ms: i64,
) -> Vec<ResourcePoint> {
    let index = |ts: i64| (ts - from_ms).div_euclid(bucket_ms);
    let mut buckets: BTreeMap<i64, HostAggregate> = BTreeMap::new();
    let parts = samples.iter().map(|s| (s.ts_ms, HostAggregate::of(s)));
    for (ts, agg) in parts.chain(rollups.iter().copied()) {
        buckets
            .entry(index(ts))
            .and_modify(|b| b.merge(&agg))
            .or_insert(agg);
    }
    buckets
        .into_iter()
        .map(|(i, agg)| {
            let [cpu, memory, disk, network] = agg.figures.map(|f| f.spread(agg.count));
            ResourcePoint {
                ts_ms: from_ms + i * bucket_ms,
                count: agg.count,
                cpu_usage: cpu,
                memory_usage: memory,
                disk_usage: disk,
                network_usage: network,
            }
        })
        .collect()
}

/// The routes of this module.
pub(crate) fn routes(r: crate::Routes) -> crate::Routes {
    r.get(
        vigie_api::paths::SYSTEM_RESOURCES,
        system_resources,
        system_resources_op(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_api::Spread;

    fn s(ts_ms: i64, cpu: f64) -> HostSample {
        HostSample {
            ts_ms,
            cpu_usage: cpu,
            memory_usage: 50.0,
            disk_usage: 10.0,
            network_usage: 1.0,
            memory_used_bytes: 0,
            disk_used_bytes: 0,
            network_rx_bytes_per_s: 0.0,
            network_tx_bytes_per_s: 0.0,
        }
    }

    #[test]
    fn buckets_keep_min_max_and_leave_gaps() {
        let mut samples: Vec<HostSample> = (0..20).map(|i| s(i * 1000, 10.0)).collect();
        samples[7].cpu_usage = 95.0;
        samples.push(s(60_000, 20.0));
        let points = bucket_samples(&samples, &[], 0, 10_000);
        assert_eq!(
            points.iter().map(|p| p.ts_ms).collect::<Vec<_>>(),
            vec![0, 10_000, 60_000]
        );
        assert_eq!(points[0].count, 10);
        assert_eq!(
            points[0].cpu_usage,
            Spread {
                min: 10.0,
                avg: 18.5,
                max: 95.0
            }
        );
        assert_eq!(
            points[2].cpu_usage,
            Spread {
                min: 20.0,
                avg: 20.0,
                max: 20.0
            }
        );
    }
}
