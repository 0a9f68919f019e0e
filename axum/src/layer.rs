//! The tower `Layer` and `Service`: head to the core before any body byte, body streamed through
//! the verification, the verified bytes put back for the handler, the result in the request's
//! extensions.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hmac_guard::Guard;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::body;
use crate::head::{announces_body, head_of};
use crate::respond::refusal;
use crate::settle::Settle;

/// The body buffer's first allocation at most; it grows as bytes arrive.
const INITIAL_BUFFER: usize = 64 * 1024;

/// Verifies every request before the inner service sees it. Place it outside (before) any
/// request decompression so the MAC is checked over the bytes on the wire.
#[derive(Debug, Clone)]
pub struct HmacGuardLayer {
    guard: Guard,
    options: Arc<Options>,
}

#[derive(Debug, Default)]
struct Options {
    url_scheme: Option<String>,
    expose_reasons: bool,
}

impl HmacGuardLayer {
    /// A layer verifying with `guard`.
    #[must_use]
    pub fn new(guard: Guard) -> Self {
        HmacGuardLayer { guard, options: Arc::default() }
    }

    /// A layer for a guard built from the one configuration contract, with its
    /// `expose_reasons` setting.
    #[must_use]
    pub fn from_built(built: &hmac_guard::BuiltGuard) -> Self {
        HmacGuardLayer::new(built.guard.clone()).expose_reasons(built.expose_reasons)
    }

    /// A layer built from options of the one configuration contract, spelled as in Python
    /// (`scheme`, `secrets`, `body_limit`, `redis_url`, ... — docs/configuration.md); defaults,
    /// validation and environment variables are the core's (`GuardConfig::from_options`).
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` naming the first bad option (never a secret's value).
    pub fn from_options(options: &hmac_guard::Value) -> hmac_guard::Result<Self> {
        let built = hmac_guard::GuardConfig::from_options(options, hmac_guard::Spelling::Python)?.build()?;
        Ok(HmacGuardLayer::from_built(&built))
    }

    /// A webhook receiver for a provider preset (`standard-webhooks`, `svix`, `stripe`, `github`,
    /// `slack`, `shopify`) with the endpoint's secrets as the provider's dashboard shows them
    /// (several during a rotation: `secret-0`, `secret-1`, ...). The handler takes the `Webhook`
    /// extractor; a copy of a processed delivery is answered 200 without running it, a copy
    /// still in flight 409 with `Retry-After`. Other settings (`tolerance_secs`, `dedupe_secs`,
    /// `body_limit`, `redis_url`): [`HmacGuardLayer::from_options`].
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for an unknown preset or a secret the preset refuses (named by its
    /// position, never its value).
    pub fn webhook(preset: &str, secrets: &[&str]) -> hmac_guard::Result<Self> {
        use hmac_guard::Value;
        let secrets = Value::List(secrets.iter().map(|s| Value::str(*s)).collect());
        HmacGuardLayer::from_options(&Value::map([("scheme", Value::str(preset)), ("secrets", secrets)]))
    }

    /// The URL scheme requests arrive by (`https` behind a TLS terminator that does not set
    /// `Forwarded`, `http` for plain HTTP). Unset: the URI's, else the core's default (`https`).
    #[must_use]
    pub fn url_scheme(mut self, scheme: impl Into<String>) -> Self {
        Arc::make_mut_options(&mut self.options).url_scheme = Some(scheme.into());
        self
    }

    /// Development only: error responses add the core's reason.
    #[must_use]
    pub fn expose_reasons(mut self, on: bool) -> Self {
        Arc::make_mut_options(&mut self.options).expose_reasons = on;
        self
    }
}

/// `Arc::make_mut` for the non-`Clone` options: layers are configured before they are shared.
trait MakeMut {
    fn make_mut_options(this: &mut Arc<Options>) -> &mut Options;
}

impl MakeMut for Arc<Options> {
    fn make_mut_options(this: &mut Arc<Options>) -> &mut Options {
        if Arc::get_mut(this).is_none() {
            let copy = Options { url_scheme: this.url_scheme.clone(), expose_reasons: this.expose_reasons };
            *this = Arc::new(copy);
        }
        Arc::get_mut(this).unwrap_or_else(|| unreachable!("just made unique"))
    }
}

impl<S> Layer<S> for HmacGuardLayer {
    type Service = HmacGuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HmacGuardService { inner, guard: self.guard.clone(), options: Arc::clone(&self.options) }
    }
}

/// The service [`HmacGuardLayer`] wraps around an inner service.
#[derive(Debug, Clone)]
pub struct HmacGuardService<S> {
    inner: S,
    guard: Guard,
    options: Arc<Options>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B, R> Service<Request<B>> for HmacGuardService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + From<Bytes> + Send + Unpin + 'static,
    R: From<String> + Send + 'static,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that is called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let guard = self.guard.clone();
        let options = Arc::clone(&self.options);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let announced = announces_body(&parts.headers);
            let expose = options.expose_reasons;
            let verification = guard.begin(&head_of(&parts, options.url_scheme.as_deref()));
            let verification = match verification {
                Ok(v) => v,
                Err(e) => return Ok(refusal(&guard, &e, announced, !announced, expose)),
            };
            let limit = usize::try_from(guard.policy().body_limit).unwrap_or(usize::MAX);
            // The first allocation is capped: Content-Length is the client's word until bytes arrive.
            let declared = body.size_hint().exact().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
            let capacity = declared.min(limit).min(INITIAL_BUFFER);
            let (pending, bytes) = match body::read(verification, body, capacity).await {
                Ok(read) => read,
                Err(stop) => return Ok(refusal(&guard, &stop.error, announced, stop.fully_read, expose)),
            };
            let verified = match body::claim(&guard, pending).await {
                Ok(v) => v,
                Err(e) => return Ok(refusal(&guard, &e, announced, true, expose)),
            };
            let settle = Settle::new(verified.replay_ticket.clone(), &guard);
            // Shared, so extractors hand it out without copying its strings.
            parts.extensions.insert(Arc::new(verified));
            parts.extensions.insert(body::WireBody(bytes.clone()));
            let response = inner.call(Request::from_parts(parts, B::from(bytes))).await;
            settle.finish(response.as_ref().is_ok_and(|r| hmac_guard::webhook::handled(r.status().as_u16()))).await;
            response
        })
    }
}
