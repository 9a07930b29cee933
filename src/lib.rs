//! Tripline: a detection-content compiler for LLM-application security.
//!
//! Rules are written in the Tripline detection language (`.tdl` files), checked
//! against an event schema declared in the same language, lowered to a
//! target-neutral IR, and then evaluated locally or compiled for SIEMs.
//!
//! | stage | module | input | output |
//! | --- | --- | --- | --- |
//! | load | [`source`], [`project`] | paths | [`source::Sources`], configuration |
//! | syntax | [`syntax`] | rule text | [`syntax::ast::File`] + E01xx diagnostics |
//! | check | [`check`] | AST files, overrides | [`ir::Pack`] + E02xx/E03xx/E05xx diagnostics |
//! | ir | [`ir`] | (data) | the contract every consumer reads |
//! | eval | [`eval`] | [`ir::Pack`], JSON-lines events | alerts |
//! | test | [`testing`] | [`ir::Pack`], test case files | a report |
//! | render | [`diagnostics`] | diagnostics, sources | text or JSON |
//!
//! Schemas and registries are passed in, never global: `check::check(files, &options)`
//! and `eval::Engine::new(&pack)` make every stage testable on its own.

pub mod check;
pub mod cli;
pub mod diagnostics;
pub mod docs;
pub mod eval;
pub mod ir;
pub mod project;
pub mod schema;
pub mod source;
pub mod syntax;
pub mod testing;
