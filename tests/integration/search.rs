//! Adaptive searches end to end against the embedded simulator, where the
//! answers follow from the timing model (worked out in
//! `experiments/search-demo.toml`): the sweep's knee is the simulator's batch
//! limit (4), and the SLO search's answer is the highest concurrency whose decode
//! step meets the TPOT bound (8).

use crate::common::{bin, records, repo, run_dir, summary};

fn probe_values(search: &serde_json::Value) -> Vec<f64> {
    search["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_f64().unwrap())
        .collect()
}

#[test]
fn sweep_finds_the_batch_limit_and_slo_search_the_tpot_limit() {
    let out = tempfile::tempdir().unwrap();
    let assert = bin()
        .args(["run", "experiments/search-demo.toml", "--run-id", "t"])
        .arg("--output")
        .arg(out.path())
        .current_dir(repo())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let dir = run_dir(out.path(), "search-demo");
    let s = summary(&dir);
    let searches = s["searches"].as_array().expect("searches in summary.json");
    assert_eq!(searches.len(), 2);

    let sweep = &searches[0];
    assert_eq!(sweep["spec"]["kind"]["kind"], "saturation");
    assert_eq!(probe_values(sweep), [1.0, 2.0, 4.0, 8.0]);
    assert_eq!(sweep["answer"]["value"].as_f64(), Some(4.0), "{sweep:#}");
    // Throughput doubles with concurrency below the batch limit.
    let thr: Vec<f64> = sweep["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["throughput"].as_f64().unwrap())
        .collect();
    assert!(thr[1] > 1.6 * thr[0] && thr[2] > 1.6 * thr[1], "{thr:?}");

    let slo = &searches[1];
    assert_eq!(slo["spec"]["kind"]["kind"], "slo");
    assert_eq!(slo["answer"]["value"].as_f64(), Some(8.0), "{slo:#}");
    // min, max, then bisection: 9 fails, 5 and 7 and 8 meet.
    assert_eq!(probe_values(slo), [2.0, 16.0, 9.0, 5.0, 7.0, 8.0]);
    let meets: Vec<bool> = slo["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["meets_slos"].as_bool().unwrap())
        .collect();
    assert_eq!(meets, [true, false, false, true, true, true]);

    // Every probe is a point of the plan, with its records and a report row.
    let plan: tokenomics::plan::Plan =
        serde_json::from_slice(&std::fs::read(dir.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan.points.len(), 10);
    assert_eq!(plan.searches.len(), 2);
    let recs = records(&dir);
    assert_eq!(recs.len(), 10 * 16);
    for p in &plan.points {
        let n = recs.iter().filter(|r| r.point_id == p.id).count();
        assert_eq!(n, 16, "records of {}", p.id);
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"searches\""));
    assert!(html.contains("slo.slowing.short.slo_search-9"));
    assert!(
        stdout.contains("search slo.slowing.short.slo_search (slo_search): 8"),
        "{stdout}"
    );
}
