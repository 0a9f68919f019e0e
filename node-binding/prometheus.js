'use strict'

// prom-client integration: require('hmac-guard/prometheus') or import { registerMetrics } from
// 'hmac-guard/prometheus'. prom-client itself is the application's (an optional peer dependency).

const prometheus = require('./lib/prometheus.js')

exports.registerMetrics = prometheus.registerMetrics
