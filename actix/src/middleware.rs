//! The actix-web middleware: head to the core before any body byte, body streamed through the
//! verification, the verified bytes put back for the handler's extractors, the result in the
//! request's extensions. Refusals are responses, so outer middleware (the logger) sees them.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::{Error, HttpMessage as _};
use futures_util::future::LocalBoxFuture;
use hmac_guard::Guard;

use crate::body;
use crate::extract::WireBody;
use crate::head::{announces_body, head_of};
use crate::respond::refusal;
use crate::settle::Settle;

/// The body buffer's first allocation at most; it grows as bytes arrive.
const INITIAL_BUFFER: usize = 64 * 1024;

/// Verifies every request of the app, scope or resource it wraps.
#[derive(Debug, Clone)]
pub struct HmacGuard {
    guard: Guard,
    options: Arc<Options>,
}

#[derive(Debug, Clone, Default)]
struct Options {
    url_scheme: Option<String>,
    expose_reasons: bool,
}

impl HmacGuard {
    /// A middleware verifying with `guard`.
    #[must_use]
    pub fn new(guard: Guard) -> Self {
        HmacGuard { guard, options: Arc::default() }
    }

    /// A middleware for a guard built from the one configuration contract, with its
    /// `expose_reasons` setting.
    #[must_use]
    pub fn from_built(built: &hmac_guard::BuiltGuard) -> Self {
        HmacGuard::new(built.guard.clone()).expose_reasons(built.expose_reasons)
    }

    /// A middleware built from options of the one configuration contract, spelled as in Python
    /// (`scheme`, `secrets`, `body_limit`, `redis_url`, ... — docs/configuration.md); defaults,
    /// validation and environment variables are the core's (`GuardConfig::from_options`).
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` naming the first bad option (never a secret's value).
    pub fn from_options(options: &hmac_guard::Value) -> hmac_guard::Result<Self> {
        let built = hmac_guard::GuardConfig::from_options(options, hmac_guard::Spelling::Python)?.build()?;
        Ok(HmacGuard::from_built(&built))
    }

    /// A webhook receiver for a provider preset (`standard-webhooks`, `svix`, `stripe`, `github`,
    /// `slack`, `shopify`) with the endpoint's secrets as the provider's dashboard shows them
    /// (several during a rotation: `secret-0`, `secret-1`, ...). The handler takes [`crate::Webhook`];
    /// a copy of a processed delivery is answered 200 without running it, a copy still in flight
    /// 409 with `Retry-After`. Other settings (`tolerance_secs`, `dedupe_secs`, `body_limit`,
    /// `redis_url`): [`HmacGuard::from_options`].
    ///
    /// # Errors
    /// `ERR_INVALID_CONFIG` for an unknown preset or a secret the preset refuses (named by its
    /// position, never its value).
    pub fn webhook(preset: &str, secrets: &[&str]) -> hmac_guard::Result<Self> {
        use hmac_guard::Value;
        let secrets = Value::List(secrets.iter().map(|s| Value::str(*s)).collect());
        HmacGuard::from_options(&Value::map([("scheme", Value::str(preset)), ("secrets", secrets)]))
    }

    /// The URL scheme requests arrive by (`https` behind a TLS terminator that does not set
    /// `Forwarded`). Unset: `https` when the server accepted the connection over TLS, else `http`.
    #[must_use]
    pub fn url_scheme(mut self, scheme: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.options).url_scheme = Some(scheme.into());
        self
    }

    /// Development only: error responses add the core's reason.
    #[must_use]
    pub fn expose_reasons(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.options).expose_reasons = on;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for HmacGuard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = HmacGuardMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(HmacGuardMiddleware {
            service: Rc::new(service),
            guard: self.guard.clone(),
            options: Arc::clone(&self.options),
        }))
    }
}

/// The service [`HmacGuard`] wraps around the next one.
#[derive(Debug)]
pub struct HmacGuardMiddleware<S> {
    service: Rc<S>,
    guard: Guard,
    options: Arc<Options>,
}

impl<S, B> Service<ServiceRequest> for HmacGuardMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let guard = self.guard.clone();
        let options = Arc::clone(&self.options);
        Box::pin(async move {
            let announced = announces_body(&req);
            let expose = options.expose_reasons;
            let refuse = |req: ServiceRequest, e: &hmac_guard::Error, fully_read: bool, payload| {
                Ok(req.into_response(refusal(&guard, e, announced, fully_read, expose, payload)).map_into_right_body())
            };
            let payload = req.take_payload();
            let verification = match guard.begin(&head_of(&req, options.url_scheme.as_deref())) {
                Ok(v) => v,
                Err(e) => return refuse(req, &e, !announced, payload),
            };
            let limit = usize::try_from(guard.policy().body_limit).unwrap_or(usize::MAX);
            let declared = req.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            // The first allocation is capped: Content-Length is the client's word until bytes arrive.
            let capacity = declared.unwrap_or(0).min(limit).min(INITIAL_BUFFER);
            let (pending, bytes) = match body::read(verification, payload, capacity).await {
                Ok(read) => read,
                Err(stop) => return refuse(req, &stop.error, stop.fully_read, stop.payload),
            };
            let verified = match body::claim(&guard, pending).await {
                Ok(v) => v,
                Err(e) => return refuse(req, &e, true, Payload::None),
            };
            let settle = Settle::new(verified.replay_ticket.clone(), &guard);
            req.set_payload(body::payload_of(bytes.clone()));
            // Shared, so extractors hand it out without copying its strings.
            req.extensions_mut().insert(Arc::new(verified));
            req.extensions_mut().insert(WireBody(bytes));
            let response = service.call(req).await;
            settle.finish(response.as_ref().is_ok_and(|r| hmac_guard::webhook::handled(r.status().as_u16()))).await;
            response.map(ServiceResponse::map_into_left_body)
        })
    }
}
