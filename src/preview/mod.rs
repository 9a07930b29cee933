//! The dashboard preview: one self-contained HTML page that draws a
//! dashboard's panels from the evaluator's panel data
//! ([`crate::eval::panel`]), so a reviewer sees them before deploying.
//!
//! Input: a checked [`Dashboard`] and its [`DashboardData`]. Output: the text
//! of `index.html`. Charts are inline SVG drawn with `plotters` (its SVG
//! backend only); tables and single values are HTML. The page loads nothing
//! at view time (its content security policy forbids it), and every text
//! that came from events or rule files is HTML-escaped.
//!
//! Every panel is a `<section data-panel="ID" data-visual="..."
//! data-points="N">`, where N counts the marks drawn from data (points,
//! bars, slices, table rows, the single value), so a test can check each
//! panel drew with data.

mod chart;
mod json;

pub use json::json;

use std::fmt::Write as _;

use crate::eval::panel::{DashboardData, PanelData};
use crate::ir::dashboard::{Dashboard, Panel, Visual};

/// Colours of the series, in order (cycled).
pub(crate) const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// The colour of series `index`.
pub(crate) fn colour(index: usize) -> (u8, u8, u8) {
    PALETTE[index % PALETTE.len()]
}

/// Table rows shown at most (the rest are counted under the table).
const TABLE_ROWS: usize = 500;

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// A measure value as shown: integers without decimals, others with up to
/// three decimals (trailing zeros dropped); `–` for no value.
pub fn number(value: Option<f64>) -> String {
    let Some(value) = value else {
        return "–".to_string();
    };
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// A bucket start as shown: the date for buckets of a day or more, else
/// the date and time (UTC).
pub fn bucket_label(millis: i64, bucket_ms: i64) -> String {
    let Ok(time) = jiff::Timestamp::from_millisecond(millis) else {
        return millis.to_string();
    };
    if bucket_ms >= 86_400_000 && millis % 86_400_000 == 0 {
        time.strftime("%Y-%m-%d").to_string()
    } else {
        time.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

/// A panel row's group, as shown in legends and category labels.
pub(crate) fn group_label(keys: &[crate::eval::panel::KeyPart]) -> String {
    if keys.is_empty() {
        return "all".to_string();
    }
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { padding: 16px 24px; background: #1d2330; color: #fff; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 2px 0; color: #c9ceda; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 16px; padding: 16px 24px; }
section.panel { background: #fff; border: 1px solid #d9dce3; border-radius: 6px; padding: 12px 16px; overflow: hidden; }
section.panel h2 { margin: 0 0 4px; font-size: 16px; }
section.panel p.description { margin: 0 0 8px; color: #5a6172; font-size: 13px; }
p.meta { color: #5a6172; font-size: 12px; margin: 4px 0 0; }
div.chart svg { width: 100%; height: auto; }
ul.legend { list-style: none; margin: 6px 0 0; padding: 0; max-height: 96px; overflow-y: auto; font-size: 12px; columns: 3; }
ul.legend li { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
span.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e6e8ee; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
div.table { max-height: 420px; overflow-y: auto; }
p.single { font-size: 48px; font-weight: 600; margin: 16px 0; }
p.empty { color: #8a90a0; font-style: italic; }
";

/// The page for `dashboard` with its computed `data` (panels matched by id).
pub fn render(dashboard: &Dashboard, data: &DashboardData) -> String {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // Nothing is fetched when the page is viewed: no scripts, no remote styles or images.
    html.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n",
    );
    let _ = writeln!(html, "<title>{}</title>", escape(&dashboard.title));
    let _ = writeln!(html, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        html,
        "<header data-dashboard=\"{}\">\n<h1>{}</h1>",
        escape(&dashboard.id),
        escape(&dashboard.title)
    );
    if !dashboard.description.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", escape(&dashboard.description));
    }
    let end = data.end.map_or_else(
        || "no events".to_string(),
        |end| {
            jiff::Timestamp::from_millisecond(end)
                .map(|time| time.to_string())
                .unwrap_or_else(|_| end.to_string())
        },
    );
    let _ = writeln!(
        html,
        "<p>Preview from {} sample events; every range ends at the last event ({}).</p>\n</header>\n<main>",
        data.events,
        escape(&end)
    );
    for panel in &dashboard.panels {
        match data.panels.iter().find(|computed| computed.id == panel.id) {
            Some(computed) => render_panel(&mut html, panel, computed),
            None => {
                let _ = writeln!(
                    html,
                    "<section class=\"panel\" data-panel=\"{}\" data-visual=\"{}\" data-points=\"0\">\n<h2>{}</h2>\n<p class=\"empty\">not computed</p>\n</section>",
                    escape(&panel.id),
                    panel.visual.keyword(),
                    escape(&panel.title)
                );
            }
        }
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

fn render_panel(html: &mut String, panel: &Panel, data: &PanelData) {
    let mut body = String::new();
    let points = if data.rows.is_empty() {
        body.push_str("<p class=\"empty\">no data in the range</p>\n");
        0
    } else {
        match panel.visual {
            Visual::Table => table(&mut body, data),
            Visual::Single => single(&mut body, data),
            Visual::Line => chart::line(&mut body, data),
            Visual::Bar => chart::bar(&mut body, data),
            Visual::Pie => chart::pie(&mut body, data),
        }
    };
    let _ = writeln!(
        html,
        "<section class=\"panel\" id=\"panel-{id}\" data-panel=\"{id}\" data-visual=\"{visual}\" data-points=\"{points}\">",
        id = escape(&panel.id),
        visual = panel.visual.keyword(),
    );
    let _ = writeln!(html, "<h2>{}</h2>", escape(&panel.title));
    if !panel.description.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"description\">{}</p>",
            escape(&panel.description)
        );
    }
    html.push_str(&body);
    if let Some((start, end)) = data.range {
        let every = data
            .bucket_ms
            .map(|bucket| format!(", every {}", duration(bucket)))
            .unwrap_or_default();
        let _ = writeln!(
            html,
            "<p class=\"meta\">{} to {} (UTC){every}</p>",
            escape(&bucket_label(start, 1)),
            escape(&bucket_label(end, 1)),
        );
    }
    html.push_str("</section>\n");
}

/// A duration as the language writes it (`1d`, `1h`, `15m`).
fn duration(millis: i64) -> String {
    for (unit, size) in [
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if millis >= size && millis % size == 0 {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

/// The rows as an HTML table; returns the rows shown.
fn table(html: &mut String, data: &PanelData) -> usize {
    html.push_str("<div class=\"table\"><table>\n<thead><tr>");
    if data.bucket_ms.is_some() {
        html.push_str("<th>time</th>");
    }
    for key in &data.keys {
        let _ = write!(html, "<th>{}</th>", escape(key));
    }
    for (name, label) in data.measures.iter().zip(&data.labels) {
        let _ = write!(
            html,
            "<th class=\"number\" title=\"{}\">{}</th>",
            escape(label),
            escape(name)
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    let shown = data.rows.len().min(TABLE_ROWS);
    for row in data.rows.iter().take(shown) {
        html.push_str("<tr>");
        if let (Some(bucket), Some(length)) = (row.bucket, data.bucket_ms) {
            let _ = write!(html, "<td>{}</td>", escape(&bucket_label(bucket, length)));
        }
        for key in &row.keys {
            let _ = write!(html, "<td>{}</td>", escape(&key.to_string()));
        }
        for value in &row.values {
            let _ = write!(html, "<td class=\"number\">{}</td>", number(*value));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
    if data.rows.len() > shown {
        let _ = writeln!(
            html,
            "<p class=\"meta\">{} more rows not shown</p>",
            data.rows.len() - shown
        );
    }
    shown
}

/// The first measure of the one row, large; returns 1 when it has a value.
fn single(html: &mut String, data: &PanelData) -> usize {
    let value = data
        .rows
        .first()
        .and_then(|row| row.values.first().copied().flatten());
    let label = data.labels.first().map(String::as_str).unwrap_or_default();
    let _ = writeln!(
        html,
        "<p class=\"single\" title=\"{}\">{}</p>",
        escape(label),
        number(value)
    );
    usize::from(value.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::panel::{KeyPart, PanelRow};
    use crate::ir::dashboard::PanelQuery;
    use crate::ir::{Origin, Source};

    const ORIGIN: Origin = Origin {
        line: 1,
        column: 1,
        start: 0,
        end: 0,
    };
    const DAY: i64 = 86_400_000;
    const HOSTILE: &str = "<img src=x onerror=alert(1)>\"'&";

    fn panel(id: &str, visual: Visual) -> Panel {
        Panel {
            id: id.into(),
            origin: ORIGIN,
            title: format!("{id} {HOSTILE}"),
            description: HOSTILE.into(),
            visual,
            range_ms: 7 * DAY,
            query: PanelQuery::Events {
                source: Source {
                    event_types: vec!["inference".into()],
                    filter: None,
                },
                group_by: Vec::new(),
                bucket_ms: None,
                measures: Vec::new(),
                top: None,
            },
        }
    }

    fn row(bucket: Option<i64>, key: &str, values: &[Option<f64>]) -> PanelRow {
        PanelRow {
            bucket,
            keys: vec![KeyPart::Text(key.into())],
            values: values.to_vec(),
        }
    }

    fn data(id: &str, bucket_ms: Option<i64>, measures: &[&str], rows: Vec<PanelRow>) -> PanelData {
        PanelData {
            id: id.into(),
            keys: vec!["api_key_id".into()],
            measures: measures.iter().map(ToString::to_string).collect(),
            labels: measures.iter().map(|name| format!("{name}()")).collect(),
            bucket_ms,
            range: Some((0, 7 * DAY)),
            rows,
        }
    }

    /// The `data-points` of a panel's section.
    fn points(html: &str, id: &str) -> usize {
        let marker = format!("data-panel=\"{id}\"");
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("no panel {id}"));
        let rest = &html[at..];
        let start = rest
            .find("data-points=\"")
            .map(|index| index + 13)
            .unwrap_or(0);
        let end = start + rest[start..].find('"').unwrap_or(0);
        rest[start..end].parse().unwrap_or(usize::MAX)
    }

    /// The text of a panel's section.
    fn section<'h>(html: &'h str, id: &str) -> &'h str {
        let marker = format!("data-panel=\"{id}\"");
        let at = html.find(&marker).unwrap_or(0);
        let end = at + html[at..].find("</section>").unwrap_or(0);
        &html[at..end]
    }

    #[test]
    fn every_visual_draws_its_rows_and_escapes_event_values() {
        let day = |n: i64| Some(n * DAY);
        let panels = vec![
            panel("lines", Visual::Line),
            panel("bars", Visual::Bar),
            panel("stacked", Visual::Bar),
            panel("shares", Visual::Pie),
            panel("rows", Visual::Table),
            panel("one", Visual::Single),
            panel("nothing", Visual::Line),
        ];
        let dashboard = Dashboard {
            id: "t.board".into(),
            file: "board.tdl".into(),
            origin: ORIGIN,
            title: format!("Board {HOSTILE}"),
            description: String::new(),
            range_ms: 7 * DAY,
            panels,
        };
        let computed = DashboardData {
            end: Some(7 * DAY),
            events: 10,
            panels: vec![
                data(
                    "lines",
                    Some(DAY),
                    &["count", "baseline"],
                    vec![
                        row(day(0), HOSTILE, &[Some(2.0), None]),
                        row(day(1), HOSTILE, &[Some(3.0), Some(2.0)]),
                        row(day(1), "k2", &[Some(1.0), None]),
                    ],
                ),
                data(
                    "bars",
                    None,
                    &["count"],
                    vec![
                        row(None, HOSTILE, &[Some(4.0)]),
                        row(None, "k2", &[Some(1.0)]),
                    ],
                ),
                data(
                    "stacked",
                    Some(DAY),
                    &["spend"],
                    vec![
                        row(day(0), "k1", &[Some(1.5)]),
                        row(day(0), "k2", &[Some(0.5)]),
                        row(day(1), "k1", &[Some(2.5)]),
                    ],
                ),
                data(
                    "shares",
                    None,
                    &["count"],
                    vec![
                        row(None, HOSTILE, &[Some(3.0)]),
                        row(None, "k2", &[Some(1.0)]),
                        row(None, "k3", &[Some(0.0)]),
                    ],
                ),
                data(
                    "rows",
                    None,
                    &["count", "spend"],
                    vec![row(None, HOSTILE, &[Some(3.0), Some(0.125)])],
                ),
                data("one", None, &["count"], vec![row(None, "", &[Some(42.0)])]),
                data("nothing", Some(DAY), &["count"], Vec::new()),
            ],
        };
        let html = render(&dashboard, &computed);
        assert!(!html.contains("<img"), "unescaped event text");
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;"));
        // Lines: 4 points (the missing baseline is no point), 3 series in the legend.
        assert_eq!(points(&html, "lines"), 4);
        assert_eq!(section(&html, "lines").matches("<circle").count(), 4);
        assert_eq!(section(&html, "lines").matches("<li ").count(), 3);
        assert!(
            section(&html, "lines").contains("2026-")
                || section(&html, "lines").contains("1970-01-0")
        );
        assert_eq!(points(&html, "bars"), 2);
        assert_eq!(points(&html, "stacked"), 3);
        // Two slices; the group at zero is listed, not drawn.
        assert_eq!(points(&html, "shares"), 2);
        assert!(section(&html, "shares").contains("k3: 0"));
        assert!(section(&html, "shares").contains("(75.0%)"));
        assert_eq!(points(&html, "rows"), 1);
        assert!(section(&html, "rows").contains("<td class=\"number\">0.125</td>"));
        assert_eq!(points(&html, "one"), 1);
        assert!(section(&html, "one").contains(">42</p>"));
        assert_eq!(points(&html, "nothing"), 0);
        assert!(section(&html, "nothing").contains("no data"));
        // Nothing is loaded at view time (the SVG namespace is a name, not a fetch).
        for fetch in ["<script", "<link", "href=", " src=\"", "url("] {
            assert!(!html.contains(fetch), "{fetch}");
        }
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn numbers_and_dates_read_as_written() {
        assert_eq!(number(Some(3.0)), "3");
        assert_eq!(number(Some(0.25)), "0.25");
        assert_eq!(number(Some(2.0 / 3.0)), "0.667");
        assert_eq!(number(None), "–");
        assert_eq!(bucket_label(1_772_409_600_000, 86_400_000), "2026-03-02");
        assert_eq!(
            bucket_label(1_772_409_600_000 + 3_600_000, 3_600_000),
            "2026-03-02 01:00"
        );
        assert_eq!(duration(86_400_000), "1d");
        assert_eq!(duration(90_000), "90s");
    }
}
