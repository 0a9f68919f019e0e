#!/usr/bin/env node
'use strict'

// The `hmac-guard` command-line tool: sign, verify and explain HMAC-signed HTTP requests.
// Everything (argument parsing, reading the request, the verdict) runs in the Rust core through
// the native addon, which reads stdin and writes stdout/stderr itself. See `hmac-guard --help`.

let native
try {
  native = require('../native.js')
} catch (e) {
  process.stderr.write(`hmac-guard: error: cannot load the native addon: ${e && e.message}\n`)
  process.exitCode = 2
}
if (native) {
  try {
    process.exitCode = native.runCli(process.argv.slice(2))
  } catch (e) {
    // Never exit 1 ("rejected") for a failure of the tool itself; no stack, no argv echoed.
    process.stderr.write(`hmac-guard: error: internal error (${(e && e.name) || 'exception'})\n`)
    process.exitCode = 2
  }
}
