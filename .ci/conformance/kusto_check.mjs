// Conformance of the sentinel_kql target against Kusto.Language, the parser
// and semantic analyser Sentinel's own editor uses (npm
// `@kusto/language-service-next`).
//
// Usage: node kusto_check.mjs <node_modules dir> <compile output>/sentinel_kql
//
// Input: the directory `tripline compile` wrote for the target. The table
// definition the target emits (`tables/*.json`, the ARM `tables` resource) is
// read and turned into a DatabaseSymbol, so columns and types are checked
// against what is deployed, not against a list kept here. Every query
// (`queries/*.kql`, the YAML `query`, the ARM `query`) must:
//   - be non-empty and reference the table (an empty script analyses clean);
//   - analyse with zero error diagnostics;
//   - have a tabular result whose columns include those the rule's entity
//     mappings and custom details name.
// Every rule YAML must have the Azure-Sentinel keys, queryFrequency and
// queryPeriod within 5m..14d with period >= frequency, and agree with its ARM
// template. Entity mappings use Sentinel's entity types and identifiers
// (https://learn.microsoft.com/azure/sentinel/entities-reference) on result
// columns; ARM `techniques` are technique ids. The table's retention is
// within Log Analytics' limits (interactive 4..730 days, total up to 4383,
// and the expected total when RETENTION_DAYS is given). Each automation
// rule (`automation/*.json`, ARM `automationRules`) triggers on incident
// creation for exactly the emitted analytics rules that carry its route,
// labels the incident with the route and, if it assigns, assigns an object
// id. Each workbook (`workbooks/*.json`, an ARM `Microsoft.Insights/workbooks`
// resource) is a shared Sentinel workbook on the workspace whose
// `serializedData` is a `Notebook/1.0` workbook: a `TimeRange` time picker,
// and query items whose KQL analyses with zero errors against the emitted
// table and Sentinel's `SecurityAlert` table (declared with the columns of
// https://learn.microsoft.com/azure/sentinel/security-alert-schema), whose
// result has a time column for the time-series visualizations, and whose
// time range is the picker's or a fixed positive one. The data collection
// rule (`dcr/*.json`) is `Direct`, declares its stream with the Logs
// Ingestion API's types, and its transformation, analysed with `source` as
// that stream, yields exactly the table's columns and types with operators
// DCR transformations allow. A sanity query with a
// wrong column must fail (the analyser is really checking names). It proves syntax, names and types; it cannot prove
// meaning (no Kusto engine runs offline).

import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [modules, output, retentionArg] = process.argv.slice(2);
const expectedRetention = retentionArg === undefined ? null : Number(retentionArg);
if (!modules || !output) {
  console.error("usage: kusto_check.mjs <node_modules> <sentinel_kql output dir>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "x.js"));
const dir = path.join(path.resolve(modules), "@kusto/language-service-next");
require(path.join(dir, "bridge.js"));
require(path.join(dir, "Kusto.Language.Bridge.js"));
const YAML = require("yaml");
const K = globalThis.Kusto.Language;
const S = K.Symbols;

const failures = [];
const fail = (where, message) => failures.push(`${where}: ${message}`);

// The table the target emits.
const API_TYPES = { string: "string", long: "long", int: "int", real: "real", boolean: "bool", dateTime: "datetime", timespan: "timespan", guid: "guid", dynamic: "dynamic" };
const tableFiles = fs.readdirSync(path.join(output, "tables")).filter((f) => f.endsWith(".json"));
if (tableFiles.length === 0) fail("tables", "no table definition emitted");
const tables = [];
const columnsByTable = {};
const typedColumnsByTable = {};
for (const file of tableFiles) {
  const template = JSON.parse(fs.readFileSync(path.join(output, "tables", file), "utf8"));
  for (const resource of template.resources) {
    if (resource.type !== "Microsoft.OperationalInsights/workspaces/tables") fail(file, `unexpected resource ${resource.type}`);
    const props = resource.properties;
    if (!(props.retentionInDays >= 4 && props.retentionInDays <= 730)) fail(file, `retentionInDays ${props.retentionInDays} outside 4..730`);
    if (!(props.totalRetentionInDays >= props.retentionInDays && props.totalRetentionInDays <= 4383)) fail(file, `totalRetentionInDays ${props.totalRetentionInDays}`);
    if (expectedRetention !== null && props.totalRetentionInDays !== Math.max(4, expectedRetention)) fail(file, `total retention is not ${expectedRetention} days`);
    if (expectedRetention !== null && props.retentionInDays !== Math.min(730, Math.max(4, expectedRetention))) fail(file, `interactive retention does not follow ${expectedRetention} days`);
    const schema = props.schema;
    const columns = schema.columns.map((c) => {
      const type = API_TYPES[c.type];
      if (!type) fail(file, `column ${c.name}: unknown type ${c.type}`);
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(c.name)) fail(file, `column ${c.name}: not a plain name`);
      return `${c.name}:${type}`;
    });
    if (!schema.columns.some((c) => c.name === "TimeGenerated" && c.type === "dateTime")) fail(file, "no TimeGenerated dateTime column");
    columnsByTable[schema.name] = new Set(schema.columns.map((c) => c.name));
    typedColumnsByTable[schema.name] = schema.columns.map((c) => `${c.name}:${API_TYPES[c.type]}`).sort();
    tables.push(S.TableSymbol.From(`(${columns.join(", ")})`).WithName(schema.name));
  }
}
// Watchlists the target emits (`watchlists/*.json`, ARM `watchlists`
// resources): Sentinel's `_GetWatchlist(alias)` is declared with the columns
// it returns (the system columns and the watchlist's own), and every alias a
// query names must be one of them.
const watchlistDir = path.join(output, "watchlists");
const aliases = new Set();
const watchlistColumns = new Set();
if (fs.existsSync(watchlistDir)) {
  for (const file of fs.readdirSync(watchlistDir).filter((f) => f.endsWith(".json"))) {
    const template = JSON.parse(fs.readFileSync(path.join(watchlistDir, file), "utf8"));
    for (const resource of template.resources) {
      if (resource.type !== "Microsoft.OperationalInsights/workspaces/providers/watchlists") fail(file, `unexpected resource ${resource.type}`);
      const props = resource.properties;
      if (props.contentType !== "text/csv") fail(file, "contentType is not text/csv");
      const header = String(props.rawContent).split("\r\n")[0].split(",").map((c) => c.replace(/^"|"$/g, ""));
      if (!header.includes(props.itemsSearchKey)) fail(file, `the search key ${props.itemsSearchKey} is not a column`);
      for (const column of header) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(column)) fail(file, `column ${column}: not a plain name`);
        watchlistColumns.add(column);
      }
      aliases.add(props.watchlistAlias);
    }
  }
}
const watchlistSchema = ["_DTItemId:string", "LastUpdatedTimeUTC:datetime", "SearchKey:string", "WatchlistItem:dynamic", ...[...watchlistColumns].map((c) => `${c}:string`)];
const getWatchlist = new S.FunctionSymbol.$ctor15("_GetWatchlist", "(watchlistAlias:string)", `{ datatable(${watchlistSchema.join(", ")})[] }`, "Microsoft Sentinel watchlist");
// Sentinel's alert table, which workbook panels over alerts read.
const SECURITY_ALERT_COLUMNS = ["TimeGenerated:datetime", "AlertName:string", "AlertSeverity:string", "AlertType:string", "AlertLink:string", "CompromisedEntity:string", "ConfidenceLevel:string", "ConfidenceScore:real", "Description:string", "DisplayName:string", "EndTime:datetime", "Entities:string", "ExtendedLinks:string", "ExtendedProperties:string", "IsIncident:bool", "ProcessingEndTime:datetime", "ProductComponentName:string", "ProductName:string", "ProviderName:string", "RemediationSteps:string", "ResourceId:string", "SourceComputerId:string", "SourceSystem:string", "StartTime:datetime", "Status:string", "SystemAlertId:string", "Tactics:string", "Techniques:string", "TenantId:string", "Type:string", "VendorName:string", "VendorOriginalId:string", "WorkspaceResourceGroup:string", "WorkspaceSubscriptionId:string"];
const securityAlert = S.TableSymbol.From(`(${SECURITY_ALERT_COLUMNS.join(", ")})`).WithName("SecurityAlert");
const database = new S.DatabaseSymbol.$ctor1("tripline", [...tables, securityAlert, getWatchlist], false);
const globals = K.GlobalState.Default.WithDatabase(database);
const tableNames = Object.keys(columnsByTable);

function diagnostics(query) {
  const code = K.KustoCode.ParseAndAnalyze(query, globals);
  const list = code.GetDiagnostics();
  const errors = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    if (d.Severity === "Error") errors.push(`${d.Code} at ${d.Start}: ${d.Message}`);
  }
  return { code, errors };
}

function resultColumns(code) {
  const type = code.ResultType;
  if (!type || !(type instanceof S.TableSymbol)) return null;
  const names = new Set();
  const cols = type.Columns;
  for (let i = 0; i < cols.Count; i++) names.add(cols.getItem(i).Name);
  return names;
}

// The analyser must reject a wrong column and an unknown table.
for (const bad of [`${tableNames[0]} | where NoSuchColumn_ == 1`, `NoSuchTable_CL | take 1`, `${tableNames[0]} | where TimeGenerated > 5`]) {
  if (diagnostics(bad).errors.length === 0) fail("sanity", `the analyser accepted: ${bad}`);
}

let analysed = 0;
function checkQuery(where, query, required, readable = tableNames) {
  if (typeof query !== "string" || query.replace(/\/\/.*$/gm, "").trim() === "") {
    fail(where, "empty query");
    return null;
  }
  if (!readable.some((name) => query.includes(name))) fail(where, "the query does not read the emitted table");
  for (const match of query.matchAll(/_GetWatchlist\(\s*["']([^"']*)["']\s*\)/g)) {
    if (!aliases.has(match[1])) fail(where, `the watchlist ${match[1]} is not emitted`);
  }
  const { code, errors } = diagnostics(query);
  analysed += 1;
  for (const error of errors) fail(where, error);
  const columns = resultColumns(code);
  if (!columns) {
    fail(where, "the query has no tabular result");
    return null;
  }
  for (const column of required) if (!columns.has(column)) fail(where, `result has no column ${column}`);
  return code;
}

const REQUIRED_KEYS = ["id", "name", "description", "severity", "requiredDataConnectors", "queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold", "tactics", "relevantTechniques", "query", "entityMappings", "incidentConfiguration", "eventGroupingSettings", "version", "kind"];
const ms = (text) => {
  const m = /^(\d+)([mhd])$/.exec(String(text));
  if (!m) return NaN;
  return Number(m[1]) * { m: 60e3, h: 3600e3, d: 86400e3 }[m[2]];
};
const isoMs = (text) => {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(String(text));
  if (!m) return NaN;
  return ((+(m[1] || 0) * 24 + +(m[2] || 0)) * 60 + +(m[3] || 0)) * 60e3 + +(m[4] || 0) * 1e3;
};

const ENTITY_IDENTIFIERS = { Account: ["Name"], IP: ["Address"], DNS: ["DomainName"], URL: ["Url"], File: ["Name", "Directory"] };
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const routeOfRule = {};
const ruleFiles = fs.readdirSync(path.join(output, "rules")).filter((f) => f.endsWith(".yaml")).sort();
if (ruleFiles.length === 0) fail("rules", "no rule compiled");
const guids = new Set();
for (const file of ruleFiles) {
  const id = file.replace(/\.yaml$/, "");
  const rule = YAML.parse(fs.readFileSync(path.join(output, "rules", file), "utf8"));
  for (const key of REQUIRED_KEYS) if (!(key in rule)) fail(file, `missing key ${key}`);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(rule.id)) fail(file, `id ${rule.id} is not a v5 GUID`);
  if (guids.has(rule.id)) fail(file, "duplicate id");
  guids.add(rule.id);
  if (!["High", "Medium", "Low", "Informational"].includes(rule.severity)) fail(file, `severity ${rule.severity}`);
  if (rule.kind !== "Scheduled" || rule.triggerOperator !== "gt" || rule.triggerThreshold !== 0) fail(file, "kind/trigger");
  const frequency = ms(rule.queryFrequency);
  const period = ms(rule.queryPeriod);
  const [low, high] = [5 * 60e3, 14 * 86400e3];
  if (!(frequency >= low && frequency <= high)) fail(file, `queryFrequency ${rule.queryFrequency} outside 5m..14d`);
  if (!(period >= low && period <= high)) fail(file, `queryPeriod ${rule.queryPeriod} outside 5m..14d`);
  if (!(period >= frequency)) fail(file, "queryPeriod < queryFrequency");
  if ((rule.relevantTechniques || []).some((t) => !/^T\d{4}(\.\d{3})?$/.test(t))) fail(file, "relevantTechniques holds non-ATT&CK ids");
  const required = new Set();
  for (const mapping of rule.entityMappings || []) {
    const identifiers = ENTITY_IDENTIFIERS[mapping.entityType];
    if (!identifiers) fail(file, `entity type ${mapping.entityType}`);
    for (const field of mapping.fieldMappings) {
      if (identifiers && !identifiers.includes(field.identifier)) fail(file, `${mapping.entityType} has no identifier ${field.identifier}`);
      required.add(field.columnName);
    }
  }
  if ((rule.entityMappings || []).length > 10) fail(file, "more than 10 entity mappings");
  const routeTag = (rule.tags || []).find((tag) => String(tag).startsWith("Route: "));
  if (routeTag) routeOfRule[rule.id] = routeTag.slice("Route: ".length);
  for (const column of Object.values(rule.customDetails || {})) required.add(column);
  for (const column of rule.incidentConfiguration.groupingConfiguration.groupByCustomDetails || []) {
    if (!(rule.customDetails || {})[column]) fail(file, `incident grouping by ${column}, not a custom detail`);
  }
  checkQuery(`${file} query`, rule.query, required);
  const kql = fs.readFileSync(path.join(output, "queries", `${id}.kql`), "utf8");
  checkQuery(`queries/${id}.kql`, kql, required);
  const arm = JSON.parse(fs.readFileSync(path.join(output, "arm", `${id}.json`), "utf8"));
  const resource = arm.resources[0];
  const props = resource.properties;
  if (resource.type !== "Microsoft.OperationalInsights/workspaces/providers/alertRules" || resource.kind !== "Scheduled") fail(`arm/${id}.json`, "resource type/kind");
  if (!resource.name.includes(rule.id)) fail(`arm/${id}.json`, "name does not carry the rule GUID");
  if (props.query !== rule.query) fail(`arm/${id}.json`, "query differs from the YAML's");
  if (isoMs(props.queryFrequency) !== frequency || isoMs(props.queryPeriod) !== period) fail(`arm/${id}.json`, "schedule differs from the YAML's");
  if (props.severity !== rule.severity || props.displayName !== rule.name) fail(`arm/${id}.json`, "metadata differs from the YAML's");
  if ((props.techniques || []).some((t) => !/^T\d{4}$/.test(t))) fail(`arm/${id}.json`, "techniques holds non-technique ids");
  const canonical = (value) => JSON.stringify(value, (_, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v));
  if (canonical(props.entityMappings) !== canonical(rule.entityMappings)) fail(`arm/${id}.json`, "entity mappings differ from the YAML's");
}

// Automation rules: one per route, for exactly that route's rules.
const automationDir = path.join(output, "automation");
const automated = {};
if (fs.existsSync(automationDir)) {
  for (const file of fs.readdirSync(automationDir).filter((f) => f.endsWith(".json"))) {
    const template = JSON.parse(fs.readFileSync(path.join(automationDir, file), "utf8"));
    for (const resource of template.resources) {
      const where = `automation/${file}`;
      if (resource.type !== "Microsoft.OperationalInsights/workspaces/providers/automationRules") fail(where, `unexpected resource ${resource.type}`);
      if (!/\/Microsoft\.SecurityInsights\/[0-9a-f-]{36}'\)\]$/.test(resource.name)) fail(where, "name is not workspace/Microsoft.SecurityInsights/<GUID>");
      const props = resource.properties;
      const route = template.metadata.route;
      const logic = props.triggeringLogic;
      if (!props.displayName || !(props.order >= 1 && props.order <= 1000)) fail(where, "displayName/order");
      if (logic.triggersOn !== "Incidents" || logic.triggersWhen !== "Created" || logic.isEnabled !== true) fail(where, "trigger");
      const condition = logic.conditions[0];
      if (logic.conditions.length !== 1 || condition.conditionType !== "Property" || condition.conditionProperties.propertyName !== "IncidentRelatedAnalyticRuleIds" || condition.conditionProperties.operator !== "Contains") fail(where, "condition");
      for (const value of condition.conditionProperties.propertyValues) {
        const guid = /'([0-9a-f-]{36})'\)\]$/.exec(value);
        if (!guid || !value.startsWith("[resourceId('Microsoft.OperationalInsights/workspaces/providers/alertRules', parameters('workspace'), 'Microsoft.SecurityInsights', ")) { fail(where, `condition value ${value}`); continue; }
        if (routeOfRule[guid[1]] !== route) fail(where, `rule ${guid[1]} is not a rule of route ${route}`);
        (automated[route] ||= new Set()).add(guid[1]);
      }
      const labels = props.actions.flatMap((a) => (a.actionConfiguration.labels || []).map((l) => l.labelName));
      if (!labels.includes(`route:${route}`)) fail(where, "the incident is not labelled with its route");
      for (const action of props.actions) {
        if (action.actionType !== "ModifyProperties") fail(where, `action ${action.actionType}`);
        const owner = action.actionConfiguration.owner;
        if (owner && !GUID.test(owner.objectId)) fail(where, `owner ${owner.objectId} is not an object id`);
      }
    }
  }
}
for (const [guid, route] of Object.entries(routeOfRule)) {
  if (!(automated[route] && automated[route].has(guid))) fail(`route ${route}`, `rule ${guid} is in no automation rule`);
}

// Workbooks: one ARM template each, its notebook serialised in it.
const workbookDir = path.join(output, "workbooks");
const VISUALIZATIONS = new Set(["timechart", "linechart", "barchart", "categoricalbar", "areachart", "piechart", "table", "tiles"]);
const OVER_TIME = new Set(["timechart", "linechart", "barchart", "areachart"]);
let workbookPanels = 0;
if (fs.existsSync(workbookDir)) {
  for (const file of fs.readdirSync(workbookDir).filter((f) => f.endsWith(".json")).sort()) {
    const where = `workbooks/${file}`;
    const template = JSON.parse(fs.readFileSync(path.join(workbookDir, file), "utf8"));
    if (!template.parameters || !template.parameters.workspace) fail(where, "no workspace parameter");
    for (const resource of template.resources) {
      if (resource.type !== "Microsoft.Insights/workbooks") fail(where, `unexpected resource ${resource.type}`);
      if (!GUID.test(resource.name)) fail(where, "the workbook's name is not a GUID");
      if (resource.kind !== "shared") fail(where, "kind is not shared");
      const props = resource.properties;
      if (props.category !== "sentinel") fail(where, "category is not sentinel");
      if (!/^\[resourceId\('Microsoft\.OperationalInsights\/workspaces', parameters\('workspace'\)\)\]$/.test(props.sourceId)) fail(where, "sourceId is not the workspace");
      if (!props.displayName) fail(where, "no displayName");
      let notebook;
      try {
        notebook = JSON.parse(props.serializedData);
      } catch (error) {
        fail(where, `serializedData is not JSON: ${error.message}`);
        continue;
      }
      if (notebook.version !== "Notebook/1.0") fail(where, `notebook version ${notebook.version}`);
      const pickers = new Map();
      const names = new Set();
      for (const item of notebook.items) {
        if (names.has(item.name)) fail(where, `two items named ${item.name}`);
        names.add(item.name);
        if (item.type === 9) {
          for (const parameter of item.content.parameters) {
            if (parameter.type === 4) {
              if (!(parameter.value && parameter.value.durationMs > 0)) fail(where, `time parameter ${parameter.name} has no default range`);
              pickers.set(parameter.name, parameter);
            }
          }
        }
      }
      for (const item of notebook.items.filter((i) => i.type === 3)) {
        const at = `${where} ${item.name}`;
        const content = item.content;
        workbookPanels += 1;
        if (content.version !== "KqlItem/1.0" || content.queryType !== 0 || content.resourceType !== "microsoft.operationalinsights/workspaces") fail(at, "not a Log Analytics KQL item");
        if (!VISUALIZATIONS.has(content.visualization)) fail(at, `visualization ${content.visualization}`);
        if (content.timeContextFromParameter !== undefined && !pickers.has(content.timeContextFromParameter)) fail(at, `time range from unknown parameter ${content.timeContextFromParameter}`);
        if (!(content.timeContext && content.timeContext.durationMs > 0)) fail(at, "no time range");
        const code = checkQuery(at, content.query, [], [...tableNames, "SecurityAlert"]);
        if (code && OVER_TIME.has(content.visualization)) {
          const type = code.ResultType;
          let timed = false;
          for (let i = 0; type && i < type.Columns.Count; i++) if (type.Columns.getItem(i).Type.Name === "datetime") timed = true;
          if (!timed) fail(at, `a ${content.visualization} without a datetime column`);
        }
      }
    }
  }
}

// The data collection rule (`dcr/*.json`): a `Direct` rule whose one
// stream declares the canonical fields with the Logs Ingestion API's types
// and whose transformation, analysed with `source` as that stream, yields
// exactly the table's columns and types, using only operators DCR
// transformations support
// (https://learn.microsoft.com/azure/azure-monitor/essentials/data-collection-transformations-kql).
const STREAM_TYPES = { string: "string", int: "int", long: "long", real: "real", boolean: "bool", datetime: "datetime", dynamic: "dynamic" };
const DCR_OPERATORS = new Set(["project", "extend", "where", "project-away", "project-rename", "parse", "columnifexists"]);
const dcrDir = path.join(output, "dcr");
let transforms = 0;
const transformColumns = (declared, transformKql) => {
  const source = S.TableSymbol.From(`(${declared.join(", ")})`).WithName("source");
  const state = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.$ctor1("dcr", [source], false));
  const code = K.KustoCode.ParseAndAnalyze(transformKql, state);
  const list = code.GetDiagnostics();
  const errors = [];
  for (let i = 0; i < list.Count; i++) if (list.getItem(i).Severity === "Error") errors.push(list.getItem(i).Message);
  const type = code.ResultType;
  const columns = [];
  for (let i = 0; type && type.Columns && i < type.Columns.Count; i++) columns.push(`${type.Columns.getItem(i).Name}:${type.Columns.getItem(i).Type.Name}`);
  return { errors, columns: columns.sort() };
};
if (transformColumns(["a:string"], "source | project B = nosuch").errors.length === 0) fail("sanity", "the transformation analyser accepted an unknown column");
if (!fs.existsSync(dcrDir)) fail("dcr", "no data collection rule emitted");
for (const file of fs.existsSync(dcrDir) ? fs.readdirSync(dcrDir).filter((f) => f.endsWith(".json")) : []) {
  const template = JSON.parse(fs.readFileSync(path.join(dcrDir, file), "utf8"));
  for (const resource of template.resources) {
    if (resource.type !== "Microsoft.Insights/dataCollectionRules") { fail(file, `unexpected resource ${resource.type}`); continue; }
    if (resource.kind !== "Direct") fail(file, "not a Direct rule (no Logs Ingestion endpoint of its own)");
    const props = resource.properties;
    const destinations = new Set((props.destinations.logAnalytics || []).map((d) => d.name));
    for (const flow of props.dataFlows) {
      transforms += 1;
      const table = String(flow.outputStream).replace(/^Custom-/, "");
      if (!typedColumnsByTable[table]) { fail(file, `output stream ${flow.outputStream} is not an emitted table`); continue; }
      for (const name of flow.destinations) if (!destinations.has(name)) fail(file, `destination ${name} is not declared`);
      if (flow.streams.length !== 1 || !props.streamDeclarations[flow.streams[0]]) { fail(file, "the flow's stream is not declared"); continue; }
      const declared = props.streamDeclarations[flow.streams[0]].columns.map((c) => {
        if (!STREAM_TYPES[c.type]) fail(file, `stream column ${c.name}: ${c.type} is not a Logs Ingestion type`);
        return `${c.name}:${STREAM_TYPES[c.type] || "string"}`;
      });
      for (const match of flow.transformKql.matchAll(/\|\s*([a-z-]+)/g)) if (!DCR_OPERATORS.has(match[1])) fail(file, `operator ${match[1]} in a transformation`);
      const { errors, columns } = transformColumns(declared, flow.transformKql);
      for (const error of errors) fail(file, `transformKql: ${error}`);
      if (columns.join(",") !== typedColumnsByTable[table].join(",")) fail(file, `the transformation yields ${columns.join(", ")}, not the table's ${typedColumnsByTable[table].join(", ")}`);
    }
  }
}

if (failures.length > 0) {
  for (const failure of failures) console.error(`FAIL ${failure}`);
  console.error(`${failures.length} failure(s); ${analysed} queries analysed`);
  process.exit(1);
}
console.log(`sentinel_kql: ${ruleFiles.length} rules, ${workbookPanels} workbook panels, ${transforms} ingestion transformation(s), ${analysed} queries analysed against ${tableNames.join(", ")}: 0 errors`);
