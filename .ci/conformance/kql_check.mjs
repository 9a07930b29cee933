// Conformance of the kibana_kql target against Kibana's KQL grammar
// (npm @cybernetex/kbn-es-query, a published copy of Kibana's kbn-es-query).
//
// Usage: node kql_check.mjs <node_modules> <DIR/kibana_kql> <fixtures/kibana_kql.json>
//
// (a) Validity: every query (queries/*.kql and the NDJSON `query`) parses with
//     fromKueryExpression, and its tree is the one meant: every field node
//     names a mapped field (the fixtures' `fields`), no value node holds text
//     that betrays a misparse (` or `, ` and `, `not `, `[`, ` TO `), every
//     function is one the target emits, and the query equals its NDJSON copy.
//     Wrong queries (`a:b or`, `[4000 TO *]`, an unknown field) must fail.
// (b) Meaning: a small evaluator written from the KQL documentation and
//     kbn-es-query's translation (quoted value: match_phrase, an exact term on
//     keyword fields; wildcard value: query_string, a case-sensitive glob on
//     keyword fields; `f:*`: exists; ranges; a test on a missing field is
//     false, `not` two-valued) runs every test case's events; the number of
//     matching events must equal the evaluator's alerts.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modules, outDir, fixturesFile] = process.argv.slice(2);
if (!modules || !outDir || !fixturesFile) {
  console.error('usage: kql_check.mjs <node_modules> <DIR/kibana_kql> <fixtures.json>');
  process.exit(2);
}
const require = createRequire(path.resolve(modules, 'noop.js'));
const { fromKueryExpression } = require('@cybernetex/kbn-es-query');

const fixtures = JSON.parse(fs.readFileSync(fixturesFile, 'utf8'));
const fieldTypes = fixtures.fields;
const EMITTED = new Set(['is', 'range', 'and', 'or', 'not']);
const MISPARSE = [/(^|\s)(or|and|not)(\s|$)/i, /\[/, / TO /];

function treeProblems(node, problems = []) {
  if (node.type !== 'function' || !EMITTED.has(node.function)) {
    problems.push(`unexpected node ${node.type} ${node.function ?? ''}`);
    return problems;
  }
  if (node.function === 'and' || node.function === 'or' || node.function === 'not') {
    for (const argument of node.arguments) treeProblems(argument, problems);
    return problems;
  }
  const [field, value] = node.arguments;
  if (field.type !== 'literal' || !(field.value in fieldTypes)) {
    problems.push(`field node ${JSON.stringify(field.value)} is not a mapped field`);
  }
  const values = node.function === 'range' ? [value.value] : [value];
  for (const item of values) {
    const text = String(item.value);
    if (MISPARSE.some((pattern) => pattern.test(text))) {
      problems.push(`value node ${JSON.stringify(text)} looks like a misparse`);
    }
  }
  if (node.function === 'range' && typeof value.value.value !== 'number') {
    problems.push(`range bound ${JSON.stringify(value.value.value)} is not a number`);
  }
  return problems;
}

function checkQuery(query) {
  const ast = fromKueryExpression(query);
  return treeProblems(ast);
}

// Wrong queries must be caught, or the check proves nothing.
for (const wrong of [
  'tripline.event_type:"inference" and event.outcome:b or',
  'gen_ai.usage.output_tokens:[4000 TO *]',
  'no.such.field:"x"',
]) {
  let caught = false;
  try {
    caught = checkQuery(wrong).length > 0;
  } catch {
    caught = true;
  }
  if (!caught) {
    console.error(`the check accepted the wrong query ${wrong}`);
    process.exit(1);
  }
}

let failures = 0;
let queries = 0;
const fail = (message) => {
  failures += 1;
  console.error(`FAIL ${message}`);
};

// (a) every emitted query.
const ndjson = fs
  .readFileSync(path.join(outDir, 'rules.ndjson'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line));
for (const rule of ndjson) {
  const file = path.join(outDir, 'queries', `${rule.rule_id}.kql`);
  const text = fs.readFileSync(file, 'utf8').trimEnd();
  if (rule.type !== 'query' || rule.language !== 'kuery') fail(`${rule.rule_id}: type/language`);
  if (text !== rule.query) fail(`${rule.rule_id}: the .kql file and the NDJSON query differ`);
  for (const query of [text, rule.query]) {
    queries += 1;
    try {
      for (const problem of checkQuery(query)) fail(`${rule.rule_id}: ${problem}`);
    } catch (error) {
      fail(`${rule.rule_id}: does not parse: ${error.message}`);
    }
  }
}

// (b) meaning over the test cases.
function lookup(event, name) {
  if (name in event) return event[name];
  let value = event;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = value[part];
  }
  return value;
}

function ipv4(text) {
  const parts = String(text).split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) {
    return null;
  }
  return parts.reduce((total, part) => total * 256 + Number(part), 0);
}

function glob(pattern, text) {
  // Wildcard node value: literal text with @kuery-wildcard@ for `*`.
  const source = pattern
    .split('@kuery-wildcard@')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${source}$`, 'u').test(text);
}

function evaluate(node, event) {
  switch (node.function) {
    case 'and':
      return node.arguments.every((argument) => evaluate(argument, event));
    case 'or':
      return node.arguments.some((argument) => evaluate(argument, event));
    case 'not':
      return !evaluate(node.arguments[0], event);
    case 'range': {
      const [field, bound] = node.arguments;
      const value = lookup(event, field.value);
      if (typeof value !== 'number') return false;
      const limit = bound.value.value;
      return { gt: value > limit, gte: value >= limit, lt: value < limit, lte: value <= limit }[
        bound.name
      ];
    }
    case 'is': {
      const [field, valueNode] = node.arguments;
      const type = fieldTypes[field.value];
      const value = lookup(event, field.value);
      if (value === undefined || value === null) return false;
      if (valueNode.type === 'wildcard') {
        if (valueNode.value === '@kuery-wildcard@') return true; // exists
        if (type !== 'keyword' && type !== 'wildcard') throw new Error(`wildcard on ${type}`);
        return glob(valueNode.value, String(value));
      }
      const wanted = valueNode.value;
      if (type === 'keyword' || type === 'wildcard') return String(value) === String(wanted);
      if (type === 'long' || type === 'double') return Number(value) === Number(wanted);
      if (type === 'boolean') return value === wanted;
      if (type === 'ip') {
        const address = ipv4(value);
        const [network, bits] = String(wanted).split('/');
        const base = ipv4(network);
        if (address === null || base === null) throw new Error(`address ${value} / ${wanted}`);
        const size = 2 ** (32 - Number(bits ?? 32));
        return Math.floor(address / size) === Math.floor(base / size);
      }
      throw new Error(`no semantics for type ${type}`);
    }
    default:
      throw new Error(`no semantics for ${node.function}`);
  }
}

let cases = 0;
for (const testCase of fixtures.cases) {
  const file = Object.keys(testCase.artifacts).find((name) => name.endsWith('.kql'));
  if (!file || testCase.shape !== 'match') continue;
  cases += 1;
  const ast = fromKueryExpression(testCase.artifacts[file].trimEnd());
  const negated = fromKueryExpression(`not (${testCase.artifacts[file].trimEnd()})`);
  let matches = 0;
  for (const { event } of testCase.events) {
    if (evaluate(ast, event)) matches += 1;
    if (evaluate(ast, event) === evaluate(negated, event)) fail(`${testCase.rule}: not is not two-valued`);
  }
  if (matches !== testCase.evaluator_alerts) {
    fail(
      `${testCase.rule} / ${testCase.case}: KQL matches ${matches} events, the evaluator alerts ${testCase.evaluator_alerts}`,
    );
  }
}

console.log(`kql_check: ${ndjson.length} rules, ${queries} queries, ${cases} cases, ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
