#!/usr/bin/env node
// make e2e: the mini program's whole login, with the official client SDK, on 127.0.0.1.
//
//   node examples/miniprogram/e2e/run.js STACK_BINARY SDK_FOLDER...
//
// For each SDK folder (a folder whose node_modules holds @cloudbase/js-sdk and
// @cloudbase/adapter-wx_mp), start the stack (STACK_BINARY, target/debug/e2e: mocks and our
// functions), run line.js against it in a fresh Node process, stop the stack, and check its
// functions' logs for tokens, tickets and phone numbers. Prints the checks, then
// "N passed, N failed"; exits 1 when one failed. With E2E_FUNCTIONS_DIR set, the stack runs the
// function binaries of that folder (CI: the static release binaries it ships).
'use strict'

const { spawn } = require('child_process')
const fs = require('fs')
const os = require('os')
const path = require('path')
const readline = require('readline')

const [, , stackBin, ...sdkDirs] = process.argv
if (!stackBin || !sdkDirs.length) {
  console.error('usage: run.js STACK_BINARY SDK_FOLDER... (make e2e runs it for you)')
  process.exit(2)
}

/** Start the stack; resolves with `{info, stop()}` once it printed its JSON line. */
function startStack(logsFile) {
  return new Promise((resolve, reject) => {
    const args = ['--logs', logsFile]
    if (process.env.E2E_FUNCTIONS_DIR) args.push('--functions', process.env.E2E_FUNCTIONS_DIR)
    const child = spawn(stackBin, args, { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = readline.createInterface({ input: child.stdout })
    const timer = setTimeout(() => reject(new Error('the stack did not start within 60 s')), 60000)
    child.on('exit', (code) => reject(new Error(`the stack exited (${code}) before it was ready`)))
    lines.once('line', (line) => {
      clearTimeout(timer)
      child.removeAllListeners('exit')
      const exited = new Promise((done) => child.on('exit', done))
      resolve({
        info: JSON.parse(line),
        stop: async () => {
          child.stdin.end()
          const kill = setTimeout(() => child.kill('SIGKILL'), 20000)
          const code = await exited
          clearTimeout(kill)
          return code
        },
      })
    })
  })
}

function runLine(sdkDir, label, info) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'line.js'), sdkDir, label], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, E2E_STACK: JSON.stringify(info) },
    })
    const out = []
    const err = []
    child.stdout.on('data', (c) => { out.push(c); process.stdout.write(c) })
    child.stderr.on('data', (c) => err.push(c))
    const kill = setTimeout(() => child.kill('SIGKILL'), 180000)
    child.on('exit', (code, signal) => {
      clearTimeout(kill)
      resolve({ code, signal, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() })
    })
  })
}

function sdkLabel(sdkDir) {
  const pkg = path.join(sdkDir, 'node_modules', '@cloudbase', 'js-sdk', 'package.json')
  return `js-sdk ${JSON.parse(fs.readFileSync(pkg, 'utf8')).version}`
}

async function main() {
  let passed = 0
  let failed = 0
  const count = (text) => {
    for (const line of text.split('\n')) {
      if (line.startsWith('ok - ')) passed++
      if (line.startsWith('not ok - ')) failed++
    }
  }
  for (const dir of sdkDirs) {
    const sdkDir = path.resolve(dir)
    const label = sdkLabel(sdkDir)
    const logsFile = path.join(os.tmpdir(), `wxlogin-e2e-logs-${process.pid}-${passed + failed}.txt`)
    let stack
    try {
      stack = await startStack(logsFile)
    } catch (e) {
      console.log(`not ok - [${label}] start the stack (${stackBin}): ${e.message}`)
      failed++
      continue
    }
    const run = await runLine(sdkDir, label, stack.info)
    count(run.out)
    if (run.code !== 0 && !run.out.includes('not ok - ')) {
      console.log(`not ok - [${label}] line.js exited ${run.code ?? run.signal}: ${run.err.slice(-2000)}`)
      failed++
    }
    const code = await stack.stop()
    const logs = fs.existsSync(logsFile) ? fs.readFileSync(logsFile, 'utf8') : ''
    fs.rmSync(logsFile, { force: true })
    const leaks = [
      ['a JWT (access token or ticket)', /eyJ[\w-]{10,}/],
      ['a ticket separator', /\/@@\//],
      ['the phone number', /13800138000/],
    ].filter(([, re]) => re.test(logs)).map(([what]) => what)
    const line = code === 0 && logs.length > 0 && !leaks.length
      ? `ok - [${label}] the functions' logs hold no token, ticket or phone number (${logs.split('\n').length} lines)`
      : `not ok - [${label}] the functions' logs: stack exit ${code}, ${logs.length} bytes, found ${leaks.join(', ') || 'nothing'}`
    console.log(line)
    count(line)
  }
  console.log(`e2e: ${passed} passed, ${failed} failed`)
  process.exit(failed ? 1 : 0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
