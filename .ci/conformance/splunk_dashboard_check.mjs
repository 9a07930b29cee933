// Conformance of the splunk_spl dashboards (issue 14): every Dashboard Studio
// view of the app, validated by Splunk's own dashboard framework packages.
//
// Usage: node splunk_dashboard_check.mjs NODE_MODULES APP_DIR [MIN_VIEWS]
//
// For each default/data/ui/views/*.xml: the <dashboard version="2"> wrapper
// and its <definition> CDATA are read, and the JSON definition is checked by
// - @splunk/dashboard-validation's DashboardValidator against the schema
//   @splunk/dashboard-definition builds (createSchemaBasedOnDicts) from the
//   option schemas @splunk/visualization-schemas publishes for the
//   visualization types we emit (splunk.line, splunk.column,
//   splunk.singlevalue, splunk.table, splunk.pie), plus ds.search and
//   input.timerange options;
// - its structure checks: every visualization and input placed in the layout
//   (checkVisualizationsInStructure, checkInputsInStructure) and no token
//   defined twice (checkDuplicateTokens);
// - ours: only those visualization types; every visualization's primary data
//   source defined; every data source a ds.search with a query and an
//   earliest/latest time range, the global input's tokens or a relative time.
// It proves the definitions are what Dashboard Studio's editor accepts; the
// panel searches' SPL is checked by splunk_check.py.

import { createRequire } from "node:module";
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";

const [modules, app, minViews = "1"] = process.argv.slice(2);
const require = createRequire(join(resolve(modules), "noop.js"));
const validation = require("@splunk/dashboard-validation");
const definitionPackage = require("@splunk/dashboard-definition");
const vizSchemas = require("@splunk/visualization-schemas");

const VISUALIZATIONS = {
  "splunk.line": vizSchemas.lineOptionsSchema,
  "splunk.column": vizSchemas.columnOptionsSchema,
  "splunk.singlevalue": vizSchemas.singleValueOptionsSchema,
  "splunk.table": vizSchemas.tableOptionsSchema,
  "splunk.pie": vizSchemas.pieOptionsSchema,
};
const schema = definitionPackage.createSchemaBasedOnDicts({
  visualizationDict: VISUALIZATIONS,
  dataSourceDict: {
    "ds.search": {
      query: { type: "string" },
      queryParameters: {
        type: "object",
        additionalProperties: false,
        required: ["earliest", "latest"],
        properties: { earliest: { type: "string" }, latest: { type: "string" } },
      },
    },
  },
  inputDict: {
    "input.timerange": { token: { type: "string" }, defaultValue: { type: "string" } },
  },
});
const validator = new validation.DashboardValidator();
const schemaError = validator.setSchema(schema);
if (schemaError) {
  console.error(`the schema did not compile: ${schemaError}`);
  process.exit(1);
}

const RELATIVE = /^(-[0-9]+(s|m|h|d|w|mon|y)|now)$/;
const problems = [];
const views = join(app, "default", "data", "ui", "views");
const files = existsSync(views) ? readdirSync(views).filter((name) => name.endsWith(".xml")) : [];
let panels = 0;
for (const file of files.sort()) {
  const text = readFileSync(join(views, file), "utf8");
  if (!/<dashboard version="2"( theme="(light|dark)")?>/.test(text)) {
    problems.push(`${file}: not a <dashboard version="2">`);
    continue;
  }
  const match = text.match(/<definition><!\[CDATA\[([\s\S]*)\]\]><\/definition>/);
  if (!match) {
    problems.push(`${file}: no <definition> in CDATA`);
    continue;
  }
  let definition;
  try {
    definition = JSON.parse(match[1]);
  } catch (error) {
    problems.push(`${file}: the definition is not JSON: ${error.message}`);
    continue;
  }
  const errors = validator.validate(definition);
  for (const error of errors ?? []) {
    problems.push(`${file}: ${error.instancePath ?? error.path ?? ""} ${error.message ?? JSON.stringify(error)}`);
  }
  for (const check of ["checkVisualizationsInStructure", "checkInputsInStructure", "checkDuplicateTokens"]) {
    for (const error of validation[check](definition) ?? []) {
      problems.push(`${file}: ${check}: ${error.message ?? JSON.stringify(error)}`);
    }
  }
  const sources = definition.dataSources ?? {};
  for (const [id, visualization] of Object.entries(definition.visualizations ?? {})) {
    panels += 1;
    if (!(visualization.type in VISUALIZATIONS)) {
      problems.push(`${file}: ${id}: visualization type ${visualization.type} is not one we emit`);
    }
    if (!visualization.title) problems.push(`${file}: ${id}: no title`);
    const primary = visualization.dataSources?.primary;
    if (!primary || !(primary in sources)) {
      problems.push(`${file}: ${id}: primary data source ${primary} is not defined`);
    }
  }
  for (const [id, source] of Object.entries(sources)) {
    const options = source.options ?? {};
    if (source.type !== "ds.search" || !options.query) {
      problems.push(`${file}: ${id}: not a ds.search with a query`);
    }
    const { earliest, latest } = options.queryParameters ?? {};
    const tokens = earliest === "$global_time.earliest$" && latest === "$global_time.latest$";
    if (!tokens && !(RELATIVE.test(earliest ?? "") && RELATIVE.test(latest ?? ""))) {
      problems.push(`${file}: ${id}: time range ${earliest}..${latest} is neither the global input's nor a relative time`);
    }
  }
}
console.log(`${files.length} Dashboard Studio views, ${panels} panels, ${problems.length} problems`);
if (files.length < Number(minViews)) {
  problems.push(`expected at least ${minViews} views in ${views}`);
}
for (const problem of problems) console.log(problem);
process.exit(problems.length ? 1 : 0);
