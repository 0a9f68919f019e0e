//! The client-side signer: its key goes through the core's `key_spec`, as a guard's keys do.

use hmac_guard::config::Spelling;
use hmac_guard::{DigestAlgorithm, ErrorCode, Rfc9421SignOptions, Signer, SimpleSignOptions};
use napi::Env;
use napi::bindgen_prelude::{Buffer, Unknown};
use napi_derive::napi;

use crate::errors::{Result, guarded};
use crate::head::head_from_parts;
use crate::options::{key_of, value_of};

/// RFC 9421 signing options: those of the core's `Rfc9421SignOptions` (`None`: its default), the
/// `Content-Digest` algorithm by name.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct Rfc9421SignOpts {
    pub label: Option<String>,
    pub components: Option<Vec<String>>,
    pub created: Option<i64>,
    pub expires_in: Option<u32>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    pub include_alg: Option<bool>,
    pub digest: Option<String>,
}

/// Signs requests with one key; returns headers as a flat `[name, value, …, base]` list.
#[napi]
#[derive(Debug)]
pub struct NativeSigner {
    signer: Signer,
}

/// `[name, value, …, base]`: the headers as a flat list, then the signature base.
fn flat_with_base((headers, base): (Vec<(String, String)>, String)) -> Vec<String> {
    headers.into_iter().flat_map(|(n, v)| [n, v]).chain([base]).collect()
}

#[napi]
impl NativeSigner {
    /// A signer for one key; throws `ERR_INVALID_CONFIG` for a bad key.
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "KeyOptions")] key: Unknown<'_>) -> Result<Self> {
        let spec = key_of(&env, key)?;
        guarded(|| Ok(NativeSigner { signer: Signer::new(spec)? }))
    }

    /// The key id.
    #[napi(getter)]
    pub fn key_id(&self) -> String {
        self.signer.key_id().to_string()
    }

    /// RFC 9421 headers to add (`Content-Digest` when covered, `Signature-Input`, `Signature`),
    /// for the head packed as for verification (`head::head_from_parts`), followed by the
    /// signature base they sign as the last element.
    #[napi]
    pub fn sign_rfc9421(
        &self,
        parts: String,
        lens: &[u32],
        body: Option<&[u8]>,
        options: Option<Rfc9421SignOpts>,
    ) -> Result<Vec<String>> {
        guarded(|| {
            let h = head_from_parts(&parts, lens)?;
            let o = options.unwrap_or_default();
            let d = Rfc9421SignOptions::default();
            let digests = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];
            let digest = o.digest.map_or(Some(d.digest), |name| digests.into_iter().find(|d| d.key() == name));
            let digest =
                digest.ok_or_else(|| hmac_guard::Error::new(ErrorCode::InvalidConfig, "digest must be sha-256 or sha-512"))?;
            let opts = Rfc9421SignOptions {
                label: o.label.unwrap_or(d.label),
                components: o.components,
                created: o.created,
                expires_in: o.expires_in,
                nonce: o.nonce,
                tag: o.tag,
                include_alg: o.include_alg.unwrap_or(d.include_alg),
                digest,
            };
            self.signer.sign_rfc9421_with_base(&h, body.unwrap_or_default(), &opts).map(flat_with_base)
        })
    }

    /// Simple-scheme headers to add (`timestamp`, `nonce`: default now and 128 random bits),
    /// followed by the canonical string they sign as the last element.
    #[napi]
    pub fn sign_simple(
        &self,
        method: String,
        path_and_query: String,
        body: Option<&[u8]>,
        timestamp: Option<i64>,
        nonce: Option<String>,
    ) -> Result<Vec<String>> {
        let opts = SimpleSignOptions { timestamp, nonce };
        guarded(|| {
            self.signer.sign_simple_with_base(&method, &path_and_query, body.unwrap_or_default(), &opts).map(flat_with_base)
        })
    }
}

/// Testing aid (RFC 4231 vectors): the core's `Key::mac` of `data`, as lowercase hex.
#[napi(js_name = "__macForTest")]
pub fn mac_for_test(env: Env, #[napi(ts_arg_type = "KeyOptions")] key: Unknown<'_>, data: &[u8]) -> Result<String> {
    let spec = key_of(&env, key)?;
    guarded(|| Ok(hmac_guard::digest::to_hex(&hmac_guard::Key::new(spec)?.mac(data))))
}

/// A webhook delivery signed as the provider signs it: the headers to send and the exact bytes the
/// MAC covers.
#[napi(object, object_from_js = false)]
pub struct SignedWebhookResult {
    /// Header names and values, flat: `[name, value, …]`.
    pub headers: Vec<String>,
    /// The exact bytes the MAC covers.
    pub signed: Buffer,
}

impl std::fmt::Debug for SignedWebhookResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedWebhookResult").field("headers", &self.headers.len()).finish_non_exhaustive()
    }
}

/// Signs `body` as `preset`'s provider would with each of `secrets` (the core's `webhook::sign`):
/// `timestamp` Unix seconds (default now), `id` the Standard Webhooks delivery id (default random).
#[napi]
pub fn sign_webhook(
    env: Env,
    preset: String,
    #[napi(ts_arg_type = "string | string[]")] secrets: Unknown<'_>,
    body: Option<&[u8]>,
    timestamp: Option<i64>,
    id: Option<String>,
) -> Result<SignedWebhookResult> {
    let secrets = value_of(&env, secrets)?;
    // The preset's name and the secrets are checked by the core, as the `secrets` option is.
    let signed = guarded(|| {
        hmac_guard::config::sign_webhook(&preset, &secrets, Spelling::Node, body.unwrap_or_default(), timestamp, id.as_deref())
    })?;
    Ok(SignedWebhookResult {
        headers: signed.headers.into_iter().flat_map(|(n, v)| [n, v]).collect(),
        signed: signed.signed.into(),
    })
}
