//! Line, bar and pie charts as inline SVG (plotters' SVG backend), each
//! with an HTML legend.
//!
//! Every function writes `<div class="chart">SVG</div>` and the legend into
//! the page and returns the number of marks drawn from data.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{bucket_label, colour, escape, group_label, number};
use crate::eval::panel::PanelData;

const WIDTH: u32 = 860;
const LINE_HEIGHT: u32 = 320;
const FONT: &str = "sans-serif";
/// Category labels longer than this are cut (the legend and the table keep them whole).
const LABEL_CHARS: usize = 28;

/// One drawn series: its legend text, colour index and values.
struct Series {
    label: String,
    colour: usize,
}

fn rgb(index: usize) -> RGBColor {
    let (red, green, blue) = colour(index);
    RGBColor(red, green, blue)
}

fn legend(html: &mut String, series: &[Series]) {
    if series.len() < 2 {
        return;
    }
    html.push_str("<ul class=\"legend\">\n");
    for entry in series {
        let (red, green, blue) = colour(entry.colour);
        let _ = writeln!(
            html,
            "<li title=\"{label}\"><span class=\"swatch\" style=\"background:#{red:02x}{green:02x}{blue:02x}\"></span>{label}</li>",
            label = escape(&entry.label)
        );
    }
    html.push_str("</ul>\n");
}

fn short(text: &str) -> String {
    if text.chars().count() <= LABEL_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The series label of a group and measure (the measure only when the panel has several).
fn series_label(data: &PanelData, group: &str, measure: usize) -> String {
    let name = data.measures.get(measure).map_or("", String::as_str);
    match (data.keys.is_empty(), data.measures.len() > 1) {
        (true, _) => name.to_string(),
        (false, true) => format!("{group} · {name}"),
        (false, false) => group.to_string(),
    }
}

fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut low, mut high) = (0.0f64, 0.0f64);
    for value in values {
        low = low.min(value);
        high = high.max(value);
    }
    if high <= low {
        high = low + 1.0;
    }
    let pad = (high - low) * 0.08;
    (if low < 0.0 { low - pad } else { low }, high + pad)
}

fn failed(html: &mut String, error: impl std::fmt::Display) -> usize {
    let _ = writeln!(
        html,
        "<p class=\"empty\">the chart could not be drawn: {}</p>",
        escape(&error.to_string())
    );
    0
}

/// A bucket start and a value (none where the measure has no value).
type Point = (i64, Option<f64>);

/// Lines over time: one series per group and measure, points where the
/// value exists, broken where it has none.
pub(super) fn line(html: &mut String, data: &PanelData) -> usize {
    let Some(bucket_ms) = data.bucket_ms else {
        return bar(html, data);
    };
    // Series in group order, then measure order.
    let mut points: BTreeMap<(usize, usize), Vec<Point>> = BTreeMap::new();
    let mut groups: Vec<String> = Vec::new();
    for row in &data.rows {
        let group = group_label(&row.keys);
        let index = match groups.iter().position(|known| *known == group) {
            Some(index) => index,
            None => {
                groups.push(group);
                groups.len() - 1
            }
        };
        for (measure, value) in row.values.iter().enumerate() {
            points
                .entry((index, measure))
                .or_default()
                .push((row.bucket.unwrap_or_default(), *value));
        }
    }
    // A series without any value draws nothing and gets no legend entry.
    points.retain(|_, values| values.iter().any(|(_, value)| value.is_some()));
    // Groups sort by key, not by label, in `data.rows`; keep that order.
    let series: Vec<Series> = points
        .keys()
        .enumerate()
        .map(|(position, (group, measure))| Series {
            label: series_label(data, &groups[*group], *measure),
            colour: position,
        })
        .collect();
    let times = data.rows.iter().filter_map(|row| row.bucket);
    let (first, last) = (
        times.clone().min().unwrap_or_default(),
        times.max().unwrap_or_default(),
    );
    // The x axis counts buckets from the first, so its ticks fall on bucket
    // starts (plotters picks round numbers of the coordinate).
    let step = bucket_ms.max(1);
    let index = |time: i64| (time - first) / step;
    let (x0, x1) = if first == last {
        (-1, 1)
    } else {
        (0, index(last))
    };
    let (y0, y1) = y_range(points.values().flatten().filter_map(|(_, value)| *value));
    let y_desc = if data.measures.len() == 1 {
        data.labels[0].clone()
    } else {
        "value".to_string()
    };
    let mut svg = String::new();
    let mut drawn = 0;
    let result = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, LINE_HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        let x_format = |x: &i64| bucket_label(first + *x * step, bucket_ms);
        let y_format = |y: &f64| number(Some(*y));
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&x_format)
            .y_label_formatter(&y_format)
            .x_desc("time (UTC)")
            .y_desc(short(&y_desc))
            .light_line_style(RGBColor(238, 240, 244))
            .label_style((FONT, 12))
            .draw()?;
        for (position, values) in points.values().enumerate() {
            let colour = rgb(position);
            // A run of consecutive values is one line; a missing value breaks it.
            for run in values.split(|(_, value)| value.is_none()) {
                let run: Vec<(i64, f64)> = run
                    .iter()
                    .filter_map(|(time, value)| value.map(|value| (index(*time), value)))
                    .collect();
                if run.len() > 1 {
                    chart.draw_series(LineSeries::new(
                        run.iter().copied(),
                        colour.stroke_width(2),
                    ))?;
                }
                drawn += run.len();
                chart.draw_series(
                    run.iter()
                        .map(|point| Circle::new(*point, 3, colour.filled())),
                )?;
            }
        }
        root.present()?;
        Ok(())
    })();
    if let Err(error) = result {
        return failed(html, error);
    }
    let _ = writeln!(html, "<div class=\"chart\">{svg}</div>");
    legend(html, &series);
    drawn
}

/// Horizontal bars: one category per time bucket (groups stacked) or, without
/// buckets, per group; the measures side by side within a category.
pub(super) fn bar(html: &mut String, data: &PanelData) -> usize {
    let bucketed = data.bucket_ms.is_some();
    let mut categories: Vec<String> = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    // (category, group, measure, value)
    let mut bars: Vec<(usize, usize, usize, f64)> = Vec::new();
    for row in &data.rows {
        let group = group_label(&row.keys);
        let category = match (row.bucket, data.bucket_ms) {
            (Some(bucket), Some(length)) => bucket_label(bucket, length),
            _ => group.clone(),
        };
        let category = match categories.iter().position(|known| *known == category) {
            Some(index) => index,
            None => {
                categories.push(category);
                categories.len() - 1
            }
        };
        let group = match groups.iter().position(|known| *known == group) {
            Some(index) => index,
            None => {
                groups.push(group);
                groups.len() - 1
            }
        };
        for (measure, value) in row.values.iter().enumerate() {
            if let Some(value) = value {
                bars.push((category, group, measure, *value));
            }
        }
    }
    let measures = data.measures.len().max(1);
    // Colours: per group and measure over time, per measure otherwise.
    let series_of = |group: usize, measure: usize| {
        if bucketed {
            group * measures + measure
        } else {
            measure
        }
    };
    let series: Vec<Series> = if bucketed {
        (0..groups.len())
            .flat_map(|group| (0..measures).map(move |measure| (group, measure)))
            .map(|(group, measure)| Series {
                label: series_label(data, &groups[group], measure),
                colour: series_of(group, measure),
            })
            .collect()
    } else {
        (0..measures)
            .map(|measure| Series {
                label: data.labels.get(measure).cloned().unwrap_or_default(),
                colour: measure,
            })
            .collect()
    };
    // Stacks: per (category, measure), the positive and negative ends so far.
    let mut stacks: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    let mut rectangles = Vec::with_capacity(bars.len());
    for (category, group, measure, value) in &bars {
        let ends = stacks.entry((*category, *measure)).or_insert((0.0, 0.0));
        let (from, to) = if *value >= 0.0 {
            let from = ends.0;
            ends.0 += value;
            (from, ends.0)
        } else {
            let from = ends.1;
            ends.1 += value;
            (from, ends.1)
        };
        rectangles.push((*category, *measure, from, to, series_of(*group, *measure)));
    }
    let (x0, x1) = y_range(stacks.values().flat_map(|(high, low)| [*high, *low]));
    let count = categories.len().max(1);
    let height = (count as u32 * 26 + 80).max(200);
    let band = 0.8 / measures as f64;
    let mut svg = String::new();
    let result = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(200)
            .build_cartesian_2d(x0..x1, 0.0..count as f64)?;
        let x_format = |x: &f64| number(Some(*x));
        let x_desc = if data.measures.len() == 1 {
            data.labels[0].clone()
        } else {
            "value".to_string()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(6)
            .x_label_formatter(&x_format)
            .x_desc(short(&x_desc))
            .light_line_style(RGBColor(238, 240, 244))
            .label_style((FONT, 12))
            .draw()?;
        // The first category at the top.
        let top = |category: usize| (count - category) as f64;
        chart.draw_series(
            rectangles
                .iter()
                .map(|(category, measure, from, to, colour)| {
                    let upper = top(*category) - 0.1 - band * *measure as f64;
                    Rectangle::new([(*from, upper), (*to, upper - band)], rgb(*colour).filled())
                }),
        )?;
        let style = TextStyle::from((FONT, 12).into_font())
            .color(&RGBColor(29, 35, 48))
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (category, name) in categories.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(x0, top(category) - 0.5));
            root.draw(&Text::new(short(name), (x - 6, y), style.clone()))?;
        }
        root.present()?;
        Ok(())
    })();
    if let Err(error) = result {
        return failed(html, error);
    }
    let _ = writeln!(html, "<div class=\"chart\">{svg}</div>");
    legend(html, &series);
    rectangles.len()
}

/// Shares of the first measure per group; groups without a positive value
/// have no slice (they are listed under the chart).
pub(super) fn pie(html: &mut String, data: &PanelData) -> usize {
    let mut sizes = Vec::new();
    let mut colours = Vec::new();
    let mut series = Vec::new();
    let mut left_out = Vec::new();
    for row in &data.rows {
        let group = group_label(&row.keys);
        match row.values.first().copied().flatten() {
            Some(value) if value > 0.0 => {
                let index = sizes.len();
                sizes.push(value);
                colours.push(rgb(index));
                series.push(Series {
                    label: format!("{group}: {}", number(Some(value))),
                    colour: index,
                });
            }
            value => left_out.push(format!("{group}: {}", number(value))),
        }
    }
    if sizes.is_empty() {
        return failed(html, "no group has a positive value");
    }
    let total: f64 = sizes.iter().sum();
    for (entry, size) in series.iter_mut().zip(&sizes) {
        let _ = write!(entry.label, " ({:.1}%)", size / total * 100.0);
    }
    let labels = vec![String::new(); sizes.len()];
    let mut svg = String::new();
    let result = (|| -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, LINE_HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let center = ((WIDTH / 2) as i32, (LINE_HEIGHT / 2) as i32);
        let radius = f64::from(LINE_HEIGHT) * 0.42;
        let mut pie = Pie::new(&center, &radius, &sizes, &colours, &labels);
        pie.start_angle(-90.0);
        root.draw(&pie)?;
        root.present()?;
        Ok(())
    })();
    if let Err(error) = result {
        return failed(html, error);
    }
    let _ = writeln!(html, "<div class=\"chart\">{svg}</div>");
    // A pie always needs its legend, even with one slice.
    html.push_str("<ul class=\"legend\">\n");
    for entry in &series {
        let (red, green, blue) = colour(entry.colour);
        let _ = writeln!(
            html,
            "<li title=\"{label}\"><span class=\"swatch\" style=\"background:#{red:02x}{green:02x}{blue:02x}\"></span>{label}</li>",
            label = escape(&entry.label)
        );
    }
    html.push_str("</ul>\n");
    if !left_out.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"meta\">no slice (no positive value): {}</p>",
            escape(&left_out.join("; "))
        );
    }
    sizes.len()
}
