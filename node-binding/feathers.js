'use strict'

// Feathers v5 adapters: require('hmac-guard/feathers').
module.exports = require('./lib/feathers.js')
