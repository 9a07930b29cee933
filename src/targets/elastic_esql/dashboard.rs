//! Kibana dashboards of ES|QL panels.
//!
//! Input: the pack's dashboards, each panel lowered by [`plan::panel`], and
//! the ECS [`Mapping`]. Output: `kibana/dashboards/<dashboard id>.ndjson`,
//! the body of Kibana's saved-objects import: a data view of the events'
//! index pattern (for Discover and drill-downs) and the dashboard, whose
//! panels are Lens visualisations by value over an ES|QL query (Lens's
//! `textBased` data source, an ad hoc data view per panel). A panel the
//! target cannot print exactly is left out and reported.
//!
//! The saved object carries what Kibana's dashboard type declares
//! (`dashboardAttributesSchema`, attributes with unknown keys forbidden:
//! `title`, `description`, `kibanaSavedObjectMeta.searchSourceJSON`,
//! `timeRestore`, `timeFrom`, `timeTo`, `refreshInterval`, `panelsJSON`,
//! `optionsJSON`), and each panel what its panel schema declares
//! (`type`, `gridData {x, y, w, h, i}`, `panelIndex`, `embeddableConfig`,
//! `title`). `.ci/conformance/kibana_dashboard_check.py` checks both and
//! parses every panel query with Elastic's ES|QL parser.
//!
//! Each query reads the dashboard's time range (Kibana filters the index's
//! time field of an ES|QL panel by the time picker), cuts epoch-aligned
//! buckets from epoch milliseconds as the rules do, and groups with `STATS
//! ... BY`. A panel baseline (the mean over the group's earlier buckets in
//! the lookback, see [`crate::ir::dashboard::Measure`]) repeats each row
//! into the buckets whose history it belongs to (`MV_EXPAND` of a list of
//! bucket offsets) and sums it there with a second `STATS`: ES|QL has no
//! window functions.
//! <https://www.elastic.co/docs/reference/query-languages/esql/commands/mv_expand>

use serde_json::{Value as Json, json};

use super::query::{Query, epoch_bucket, pipeline};
use super::quote::{esql_string, field_reference};
use crate::ir::Pack;
use crate::ir::dashboard::{Dashboard, GroupKey, Visual};
use crate::targets::plan::panel::{EventsPanel, PanelBody, PanelPlan};
use crate::targets::plan::{self, Cond, Leaf};
use crate::targets::{Artifact, DashboardOutput, Mapping, Problem, duration_text};

/// Where Elastic Security keeps the alerts of the default space
/// (<https://www.elastic.co/guide/en/security/current/alert-schema.html>);
/// `kibana.alert.rule.rule_id` is the detection rule's `rule_id`, which the
/// emitted rules set to the Tripline rule id.
pub const ALERTS_INDEX: &str = ".alerts-security.alerts-default";

/// ES|QL returns at most this many rows unless `LIMIT` says otherwise, and
/// no more than 10,000 with it
/// (<https://www.elastic.co/docs/reference/query-languages/esql/limitations>).
const ROW_LIMIT: u32 = 10_000;

/// The column of a panel's time bucket, as a date.
const BUCKET: &str = "bucket_start";

/// Kibana's dashboard grid is 48 columns wide.
const GRID_WIDTH: i64 = 48;

/// A panel's ES|QL and the columns it returns.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelEsql {
    /// The query.
    pub text: String,
    /// The time bucket column, when the panel is over time.
    pub bucket: Option<String>,
    /// The group key columns, with their Lens type (`string`, `number`).
    pub keys: Vec<(String, &'static str)>,
    /// The measure columns.
    pub measures: Vec<String>,
}

/// Every dashboard of the pack, as one NDJSON file each.
pub fn dashboards(pack: &Pack, mapping: &Mapping) -> DashboardOutput {
    let mut output = DashboardOutput::default();
    for dashboard in &pack.dashboards {
        let mut panels = Vec::new();
        for panel in &dashboard.panels {
            let printed = plan::panel(panel, pack)
                .and_then(|plan| panel_query(&plan, pack, mapping).map(|esql| (plan, esql)));
            match printed {
                Ok(printed) => panels.push(printed),
                Err(problems) => output
                    .failures
                    .push((format!("{}.{}", dashboard.id, panel.id), problems)),
            }
        }
        output.artifacts.push(Artifact {
            path: format!("kibana/dashboards/{}.ndjson", dashboard.id),
            text: ndjson(dashboard, &panels, mapping),
        });
        output.written.push(dashboard.id.clone());
    }
    output
}

/// The ES|QL of one panel.
pub fn panel_query(
    panel: &PanelPlan,
    pack: &Pack,
    mapping: &Mapping,
) -> Result<PanelEsql, Vec<Problem>> {
    let mut query = Query {
        origin: panel.origin,
        context_origin: panel.origin,
        schedule_ms: 0,
        pack,
        mapping,
        problems: Vec::new(),
        learn_ms: 0,
    };
    let printed = match &panel.body {
        PanelBody::Alerts { bucket_ms } => alerts_query(pack, *bucket_ms),
        PanelBody::Events(events) => events_query(&mut query, events),
    };
    if query.problems.is_empty() {
        Ok(printed)
    } else {
        Err(query.problems)
    }
}

/// Alerts of the pack's rules per rule (and bucket).
fn alerts_query(pack: &Pack, bucket_ms: Option<i64>) -> PanelEsql {
    let ids: Vec<String> = pack
        .rules
        .iter()
        .map(|rule| esql_string(&rule.id))
        .collect();
    let mut commands = vec![
        format!("FROM {ALERTS_INDEX}"),
        format!("WHERE kibana.alert.rule.rule_id IN ({})", ids.join(", ")),
    ];
    let mut by = Vec::new();
    if let Some(w) = bucket_ms {
        commands.extend(epoch_bucket("@timestamp", "tripline_bucket_ms", w));
        by.push("tripline_bucket_ms".to_string());
    }
    by.push("rule = kibana.alert.rule.rule_id".to_string());
    commands.push(format!("STATS alerts = COUNT(*) BY {}", by.join(", ")));
    let mut keep = Vec::new();
    if bucket_ms.is_some() {
        commands.push(format!("EVAL {BUCKET} = TO_DATETIME(tripline_bucket_ms)"));
        keep.push(BUCKET.to_string());
    }
    keep.extend(["rule".to_string(), "alerts".to_string()]);
    commands.push(format!("KEEP {}", keep.join(", ")));
    if bucket_ms.is_some() {
        commands.push(format!("SORT {BUCKET}, rule"));
    } else {
        commands.push("SORT alerts DESC, rule".to_string());
    }
    commands.push(format!("LIMIT {ROW_LIMIT}"));
    PanelEsql {
        text: pipeline(&commands),
        bucket: bucket_ms.map(|_| BUCKET.to_string()),
        keys: vec![("rule".to_string(), "string")],
        measures: vec!["alerts".to_string()],
    }
}

/// The column of each aggregate: the measure's own name where a measure
/// is exactly that aggregate, `tripline_agg_N` otherwise (never a name a
/// measure takes, so an `EVAL` of one measure cannot overwrite what
/// another reads).
fn aggregate_columns(events: &EventsPanel) -> Vec<String> {
    (0..events.leaves.aggregates.len())
        .map(|index| {
            events
                .measures
                .iter()
                .find(|measure| matches!(measure.value, Cond::Leaf(Leaf::Aggregate(found)) if found == index))
                .map(|measure| measure.name.clone())
                .unwrap_or_else(|| format!("tripline_agg_{}", index + 1))
        })
        .collect()
}

fn events_query<'a>(query: &mut Query<'a>, events: &'a EventsPanel) -> PanelEsql {
    let source = &events.source;
    let indexes = query.mapping.data_source.join(", ");
    // Events without a value for a key are not counted, as in rules.
    let mut keys = Vec::new();
    let mut present = Vec::new();
    let mut key_evals = Vec::new();
    for key in &events.group_by {
        let field = query.field(source, key.field());
        present.push(format!("{field} IS NOT NULL"));
        let number = query
            .mapping
            .field(key.field())
            .is_some_and(|found| matches!(found.field_type.as_str(), "long" | "double"));
        match key {
            GroupKey::Field { .. } => {
                keys.push((field, if number { "number" } else { "string" }));
            }
            GroupKey::Bin { size, .. } => {
                let column = field_reference(&key.column());
                let size =
                    crate::targets::lower::decimal_number_or_bool(&crate::ir::Value::Float(*size))
                        .unwrap_or_else(|| size.to_string());
                key_evals.push(format!(
                    "EVAL {column} = FLOOR(TO_DOUBLE({field}) / {size}) * {size}"
                ));
                keys.push((column, "number"));
            }
        }
    }
    let (filter, _joined) = query.source(source, &present);
    let mut commands = vec![format!("FROM {indexes}")];
    commands.extend(filter);
    commands.extend(key_evals);
    let mut by: Vec<String> = Vec::new();
    if let Some(w) = events.bucket_ms {
        let time = query.field(source, "timestamp");
        commands.extend(epoch_bucket(&time, "tripline_bucket_ms", w));
        by.push("tripline_bucket_ms".to_string());
    }
    by.extend(keys.iter().map(|(column, _)| column.clone()));
    let leaves = &events.leaves;
    let names = aggregate_columns(events);
    let stats: Vec<String> = leaves
        .aggregates
        .iter()
        .zip(&names)
        .map(|(aggregate, name)| format!("{name} = {}", query.aggregate(source, aggregate)))
        .collect();
    if by.is_empty() {
        commands.push(format!("STATS {}", stats.join(", ")));
    } else {
        commands.push(format!("STATS {} BY {}", stats.join(", "), by.join(", ")));
    }
    if events.has_baseline() {
        match events.bucket_ms {
            Some(w) => baselines(query, &mut commands, events, &names, &keys, w),
            None => {
                query.fail("a baseline needs time buckets (`every`)");
            }
        }
    }
    let mut keep = Vec::new();
    if events.bucket_ms.is_some() {
        commands.push(format!("EVAL {BUCKET} = TO_DATETIME(tripline_bucket_ms)"));
        keep.push(BUCKET.to_string());
    }
    keep.extend(keys.iter().map(|(column, _)| column.clone()));
    // One `EVAL` of every measure, unless a measure's name is a column
    // another measure reads (an aggregate's or `baseline_N`): then each is
    // computed under a working name first, so no assignment overwrites what
    // a later one reads.
    let values: Vec<String> = events
        .measures
        .iter()
        .map(|measure| query.value(&measure.value, leaves, &names))
        .collect();
    let read: Vec<String> = names
        .iter()
        .cloned()
        .chain((1..=leaves.baselines.len()).map(|number| format!("baseline_{number}")))
        .collect();
    let overwrites = events
        .measures
        .iter()
        .zip(&values)
        .any(|(measure, value)| *value != measure.name && read.contains(&measure.name));
    let mut evals = Vec::new();
    if overwrites {
        let working: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(index, value)| format!("tripline_measure_{} = {value}", index + 1))
            .collect();
        commands.push(format!("EVAL {}", working.join(", ")));
        for (index, measure) in events.measures.iter().enumerate() {
            evals.push(format!("{} = tripline_measure_{}", measure.name, index + 1));
        }
    } else {
        for (measure, value) in events.measures.iter().zip(&values) {
            if *value != measure.name {
                evals.push(format!("{} = {value}", measure.name));
            }
        }
    }
    keep.extend(events.measures.iter().map(|measure| measure.name.clone()));
    if !evals.is_empty() {
        commands.push(format!("EVAL {}", evals.join(", ")));
    }
    commands.push(format!("KEEP {}", keep.join(", ")));
    let key_columns: Vec<String> = keys.iter().map(|(column, _)| column.clone()).collect();
    match (events.top, events.measures.first()) {
        (Some(count), Some(first)) => {
            let mut order = vec![format!("{} DESC NULLS LAST", first.name)];
            order.extend(key_columns.iter().cloned());
            commands.push(format!("SORT {}", order.join(", ")));
            commands.push(format!("LIMIT {count}"));
        }
        _ => {
            let mut order = Vec::new();
            if events.bucket_ms.is_some() {
                order.push(BUCKET.to_string());
            }
            order.extend(key_columns.iter().cloned());
            if !order.is_empty() {
                commands.push(format!("SORT {}", order.join(", ")));
            }
            commands.push(format!("LIMIT {ROW_LIMIT}"));
        }
    }
    PanelEsql {
        text: pipeline(&commands),
        bucket: events.bucket_ms.map(|_| BUCKET.to_string()),
        keys,
        measures: events
            .measures
            .iter()
            .map(|measure| measure.name.clone())
            .collect(),
    }
}

/// Each baseline as `baseline_N`, per row (bucket and group): every row is
/// repeated into the buckets up to the longest lookback after it (offset
/// 0 is the row itself), and a second `STATS` per target bucket and group
/// keeps the row's own aggregates and sums the earlier rows' values of
/// each baseline's expression inside its own lookback. A target bucket
/// without a row of its own (the group had no events there) is dropped.
/// The mean divides by the buckets from the group's first one inside the
/// lookback to the previous one, counting buckets without events with the
/// expression's value on no events, or by the rows that had a value when
/// the expression has none on no events.
fn baselines(
    query: &mut Query<'_>,
    commands: &mut Vec<String>,
    events: &EventsPanel,
    names: &[String],
    keys: &[(String, &'static str)],
    w: i64,
) {
    let leaves = &events.leaves;
    let inner: Vec<String> = leaves
        .baselines
        .iter()
        .map(|baseline| query.value(&baseline.inner, leaves, names))
        .collect();
    let offsets: Vec<i64> = leaves
        .baselines
        .iter()
        .map(|baseline| baseline.span_ms / w)
        .collect();
    let longest = offsets.iter().copied().max().unwrap_or(0);
    if longest < 1 {
        query.fail(format!(
            "a baseline's lookback must span at least one bucket ({})",
            duration_text(w)
        ));
        return;
    }
    let evals: Vec<String> = inner
        .iter()
        .enumerate()
        .map(|(index, value)| format!("tripline_inner_{} = {value}", index + 1))
        .collect();
    commands.push(format!("EVAL {}", evals.join(", ")));
    let list: Vec<String> = (0..=longest).map(|offset| offset.to_string()).collect();
    commands.push(format!("EVAL tripline_offset = [{}]", list.join(", ")));
    commands.push("MV_EXPAND tripline_offset".to_string());
    commands.push(format!(
        "EVAL tripline_target_ms = tripline_bucket_ms + tripline_offset * {w}"
    ));
    let mut stats: Vec<String> = names
        .iter()
        .map(|name| format!("{name} = MAX(CASE(tripline_offset == 0, {name}))"))
        .collect();
    stats.push("tripline_own = MAX(CASE(tripline_offset == 0, 1))".to_string());
    for (index, span) in offsets.iter().enumerate() {
        let number = index + 1;
        let earlier = format!("tripline_offset > 0 AND tripline_offset <= {span}");
        stats.push(format!(
            "tripline_sum_{number} = SUM(CASE({earlier}, tripline_inner_{number}))"
        ));
        stats.push(format!(
            "tripline_rows_{number} = COUNT(CASE({earlier}, tripline_inner_{number}))"
        ));
        stats.push(format!(
            "tripline_since_{number} = MIN(CASE({earlier}, tripline_bucket_ms))"
        ));
    }
    let mut by = vec!["tripline_bucket_ms = tripline_target_ms".to_string()];
    by.extend(keys.iter().map(|(column, _)| column.clone()));
    commands.push(format!("STATS {} BY {}", stats.join(", "), by.join(", ")));
    commands.push("WHERE tripline_own IS NOT NULL".to_string());
    let means: Vec<String> = leaves
        .baselines
        .iter()
        .enumerate()
        .map(|(index, baseline)| {
            let number = index + 1;
            let sum = format!("TO_DOUBLE(tripline_sum_{number})");
            let mean = match baseline.empty {
                // Buckets without events count, with the value on no events.
                Some(empty) => {
                    let buckets = format!("((tripline_bucket_ms - tripline_since_{number}) / {w})");
                    if empty == 0.0 {
                        format!("{sum} / {buckets}")
                    } else {
                        format!(
                            "({sum} + {empty:?} * ({buckets} - tripline_rows_{number})) / {buckets}"
                        )
                    }
                }
                None => format!("{sum} / tripline_rows_{number}"),
            };
            format!("baseline_{number} = CASE(tripline_rows_{number} > 0, {mean})")
        })
        .collect();
    commands.push(format!("EVAL {}", means.join(", ")));
}

/// A stable saved-object id from a name.
fn object_id(kind: &str, name: &str) -> String {
    // The DNS namespace of RFC 9562 with a Tripline-specific name.
    const NAMESPACE: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    crate::targets::uuid::uuid_v5(
        &NAMESPACE,
        format!("tripline.kibana.{kind}.{name}").as_bytes(),
    )
}

/// `now-7d`: Kibana's relative time for a range.
fn relative(range_ms: i64) -> String {
    format!("now-{}", duration_text(range_ms))
}

/// The import file of one dashboard: its data view, then the dashboard.
fn ndjson(dashboard: &Dashboard, panels: &[(PanelPlan, PanelEsql)], mapping: &Mapping) -> String {
    let pattern = mapping.data_source.join(",");
    let time_field = mapping
        .field("timestamp")
        .map(|field| field.name.clone())
        .unwrap_or_else(|| "@timestamp".to_string());
    let data_view = json!({
        "id": object_id("data-view", &pattern),
        "type": "index-pattern",
        "attributes": {
            "title": pattern,
            "name": "Tripline LLM application events",
            "timeFieldName": time_field,
        },
        "references": [],
        "coreMigrationVersion": "8.8.0",
        "typeMigrationVersion": "8.0.0",
    });
    let mut grid = Vec::new();
    let (mut x, mut y) = (0, 0);
    for (index, (panel, esql)) in panels.iter().enumerate() {
        let width = match panel.visual {
            Visual::Single | Visual::Pie => GRID_WIDTH / 4,
            Visual::Table => GRID_WIDTH / 2,
            Visual::Line | Visual::Bar => GRID_WIDTH / 2,
        };
        if x + width > GRID_WIDTH {
            x = 0;
            y += 15;
        }
        let panel_index = format!("panel-{}", index + 1);
        grid.push(json!({
            "type": "lens",
            "panelIndex": panel_index,
            "gridData": {"x": x, "y": y, "w": width, "h": 15, "i": panel_index},
            "title": panel.title,
            "embeddableConfig": {
                "attributes": match panel.body {
                    // The alerts live in their own index, timed by `@timestamp`.
                    PanelBody::Alerts { .. } => lens(panel, esql, ALERTS_INDEX, "@timestamp"),
                    PanelBody::Events(_) => lens(panel, esql, &pattern, &time_field),
                },
                "description": panel.description,
                "timeRange": {"from": relative(panel.range_ms), "to": "now"},
                "enhancements": {},
            },
        }));
        x += width;
    }
    let options = json!({
        "useMargins": true,
        "syncColors": false,
        "syncCursor": true,
        "syncTooltips": false,
        "hidePanelTitles": false,
    });
    let search_source = json!({"query": {"query": "", "language": "kuery"}, "filter": []});
    let object = json!({
        "id": object_id("dashboard", &dashboard.id),
        "type": "dashboard",
        "attributes": {
            "title": dashboard.title,
            "description": dashboard.description,
            "timeRestore": true,
            "timeFrom": relative(dashboard.range_ms),
            "timeTo": "now",
            "refreshInterval": {"pause": true, "value": 0},
            "panelsJSON": Json::Array(grid).to_string(),
            "optionsJSON": options.to_string(),
            "kibanaSavedObjectMeta": {"searchSourceJSON": search_source.to_string()},
        },
        "references": [],
        "coreMigrationVersion": "8.8.0",
        "typeMigrationVersion": "8.9.0",
    });
    format!("{data_view}\n{object}\n")
}

/// The Lens attributes of one panel: the ES|QL query as a `textBased`
/// layer, its columns, and the visualisation over them.
fn lens(panel: &PanelPlan, esql: &PanelEsql, pattern: &str, time_field: &str) -> Json {
    let layer = "layer-1";
    let view = object_id("ad-hoc", pattern);
    let mut columns = Vec::new();
    if let Some(bucket) = &esql.bucket {
        columns.push(json!({"columnId": bucket, "fieldName": bucket, "meta": {"type": "date"}}));
    }
    for (key, kind) in &esql.keys {
        columns.push(json!({"columnId": key, "fieldName": key, "meta": {"type": kind}}));
    }
    for measure in &esql.measures {
        columns
            .push(json!({"columnId": measure, "fieldName": measure, "meta": {"type": "number"}}));
    }
    let split = esql.keys.first().map(|(key, _)| key.clone());
    let (visualization_type, visualization) = match panel.visual {
        Visual::Line | Visual::Bar => {
            let over_time = esql.bucket.is_some();
            let series = match (panel.visual, over_time) {
                (Visual::Line, _) => "line",
                (_, true) => "bar_stacked",
                (_, false) => "bar",
            };
            let (x_accessor, split_accessor) = if over_time {
                (esql.bucket.clone(), split)
            } else {
                (split, None)
            };
            let mut layer_state = json!({
                "layerId": layer,
                "layerType": "data",
                "seriesType": series,
                "xAccessor": x_accessor,
                "accessors": esql.measures,
            });
            if let Some(split) = split_accessor {
                layer_state["splitAccessor"] = json!(split);
            }
            (
                "lnsXY",
                json!({
                    "legend": {"isVisible": true, "position": "right"},
                    "valueLabels": "hide",
                    "preferredSeriesType": series,
                    "layers": [layer_state],
                }),
            )
        }
        Visual::Single => (
            "lnsMetric",
            json!({"layerId": layer, "layerType": "data", "metricAccessor": esql.measures.first()}),
        ),
        Visual::Pie => (
            "lnsPie",
            json!({
                "shape": "pie",
                "layers": [{
                    "layerId": layer,
                    "layerType": "data",
                    "primaryGroups": split.into_iter().collect::<Vec<_>>(),
                    "metrics": esql.measures.first().into_iter().collect::<Vec<_>>(),
                    "numberDisplay": "percent",
                    "categoryDisplay": "default",
                    "legendDisplay": "default",
                }],
            }),
        ),
        Visual::Table => {
            let table_columns: Vec<Json> = columns
                .iter()
                .map(|column| json!({"columnId": column["columnId"]}))
                .collect();
            (
                "lnsDatatable",
                json!({"layerId": layer, "layerType": "data", "columns": table_columns}),
            )
        }
    };
    let query = json!({"esql": esql.text});
    json!({
        "title": panel.title,
        "description": panel.description,
        "visualizationType": visualization_type,
        "type": "lens",
        "references": [],
        "state": {
            "query": query,
            "filters": [],
            "datasourceStates": {
                "textBased": {
                    "layers": {
                        layer: {
                            "index": view,
                            "query": query,
                            "columns": columns,
                            "timeField": time_field,
                        },
                    },
                    "indexPatternRefs": [{"id": view, "title": pattern, "timeField": time_field}],
                },
            },
            "visualization": visualization,
            "adHocDataViews": {
                view.clone(): {"id": view, "title": pattern, "name": pattern, "timeFieldName": time_field},
            },
        },
    })
}
