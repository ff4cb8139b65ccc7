//! The experiment section: the settings, endpoints and scenarios of the plan,
//! where it ran, each server's `/v1/models` answer and the manifest as run.

use serde::Serialize;

use super::facts::{kv, KeyValue};
use super::format::{fmt_count, fmt_num, fmt_pct, format_load};
use crate::plan::EndpointTarget;
use crate::results::ExperimentResults;

#[derive(Serialize)]
/// The experiment section: settings, endpoints, scenarios, environment, manifest.
pub struct ExperimentView {
    settings: Vec<KeyValue>,
    endpoints: Vec<EndpointRow>,
    scenarios: Vec<ScenarioRow>,
    environment: Vec<KeyValue>,
    server_models: Vec<ServerModels>,
    manifest: String,
    manifest_path: String,
}

#[derive(Serialize)]
pub struct EndpointRow {
    name: String,
    target: String,
    model: String,
    api: String,
    stream: String,
    temperature: String,
    options: String,
}

#[derive(Serialize)]
pub struct ScenarioRow {
    name: String,
    workload: String,
    dataset: String,
    max_tokens_cap: String,
    options: String,
}

#[derive(Serialize)]
pub struct ServerModels {
    endpoint: String,
    json: String,
}

#[must_use]
pub fn experiment_view(results: &ExperimentResults) -> ExperimentView {
    let plan = &results.plan;
    let exp = &plan.experiment;
    let env = &results.environment;
    let mut settings = vec![
        kv("Seed", exp.seed.to_string()),
        kv("Points", fmt_count(plan.points.len() as u64)),
        kv(
            "Steady-state bucket",
            format!("{} ms", fmt_num(exp.bucket.as_secs_f64() * 1000.0)),
        ),
        kv(
            "Steady-state threshold",
            format!("{} × reference", fmt_num(exp.steady_state_threshold)),
        ),
        kv(
            "Percentiles",
            exp.percentiles
                .iter()
                .map(|p| format!("p{}", format_load(*p)))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    ];
    if let Some(m) = exp.max_failure_rate {
        settings.push(kv("Max failure rate", fmt_pct(m * 100.0)));
    }
    if !exp.slos.is_empty() {
        let slos: Vec<String> = exp
            .slos
            .iter()
            .map(|s| match s.percentile {
                Some(p) => format!("{}.p{} ≤ {}", s.metric, format_load(p), fmt_num(s.max)),
                None => format!("{} ≤ {} (every request)", s.metric, fmt_num(s.max)),
            })
            .collect();
        settings.push(kv("SLOs", slos.join("; ")));
    }
    if results.interrupted {
        settings.push(kv("Status", "interrupted before the plan finished"));
    }

    let endpoints = plan
        .endpoints
        .values()
        .map(|e| {
            let target = match &e.target {
                EndpointTarget::Url(u) => u.clone(),
                EndpointTarget::Simulator(s) => format!("embedded simulator ({})", s.model),
            };
            let mut options = Vec::new();
            if e.ignore_eos {
                options.push("ignore_eos".to_string());
            }
            if e.min_tokens {
                options.push("min_tokens".to_string());
            }
            if e.n > 1 {
                options.push(format!("n = {}", e.n));
            }
            options.push(format!(
                "timeout {} s",
                fmt_num(e.timeouts.total.as_secs_f64())
            ));
            if e.retry.max_retries > 0 {
                options.push(format!("{} retries", e.retry.max_retries));
            }
            EndpointRow {
                name: e.name.clone(),
                target,
                model: e.model.clone(),
                api: e.api.as_str().to_string(),
                stream: if e.stream { "yes" } else { "no" }.to_string(),
                temperature: e.temperature.map_or_else(|| "not sent".into(), fmt_num),
                options: options.join(", "),
            }
        })
        .collect();

    let scenarios = plan
        .scenarios
        .values()
        .map(|s| {
            let mut options = Vec::new();
            if s.replay {
                options.push("replay".to_string());
            }
            if s.compat_original {
                options.push("original-compatible prompts".to_string());
            }
            if s.turns > 1 {
                options.push(format!("{} turns", s.turns));
            }
            if let Some(i) = &s.images {
                options.push(format!("{} image(s) {}×{}", i.count, i.width, i.height));
            }
            if let Some(p) = &s.prefix {
                options.push(format!(
                    "shared prefix {} tokens × {} groups",
                    p.tokens, p.groups
                ));
            }
            if let Some(l) = &s.lora {
                options.push(format!(
                    "LoRA {:?} over {} adapters",
                    l.strategy,
                    l.adapters.len()
                ));
            }
            ScenarioRow {
                name: s.name.clone(),
                workload: s.workload.to_spec_string(),
                dataset: s.dataset.name.clone(),
                max_tokens_cap: s.max_tokens_cap.to_string(),
                options: options.join(", "),
            }
        })
        .collect();

    let mut environment = vec![
        kv("tokenomics", env.tool_version.clone()),
        kv(
            "Git commit",
            match (&env.git_commit, env.git_dirty) {
                (Some(c), Some(true)) => format!("{c} (uncommitted changes)"),
                (Some(c), _) => c.clone(),
                (None, _) => "not in a repository".into(),
            },
        ),
        kv("OS / arch", format!("{} / {}", env.os, env.arch)),
        kv("CPUs", env.cpu_count.to_string()),
    ];
    if let Some(h) = &env.hostname {
        environment.push(kv("Host", h.clone()));
    }
    environment.push(kv("Started", env.started_at.clone()));
    if let Some(f) = &env.finished_at {
        environment.push(kv("Finished", f.clone()));
    }
    if !env.command.is_empty() {
        environment.push(kv("Command", env.command.join(" ")));
    }

    let server_models = env
        .server_models
        .iter()
        .map(|(k, v)| ServerModels {
            endpoint: k.clone(),
            json: serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()),
        })
        .collect();

    ExperimentView {
        settings,
        endpoints,
        scenarios,
        environment,
        server_models,
        manifest: plan.resolved_manifest.clone(),
        manifest_path: plan.manifest_path.display().to_string(),
    }
}
