// A user's Express server in TypeScript (tsc --strict), after the package README's quick start,
// compiled and run: a signed POST is answered 200 with the key's subject, a tampered one 401.
import express, { type Request } from 'express'
import type { AddressInfo } from 'node:net'
import { Guard, Signer, expressMiddleware, signRequest, type HmacRequest } from 'hmac-guard'
import { HmacStrategy } from 'hmac-guard/feathers'

const secret = 'dev-secret-dev-secret-dev-secret!!'
const guard = new Guard({
  keys: [{ id: 'client-1', secret, subject: 'user:42' }],
  policy: { bodyLimit: 1024 * 1024 },
})

const app = express()
app.post('/orders', expressMiddleware(guard), (req, res) => {
  // Behind the middleware req.hmac is always set: HmacRequest says so, no narrowing.
  const { hmac, body } = req as HmacRequest<Request>
  res.json({ by: hmac.subject, order: body, signedPath: hmac.component('@path') })
})
const strategy: typeof HmacStrategy = HmacStrategy

const server = app.listen(0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`
  const signer = new Signer({ id: 'client-1', secret })
  try {
    const init = signRequest(signer, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'A-1', qty: 2 }),
    })
    const ok = await fetch(url, init as RequestInit)
    const answer = (await ok.json()) as { by: string; signedPath: string }
    if (ok.status !== 200 || answer.by !== 'user:42' || answer.signedPath !== '/orders') {
      throw new Error(`signed request: ${ok.status} ${JSON.stringify(answer)}`)
    }
    const tampered = signRequest(signer, url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"qty":1}' })
    const bad = await fetch(url, { ...tampered, body: '{"qty":9}' } as RequestInit)
    if (bad.status !== 401) throw new Error(`tampered request: ${bad.status}`)
    console.log(`typescript app ok: 200 for ${answer.by}, 401 for a tampered body (${typeof strategy})`)
  } catch (e) {
    console.error(e)
    process.exitCode = 1
  } finally {
    server.close()
  }
})
