//! Tripline: a detection-content compiler for LLM-application security.
//!
//! Rules are written in the Tripline detection language (`.tdl` files), checked
//! against an event schema declared in the same language, lowered to a
//! target-neutral IR, and then evaluated locally or compiled for SIEMs.
//!
//! | stage | module | input | output |
//! | --- | --- | --- | --- |
//! | load | [`project`], [`source`] | paths, `tripline.yaml`, overrides | [`source::Sources`], [`check::CheckOptions`] |
//! | syntax | [`syntax`] | rule text | [`syntax::ast::File`] + E01xx diagnostics |
//! | check | [`check`] | AST files, options | [`ir::Pack`] + E02xx/E03xx/E05xx/W diagnostics |
//! | ir | [`ir`] | (data) | the contract every consumer reads |
//! | schema | [`schema`] | [`ir::Schema`] | JSON Schema (draft 2020-12) of the events |
//! | eval | [`eval`] | [`ir::Pack`], JSON-lines events | [`eval::Alert`]s |
//! | test | [`testing`] | [`ir::Pack`], `*.test.yaml` files | [`testing::Report`] |
//! | docs | [`docs`] | [`ir::Pack`] | Markdown catalogue, ATLAS Navigator layer |
//! | preview | [`preview`] | a dashboard, its [`eval::panel`] data | one self-contained HTML page |
//! | render | [`diagnostics`] | diagnostics, sources | text or JSON lines |
//! | command line | [`cli`] | arguments | exit codes 0 / 1 / 2 |
//!
//! Schemas and registries are passed in, never global: `check::check(&sources, &files,
//! &options)` and `eval::evaluate_values(&pack, &events, &options)` make every stage
//! testable on its own.

pub mod builtin;
pub mod check;
pub mod cli;
pub mod diagnostics;
pub mod docs;
pub mod eval;
pub mod format;
pub mod ir;
pub mod lsp;
pub mod normalize;
pub mod preview;
pub mod project;
pub mod schema;
pub mod source;
pub mod syntax;
pub mod targets;
pub mod testing;
pub mod words;
