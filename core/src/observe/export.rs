//! The monitor's numbers out: a stats snapshot (JSON, spelled for the binding) and Prometheus
//! metric families (JSON for the prom-client / prometheus_client collectors, and the text
//! exposition format). Metric names are defined here only; docs/observability.md lists them.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::Monitor;
use crate::config::Spelling;
use crate::error::{ErrorCode, Result, fail};
use crate::json::Object;
use crate::keyring::KeyRing;

/// One sample: the full metric name (`…_bucket`, `…_sum`), labels, value.
struct Sample {
    name: String,
    labels: Vec<(&'static str, String)>,
    value: f64,
}

/// One metric family.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<Sample>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Family { name, kind, help, samples: Vec::new() }
    }

    fn sample(&mut self, labels: Vec<(&'static str, String)>, value: f64) -> &mut Self {
        self.samples.push(Sample { name: self.name.to_string(), labels, value });
        self
    }
}

#[allow(clippy::cast_precision_loss)] // counters past 2^53 lose precision in Prometheus anyway
fn f(n: u64) -> f64 {
    n as f64
}

impl Monitor {
    /// A snapshot of the counters and the store's health, as JSON spelled for the binding;
    /// `keys`: the guard's key ring (its keys carry their own counts).
    #[must_use]
    pub fn stats_json(&self, spelling: Spelling, keys: &KeyRing) -> String {
        let node = spelling == Spelling::Node;
        let name = |snake: &'static str, camel: &'static str| if node { camel } else { snake };
        let c = &self.counters;
        let h = &self.health;
        let mut out = String::with_capacity(512);
        let mut o = Object::open(&mut out);
        o.str("scheme", self.scheme).str("store", self.store).num("keys", keys.len());
        o.num("accepted", c.accepted.load(Ordering::Relaxed))
            .num("rejected", c.rejected.load(Ordering::Relaxed))
            .num("aborted", c.aborted.load(Ordering::Relaxed));
        let mut codes = String::new();
        let mut co = Object::open(&mut codes);
        for (code, n) in c.codes() {
            co.num(code.as_str(), n);
        }
        co.close();
        o.raw("rejections", &codes);
        let mut keys_json = String::new();
        let mut ko = Object::open(&mut keys_json);
        for (id, accepted, rejected) in keys.tallies() {
            let mut one = String::new();
            let mut k = Object::open(&mut one);
            k.num("accepted", accepted).num("rejected", rejected);
            k.close();
            ko.raw(&id, &one);
        }
        ko.close();
        o.raw(name("by_key", "byKey"), &keys_json);
        let (buckets, count, sum_us) = c.histogram();
        let mut d = String::new();
        let mut dobj = Object::open(&mut d);
        dobj.num("count", count).num(name("sum_seconds", "sumSeconds"), f(sum_us) / 1e6);
        let list: Vec<String> = buckets.iter().map(|(le, n)| format!("[{},{n}]", f(*le) / 1e6)).collect();
        dobj.raw("buckets", &format!("[{}]", list.join(",")));
        dobj.close();
        o.raw("duration", &d);
        let mut s = String::new();
        let mut so = Object::open(&mut s);
        let since = h.failing_since_ms();
        so.str("state", if since.is_some() { "failing" } else { "ok" });
        match since {
            Some(ms) => so.num(name("failing_since_ms", "failingSinceMs"), ms),
            None => so.raw(name("failing_since_ms", "failingSinceMs"), "null"),
        };
        so.num("failures", h.failures.load(Ordering::Relaxed))
            .num(name("fail_open_uses", "failOpenUses"), h.fail_open_uses.load(Ordering::Relaxed))
            .num(name("state_changes", "stateChanges"), h.state_changes.load(Ordering::Relaxed))
            .num(name("data_losses", "dataLosses"), h.losses.load(Ordering::Relaxed));
        match h.lost_at_ms.load(Ordering::Relaxed) {
            0 => so.raw(name("lost_at_ms", "lostAtMs"), "null"),
            ms => so.num(name("lost_at_ms", "lostAtMs"), ms),
        };
        so.close();
        o.raw(name("replay_store", "replayStore"), &s);
        o.close();
        out
    }

    /// Requests accepted without replay protection (fail-open stores only).
    #[must_use]
    pub fn fail_open_uses(&self) -> u64 {
        self.health.fail_open_uses.load(Ordering::Relaxed)
    }

    fn families(&self, keys: &KeyRing) -> Vec<Family> {
        let c = &self.counters;
        let h = &self.health;
        let mut out = Vec::new();
        let mut info = Family::new("hmac_guard_info", "gauge", "The guard's scheme and replay store (always 1).");
        info.sample(vec![("scheme", self.scheme.into()), ("store", self.store.into())], 1.0);
        out.push(info);
        let mut v = Family::new("hmac_guard_verifications_total", "counter", "Verifications by outcome.");
        for (outcome, n) in [("accepted", &c.accepted), ("rejected", &c.rejected), ("aborted", &c.aborted)] {
            v.sample(vec![("outcome", outcome.into())], f(n.load(Ordering::Relaxed)));
        }
        out.push(v);
        let mut r = Family::new("hmac_guard_rejections_total", "counter", "Rejections by error code and HTTP status.");
        for (code, n) in c.codes() {
            r.sample(vec![("code", code.as_str().into()), ("status", code.status().to_string())], f(n));
        }
        out.push(r);
        let mut k = Family::new(
            "hmac_guard_key_verifications_total",
            "counter",
            "Verdicts per key id of the key ring (requests naming unknown ids count as ERR_UNKNOWN_KEY only).",
        );
        for (id, accepted, rejected) in keys.tallies() {
            k.sample(vec![("key_id", id.to_string()), ("outcome", "accepted".into())], f(accepted));
            k.sample(vec![("key_id", id.to_string()), ("outcome", "rejected".into())], f(rejected));
        }
        out.push(k);
        let mut d = Family::new(
            "hmac_guard_verification_duration_seconds",
            "histogram",
            "Time from the request head to the verdict (body and replay store included).",
        );
        let (buckets, count, sum_us) = c.histogram();
        for (le, n) in buckets {
            d.samples.push(Sample {
                name: format!("{}_bucket", d.name),
                labels: vec![("le", format!("{}", f(le) / 1e6))],
                value: f(n),
            });
        }
        d.samples.push(Sample { name: format!("{}_bucket", d.name), labels: vec![("le", "+Inf".into())], value: f(count) });
        d.samples.push(Sample { name: format!("{}_sum", d.name), labels: vec![], value: f(sum_us) / 1e6 });
        d.samples.push(Sample { name: format!("{}_count", d.name), labels: vec![], value: f(count) });
        out.push(d);
        let since = h.failing_since_ms();
        let gauges: [(&'static str, &'static str, f64); 2] = [
            (
                "hmac_guard_replay_store_up",
                "1 while the replay store answers, 0 while it fails.",
                if since.is_some() { 0.0 } else { 1.0 },
            ),
            (
                "hmac_guard_replay_store_failing_since_seconds",
                "Unix time the replay store started failing; 0 while it answers.",
                since.map_or(0.0, |ms| f(u64::try_from(ms).unwrap_or(0)) / 1e3),
            ),
        ];
        for (name, help, value) in gauges {
            let mut g = Family::new(name, "gauge", help);
            g.sample(vec![], value);
            out.push(g);
        }
        let counters: [(&'static str, &'static str, u64); 4] = [
            (
                "hmac_guard_replay_store_data_losses_total",
                "Times the replay store was seen to have lost claims (restart without persistence, flush, eviction, failover).",
                h.losses.load(Ordering::Relaxed),
            ),
            (
                "hmac_guard_replay_store_errors_total",
                "Replay store calls that got no answer.",
                h.failures.load(Ordering::Relaxed),
            ),
            (
                "hmac_guard_replay_store_fail_open_total",
                "Requests accepted without replay protection because the store could not answer (fail-open).",
                h.fail_open_uses.load(Ordering::Relaxed),
            ),
            (
                "hmac_guard_replay_store_state_changes_total",
                "Replay store changes between answering and failing.",
                h.state_changes.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let mut g = Family::new(name, "counter", help);
            g.sample(vec![], f(value));
            out.push(g);
        }
        let mut keys_gauge = Family::new("hmac_guard_keys", "gauge", "Keys in the key ring.");
        keys_gauge.sample(vec![], f(u64::try_from(keys.len()).unwrap_or(u64::MAX)));
        out.push(keys_gauge);
        out
    }

    /// The metric families as JSON: `[{name, type, help, samples: [{name, labels, value}]}]`, for
    /// the bindings' Prometheus collectors.
    #[must_use]
    pub fn families_json(&self, keys: &KeyRing) -> String {
        let mut out = String::from("[");
        for (i, fam) in self.families(keys).iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let mut o = Object::open(&mut out);
            o.str("name", fam.name).str("type", fam.kind).str("help", fam.help);
            let mut samples = String::from("[");
            for (j, s) in fam.samples.iter().enumerate() {
                if j > 0 {
                    samples.push(',');
                }
                let mut so = Object::open(&mut samples);
                so.str("name", &s.name);
                let mut labels = String::new();
                let mut lo = Object::open(&mut labels);
                for (k, v) in &s.labels {
                    lo.str(k, v);
                }
                lo.close();
                so.raw("labels", &labels).num("value", s.value);
                so.close();
            }
            samples.push(']');
            o.raw("samples", &samples);
            o.close();
        }
        out.push(']');
        out
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4), each sample with
    /// the `extra` labels too (e.g. `guard="api"` when one process has several guards).
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for an extra label name that Prometheus does not allow or that the
    /// metrics use themselves.
    pub fn prometheus_text(&self, keys: &KeyRing, extra: &[(String, String)]) -> Result<String> {
        for (name, _) in extra {
            let valid =
                name.chars().enumerate().all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
            if name.is_empty() || !valid || name.starts_with("__") {
                return fail(
                    ErrorCode::InvalidConfig,
                    "a metric label name must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __",
                );
            }
            if ["scheme", "store", "outcome", "code", "status", "key_id", "le"].contains(&name.as_str()) {
                return fail(ErrorCode::InvalidConfig, "a metric label name must not be one the metrics use");
            }
        }
        let mut out = String::new();
        for fam in self.families(keys) {
            let _ = writeln!(out, "# HELP {} {}", fam.name, fam.help);
            let _ = writeln!(out, "# TYPE {} {}", fam.name, fam.kind);
            for s in &fam.samples {
                out.push_str(&s.name);
                let labels: Vec<(&str, &str)> = extra
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .chain(s.labels.iter().map(|(k, v)| (*k, v.as_str())))
                    .collect();
                if !labels.is_empty() {
                    out.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                    }
                    out.push('}');
                }
                let _ = writeln!(out, " {}", s.value);
            }
        }
        Ok(out)
    }
}

/// A label value in the text format: backslash, double quote and line feed escaped.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}
