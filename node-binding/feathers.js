'use strict'

// Feathers v5 adapters: require('hmac-guard/feathers') or import { … } from 'hmac-guard/feathers'.
// Each export is spelled out (not `module.exports = require(...)`) so that Node's CommonJS export
// detection finds every name for ESM imports, HmacStrategy included: it stays lazy (it extends
// @feathersjs/authentication's base class, loaded only when first read).

const feathers = require('./lib/feathers.js')

exports.hmacExpress = feathers.hmacExpress
exports.hmacKoa = feathers.hmacKoa
exports.unlessVerified = feathers.unlessVerified
exports.webhookExpress = feathers.webhookExpress
exports.webhookKoa = feathers.webhookKoa
exports.requireHmac = feathers.requireHmac
exports.compareAndSet = feathers.compareAndSet
exports.toFeathersError = feathers.toFeathersError
exports.PayloadTooLarge = feathers.PayloadTooLarge
Object.defineProperty(exports, 'HmacStrategy', {
  enumerable: true,
  get() {
    return feathers.HmacStrategy
  },
})
