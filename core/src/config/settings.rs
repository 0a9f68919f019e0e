//! The effective settings of a configuration, defaults filled in, as one JSON object keyed by
//! canonical id: what `guard.settings` shows in every binding and what the parity suite compares.
//! Nothing that could be a secret is listed (no key, URL, prefix, tag or CA).

use std::fmt::Write as _;

use super::{GuardConfig, SchemeConfig, StoreConfig};
use crate::verifier::ReplayMode;

enum Json<'a> {
    Int(u64),
    Bool(bool),
    Word(&'static str),
    Words(&'a [String]),
    Null,
}

impl GuardConfig {
    /// The effective settings as a JSON object (canonical ids as names).
    #[must_use]
    pub fn settings_json(&self) -> String {
        let p = &self.policy;
        let l = &p.header_limits;
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let (scheme, rfc) = match &self.scheme {
            SchemeConfig::Rfc9421(c) => ("rfc9421", Some(c)),
            SchemeConfig::Simple => ("simple", None),
            SchemeConfig::Webhook { preset, .. } => (preset.name(), None),
        };
        let (replay, hold) = match p.replay {
            ReplayMode::Consume => ("consume", Json::Null),
            ReplayMode::Reserve { hold_secs } => ("reserve", Json::Int(u64::from(hold_secs))),
        };
        let mut fields: Vec<(&str, Json<'_>)> = vec![
            ("scheme", Json::Word(scheme)),
            ("policy.max_age_secs", Json::Int(u64::from(p.max_age_secs))),
            ("policy.max_future_skew_secs", Json::Int(u64::from(p.max_future_skew_secs))),
            ("policy.body_limit", Json::Int(p.body_limit)),
            ("policy.require_nonce", Json::Bool(p.require_nonce)),
            ("policy.replay", Json::Word(replay)),
            ("policy.reserve_hold_secs", hold),
            ("policy.max_header_len", Json::Int(as_u64(l.max_header_len))),
            ("policy.min_nonce_len", Json::Int(as_u64(l.min_nonce_len))),
            ("policy.max_nonce_len", Json::Int(as_u64(l.max_nonce_len))),
            ("policy.max_components", Json::Int(as_u64(l.max_components))),
            ("policy.trust_proxy", Json::Bool(p.trust_proxy)),
            ("default_url_scheme", Json::Word(super::DEFAULT_URL_SCHEME)),
        ];
        if let Some(c) = rfc {
            fields.push(("policy.required_components", Json::Words(&c.required_components)));
            fields.push(("policy.required_params", Json::Words(&c.required_params)));
            fields.push(("policy.required_tag", Json::Bool(c.required_tag.is_some())));
        }
        if let SchemeConfig::Webhook { preset, named, .. } = &self.scheme {
            fields.push(("webhook.endpoint", Json::Word(if *named { "given" } else { "from-secrets" })));
            let tolerance = if preset.signs_timestamp() { Json::Int(u64::from(p.max_age_secs)) } else { Json::Null };
            fields.push(("webhook.tolerance_secs", tolerance));
            fields.push(("webhook.dedupe_secs", Json::Int(u64::from(p.dedupe_secs))));
            fields.push(("webhook.min_secret_len", Json::Int(as_u64(preset.min_secret_len()))));
        }
        match &self.store {
            StoreConfig::Memory(m) => {
                fields.push(("store", Json::Word("memory")));
                fields.push(("replay_store.capacity", Json::Int(as_u64(m.capacity))));
                fields.push(("replay_store.per_key_quota", m.per_key_quota.map_or(Json::Null, |q| Json::Int(as_u64(q)))));
            }
            StoreConfig::Redis(r) => {
                fields.push(("store", Json::Word("redis")));
                let ms = u64::try_from(r.config.timeout.as_millis()).unwrap_or(u64::MAX);
                fields.push(("redis_timeout_ms", Json::Int(ms)));
                fields.push(("redis_fail_open", Json::Bool(r.config.fail_open)));
            }
        }
        fields.push(("keys", Json::Int(as_u64(self.keys.len()))));
        fields.push(("clock", Json::Word(if self.clock.is_some() { "manual" } else { "system" })));
        fields.push(("expose_reasons", Json::Bool(self.expose_reasons)));
        let o = &self.observe;
        fields.push(("observe.report_accepted", Json::Bool(o.config.report_accepted)));
        fields.push(("observe.log_rate", Json::Int(u64::from(o.config.log_rate))));
        fields.push(("observe.log_level", Json::Word(o.config.log_level.name())));
        fields.push(("observe.logger", Json::Word(o.logger.name())));
        fields.push(("observe.on_event", Json::Bool(o.on_event)));
        let mut out = String::from("{");
        for (i, (name, value)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{name}\":");
            match value {
                Json::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Json::Bool(b) => {
                    let _ = write!(out, "{b}");
                }
                Json::Word(w) => {
                    let _ = write!(out, "\"{w}\"");
                }
                Json::Null => out.push_str("null"),
                Json::Words(ws) => {
                    out.push('[');
                    for (j, w) in ws.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        crate::json::string(&mut out, w);
                    }
                    out.push(']');
                }
            }
        }
        out.push('}');
        out
    }
}
