'use strict'

// A guard's events (src/observe.rs) delivered to the application: the `onEvent` hook, then the
// logger. The core decides what an event is, its level and whether it is logged (level threshold,
// rate limit); this module only delivers. Nothing here may throw: it runs from a threadsafe
// function, where an exception would end the process.

/** Delivers one guard's events; created before the guard, told its options once it is built. */
class Events {
  constructor() {
    this.onEvent = null
    this.logger = null
    this.pinoStyle = false
    this.plain = false
    this.hookFailed = false
    // The native side holds `dispatch` strongly; only a weak link back, so a hook that refers to
    // its guard does not keep the guard alive.
    const self = new WeakRef(this)
    this.dispatch = (json) => self.deref()?.deliver(json)
  }

  /** `choice`: the core's decision on `options.logger` ('default' | 'off' | 'custom'). */
  attach(options, choice) {
    if (typeof options?.onEvent === 'function') this.onEvent = options.onEvent
    if (choice === 'default') {
      this.logger = console
      this.plain = true
    } else if (choice === 'custom') {
      const logger = options.logger
      this.logger = logger
      this.pinoStyle = typeof logger.bindings === 'function' && typeof logger.child === 'function'
    }
  }

  deliver(json) {
    let event
    try {
      event = JSON.parse(json)
    } catch {
      return
    }
    // The level is the method called (and pino's own `level` field must not be overwritten).
    const { message, log, level, ...fields } = event
    if (this.onEvent) {
      try {
        const r = this.onEvent(event)
        if (r && typeof r.then === 'function') r.then(undefined, (e) => this.hookThrew(e))
      } catch (e) {
        this.hookThrew(e)
      }
    }
    if (log) this.write(level, message, fields)
  }

  hookThrew(e) {
    if (this.hookFailed) return
    this.hookFailed = true
    let what
    try {
      what = e instanceof Error ? `${e.name}: ${e.message}` : String(e)
    } catch {
      what = 'a value that cannot be shown'
    }
    this.write('warn', `hmac-guard: the onEvent hook threw (${what}); further errors of the hook are not logged`, { type: 'hook' })
  }

  write(level, message, fields) {
    const logger = this.logger
    if (!logger) return
    try {
      const fn = logger[level]
      if (typeof fn !== 'function') return
      if (this.plain) fn.call(logger, message)
      else if (this.pinoStyle) fn.call(logger, fields, message)
      else fn.call(logger, message, fields)
    } catch {}
  }
}

module.exports = { Events }
