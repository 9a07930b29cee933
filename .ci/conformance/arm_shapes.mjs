// The Sentinel target's ARM resources against the published shapes of the
// Azure REST API: the model mappers that Azure's SDK generator writes from
// the REST API specifications (npm `@azure/arm-securityinsight` for analytics
// rules, automation rules and watchlists, `@azure/arm-operationalinsights`
// for tables, `@azure/arm-appinsights` for workbooks, whose model is the
// workbooks API of 2021-08-01, the version the templates deploy).
//
// Usage: node arm_shapes.mjs <node_modules dir> <compile output>/sentinel_kql
//
// Each resource's `properties` (and `kind`) are walked against the model of
// its type: every key must be one the model declares (flattened
// `properties.x` names included), every required property present, every
// value of the declared type (string, number, boolean, array, object, an
// enum's allowed values), within the declared constraints (length, range,
// item counts, pattern), and a polymorphic object (an automation rule's
// action or condition, an alert rule's kind) checked against the subtype its
// discriminator names. Wrong variants must be rejected (the walker is really
// checking). It proves the objects have the REST API's shape; it cannot
// prove that a deployment succeeds (no Azure here).

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [modules, output] = process.argv.slice(2);
if (!modules || !output) {
  console.error("usage: arm_shapes.mjs <node_modules> <sentinel_kql output dir>");
  process.exit(2);
}
const root = path.resolve(modules);
const require = createRequire(path.join(root, "x.js"));
const core = require("@azure/core-client");
const SI = await import(path.join(root, "@azure/arm-securityinsight/dist-esm/src/models/mappers.js"));
const OI = await import(path.join(root, "@azure/arm-operationalinsights/dist-esm/src/models/mappers.js"));
const AI = await import(path.join(root, "@azure/arm-appinsights/esm/models/mappers.js"));
// validateConstraints is kept by core-client, though its serializer no longer calls it.
const constraints = core.createSerializer({}, false);

function resolve(mappers, mapper) {
  const className = mapper.type.className;
  return className && mappers[className] ? mappers[className] : mapper;
}

// The problems of `value` against `mapper`, at `where`.
function walk(mappers, mapper, value, where, problems) {
  const type = mapper.type.name;
  if (value === undefined || value === null) return;
  try {
    constraints.validateConstraints(mapper, value, where);
  } catch (error) {
    problems.push(error.message);
  }
  switch (type) {
    case "String":
      if (typeof value !== "string") problems.push(`${where}: ${JSON.stringify(value)} is not a string`);
      return;
    case "Number":
      if (typeof value !== "number") problems.push(`${where}: ${JSON.stringify(value)} is not a number`);
      return;
    case "Boolean":
      if (typeof value !== "boolean") problems.push(`${where}: ${JSON.stringify(value)} is not a boolean`);
      return;
    case "Enum":
      if (!mapper.type.allowedValues.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of ${mapper.type.allowedValues}`);
      return;
    case "DateTime":
    case "Uuid":
    case "TimeSpan":
      if (typeof value !== "string") problems.push(`${where}: not a string`);
      return;
    case "Sequence":
      if (!Array.isArray(value)) {
        problems.push(`${where}: not an array`);
        return;
      }
      value.forEach((item, index) => walk(mappers, mapper.type.element, item, `${where}[${index}]`, problems));
      return;
    case "Dictionary":
      if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(`${where}: not an object`);
        return;
      }
      for (const [key, item] of Object.entries(value)) walk(mappers, mapper.type.value, item, `${where}.${key}`, problems);
      return;
    case "Composite":
      composite(mappers, resolve(mappers, mapper), value, where, problems);
      return;
    default:
      return;
  }
}

function composite(mappers, mapper, value, where, problems) {
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.push(`${where}: not an object`);
    return;
  }
  // A polymorphic type: check against the subtype its discriminator names.
  const discriminator = mapper.type.polymorphicDiscriminator;
  if (discriminator) {
    const name = value[discriminator.serializedName];
    const parent = mapper.type.className;
    const lookup = (prefix) => SI.discriminators?.[`${prefix}.${name}`] || OI.discriminators?.[`${prefix}.${name}`];
    const subtype = lookup(parent) || lookup(mapper.type.uberParent);
    if (!subtype) {
      problems.push(`${where}: ${discriminator.serializedName} ${JSON.stringify(name)} names no ${parent} subtype`);
      return;
    }
    if (subtype !== mapper) mapper = subtype;
  }
  // The serialized names of the model, as a tree (flattened `properties.x`).
  const tree = {};
  for (const property of Object.values(mapper.type.modelProperties || {})) {
    if (property.readOnly || !property.serializedName) continue;
    const parts = property.serializedName.split(/(?<!\\)\./).map((part) => part.replace(/\\\./g, "."));
    let node = tree;
    for (const part of parts.slice(0, -1)) node = node[part] ||= { children: {} }, node = node.children;
    node[parts[parts.length - 1]] = { mapper: property };
  }
  check(mappers, tree, value, where, problems);
}

function check(mappers, tree, value, where, problems) {
  for (const [key, node] of Object.entries(tree)) {
    if (node.mapper?.required && (value[key] === undefined || value[key] === null) && !node.mapper.isConstant) {
      problems.push(`${where}.${key}: required`);
    }
  }
  for (const [key, item] of Object.entries(value)) {
    const node = tree[key];
    if (!node) {
      problems.push(`${where}.${key}: not a property of the model`);
      continue;
    }
    if (node.mapper) walk(mappers, node.mapper, item, `${where}.${key}`, problems);
    else if (typeof item === "object" && item !== null) check(mappers, node.children, item, `${where}.${key}`, problems);
    else problems.push(`${where}.${key}: not an object`);
  }
}

const MODELS = {
  "Microsoft.OperationalInsights/workspaces/providers/alertRules": [SI, SI.AlertRule],
  "Microsoft.OperationalInsights/workspaces/providers/automationRules": [SI, SI.AutomationRule],
  "Microsoft.OperationalInsights/workspaces/providers/watchlists": [SI, SI.Watchlist],
  "Microsoft.OperationalInsights/workspaces/tables": [OI, OI.Table],
  "Microsoft.Insights/workbooks": [AI, AI.Workbook],
};

function resourceProblems(resource, where) {
  const model = MODELS[resource.type];
  if (!model) return [`${where}: no published model for ${resource.type}`];
  const problems = [];
  const wire = { properties: resource.properties };
  if (resource.kind !== undefined) wire.kind = resource.kind;
  walk(model[0], model[1], wire, where, problems);
  return problems;
}

const failures = [];
let resources = 0;
for (const folder of ["arm", "automation", "tables", "watchlists", "workbooks"]) {
  const directory = path.join(output, folder);
  if (!fs.existsSync(directory)) continue;
  for (const file of fs.readdirSync(directory).filter((name) => name.endsWith(".json")).sort()) {
    const template = JSON.parse(fs.readFileSync(path.join(directory, file), "utf8"));
    for (const resource of template.resources) {
      resources += 1;
      failures.push(...resourceProblems(resource, `${folder}/${file}`));
    }
  }
}

// The walker must reject what the REST API rejects.
const sample = (folder) => {
  const directory = path.join(output, folder);
  const file = fs.existsSync(directory) && fs.readdirSync(directory).find((name) => name.endsWith(".json"));
  return file ? JSON.parse(fs.readFileSync(path.join(directory, file), "utf8")).resources[0] : null;
};
const variants = [];
const automation = sample("automation");
if (automation) {
  variants.push(["automation order 0", { ...automation, properties: { ...automation.properties, order: 0 } }]);
  variants.push(["automation without actions", { ...automation, properties: { ...automation.properties, actions: undefined } }]);
  variants.push(["an unknown action type", { ...automation, properties: { ...automation.properties, actions: [{ order: 1, actionType: "Tag", actionConfiguration: {} }] } }]);
}
const rule = sample("arm");
if (rule) {
  variants.push(["an unknown rule key", { ...rule, properties: { ...rule.properties, queryText: "x" } }]);
  variants.push(["a numeric severity", { ...rule, properties: { ...rule.properties, enabled: "yes" } }]);
}
const workbook = sample("workbooks");
if (workbook) {
  variants.push(["a workbook without serializedData", { ...workbook, properties: { ...workbook.properties, serializedData: undefined } }]);
  variants.push(["a workbook with an unknown property", { ...workbook, properties: { ...workbook.properties, notebook: {} } }]);
}
const table = sample("tables");
if (table) variants.push(["a table with retention as text", { ...table, properties: { ...table.properties, retentionInDays: "90" } }]);
for (const [name, resource] of variants) {
  if (resourceProblems(resource, name).length === 0) failures.push(`sanity: accepted ${name}`);
}

for (const failure of failures) console.error(`FAIL ${failure}`);
console.log(`arm shapes: ${resources} resources, ${variants.length} wrong variants rejected, ${failures.length} problems`);
process.exit(failures.length ? 1 : 0);
