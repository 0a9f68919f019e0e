//! The core's events to JS: a [`Reporter`] that hands each event, as the core's camelCase JSON,
//! to the dispatch function of `lib/observe.js`, which calls the hook and the logger.
//!
//! The core reports on whichever thread reached the verdict (the JS thread, or a libuv pool thread
//! with Redis), so events go through a threadsafe function: queued without blocking, dropped when
//! the queue is full (the counters have them all the same), weak so that it never keeps the
//! process alive.

use std::fmt;

use hmac_guard::config::Spelling;
use hmac_guard::{Event, Reporter};
use napi::bindgen_prelude::{Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Result, Status};

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
