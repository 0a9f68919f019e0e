// The same named imports as esm.mjs, type-checked as an ES module (module nodenext).
import { Guard, Signer, ManualClock, HmacGuardError, errorCodes, type GuardSettings } from 'hmac-guard'
import { HmacStrategy } from 'hmac-guard/feathers'

const clock: ManualClock = new ManualClock(1_700_000_000)
const guard = new Guard({ keys: [{ id: 'k', secret: Buffer.alloc(32, 1) }], clock })
const settings: GuardSettings = guard.settings
const signer = new Signer({ id: 'k', secret: Buffer.alloc(32, 1) })
const headers: Record<string, string> = signer.sign({ method: 'GET', url: '/', headers: { host: 'a' } })
const err: HmacGuardError = new HmacGuardError('ERR_REPLAY')
const codes: readonly string[] = errorCodes().map((c) => c.code)
export { settings, headers, err, codes, HmacStrategy }
