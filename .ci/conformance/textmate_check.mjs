// Tokenizes every shipped `.tdl` file with the TextMate grammar of the VS Code
// extension (editors/vscode), using the engine VS Code itself runs
// (vscode-textmate on the Oniguruma regex library), and fails when a token
// gets an `invalid` scope or a known construct gets the wrong scope.
//
// usage: node textmate_check.mjs NODE_MODULES GRAMMAR FILE_OR_DIR...
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [modules, grammarPath, ...roots] = process.argv.slice(2);
if (!modules || !grammarPath || roots.length === 0) {
  console.error("usage: textmate_check.mjs NODE_MODULES GRAMMAR FILE_OR_DIR...");
  process.exit(2);
}
const require = createRequire(path.resolve(modules, "x.js"));
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }),
  loadGrammar: async (scopeName) =>
    scopeName === "source.tdl"
      ? vsctm.parseRawGrammar(fs.readFileSync(grammarPath, "utf8"), grammarPath)
      : null,
});
const grammar = await registry.loadGrammar("source.tdl");

/** Every token of a text: { line (from 1), text, scopes }. */
function tokenize(text) {
  const tokens = [];
  let state = vsctm.INITIAL;
  text.split(/\r?\n/).forEach((line, index) => {
    const result = grammar.tokenizeLine(line, state);
    for (const token of result.tokens) {
      tokens.push({
        line: index + 1,
        text: line.slice(token.startIndex, token.endIndex),
        scopes: token.scopes,
      });
    }
    state = result.ruleStack;
  });
  return tokens;
}

function files(root) {
  const stat = fs.statSync(root);
  if (stat.isFile()) return [root];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(root, entry.name);
      if (entry.isDirectory()) return files(full);
      return entry.name.endsWith(".tdl") ? [full] : [];
    })
    .sort();
}

let failures = 0;
const fail = (message) => {
  failures += 1;
  if (failures <= 50) console.error(message);
};
const innermost = (token) => token.scopes[token.scopes.length - 1];
const counts = new Map();
const count = (scope) => counts.set(scope, (counts.get(scope) ?? 0) + 1);

const all = roots.flatMap(files);
for (const file of all) {
  const text = fs.readFileSync(file, "utf8").replace(/^\uFEFF/, "");
  const tokens = tokenize(text);
  for (const token of tokens) {
    if (token.scopes.some((scope) => scope.startsWith("invalid"))) {
      fail(`${file}:${token.line}: \`${token.text}\` is ${innermost(token)}`);
    }
  }
  // Known constructs, found by their text, must carry their scope.
  for (const token of tokens) {
    const text = token.text.trim();
    const scope = innermost(token);
    const inside = (prefix) => token.scopes.some((s) => s.startsWith(prefix));
    // Words inside comments, strings and regex literals are their text, not keywords.
    if (inside("comment") || inside("string.quoted") || inside("string.regexp")) continue;
    const expect = (wanted, what) => {
      if (!token.scopes.some((s) => s.startsWith(wanted))) {
        fail(`${file}:${token.line}: ${what} \`${text}\` is ${scope}, expected ${wanted}`);
      } else {
        count(wanted);
      }
    };
    if (/^(match|where|within|group|by|alert|when|sequence|repeat|lookback|cluster)$/.test(text)) {
      expect("keyword.control", "the keyword");
    } else if (/^(and|or|not|in|matches|matches_any|has_any|has_any_cs|contains|startswith|endswith)$/.test(text)) {
      expect("keyword.operator", "the operator");
    } else if (/^\d+(ms|s|m|h|d|w)$/.test(text)) {
      expect("constant.numeric.duration", "the duration");
    } else if (/^(true|false)$/.test(text)) {
      expect("constant.language", "the boolean");
    }
  }
  // Comments and string delimiters by the line they start.
  const lines = text.split(/\r?\n/);
  lines.forEach((line, index) => {
    const first = tokens.find((token) => token.line === index + 1 && token.text.trim() !== "");
    if (!first) return;
    const trimmed = line.trimStart();
    const inString = first.scopes.some((s) => s.startsWith("string.quoted.triple") || s.startsWith("comment.block"));
    if (inString) return;
    if (trimmed.startsWith("///")) {
      if (!first.scopes.includes("comment.line.documentation.tdl")) {
        fail(`${file}:${index + 1}: a doc comment is ${innermost(first)}`);
      } else count("comment.line.documentation");
    } else if (trimmed.startsWith("//")) {
      if (!first.scopes.includes("comment.line.double-slash.tdl")) {
        fail(`${file}:${index + 1}: a comment is ${innermost(first)}`);
      } else count("comment.line.double-slash");
    } else if (/^\/[^/*]/.test(trimmed)) {
      if (!first.scopes.includes("string.regexp.tdl")) {
        fail(`${file}:${index + 1}: a regex literal is ${innermost(first)}`);
      } else count("string.regexp");
    } else if (/^(rule|event|list|lookup|param|playbook|dashboard|panel)\s+[A-Za-z_]|^common\s*\{/.test(trimmed)) {
      if (!first.scopes.some((s) => s.startsWith("storage.type"))) {
        fail(`${file}:${index + 1}: a declaration is ${innermost(first)}`);
      } else count("storage.type");
    } else if (/^[A-Za-z_]\w*\s*:\s*"/.test(trimmed)) {
      const value = tokens.find(
        (token) => token.line === index + 1 && token.text.startsWith('"'),
      );
      if (!value || !value.scopes.some((s) => s.startsWith("string.quoted"))) {
        fail(`${file}:${index + 1}: a metadata string is not string.quoted`);
      } else count("string.quoted");
    }
  });
}

// The grammar itself, on constructs the shipped files may not show.
const samples = [
  ['list l: regex case_insensitive = [/a\\/b/i, near(/x/, /y/, 3)]', "/", "string.regexp.tdl"],
  ["  alert when count() / 2 > 3", "/", "keyword.operator.arithmetic.tdl"],
  ["  match tool_call where tool_args matches /rm -rf/i", "i", "keyword.other.flag.regexp.tdl"],
  ["  match inference where output matches_any /a/", "a", "string.regexp.tdl"],
  ['  title: "a \\"quoted\\" word"', '\\"', "constant.character.escape.tdl"],
  ["param threshold: int = 5", "threshold", "entity.name.type.param.tdl"],
  ["param threshold: int = 5", "int", "support.type.primitive.tdl"],
  ["rule acme.my-rule.v2 {", "acme.my-rule.v2", "entity.name.function.rule.tdl"],
  ["  atlas: [AML.T0051.000]", "AML.T0051.000", "constant.other.atlas-id.tdl"],
  ["  x: 1 /* block */ y", "/*", "punctuation.definition.comment.begin.tdl"],
  ["  a @ b", "@", "invalid.illegal.character.tdl"],
];
for (const [line, text, wanted] of samples) {
  const token = tokenize(line).find((token) => token.text === text);
  if (!token || !token.scopes.includes(wanted)) {
    fail(`sample \`${line}\`: \`${text}\` is ${token ? innermost(token) : "missing"}, expected ${wanted}`);
  }
}
const dashboard = tokenize("dashboard d {\n  panel p {\n    show alerts by rule every 1d\n  }\n}\nrule r {\n  match x where show == 1\n}");
for (const [line, text, wanted] of [
  [3, "show", "keyword.control.show.tdl"],
  [3, "rule", "keyword.control.rule.tdl"],
  [2, "p", "entity.name.type.panel.tdl"],
  [7, "show", "variable.other.tdl"],
]) {
  const token = dashboard.find((token) => token.line === line && token.text === text);
  if (!token || !token.scopes.includes(wanted)) {
    fail(`dashboard sample line ${line}: \`${text}\` is ${token ? innermost(token) : "missing"}, expected ${wanted}`);
  }
}

if (failures > 0) {
  console.error(`textmate: ${failures} problem(s) in ${all.length} files`);
  process.exit(1);
}
const summary = [...counts].map(([scope, n]) => `${n} ${scope}`).join(", ");
console.log(`textmate: ${all.length} files tokenized, no invalid scope; checked ${summary}`);
