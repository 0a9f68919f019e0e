'use strict'
// AFTER, client side: fetch with signRequest (docs/migration.md, "Clients").

const { Signer, signRequest } = require('hmac-guard')

const signer = new Signer({ id: 'client-1', secret: process.env.HMAC_SECRET, scheme: 'simple' })

async function createOrder(baseUrl, order) {
  const url = `${baseUrl}/api/orders`
  const init = signRequest(signer, url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
  })
  const res = await fetch(url, init) // init.body holds the exact bytes that were signed
  return { status: res.status, body: await res.json() }
}

module.exports = { createOrder, signer, signRequest }
