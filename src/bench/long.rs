//! The long-response level (`bench-client --long`): does the client's cost per
//! token event grow with the length of a response or of its prompt?
//!
//! Two capacity runs on one simulator timing (no pause between tokens, so the
//! client reads as fast as it can): `streams` streams of 100 events on a
//! one-line prompt, then `streams` streams of `tokens` events (100,000 by
//! default) on a prompt of `prompt_words` words (50,000). Each run is measured
//! as in [`super::capacity`] (events in the window, client CPU µs per event,
//! RSS per stream). The verdict compares CPU µs per event:
//! `slowdown = long / short`; no slowdown per event is a ratio near 1 (the
//! target is ≤ 1.1). Responses this long hold every chunk's arrival time (8
//! bytes per event: 0.8 MB per 100,000-event response), which the RSS column
//! shows.

use std::time::Duration;

use serde::Serialize;

use super::capacity::{self, CapacityLevel, CapacityOptions};
use super::SimSetup;
use crate::error::Error;

/// Events per short response.
pub const SHORT_TOKENS: u32 = 100;
/// The target on `long / short` CPU per event.
pub const MAX_SLOWDOWN: f64 = 1.1;

/// How to run the long-response level.
#[derive(Clone, Debug)]
pub struct LongOptions {
    /// Concurrent streams in both runs.
    pub streams: u32,
    /// Token events per long response.
    pub tokens: u32,
    /// Prompt words of the long requests.
    pub prompt_words: u32,
    /// Measurement window per run.
    pub window: Duration,
    /// Longest warmup per run.
    pub max_warmup: Duration,
    /// CPUs the client may use.
    pub client_cpus: usize,
    /// CPUs the simulator may use.
    pub sim_cpus: usize,
}

/// The long-response figures.
#[derive(Clone, Debug, Serialize)]
pub struct LongReport {
    /// 100-event responses on a one-line prompt.
    pub short: CapacityLevel,
    /// `tokens`-event responses on a `prompt_words`-word prompt.
    pub long: CapacityLevel,
    /// Events per long response.
    pub tokens: u32,
    /// Prompt words of the long requests.
    pub prompt_words: u32,
    /// CPU µs per event, long / short (None when either is unknown).
    pub slowdown: Option<f64>,
}

fn options(opts: &LongOptions, tokens: u32, prompt_words: u32) -> CapacityOptions {
    CapacityOptions {
        streams: vec![opts.streams],
        window: opts.window,
        events_per_request: tokens,
        prompt_words,
        itl_ms: 0.0,
        max_warmup: opts.max_warmup,
        client_cpus: opts.client_cpus,
        sim_cpus: opts.sim_cpus,
        floor: false,
    }
}

/// Runs both halves; `on_line` gets one printed line per half.
///
/// # Errors
/// When the simulator cannot be started or the client cannot be built.
pub async fn run(
    setup: &SimSetup,
    opts: &LongOptions,
    on_line: &mut dyn FnMut(&str),
) -> Result<LongReport, Error> {
    let measure = |label: &str, tokens: u32, words: u32| {
        let label = label.to_owned();
        let o = options(opts, tokens, words);
        async move {
            let r = capacity::run(setup, &o, &mut |_| {}).await?;
            let level = r.levels.into_iter().next().ok_or_else(|| Error::Bench {
                message: format!("the {label} run measured nothing"),
                hint: None,
            })?;
            Ok::<_, Error>((label, level))
        }
    };
    let (label, short) = measure("short", SHORT_TOKENS, 0).await?;
    on_line(&line(&label, SHORT_TOKENS, 0, &short));
    let (label, long) = measure("long", opts.tokens, opts.prompt_words).await?;
    on_line(&line(&label, opts.tokens, opts.prompt_words, &long));
    let slowdown = match (short.cpu_us_per_event, long.cpu_us_per_event) {
        (Some(s), Some(l)) if s > 0.0 => Some(l / s),
        _ => None,
    };
    Ok(LongReport {
        short,
        long,
        tokens: opts.tokens,
        prompt_words: opts.prompt_words,
        slowdown,
    })
}

/// The table header printed before the two lines.
#[must_use]
pub fn header(opts: &LongOptions) -> String {
    format!(
        "long responses: {} streams, no pause between tokens, {:.0} s window\n{:<6} {:>9} {:>9} {:>12} {:>9} {:>11} {:>8}\n",
        opts.streams,
        opts.window.as_secs_f64(),
        "run",
        "events",
        "prompt",
        "events/s",
        "CPU µs/ev",
        "KiB/stream",
        "failed"
    )
}

fn line(label: &str, tokens: u32, words: u32, l: &CapacityLevel) -> String {
    format!(
        "{:<6} {:>9} {:>9} {:>12} {:>9} {:>11} {:>8}",
        label,
        super::group(u64::from(tokens)),
        super::group(u64::from(words)),
        super::group(l.events_per_s.round() as u64),
        l.cpu_us_per_event
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
        l.rss_kib_per_stream
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.1}")),
        l.failed
    )
}

/// The verdict line: the slowdown per event against its target.
#[must_use]
pub fn verdict(r: &LongReport) -> String {
    match r.slowdown {
        Some(x) => format!(
            "CPU per event, long / short: {x:.2} (target ≤ {MAX_SLOWDOWN}: {})\n",
            if x <= MAX_SLOWDOWN { "met" } else { "missed" }
        ),
        None => "CPU per event could not be read (no /proc?)\n".to_owned(),
    }
}
