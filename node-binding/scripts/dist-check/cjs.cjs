// require('hmac-guard') from an installed tarball: sign, verify, replay, the addon from the
// platform package, every export present, the Feathers entry point.
const assert = require('node:assert/strict')
const hg = require('hmac-guard')
const { Guard, Signer, HmacGuardError, errorCodes, coreVersion } = hg

assert.equal(require('hmac-guard/package.json').name, 'hmac-guard')
const secret = Buffer.alloc(32, 7)
const guard = new Guard({ keys: [{ id: 'k1', secret, subject: 'user:1' }] })
const signer = new Signer({ id: 'k1', secret })
const body = Buffer.from('{"smoke":true}')
const headers = { host: 'example.com', 'content-type': 'application/json' }
const signed = signer.sign({ method: 'POST', url: '/smoke', headers, body })
const req = { method: 'POST', url: '/smoke', headers: { ...headers, ...signed }, body }
assert.equal(guard.verify(req).subject, 'user:1')
assert.throws(() => guard.verify(req), (e) => e instanceof HmacGuardError && e.code === 'ERR_REPLAY' && e.status === 401)
assert.ok(errorCodes().length >= 30)
for (const name of ['Guard', 'Signer', 'ManualClock', 'HmacGuardError', 'expressMiddleware', 'koaMiddleware', 'signRequest']) {
  assert.ok(hg[name], `hmac-guard exports ${name}`)
}
const feathers = require('hmac-guard/feathers')
assert.equal(typeof feathers.HmacStrategy, 'function')
const binding = require.resolve('hmac-guard-linux-x64-gnu')
assert.ok(binding.includes('node_modules'), binding)
console.log(`require ok: core ${coreVersion()}, addon from ${binding.replace(process.cwd(), '.')}`)
