//! Keys as options: `{id, secret, algorithm, subject, not_before, not_after}`.

use std::collections::HashMap;

use super::fields::Spelling;
use super::read::{Options, invalid};
use super::value::Value;
use crate::error::{Error, ErrorCode, Result};
use crate::keyring::{Algorithm, KeySpec, MIN_SECRET_LEN, validate_key_id};

/// Latest validity bound accepted (the last second of year 9999), in Unix seconds.
const MAX_TIME: i64 = 253_402_300_799;

/// One key from its options (`Guard.addKey`, `Signer`): errors name `key.<field>`.
///
/// # Errors
/// `ERR_INVALID_CONFIG` naming the bad field.
pub fn key_spec(value: &Value, spelling: Spelling) -> Result<KeySpec> {
    read(&Options::key(value, spelling, None)?)
}

/// The `keys` option: every key, no id twice.
pub(crate) fn read_all(o: &Options<'_>) -> Result<Vec<KeySpec>> {
    let Some(items) = o.list("keys")? else { return Ok(Vec::new()) };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut specs = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let k = Options::key(item, o.spelling(), Some(i))?;
        let spec = read(&k)?;
        if let Some(first) = seen.insert(spec.id.clone(), i) {
            // Positions, not the id: an id may be a secret given in the wrong field.
            return Err(invalid(&k.name("key.id"), format_args!("is the same as keys[{first}]'s id")));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn read(k: &Options<'_>) -> Result<KeySpec> {
    let Some(id) = k.string("key.id")? else { return Err(invalid(&k.name("key.id"), "is required")) };
    validate_key_id(&id).map_err(|e| Error::new(ErrorCode::InvalidConfig, format!("{}: {}", k.name("key.id"), e.reason())))?;
    let Some(secret) = k.bytes("key.secret")? else { return Err(invalid(&k.name("key.secret"), "is required")) };
    if secret.len() < MIN_SECRET_LEN {
        return Err(invalid(
            &k.name("key.secret"),
            format_args!("must be at least {MIN_SECRET_LEN} bytes (it is {})", secret.len()),
        ));
    }
    let algorithm = match k.choice("key.algorithm", &["hmac-sha256", "hmac-sha512"])? {
        Some(name) => Algorithm::from_name(name)?,
        None => Algorithm::HmacSha256,
    };
    let not_before = k.int("key.not_before", 0, MAX_TIME)?;
    let not_after = k.int("key.not_after", 0, MAX_TIME)?;
    if let (Some(nb), Some(na)) = (not_before, not_after)
        && na <= nb
    {
        return Err(invalid(&k.name("key.not_after"), format_args!("must be after {}", k.name("key.not_before"))));
    }
    Ok(KeySpec { id, secret, algorithm, subject: k.string("key.subject")?, not_before, not_after })
}
