//! `GET /metrics`: server.md's metrics in the Prometheus text format
//! (version 0.0.4), with `prometheus-client`.
//!
//! The hot path pays for atomics only: a policy's decision counters are
//! resolved once per served revision ([`Served::outcomes`]), and a
//! request's histogram by its route's template and status. What the
//! catalog says (which revision is served, which source failed) is read
//! at scrape time, so it can never disagree with what is served.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::catalog::{Catalog, ReloadResult};

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Request duration buckets, in seconds: 50 µs to 10 s, finer where a
/// decision lands (well under a millisecond) and around the 5 s time limit.
const DURATION_BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    policy: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    policy: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusedLabels {
    reason: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// A policy's decision counters, by outcome.
#[derive(Clone, Debug)]
pub struct Outcomes {
    allow: Counter,
    deny: Counter,
}

impl Outcomes {
    /// Counts one decision.
    pub fn count(&self, outcome: crate::Outcome) {
        match outcome {
            crate::Outcome::Allow => self.allow.inc(),
            crate::Outcome::Deny => self.deny.inc(),
        };
    }
}

/// Every metric the server keeps.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    decisions: Family<DecisionLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    refused: Family<RefusedLabels, Counter>,
}

impl Metrics {
    /// The metrics of a server serving `catalog`, whose decision log (if
    /// any) counts its drops in `log_dropped`.
    pub fn new(
        catalog: Arc<arc_swap::ArcSwap<Catalog>>,
        log_dropped: Option<Arc<AtomicU64>>,
    ) -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        registry.register(
            "tollgate_request_duration_seconds",
            "Time to answer a request, by route template and status",
            requests.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "tollgate_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "tollgate_decisions",
            "Decisions made (one per decide request and per batch item decided), by policy and outcome",
            decisions.clone(),
        );
        let reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "tollgate_policy_reloads",
            "Changes a reload found, by policy and result (success, failure, removed)",
            reloads.clone(),
        );
        let refused = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "tollgate_requests_refused",
            "Requests answered with a problem, by its type (bad-snapshot, overloaded, timeout, ...)",
            refused.clone(),
        );
        registry.register_collector(Box::new(Scraped {
            catalog,
            log_dropped,
        }));
        Metrics {
            registry,
            requests,
            in_flight,
            decisions,
            reloads,
            refused,
        }
    }

    /// The counters of `policy`'s decisions.
    pub fn outcomes(&self, policy: &str) -> Outcomes {
        let counter = |outcome: &'static str| {
            self.decisions.get_or_create_owned(&DecisionLabels {
                policy: policy.to_owned(),
                outcome,
            })
        };
        Outcomes {
            allow: counter("allow"),
            deny: counter("deny"),
        }
    }

    /// A request has started; the guard ends it.
    pub fn start(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// A request to `route` (its template) answered with `status` after
    /// `seconds`.
    pub fn answered(&self, route: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .observe(seconds);
    }

    /// A request answered with a problem of type `reason`.
    pub fn refused(&self, reason: &str) {
        self.refused
            .get_or_create(&RefusedLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A reload changed `policy` (its name, or its file when it never
    /// compiled) with `result`.
    pub fn reloaded(&self, policy: &str, result: ReloadResult) {
        self.reloads
            .get_or_create(&ReloadLabels {
                policy: policy.to_owned(),
                result: result.as_str(),
            })
            .inc();
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(8 << 10);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry);
        text
    }
}

/// Ends an in-flight request when dropped (answered, failed or cancelled).
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What is read at scrape time: the revisions served, the sources whose
/// last change failed, and the decision log's drops.
#[derive(Debug)]
struct Scraped {
    catalog: Arc<arc_swap::ArcSwap<Catalog>>,
    log_dropped: Option<Arc<AtomicU64>>,
}

impl Collector for Scraped {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let catalog = self.catalog.load();
        {
            let mut info = encoder.encode_descriptor(
                "tollgate_policy_info",
                "The revision served of each policy (always 1)",
                None,
                MetricType::Gauge,
            )?;
            for served in catalog.sources.values().filter_map(|s| s.served.as_ref()) {
                let labels = [
                    ("policy", served.policy.name()),
                    ("revision", served.revision.as_str()),
                ];
                info.encode_family(&labels)?.encode_gauge(&1i64)?;
            }
        }
        {
            let mut failing = encoder.encode_descriptor(
                "tollgate_policy_last_reload_failed",
                "1 when a source's newest text was refused and an older revision (or none) is served",
                None,
                MetricType::Gauge,
            )?;
            for (path, source) in &catalog.sources {
                let failed = i64::from(source.last_error.is_some());
                let path = path.display().to_string();
                let labels = [("source", path.as_str())];
                failing.encode_family(&labels)?.encode_gauge(&failed)?;
            }
        }
        let dropped = self
            .log_dropped
            .as_ref()
            .map_or(0, |d| d.load(Ordering::Relaxed));
        let counter = prometheus_client::metrics::counter::ConstCounter::new(dropped);
        let metric = encoder.encode_descriptor(
            "tollgate_decision_log_dropped",
            "Decision log events lost: dropped on a full queue, or not written because a write failed",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)?;
        Ok(())
    }
}
