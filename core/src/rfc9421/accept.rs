//! `Accept-Signature` (RFC 9421 §5.1): what this verifier requires, for a client that was refused.

use super::Rfc9421Config;
use crate::sf;

/// The field value: one member whose inner list holds the required components (plus
/// `content-digest` when a body must be bound) and whose parameters name the required signature
/// parameters (bare: the signer picks the value) and the required tag (with its value).
pub(super) fn field_value(config: &Rfc9421Config, nonce: bool, with_body: bool) -> String {
    let label = config.accepted_labels.as_ref().and_then(|l| l.first()).map_or("sig1", String::as_str);
    let mut out = format!("{label}=(");
    let mut components: Vec<&str> = config.required_components.iter().map(String::as_str).collect();
    if with_body && !components.contains(&"content-digest") {
        components.push("content-digest");
    }
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Serialized identifiers were checked to be canonical; plain names are quoted here.
        if c.starts_with('"') {
            out.push_str(c);
        } else {
            sf::write_string(&mut out, c);
        }
    }
    out.push(')');
    for p in ["created", "expires", "nonce", "keyid", "alg"] {
        let required = config.required_params.iter().any(|r| r == p) || (p == "nonce" && nonce);
        if required {
            out.push(';');
            out.push_str(p);
        }
    }
    if let Some(tag) = &config.required_tag {
        out.push_str(";tag=");
        sf::write_string(&mut out, tag);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_every_setting() {
        let d = Rfc9421Config::default();
        assert_eq!(field_value(&d, true, false), r#"sig1=("@method" "@authority" "@path" "@query");created;nonce;keyid"#);
        assert_eq!(
            field_value(&d, true, true),
            r#"sig1=("@method" "@authority" "@path" "@query" "content-digest");created;nonce;keyid"#
        );
        let c = Rfc9421Config {
            required_components: vec!["@method".into(), r#""@query-param";name="id""#.into()],
            required_params: vec!["created".into(), "keyid".into()],
            accepted_labels: Some(vec!["app".into(), "sig1".into()]),
            required_tag: Some(r#"orders "v2""#.into()),
        };
        assert_eq!(
            field_value(&c, false, false),
            r#"app=("@method" "@query-param";name="id");created;keyid;tag="orders \"v2\"""#
        );
        let with_body = field_value(&c, false, true);
        let parsed = sf::parse_dictionary(&with_body).expect("a structured field");
        assert_eq!(parsed.len(), 1);
    }
}
