//! The client-side signer: its key goes through the core's `key_spec`, as a guard's keys do.

use hmac_guard::{DigestAlgorithm, ErrorCode, Rfc9421SignOptions, Signer, SimpleSignOptions};
use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

use crate::errors::{Result, guarded};
use crate::head::head_from_parts;
use crate::options::key_of;

/// RFC 9421 signing options.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct Rfc9421SignOpts {
    /// Signature label (default `sig1`).
    pub label: Option<String>,
    /// Covered components (default `@method @authority @path @query`, plus `content-digest`
    /// when there is a body).
    pub components: Option<Vec<String>>,
    /// `created` (default: now).
    pub created: Option<i64>,
    /// Adds `expires = created + expiresIn`.
    pub expires_in: Option<u32>,
    /// `nonce` (default: 128 random bits).
    pub nonce: Option<String>,
    /// `tag`.
    pub tag: Option<String>,
    /// Whether to add the `alg` parameter.
    pub include_alg: Option<bool>,
    /// `sha-256` (default) or `sha-512` for `Content-Digest`.
    pub digest: Option<String>,
}

/// Signs requests with one key; returns headers as a flat `[name, value, …]` list.
#[napi]
#[derive(Debug)]
pub struct NativeSigner {
    signer: Signer,
}

fn flat(headers: Vec<(String, String)>) -> Vec<String> {
    headers.into_iter().flat_map(|(n, v)| [n, v]).collect()
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
    /// for the head packed as for verification (`head::head_from_parts`).
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
            let digest = match o.digest.as_deref() {
                None => DigestAlgorithm::Sha256,
                Some(name) => [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512]
                    .into_iter()
                    .find(|d| d.key() == name)
                    .ok_or_else(|| hmac_guard::Error::new(ErrorCode::InvalidConfig, "digest must be sha-256 or sha-512"))?,
            };
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
            self.signer.sign_rfc9421(&h, body.unwrap_or_default(), &opts).map(flat)
        })
    }

    /// Simple-scheme headers to add (`timestamp`, `nonce`: default now and 128 random bits).
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
        guarded(|| self.signer.sign_simple(&method, &path_and_query, body.unwrap_or_default(), &opts).map(flat))
    }
}

/// Testing aid (RFC 4231 vectors): the core's `Key::mac` of `data`, as lowercase hex.
#[napi(js_name = "__macForTest")]
pub fn mac_for_test(env: Env, #[napi(ts_arg_type = "KeyOptions")] key: Unknown<'_>, data: &[u8]) -> Result<String> {
    let spec = key_of(&env, key)?;
    guarded(|| Ok(hmac_guard::digest::to_hex(&hmac_guard::Key::new(spec)?.mac(data))))
}
