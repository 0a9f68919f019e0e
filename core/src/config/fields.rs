//! Every option a guard takes, with its name in each binding: the one table that bindings, the
//! parity suite and error messages read names from.

/// How a binding spells and arranges option names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spelling {
    /// camelCase, policy options under `policy` and store options under `replayStore` (Node).
    Node,
    /// snake_case keyword arguments, all at the top level (Python, Rust).
    Python,
    /// The command line's flags where it has one (`--max-age`), else as [`Spelling::Python`].
    Cli,
}

/// The CLI's flag for each option it sets from the command line.
const CLI_FLAGS: [(&str, &str); 8] = [
    ("scheme", "--scheme"),
    ("policy.max_age_secs", "--max-age"),
    ("policy.max_future_skew_secs", "--max-skew"),
    ("policy.body_limit", "--body-limit"),
    ("policy.accepted_labels", "--label"),
    ("policy.required_tag", "--tag"),
    ("clock", "--at"),
    ("webhook.tolerance_secs", "--tolerance"),
];

/// One option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The canonical id: `policy.max_age_secs`, `key.not_after`, `redis_url`.
    pub id: &'static str,
    /// The Node spelling, a dotted path from the options object (a key's fields: within the key).
    pub node: &'static str,
    /// The Python spelling: a keyword argument (a key's fields: a dict key).
    pub python: &'static str,
}

impl Field {
    /// This option's name in a binding.
    #[must_use]
    pub fn name(&self, spelling: Spelling) -> &'static str {
        match spelling {
            Spelling::Node => self.node,
            Spelling::Python => self.python,
            Spelling::Cli => CLI_FLAGS.iter().find(|(id, _)| *id == self.id).map_or(self.python, |(_, flag)| flag),
        }
    }
}

macro_rules! fields {
    ($( $id:literal => ($node:literal, $python:literal), )+) => {
        /// Every guard option and every key field, canonical id first.
        pub const FIELDS: &[Field] = &[ $( Field { id: $id, node: $node, python: $python }, )+ ];
    };
}

fields! {
    "scheme" => ("scheme", "scheme"),
    "profile" => ("profile", "profile"),
    "keys" => ("keys", "keys"),
    "key.id" => ("id", "id"),
    "key.secret" => ("secret", "secret"),
    "key.algorithm" => ("algorithm", "algorithm"),
    "key.subject" => ("subject", "subject"),
    "key.not_before" => ("notBefore", "not_before"),
    "key.not_after" => ("notAfter", "not_after"),
    "policy.max_age_secs" => ("policy.maxAgeSecs", "max_age_secs"),
    "policy.max_future_skew_secs" => ("policy.maxFutureSkewSecs", "max_future_skew_secs"),
    "policy.body_limit" => ("policy.bodyLimit", "body_limit"),
    "policy.require_nonce" => ("policy.requireNonce", "require_nonce"),
    "policy.required_components" => ("policy.requiredComponents", "required_components"),
    "policy.required_params" => ("policy.requiredParams", "required_params"),
    "policy.accepted_labels" => ("policy.acceptedLabels", "accepted_labels"),
    "policy.required_tag" => ("policy.requiredTag", "required_tag"),
    "policy.replay" => ("policy.replay", "replay"),
    "policy.reserve_hold_secs" => ("policy.reserveHoldSecs", "reserve_hold_secs"),
    "policy.max_header_len" => ("policy.maxHeaderLen", "max_header_len"),
    "policy.min_nonce_len" => ("policy.minNonceLen", "min_nonce_len"),
    "policy.max_nonce_len" => ("policy.maxNonceLen", "max_nonce_len"),
    "policy.max_components" => ("policy.maxComponents", "max_components"),
    "policy.trust_proxy" => ("policy.trustProxy", "trust_proxy"),
    "replay_store.capacity" => ("replayStore.capacity", "store_capacity"),
    "replay_store.per_key_quota" => ("replayStore.perKeyQuota", "per_key_quota"),
    "redis_url" => ("redisUrl", "redis_url"),
    "redis_prefix" => ("redisPrefix", "redis_prefix"),
    "redis_timeout_ms" => ("redisTimeoutMs", "redis_timeout_ms"),
    "redis_fail_open" => ("redisFailOpen", "redis_fail_open"),
    "redis_tls_ca" => ("redisTlsCa", "redis_tls_ca"),
    "webhook.secrets" => ("secrets", "secrets"),
    "webhook.tolerance_secs" => ("toleranceSecs", "tolerance_secs"),
    "webhook.dedupe_secs" => ("dedupeSecs", "dedupe_secs"),
    "webhook.endpoint" => ("endpoint", "endpoint"),
    "clock" => ("clock", "clock"),
    "expose_reasons" => ("exposeReasons", "expose_reasons"),
    "observe.on_event" => ("onEvent", "on_event"),
    "observe.logger" => ("logger", "logger"),
    "observe.report_accepted" => ("reportAccepted", "report_accepted"),
    "observe.log_rate" => ("logRate", "log_rate"),
    "observe.log_level" => ("logLevel", "log_level"),
}

/// The option with this canonical id.
///
/// # Panics
/// Never for the ids the crate uses (a test checks every one); an unknown id is a bug.
#[must_use]
pub fn field(id: &str) -> &'static Field {
    FIELDS.iter().find(|f| f.id == id).unwrap_or(&UNKNOWN)
}

const UNKNOWN: Field = Field { id: "?", node: "?", python: "?" };

/// Whether a canonical id names a key's field (`key.*`) rather than a guard option.
#[must_use]
pub fn is_key_field(id: &str) -> bool {
    id.starts_with("key.")
}

/// The known name closest to `given` (a likely misspelling), for the error message.
#[must_use]
pub fn suggestion<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let given = given.to_ascii_lowercase();
    // An option given outside its group (`maxAgeSecs` for `policy.maxAgeSecs`) counts as a near miss.
    let distance = |c: &str| {
        let c = c.to_ascii_lowercase();
        let last = c.rsplit('.').next().unwrap_or(&c);
        edit_distance(&given, &c).min(edit_distance(&given, last))
    };
    candidates.map(|c| (distance(c), c)).filter(|(d, c)| *d <= 2.max(c.len() / 4)).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_per_spelling() {
        for spelling in [Spelling::Node, Spelling::Python] {
            let mut seen = std::collections::HashSet::new();
            for f in FIELDS {
                let scope = if is_key_field(f.id) { "key" } else { "guard" };
                assert!(seen.insert((scope, f.name(spelling))), "{} spelled twice", f.name(spelling));
            }
        }
        assert_eq!(field("nope").id, "?");
    }

    #[test]
    fn suggests_near_misses_only() {
        let names = ["bodyLimit", "notAfter", "maxAgeSecs"];
        assert_eq!(suggestion("bodyLimt", names.iter().copied()), Some("bodyLimit"));
        assert_eq!(suggestion("notAftr", names.iter().copied()), Some("notAfter"));
        assert_eq!(suggestion("colour", names.iter().copied()), None);
        assert_eq!(suggestion("maxAgeSecs", ["policy.maxAgeSecs"].into_iter()), Some("policy.maxAgeSecs"));
    }
}
