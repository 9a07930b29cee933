//! The template environment targets format their artifacts with.
//!
//! Input: `(name, source)` pairs compiled into the binary with `include_str!`
//! from `targets/<id>/`. Output: rendered text. Strict undefined (a missing
//! variable is an error, never an empty string) and no auto-escaping: Rust
//! decides and escapes, templates only lay out.

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// An environment holding one target's templates.
pub(crate) fn environment(templates: &[(&'static str, &'static str)]) -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.set_auto_escape_callback(|_| AutoEscape::None);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        environment.set_syntax(syntax);
    }
    for (name, source) in templates {
        // The templates are compiled in; a syntax error is caught by the
        // target's snapshot tests, and render() reports it as a bug.
        let _ = environment.add_template(name, source);
    }
    environment
}

/// Renders a template; an error is a compiler bug (the templates are compiled in).
pub(crate) fn render(
    environment: &Environment<'static>,
    name: &str,
    context: impl Serialize,
) -> Result<String, String> {
    environment
        .get_template(name)
        .and_then(|template| template.render(Value::from(Serde(context))))
        .map_err(|error| {
            format!(
                "template `{name}` failed: {error}; this is a bug in tripline, please report it"
            )
        })
}
