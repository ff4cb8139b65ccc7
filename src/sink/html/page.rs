//! The template environment: the embedded page templates (`report.html`,
//! `compare.html`, their macros and stylesheet), HTML escaping of every value,
//! and [`render_page`].

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::results::layout::REPORT_FILE;
use crate::sink::writer::SinkError;

const STYLE: &str = include_str!("templates/report.css");
const MACROS: &str = include_str!("templates/macros.html.j2");
const REPORT: &str = include_str!("templates/report.html.j2");
const COMPARE: &str = include_str!("templates/compare.html.j2");

/// Renders one of the embedded page templates (`report.html`, `compare.html`)
/// with `context`. Every template is HTML-escaped; `css` is provided to it.
///
/// # Errors
/// [`SinkError::Encode`] when the template fails to render (naming
/// `report.html`; [`SinkError::at`] names the file actually written).
pub fn render_page<S: Serialize>(template: &str, context: &S) -> Result<String, SinkError> {
    let env = environment()?;
    let tmpl = env.get_template(template).map_err(encode_err)?;
    let page = tmpl
        .render(minijinja::context! { page => context, css => STYLE })
        .map_err(encode_err)?;
    Ok(page)
}

fn environment() -> Result<Environment<'static>, SinkError> {
    let mut env = Environment::new();
    // Escape every template, whatever its file name.
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_template("macros.html", MACROS)
        .map_err(encode_err)?;
    env.add_template("report.html", REPORT)
        .map_err(encode_err)?;
    env.add_template("compare.html", COMPARE)
        .map_err(encode_err)?;
    Ok(env)
}

/// A rendering failure, as an encoding error of the page.
pub(crate) fn encode_err(e: impl std::fmt::Display) -> SinkError {
    SinkError::Encode {
        path: REPORT_FILE.into(),
        message: e.to_string(),
    }
}
