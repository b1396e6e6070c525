// The function list: cloudbaserc.json, the file the CloudBase CLI (`tcb`) reads, is the single
// source of truth for which functions exist. scripts/functions, scripts/web-config and
// scripts/new-function share this module so that they read it, and name functions, the same way.
//
// Why Node and not Python: Node is already required wherever the list matters (`make test` runs
// the SDK check with it, `make check-package` CloudBase's packer, `make deploy` the CLI through
// npx, and scripts/test-deploy its config check), and .ci/run installs it. Python is installed
// by nothing in this project. JSON.parse is also exactly what the CLI parses the file with.
"use strict";

const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..", "..");
const eventConfigPath = path.join(root, "cloudbaserc.json");
const webConfigPath = path.join(root, "cloudbaserc.web.json");

// SCF's rule for a function name (CreateFunction, FunctionName: "2 to 60 characters, English
// letters, digits, hyphens and underscores; starts with a letter; does not end with a hyphen or
// an underscore"), https://cloud.tencent.com/document/api/583/18586.
const NAME_RULE = /^[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]$/;
const NAME_RULE_TEXT =
  "2 to 60 characters: letters, digits, - and _, starting with a letter and ending with a letter or digit (SCF's rule)";

class ListError extends Error {}

/** Why `name` is not a valid function name, or null when it is. */
function nameProblem(name) {
  if (typeof name !== "string") return "a function name must be a string";
  if (!NAME_RULE.test(name)) return `${JSON.stringify(name)} is not a valid function name: ${NAME_RULE_TEXT}`;
  return null;
}

/** `getOrders` → ["get", "orders"]; `HTTPServer` → ["http", "server"]; `get-orders_v2` → ["get", "orders", "v2"]. */
function words(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/** The text of cloudbaserc.json, parsed and checked: {text, config, names}. Throws ListError. */
function readEventConfig(file = eventConfigPath) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ListError(`cannot read ${file}: ${e.message}`);
  }
  let config;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new ListError(`${file} is not JSON (${e.message}): fix it, it is the file tcb reads`);
  }
  if (!config || typeof config !== "object" || !Array.isArray(config.functions)) {
    throw new ListError(`${file} has no "functions" array: it lists the functions to build, package and deploy`);
  }
  const names = [];
  const seen = new Map(); // lower case → name: folders clash by case on macOS and Windows
  config.functions.forEach((f, i) => {
    const name = f && f.name;
    const problem = nameProblem(name);
    if (problem) throw new ListError(`${file}: functions[${i}]: ${problem}`);
    const other = seen.get(name.toLowerCase());
    if (other !== undefined) throw new ListError(`${file}: ${name} is listed twice (or differs only in case from ${other}): remove one entry`);
    seen.set(name.toLowerCase(), name);
    names.push(name);
  });
  if (names.length === 0) throw new ListError(`${file} lists no function`);
  const onRequest = onRequestNames(file, config, names);
  return { text, config, names, onRequest, deployed: names.filter((n) => !onRequest.includes(n)) };
}

/**
 * `deployOnRequest`: listed functions that `make deploy` leaves out (the probe). They stay in
 * `functions`, so they are built, packaged and tested like the others, and `tcb fn deploy NAME`
 * finds their settings; only `scripts/deploy --only NAME` (`make deploy-probe`) deploys them.
 * A top-level key of its own because tcb reads only the keys it knows there, while a field in a
 * function's entry could be passed on to CreateFunction.
 */
function onRequestNames(file, config, names) {
  const v = config.deployOnRequest;
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ListError(`${file}: "deployOnRequest" must be an array of function names`);
  for (const n of v) {
    if (!names.includes(n)) throw new ListError(`${file}: "deployOnRequest" names ${JSON.stringify(n)}, which is not in "functions": add its entry or remove the name`);
  }
  if (v.length === names.length) throw new ListError(`${file}: every function is in "deployOnRequest", so make deploy would deploy none`);
  return v.slice();
}

/** JSON as these files are written: two-space indent, LF, a final newline. */
function formatJson(value) {
  return JSON.stringify(value, null, 2) + "\n";
}

/**
 * cloudbaserc.web.json from cloudbaserc.json: the same functions as CloudBase HTTP functions
 * (`tcb fn deploy --httpFn`), from ./dist/web (scripts/package --web). Per function: `type: HTTP`,
 * runtime `Go1` (what the CLI creates for an HTTP function; any runtime runs scf_bootstrap), and
 * handler = the function name; every other setting (timeout, memorySize, installDependency,
 * envVariables, ...) is copied as is, so the two targets cannot drift apart.
 */
function webConfigFrom(config) {
  const web = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === "functionRoot") web.functionRoot = "./dist/web";
    else if (k === "functions") {
      web.functions = v.map((f) => {
        const out = { name: f.name, type: "HTTP", runtime: "Go1", handler: f.name };
        for (const [fk, fv] of Object.entries(f)) {
          if (!["name", "type", "runtime", "handler"].includes(fk)) out[fk] = fv;
        }
        return out;
      });
    } else web[k] = v;
  }
  if (!("functionRoot" in web)) web.functionRoot = "./dist/web";
  return web;
}

/** Print `message` as `<tool>: message` and exit with `code` (1: the list is wrong; 2: usage). */
function fail(tool, message, code = 1) {
  process.stderr.write(`${tool}: ${message}\n`);
  process.exit(code);
}

module.exports = {
  root,
  eventConfigPath,
  webConfigPath,
  NAME_RULE_TEXT,
  ListError,
  nameProblem,
  words,
  readEventConfig,
  formatJson,
  webConfigFrom,
  fail,
};
