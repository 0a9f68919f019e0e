'use strict'

// The binding's declarations against the repository's shared tables: index.d.ts's `ErrorCode`
// union against tests/error_codes.json and the addon's errorCodes(); index.d.ts's `Verified`
// (and native.d.ts's `VerifiedResult`, and a real result) against tests/verified_fields.json.
// The declarations are read with the TypeScript compiler's parser, not with regular expressions.
// (api.test.js checks errorCodes() itself against tests/error_codes.json: statuses, messages.)

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const ts = require('typescript')
const { errorCodes, newGuard, signer, ManualClock } = require('./helpers.js')

const ROOT = path.join(__dirname, '..', '..')
const readJson = (rel) => JSON.parse(fs.readFileSync(path.join(ROOT, rel), 'utf8'))
const CODES = readJson('tests/error_codes.json').codes.map((c) => c.code)
const FIELDS = readJson('tests/verified_fields.json')

/** The top-level declaration `name` of `kind` in a .d.ts file of this package. */
function declaration(file, kind, name) {
  const full = path.join(__dirname, '..', file)
  const source = ts.createSourceFile(full, fs.readFileSync(full, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const found = source.statements.filter((s) => s.kind === kind && s.name && s.name.text === name)
  assert.equal(found.length, 1, `${file}: exactly one declaration of ${name}`)
  return found[0]
}

/** The string literals of the union `type ErrorCode = | '…' | …`, in order. */
function errorCodeUnion() {
  const alias = declaration('index.d.ts', ts.SyntaxKind.TypeAliasDeclaration, 'ErrorCode')
  assert.ok(ts.isUnionTypeNode(alias.type), 'index.d.ts: ErrorCode is a union')
  return alias.type.types.map((t) => {
    assert.ok(ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal), `index.d.ts: ErrorCode member ${t.getText()} is not a string literal`)
    return t.literal.text
  })
}

/** The members of `interface name` in `file`: properties as `name` / `name?`, methods as `name()`. */
function interfaceMembers(file, name) {
  const decl = declaration(file, ts.SyntaxKind.InterfaceDeclaration, name)
  const properties = []
  const methods = []
  for (const m of decl.members) {
    const id = m.name.getText()
    if (ts.isPropertySignature(m)) properties.push(m.questionToken ? `${id}?` : id)
    else if (ts.isMethodSignature(m)) methods.push(`${id}()`)
    else assert.fail(`${file}: ${name} has a member that is neither a property nor a method: ${m.getText()}`)
  }
  return { properties, methods }
}

const expectedProperties = () => FIELDS.fields.map((f) => (f.optional ? `${f.node}?` : f.node))

test('index.d.ts ErrorCode lists every code of tests/error_codes.json, once, in the same order', () => {
  const union = errorCodeUnion()
  assert.equal(new Set(union).size, union.length, 'no code twice in ErrorCode')
  assert.deepEqual(union, CODES, 'ErrorCode (index.d.ts) vs. tests/error_codes.json')
})

test("index.d.ts ErrorCode is exactly the addon's errorCodes() at run time", () => {
  assert.deepEqual(
    errorCodes().map((c) => c.code),
    errorCodeUnion(),
    "errorCodes() (the core's table, through the addon) vs. ErrorCode (index.d.ts)",
  )
})

test('index.d.ts Verified declares the fields and methods of tests/verified_fields.json, in order', () => {
  const { properties, methods } = interfaceMembers('index.d.ts', 'Verified')
  assert.deepEqual(properties, expectedProperties(), 'Verified properties (name? = optional) vs. tests/verified_fields.json')
  assert.deepEqual(methods, FIELDS.methods.map((m) => `${m.node}()`), 'Verified methods vs. tests/verified_fields.json')
})

test("native.d.ts VerifiedResult (the addon's reserve-mode object) has the same fields", () => {
  const { properties, methods } = interfaceMembers('native.d.ts', 'VerifiedResult')
  assert.deepEqual(properties, expectedProperties(), 'VerifiedResult properties (name? = optional) vs. tests/verified_fields.json')
  assert.deepEqual(methods, [], 'VerifiedResult is plain data')
})

test('a real Verified (consume and reserve mode) has exactly the listed fields and methods', () => {
  const now = 1_700_000_000
  const body = Buffer.from('{"a":1}')
  const headers = { host: 'api.example.com', 'content-type': 'application/json', 'content-length': String(body.length) }
  const names = FIELDS.fields.map((f) => f.node).sort()
  for (const replay of ['consume', 'reserve']) {
    const added = signer.sign({ method: 'POST', url: '/orders', headers, body }, { created: now })
    const v = newGuard({ clock: new ManualClock(now), policy: { replay } }).verify({ method: 'POST', url: '/orders', headers: { ...headers, ...added }, body })
    assert.deepEqual(Object.keys(v).sort(), names, `${replay}: the result's own properties vs. tests/verified_fields.json`)
    for (const m of FIELDS.methods) assert.equal(typeof v[m.node], 'function', `${replay}: ${m.node}()`)
    for (const f of FIELDS.fields.filter((x) => !x.optional)) assert.notEqual(v[f.node], undefined, `${replay}: ${f.node} is set`)
    if (replay === 'reserve') v.replayTicket.release()
  }
})
