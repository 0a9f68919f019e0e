'use strict'

// A secret given in the wrong field never comes back: key options ({id, secret, algorithm,
// subject}) and Signer options (the same plus scheme) with every pair of fields swapped, and the
// secret copied into each field but the id (an id is public by design: it travels in every
// request). No error (message, reason, inspect, stack) and no inspection of the guard, the signer
// or the settings may contain it.

const test = require('node:test')
const assert = require('node:assert/strict')
const util = require('node:util')
const { Guard, Signer } = require('./helpers.js')

const SECRET = 'swapped-secret-0123456789abcdefghijklmnopqrstuvwxyz'
const KEY = { id: 'k1', secret: SECRET, algorithm: 'hmac-sha256', subject: 'user:1' }
const SIGNER = { ...KEY, scheme: 'rfc9421' }

/** Every variant of `base`: each pair of fields swapped, and the secret copied into each field but `id`. */
function variants(base) {
  const names = Object.keys(base)
  const out = []
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const [a, b] = [names[i], names[j]]
      out.push([`${a} <-> ${b}`, { ...base, [a]: base[b], [b]: base[a] }])
    }
    if (names[i] !== 'id' && names[i] !== 'secret') out.push([`secret copied into ${names[i]}`, { ...base, [names[i]]: SECRET }])
  }
  // The same with the secret as bytes.
  return out.flatMap(([name, v]) => [
    [name, v],
    [`${name} (bytes)`, Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === SECRET ? Buffer.from(SECRET) : x]))],
  ])
}

function shows(text, where) {
  const s = String(text)
  assert.ok(!s.includes(SECRET) && !s.includes(Buffer.from(SECRET).toString('hex')) && !s.includes(Buffer.from(SECRET).toString('base64')), `the secret shows in ${where}: ${s}`)
}

function checkError(e, where) {
  for (const [what, text] of [['message', e.message], ['reason', e.reason], ['inspect', util.inspect(e, { showHidden: true, depth: 5 })], ['stack', e.stack], ['String', String(e)], ['JSON', JSON.stringify(e)]]) {
    shows(text, `${where}: error ${what}`)
  }
}

/** Runs `build`; checks its error or what it built. Returns whether it threw. */
function attempt(where, build, inspectBuilt) {
  let built
  try {
    built = build()
  } catch (e) {
    checkError(e, where)
    return true
  }
  for (const [what, text] of inspectBuilt(built)) shows(text, `${where}: ${what}`)
  return false
}

const guardViews = (g) => [['inspect(guard)', util.inspect(g, { showHidden: true, depth: 5 })], ['settings', util.inspect(g.settings)], ['JSON settings', JSON.stringify(g.settings)]]
const signerViews = (s) => [['inspect(signer)', util.inspect(s, { showHidden: true, depth: 5 })], ['String(signer)', String(s)], ['keyId', s.keyId]]

test('key options with swapped fields: Guard keys, addKey, Signer', () => {
  let refused = 0
  let tried = 0
  for (const [name, key] of variants(KEY)) {
    refused += attempt(`new Guard({keys: [${name}]})`, () => new Guard({ keys: [key] }), guardViews)
    refused += attempt(`addKey(${name})`, () => {
      const g = new Guard({})
      g.addKey(key)
      return g
    }, guardViews)
    refused += attempt(`new Signer(${name})`, () => new Signer(key), signerViews)
    tried += 3
  }
  assert.ok(refused >= tried / 2, `only ${refused} of ${tried} refused: the swaps did not exercise the errors`)
})

test('Signer options with swapped fields (scheme included)', () => {
  let refused = 0
  const all = variants(SIGNER)
  for (const [name, options] of all) {
    refused += attempt(`new Signer(${name})`, () => {
      const s = new Signer(options)
      s.sign({ method: 'POST', url: '/p', headers: { host: 'h' }, body: '{}' })
      return s
    }, signerViews)
  }
  assert.ok(refused >= all.length / 2, `only ${refused} of ${all.length} refused`)
})

test('a secret given where a key is expected, or as a whole key, is never echoed', () => {
  for (const wrong of [SECRET, [SECRET], { [SECRET]: 1 }, { id: 'k1', secret: SECRET, [SECRET]: 1 }]) {
    attempt('new Guard({keys: …})', () => new Guard({ keys: Array.isArray(wrong) ? wrong : [wrong] }), guardViews)
    attempt('addKey(…)', () => new Guard({}).addKey(wrong), () => [])
    attempt('new Signer(…)', () => new Signer(wrong), signerViews)
    attempt('new Guard(…) (an unknown option)', () => new Guard({ policy: { [SECRET]: 1 }, [SECRET]: 2 }), guardViews)
  }
})
