//! Lookups: CSV files loaded into typed rows.
//!
//! Input: a lookup declaration, the path of the file declaring it and the
//! overrides (`--lookups DIR`, replace/extend files). Output: an
//! [`ir::Lookup`] with its rows, and E05xx diagnostics for a missing file, a
//! header that differs from the declared columns, or a cell that does not
//! parse as its column's type.

use std::path::{Path, PathBuf};

use super::collect::{schema_field, value_type};
use super::{CheckOptions, LookupOverride};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::source::{SourceId, Sources, Span};
use crate::syntax::ast;

/// Loads a lookup's rows; with errors the lookup is still returned (with the
/// rows that loaded) so that rules using it do not also report it unknown.
pub(crate) fn load(
    sources: &Sources,
    source: SourceId,
    declaration: &ast::Declaration,
    lookup: &ast::LookupDecl,
    options: &CheckOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> ir::Lookup {
    let mut columns = Vec::new();
    let mut usable = true;
    let mut seen: Vec<&str> = Vec::new();
    for column in &lookup.columns {
        if seen.contains(&column.name.text.as_str()) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DUPLICATE_NAME,
                    format!(
                        "the lookup `{}` declares the column `{}` twice",
                        lookup.name.text, column.name.text
                    ),
                )
                .primary(column.name.span, "declared again here"),
            );
            usable = false;
            continue;
        }
        seen.push(&column.name.text);
        if column.type_name == ast::TypeName::Timestamp {
            diagnostics.push(
                Diagnostic::new(
                    Code::DECLARED_TYPE,
                    format!(
                        "a lookup column cannot have the type `{}`",
                        value_type(column.type_name).name()
                    ),
                )
                .primary(column.type_span, "not allowed here")
                .note("lookup columns may be `string`, `int`, `float`, `bool` or `ip`"),
            );
            usable = false;
            continue;
        }
        match schema_field(column, diagnostics) {
            Some(field) => columns.push(field),
            None => usable = false,
        }
    }
    if lookup.columns.is_empty() {
        diagnostics.push(
            Diagnostic::new(
                Code::MISSING_ENTRY,
                format!("the lookup `{}` declares no columns", lookup.name.text),
            )
            .primary(lookup.name.span, "declared here")
            .help("add `columns: { name: string, ... }` naming the CSV header"),
        );
        usable = false;
    }
    let declared_file = match &lookup.file {
        Some(file) => Some(file),
        None => {
            diagnostics.push(
                Diagnostic::new(
                    Code::MISSING_ENTRY,
                    format!("the lookup `{}` names no CSV file", lookup.name.text),
                )
                .primary(lookup.name.span, "declared here")
                .help("add `file: \"lookups/NAME.csv\"`, relative to this file"),
            );
            None
        }
    };
    let base_path: Option<PathBuf> = match &options.lookup_dir {
        Some(directory) => Some(directory.join(format!("{}.csv", lookup.name.text))),
        None => declared_file.map(|file| {
            let declaring = sources
                .get(source)
                .map(|file| file.path.as_str())
                .unwrap_or("");
            let directory = Path::new(declaring).parent().unwrap_or(Path::new(""));
            directory.join(&file.value)
        }),
    };
    let label_span = declared_file.map_or(lookup.name.span, |file| file.span);
    let (primary, extension) = match options.lookup_overrides.get(&lookup.name.text) {
        Some(LookupOverride::Replace(path)) => (Some(path.clone()), None),
        Some(LookupOverride::Extend(path)) => (base_path, Some(path.clone())),
        None => (base_path, None),
    };
    let mut rows = Vec::new();
    let file_text = primary
        .as_ref()
        .map(|path| display_path(path))
        .unwrap_or_default();
    if usable {
        for path in primary.iter().chain(extension.iter()) {
            read_rows(
                path,
                &lookup.name.text,
                &columns,
                label_span,
                &mut rows,
                diagnostics,
            );
        }
    }
    ir::Lookup {
        name: lookup.name.text.clone(),
        file: file_text,
        columns,
        rows,
        doc: declaration.doc.clone(),
    }
}

/// A path with `/` separators, so output is the same on every system.
fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn read_rows(
    path: &Path,
    lookup: &str,
    columns: &[ir::Field],
    span: Span,
    rows: &mut Vec<Vec<ir::Value>>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let shown = display_path(path);
    // The shipped pack's CSVs are in the binary (`crate::builtin`).
    let input: Result<Box<dyn std::io::Read>, csv::Error> = match crate::builtin::read(path) {
        Some(text) => Ok(Box::new(text.as_bytes())),
        None => std::fs::File::open(path)
            .map(|file| Box::new(file) as Box<dyn std::io::Read>)
            .map_err(csv::Error::from),
    };
    let mut reader = match input.map(|input| {
        csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(input)
    }) {
        Ok(reader) => reader,
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::LOOKUP_FILE,
                    format!(
                        "the lookup `{lookup}` cannot read `{shown}`: {}",
                        io_reason(&error)
                    ),
                )
                .primary(span, "file named here"),
            );
            return;
        }
    };
    let header: Vec<String> = match reader.headers() {
        Ok(header) => header.iter().map(|cell| cell.trim().to_string()).collect(),
        Err(error) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::LOOKUP_FILE,
                    format!("the lookup `{lookup}` cannot read `{shown}`: {error}"),
                )
                .primary(span, "file named here"),
            );
            return;
        }
    };
    let declared: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
    if header != declared {
        diagnostics.push(
            Diagnostic::new(
                Code::LOOKUP_HEADER,
                format!(
                    "the header of `{shown}` does not match the columns of the lookup `{lookup}`"
                ),
            )
            .primary(span, "file named here")
            .note(format!("the file's header:  {}", header.join(",")))
            .note(format!("declared columns: {}", declared.join(",")))
            .help("the header must name exactly the declared columns, in the same order"),
        );
        return;
    }
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                diagnostics.push(
                    Diagnostic::new(Code::LOOKUP_CELL, format!("`{shown}`: {error}"))
                        .primary(span, "file named here"),
                );
                return;
            }
        };
        let line = record.position().map_or(0, |position| position.line());
        let mut row = Vec::with_capacity(columns.len());
        for (index, (cell, column)) in record.iter().zip(columns).enumerate() {
            match cell_value(cell, column.value_type) {
                Some(value) => row.push(value),
                None => {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::LOOKUP_CELL,
                            format!(
                                "{shown}:{line}:{}: `{cell}` in the column `{}` is not a valid `{}`",
                                index + 1,
                                column.name,
                                column.value_type.name()
                            ),
                        )
                        .primary(span, "file named here"),
                    );
                    row.clear();
                    break;
                }
            }
        }
        if row.len() == columns.len() {
            rows.push(row);
        }
    }
}

fn io_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "no such file".to_string()
        }
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => error.to_string(),
    }
}

/// One cell as its column type. Strings and addresses are kept as text
/// (addresses must parse); numbers and booleans must parse.
fn cell_value(cell: &str, value_type: ir::ValueType) -> Option<ir::Value> {
    let trimmed = cell.trim();
    match value_type {
        ir::ValueType::String => Some(ir::Value::String(cell.to_string())),
        ir::ValueType::Ip => trimmed
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|_| ir::Value::String(trimmed.to_string())),
        ir::ValueType::Int => trimmed.parse().ok().map(ir::Value::Int),
        ir::ValueType::Float => trimmed.parse().ok().map(ir::Value::Float),
        ir::ValueType::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Some(ir::Value::Bool(true)),
            "false" => Some(ir::Value::Bool(false)),
            _ => None,
        },
        _ => None,
    }
}
