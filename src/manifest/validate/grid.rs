//! Checks of `[[grid]]` entries: references, mode-specific keys, search keys and
//! counts.

use std::collections::BTreeMap;

use super::scenario::{compat_endpoint, compatible};
use super::{Check, Checker};
use crate::manifest::limits;
use crate::manifest::raw::{Compat, Mode, RawGrid, RawManifest, RawSearch, SearchOverValue};
use crate::suggest::suggestion;
use crate::vocab::name::NameKind;
use crate::vocab::ApiKind;

pub(super) fn grid(c: &Checker, i: usize, g: &RawGrid, raw: &RawManifest) -> Check {
    let k = |field: &str| format!("grid[{i}].{field}");
    if let Some(name) = &g.name {
        c.name(&k("name"), NameKind::Grid, name)?;
    }
    if g.endpoints.is_empty() {
        return Err(c.fail(
            k("endpoints"),
            "the endpoint list is empty",
            "list at least one endpoint, e.g. endpoints = [\"vllm\"]",
        ));
    }
    if g.scenarios.is_empty() {
        return Err(c.fail(
            k("scenarios"),
            "the scenario list is empty",
            "list at least one scenario, e.g. scenarios = [\"short\"]",
        ));
    }
    let endpoint_names: Vec<&str> = raw.endpoints.keys().map(String::as_str).collect();
    let scenario_names: Vec<&str> = raw.scenarios.keys().map(String::as_str).collect();
    for (j, e) in g.endpoints.iter().enumerate() {
        if !raw.endpoints.contains_key(e) {
            return Err(c.fail(
                format!("grid[{i}].endpoints[{j}]"),
                format!("unknown endpoint `{e}`"),
                suggestion(e, &endpoint_names, "defined endpoints"),
            ));
        }
        if g.endpoints[..j].contains(e) {
            return Err(c.fail(
                format!("grid[{i}].endpoints[{j}]"),
                format!("endpoint `{e}` is listed twice"),
                "list each endpoint once",
            ));
        }
    }
    for (j, s) in g.scenarios.iter().enumerate() {
        if !raw.scenarios.contains_key(s) {
            return Err(c.fail(
                format!("grid[{i}].scenarios[{j}]"),
                format!("unknown scenario `{s}`"),
                suggestion(s, &scenario_names, "defined scenarios"),
            ));
        }
        if g.scenarios[..j].contains(s) {
            return Err(c.fail(
                format!("grid[{i}].scenarios[{j}]"),
                format!("scenario `{s}` is listed twice"),
                "list each scenario once",
            ));
        }
    }
    for e in &g.endpoints {
        let api = raw
            .endpoints
            .get(e)
            .and_then(|ep| ep.api)
            .unwrap_or(ApiKind::Chat);
        for (j, s) in g.scenarios.iter().enumerate() {
            let Some(sc) = raw.scenarios.get(s) else {
                continue;
            };
            if sc.compat == Some(Compat::Original) {
                if let Some(ep) = raw.endpoints.get(e) {
                    compat_endpoint(c, e, ep, s)?;
                }
            }
            if let Err(hint) = compatible(&sc.spec.0, api) {
                return Err(c.fail(
                    format!("grid[{i}].scenarios[{j}]"),
                    format!(
                        "scenario `{s}` ({}) cannot run on endpoint `{e}` (api = \"{}\")",
                        sc.spec.0.to_spec_string(),
                        api.as_str()
                    ),
                    hint,
                ));
            }
            if api != ApiKind::Chat && (sc.images.is_some() || sc.turns.is_some_and(|t| t > 1)) {
                return Err(c.fail(
                    format!("grid[{i}].scenarios[{j}]"),
                    format!("scenario `{s}` uses images or several turns, which need api = \"chat\" (endpoint `{e}` has api = \"{}\")", api.as_str()),
                    "run it on a chat endpoint",
                ));
            }
        }
    }
    mode_keys(c, i, g)?;
    if g.mode == Mode::SloSearch && raw.experiment.slo.as_ref().is_none_or(BTreeMap::is_empty) {
        return Err(c.fail(
            k("mode"),
            "mode = \"slo_search\" needs service-level objectives to search for",
            "add them under [experiment.slo], e.g. tpot_ms = { p90 = 50 }",
        ));
    }
    c.at_least_one(
        &k("runs"),
        g.runs,
        "every point runs at least once; use runs = 1",
    )?;
    Ok(())
}

/// The key each mode requires, with an example.
fn required_key(mode: Mode) -> (&'static str, &'static str) {
    match mode {
        Mode::Burst => ("batch_sizes", "batch_sizes = [1, 4, 16]"),
        Mode::Concurrency => ("concurrency", "concurrency = [1, 4, 16]"),
        Mode::Rate => ("rates", "rates = [1.0, 5.0]"),
        Mode::Ramp => (
            "stages",
            "stages = [{ rate = 5, duration_s = 10 }, { concurrency = 8, duration_s = 10 }]",
        ),
        Mode::Sweep => (
            "search",
            "search = { over = \"concurrency\", start = 1, max = 256 }",
        ),
        Mode::SloSearch => (
            "search",
            "search = { over = \"concurrency\", min = 1, max = 64 }",
        ),
    }
}

fn mode_keys(c: &Checker, i: usize, g: &RawGrid) -> Check {
    let k = |field: &str| format!("grid[{i}].{field}");
    let mode = g.mode;
    const SEARCHES: [Mode; 2] = [Mode::Sweep, Mode::SloSearch];
    const COUNTED: [Mode; 4] = [Mode::Concurrency, Mode::Rate, Mode::Sweep, Mode::SloSearch];
    const OPEN_LOOP: [Mode; 3] = [Mode::Rate, Mode::Sweep, Mode::SloSearch];
    let present: [(&str, bool, &[Mode]); 9] = [
        ("batch_sizes", g.batch_sizes.is_some(), &[Mode::Burst]),
        ("concurrency", g.concurrency.is_some(), &[Mode::Concurrency]),
        ("rates", g.rates.is_some(), &[Mode::Rate]),
        ("arrival", g.arrival.is_some(), &OPEN_LOOP),
        ("requests", g.requests.is_some(), &COUNTED),
        ("duration_s", g.duration_s.is_some(), &COUNTED),
        ("max_concurrency", g.max_concurrency.is_some(), &OPEN_LOOP),
        ("stages", g.stages.is_some(), &[Mode::Ramp]),
        ("search", g.search.is_some(), &SEARCHES),
    ];
    for (field, set, modes) in present {
        if set && !modes.contains(&mode) {
            let names: Vec<String> = modes
                .iter()
                .map(|m| format!("\"{}\"", m.as_str()))
                .collect();
            let (req, example) = required_key(mode);
            return Err(c.fail(
                k(field),
                format!(
                    "`{field}` applies only to mode = {} (this grid has mode = \"{}\")",
                    names.join(" or "),
                    mode.as_str()
                ),
                format!(
                    "mode = \"{}\" takes its load values from `{req}`, e.g. {example}",
                    mode.as_str()
                ),
            ));
        }
    }
    let (req, example) = required_key(mode);
    let missing = match mode {
        Mode::Burst => g.batch_sizes.is_none(),
        Mode::Concurrency => g.concurrency.is_none(),
        Mode::Rate => g.rates.is_none(),
        Mode::Ramp => g.stages.is_none(),
        Mode::Sweep | Mode::SloSearch => g.search.is_none(),
    };
    if missing {
        return Err(c.fail(
            k(req),
            format!("mode = \"{}\" needs `{req}`", mode.as_str()),
            format!("e.g. {example}"),
        ));
    }
    let empty = |len: usize| {
        (len == 0).then(|| {
            c.fail(
                k(req),
                format!("the `{req}` list is empty"),
                format!("e.g. {example}"),
            )
        })
    };
    if let Some(v) = &g.batch_sizes {
        if let Some(e) = empty(v.len()) {
            return Err(e);
        }
        counts(c, i, "batch_sizes", v)?;
    }
    if let Some(v) = &g.concurrency {
        if let Some(e) = empty(v.len()) {
            return Err(e);
        }
        counts(c, i, "concurrency", v)?;
    }
    if let Some(v) = &g.rates {
        if let Some(e) = empty(v.len()) {
            return Err(e);
        }
        for (j, r) in v.iter().enumerate() {
            if !(r.is_finite() && *r > 0.0) {
                return Err(c.fail(
                    format!("grid[{i}].rates[{j}]"),
                    format!("rate {r} must be a number > 0"),
                    "rates are requests per second, e.g. 0.5 or 10",
                ));
            }
            c.at_most(
                &format!("grid[{i}].rates[{j}]"),
                Some(*r),
                limits::MAX_RATE,
                "requests/s",
            )?;
            if v[..j].contains(r) {
                return Err(c.fail(
                    format!("grid[{i}].rates[{j}]"),
                    format!("rate {r} is listed twice"),
                    "list each rate once",
                ));
            }
        }
    }
    if let Some(stages) = &g.stages {
        if let Some(e) = empty(stages.len()) {
            return Err(e);
        }
        for (j, s) in stages.iter().enumerate() {
            let sk = format!("grid[{i}].stages[{j}]");
            match (s.rate, s.concurrency) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(c.fail(&sk, "a stage needs exactly one of `rate` and `concurrency`", "e.g. { rate = 5, duration_s = 10 } or { concurrency = 8, duration_s = 10 }"));
                }
                (Some(r), None) if !(r.is_finite() && r > 0.0) => {
                    return Err(c.fail(
                        format!("{sk}.rate"),
                        format!("rate {r} must be a number > 0"),
                        "rates are requests per second",
                    ));
                }
                (None, Some(0)) => {
                    return Err(c.fail(
                        format!("{sk}.concurrency"),
                        "must be at least 1, found 0",
                        "the requests kept in flight during the stage",
                    ));
                }
                _ => {}
            }
            c.at_most(
                &format!("{sk}.rate"),
                s.rate,
                limits::MAX_RATE,
                "requests/s",
            )?;
            c.count_at_most(
                &format!("{sk}.concurrency"),
                s.concurrency,
                u64::from(limits::MAX_CONCURRENCY),
            )?;
            if !(s.duration_s.is_finite() && s.duration_s > 0.0) {
                return Err(c.fail(
                    format!("{sk}.duration_s"),
                    format!("{} is out of range: expected a number > 0", s.duration_s),
                    "stage durations are in seconds",
                ));
            }
            c.at_most(
                &format!("{sk}.duration_s"),
                Some(s.duration_s),
                limits::MAX_DURATION_S,
                "s",
            )?;
        }
    }
    if let Some(search) = &g.search {
        search_keys(c, i, g, search)?;
    }
    c.at_least_one(
        &k("requests"),
        g.requests,
        "requests per run, e.g. requests = 200",
    )?;
    c.at_least_one(
        &k("max_concurrency"),
        g.max_concurrency,
        "the most requests in flight",
    )?;
    c.count_at_most(
        &k("max_concurrency"),
        g.max_concurrency,
        u64::from(limits::MAX_CONCURRENCY),
    )?;
    c.positive(
        &k("duration_s"),
        g.duration_s,
        false,
        "the longest a run may last, in seconds",
    )?;
    c.at_most(&k("duration_s"), g.duration_s, limits::MAX_DURATION_S, "s")?;
    Ok(())
}

/// The `search` table of a `sweep` or `slo_search` grid.
fn search_keys(c: &Checker, i: usize, g: &RawGrid, s: &RawSearch) -> Check {
    let k = |field: &str| format!("grid[{i}].search.{field}");
    let by_rate = s.over == Some(SearchOverValue::Rate);
    if !by_rate {
        for (field, set) in [
            ("arrival", g.arrival.is_some()),
            ("max_concurrency", g.max_concurrency.is_some()),
        ] {
            if set {
                return Err(c.fail(
                    format!("grid[{i}].{field}"),
                    format!("`{field}` applies only to searches over the request rate"),
                    "set search.over = \"rate\", or remove the key",
                ));
            }
        }
    }
    let (only, other) = if g.mode == Mode::Sweep {
        (["min", "tolerance", "min_attainment"], "slo_search")
    } else {
        (["start", "factor", "min_gain"], "sweep")
    };
    let set = |f: &str| match f {
        "min" => s.min.is_some(),
        "tolerance" => s.tolerance.is_some(),
        "min_attainment" => s.min_attainment.is_some(),
        "start" => s.start.is_some(),
        "factor" => s.factor.is_some(),
        _ => s.min_gain.is_some(),
    };
    if let Some(f) = only.iter().find(|f| set(f)) {
        return Err(c.fail(
            k(f),
            format!(
                "`search.{f}` applies only to mode = \"{other}\" (this grid has mode = \"{}\")",
                g.mode.as_str()
            ),
            if g.mode == Mode::Sweep {
                "a sweep takes start, factor, min_gain and max"
            } else {
                "an SLO search takes min, max, tolerance and min_attainment"
            },
        ));
    }
    let Some(max) = s.max else {
        return Err(c.fail(
            k("max"),
            "a search needs the highest load it may try",
            "e.g. search = { max = 256 }",
        ));
    };
    let load_hint = if by_rate {
        "rates are requests per second, > 0"
    } else {
        "concurrency is a whole number of requests in flight, ≥ 1"
    };
    for (field, v) in [("start", s.start), ("min", s.min), ("max", Some(max))] {
        c.positive(&k(field), v, false, load_hint)?;
        if by_rate {
            c.at_most(&k(field), v, limits::MAX_RATE, "requests/s")?;
        } else {
            c.at_most(
                &k(field),
                v,
                f64::from(limits::MAX_CONCURRENCY),
                "requests in flight",
            )?;
        }
        if let Some(x) = v {
            if !by_rate && (x < 1.0 || x.fract() != 0.0) {
                return Err(c.fail(
                    k(field),
                    format!("{x} is not a whole number ≥ 1"),
                    load_hint,
                ));
            }
        }
    }
    let low = s.start.or(s.min).unwrap_or(1.0);
    if low > max {
        return Err(c.fail(
            k("max"),
            format!("max ({max}) is below the first load ({low})"),
            "max is the highest load the search may try",
        ));
    }
    if let Some(f) = s.factor {
        if !(f.is_finite() && f > 1.0 && f <= limits::MAX_SWEEP_FACTOR) {
            return Err(c.fail(
                k("factor"),
                format!("{f} is out of range: expected a number > 1 and at most 1000"),
                "each probe multiplies the load by factor, e.g. 2",
            ));
        }
    }
    c.positive(
        &k("min_gain"),
        s.min_gain,
        false,
        "e.g. 0.1 = 10% more throughput",
    )?;
    c.positive(&k("tolerance"), s.tolerance, false, "in load units, e.g. 1")?;
    c.fraction(
        &k("min_attainment"),
        s.min_attainment,
        "the fraction of requests that must meet the SLOs, e.g. 0.99",
    )?;
    Ok(())
}

pub(super) fn counts(c: &Checker, i: usize, field: &str, v: &[u32]) -> Check {
    for (j, n) in v.iter().enumerate() {
        if *n == 0 {
            return Err(c.fail(
                format!("grid[{i}].{field}[{j}]"),
                "must be at least 1, found 0",
                "load values are counts of requests, 1 or more",
            ));
        }
        if v[..j].contains(n) {
            return Err(c.fail(
                format!("grid[{i}].{field}[{j}]"),
                format!("{n} is listed twice"),
                "list each value once",
            ));
        }
        c.count_at_most(
            &format!("grid[{i}].{field}[{j}]"),
            Some(*n),
            u64::from(limits::MAX_CONCURRENCY),
        )?;
    }
    Ok(())
}
