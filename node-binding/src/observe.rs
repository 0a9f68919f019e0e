//! The core's events to JS: a [`Reporter`] that hands each event, as the core's camelCase JSON,
//! to the dispatch function of `lib/observe.js`, which calls the hook and the logger; and the
//! extra labels of `guard.metrics(labels)`.
//!
//! The core reports on whichever thread reached the verdict (the JS thread, a libuv pool thread,
//! or with Redis the thread of napi's runtime that awaits the claim), so events go through a
//! threadsafe function: queued without blocking, dropped when the queue is full (the counters have
//! them all the same), weak so that it never keeps the process alive.

use std::fmt;

use hmac_guard::config::Spelling;
use hmac_guard::{Event, Reporter};
use napi::bindgen_prelude::{FromNapiValue, Function, JsObjectValue, Object, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{JsString, Result, Status, ValueType};

/// Events waiting for the JS thread; past this, new ones are dropped.
const QUEUE: usize = 4096;

type Dispatch = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true, QUEUE>;

/// Delivers events to the JS dispatch function.
pub(crate) struct JsReporter {
    dispatch: Dispatch,
}

impl fmt::Debug for JsReporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsReporter").finish_non_exhaustive()
    }
}

impl JsReporter {
    pub(crate) fn new(dispatch: &Function<'_, String, Unknown<'static>>) -> Result<Self> {
        let dispatch = dispatch
            .build_threadsafe_function::<String>()
            .callee_handled::<false>()
            .weak::<true>()
            .max_queue_size::<QUEUE>()
            .build()?;
        Ok(JsReporter { dispatch })
    }
}

impl Reporter for JsReporter {
    fn report(&self, event: &Event<'_>) {
        // A full queue or a closing environment: the event is dropped, never waited for.
        let _ = self.dispatch.call(event.to_json(Spelling::Node), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// An object of strings as `(name, value)` pairs, in its own order; anything else is an error.
pub(crate) fn labels_of(v: Unknown<'_>) -> Result<Vec<(String, String)>> {
    let wrong = || napi::Error::from_reason("not an object of strings");
    if v.get_type()? != ValueType::Object {
        return Err(wrong());
    }
    let obj = Object::from_unknown(v)?;
    let mut out = Vec::new();
    for name in Object::keys(&obj)? {
        let value: Unknown<'_> = obj.get_named_property(&name)?;
        if value.get_type()? != ValueType::String {
            return Err(wrong());
        }
        out.push((name, JsString::from_unknown(value)?.into_utf8()?.into_owned()?));
    }
    Ok(out)
}
