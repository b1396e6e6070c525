#!/usr/bin/env node
'use strict';
/*
 * pack-check.js [--web] <function-dir>
 *
 * Zips <function-dir> with the exact code path `tcb fn deploy` uses
 * (@cloudbase/manager-node  lib/function/packer.js  FunctionPacker#compressFiles
 *  -> lib/utils/index.js compressToZip -> archiver('zip').glob('**\/*', {cwd, ignore, dot:true})),
 * then parses the zip's central directory and prints every entry's unix mode.
 *
 * Exit codes: 0 = `bootstrap` entry present with owner-exec bit
 *             1 = `bootstrap` entry missing, not unix-attributed, or lacks owner-exec bit
 *             2 = usage / packing / zip-parsing error
 * With --web (a dist/web/<function> folder, deployed with `tcb fn deploy --httpFn`), the entries
 * that must be present with the owner-exec bit are `scf_bootstrap` and the binary `<function>`
 * (the folder's name) instead of `bootstrap`.
 *
 * manager-node (4.10.6, the version @cloudbase/cli 2.12.10 bundles; pinned in package.json) is
 * resolved from this script's folder, or from $MANAGER_NODE_DIR (a directory that contains
 * node_modules/@cloudbase/manager-node).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

function die(code, msg) {
  process.stderr.write(`pack-check: ${msg}\n`);
  process.exit(code);
}

function loadPacker() {
  const bases = [process.env.MANAGER_NODE_DIR, __dirname, process.cwd()].filter(Boolean);
  for (const base of bases) {
    try {
      const file = require.resolve('@cloudbase/manager-node/lib/function/packer.js', { paths: [base] });
      const pkg = require(require.resolve('@cloudbase/manager-node/package.json', { paths: [base] }));
      return { mod: require(file), file, version: pkg.version };
    } catch (_) { /* try next */ }
  }
  die(2, 'cannot resolve @cloudbase/manager-node/lib/function/packer.js (set MANAGER_NODE_DIR)');
}

// ---- minimal zip central-directory reader (handles zip64 EOCD) ----
function readCentralDirectory(buf) {
  const EOCD = 0x06054b50, Z64_LOC = 0x07064b50, Z64_EOCD = 0x06064b50, CDH = 0x02014b50;
  const minPos = Math.max(0, buf.length - (22 + 0xffff));
  let eocd = -1;
  for (let i = buf.length - 22; i >= minPos; i--) {
    if (buf.readUInt32LE(i) === EOCD) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('end of central directory record not found');
  let count = buf.readUInt16LE(eocd + 10);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== Z64_LOC) throw new Error('zip64 locator not found');
    const z64 = Number(buf.readBigUInt64LE(loc + 8));
    if (buf.readUInt32LE(z64) !== Z64_EOCD) throw new Error('zip64 EOCD not found');
    count = Number(buf.readBigUInt64LE(z64 + 32));
    cdOffset = Number(buf.readBigUInt64LE(z64 + 48));
  }
  const entries = [];
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== CDH) throw new Error(`bad central directory header at ${p}`);
    const madeBy = buf.readUInt16LE(p + 4);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const extAttr = buf.readUInt32LE(p + 38);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({
      name,
      hostOS: madeBy >> 8,            // 3 = UNIX, 0 = MS-DOS/FAT
      stMode: extAttr >>> 16,         // unix st_mode (type + permission bits)
      dosAttr: extAttr & 0xff,
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

async function main() {
  const args = process.argv.slice(2);
  const web = args[0] === '--web';
  if (web) args.shift();
  const arg = args[0];
  if (!arg || arg === '-h' || arg === '--help' || args.length > 1) die(2, 'usage: node pack-check.js [--web] <function-dir>');
  const dir = path.resolve(arg);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) die(2, `not a directory: ${dir}`);

  const { mod, file, version } = loadPacker();
  const name = path.basename(dir);
  const root = path.dirname(dir);
  // Same arguments FunctionService#getCodeParams / #uploadFunctionZipToCosLegacy pass for a
  // non-Java runtime (e.g. CustomRuntime, or Go1 for --web) with installDependency=false and no
  // func.ignore (HTTP functions are packed by the same code):
  const opts = { ignore: [], codeType: mod.CodeType.File, functionPath: dir, name, root };
  const packer = new mod.FunctionPacker(opts);

  let zipCopy;
  try {
    const zipPath = await packer.compressFiles();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pack-check-'));
    zipCopy = path.join(tmp, `${name}.zip`);
    fs.copyFileSync(zipPath, zipCopy);
  } catch (e) {
    die(2, `packing failed: ${e && e.message}`);
  } finally {
    await packer.clean();
  }

  console.log(`# manager-node ${version}: ${file}`);
  console.log(`# new FunctionPacker(${JSON.stringify(opts)}).compressFiles()`);
  console.log(`# zip as the CLI would upload it: ${fs.statSync(zipCopy).size} bytes`);

  let entries;
  try {
    entries = readCentralDirectory(fs.readFileSync(zipCopy));
  } catch (e) {
    die(2, `cannot read zip central directory: ${e.message}`);
  } finally {
    fs.rmSync(path.dirname(zipCopy), { recursive: true, force: true });
  }

  for (const e of entries) {
    const perm = (e.stMode & 0o7777).toString(8).padStart(4, '0');
    const full = e.stMode.toString(8).padStart(6, '0');
    const host = e.hostOS === 3 ? 'unix' : `host=${e.hostOS}`;
    console.log(`${e.name} mode ${perm} (st_mode ${full}, ${host})`);
  }

  let failed = false;
  for (const want of web ? ['scf_bootstrap', name] : ['bootstrap']) {
    const boot = entries.find((e) => e.name === want);
    if (!boot) {
      console.log(`FAIL: no top-level "${want}" entry in zip`);
      failed = true;
    } else if (boot.hostOS !== 3 || (boot.stMode & 0o100) === 0) {
      console.log(`FAIL: ${want} lacks owner-exec bit (mode ${(boot.stMode & 0o7777).toString(8)})`);
      failed = true;
    } else {
      console.log(`OK: ${want} has owner-exec bit`);
    }
  }
  if (failed) process.exit(1);
}

main().catch((e) => die(2, e && e.stack ? e.stack : String(e)));
