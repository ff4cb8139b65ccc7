//! Nothing that validates can crash: manifests carrying extreme numbers (u32 and
//! u64 maxima, 1e300, NaN, infinities, negative zero, negatives) in every
//! numeric key go through loading (validation), planning and the preparation of
//! a run's request bodies without a panic and without any single allocation
//! above [`MAX_ALLOCATION`]. Values the limits reject must be rejected with the
//! file and the key; values they accept must plan and prepare.
//!
//! Its own test binary: the global allocator here records the largest allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use tokenomics::dataset::Preparer;
use tokenomics::manifest::{self, LoadOptions};
use tokenomics::plan::{self, PlanOptions};

/// The largest single allocation allowed while loading, planning and preparing.
const MAX_ALLOCATION: usize = 256 << 20;

struct Recording;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only records the size asked for.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

const BASE: &str = r#"
schema = 1
[experiment]
name = "extreme"
runs = 1
warmup = 0
[endpoints.sim]
simulator = { ttft_ms = 1, itl_ms = 1 }
[endpoints.emb]
simulator = {}
api = "embeddings"
[scenarios.s]
spec = "D(8,4)"
[scenarios.e]
spec = "E(8)"
[[grid]]
endpoints = ["sim"]
scenarios = ["s"]
mode = "burst"
batch_sizes = [1]
"#;

/// Numeric keys and the forms a value takes there (`{}` is the value).
const KEYS: &[&str] = &[
    "experiment.runs={}",
    "experiment.warmup={}",
    "experiment.seed={}",
    "experiment.max_points={}",
    "experiment.max_requests={}",
    "experiment.max_memory_mb={}",
    "experiment.max_failure_rate={}",
    "experiment.bucket_ms={}",
    "experiment.steady_state_threshold={}",
    "experiment.percentiles=[{}]",
    "endpoints.sim.timeout_s={}",
    "endpoints.sim.connect_timeout_s={}",
    "endpoints.sim.idle_timeout_s={}",
    "endpoints.sim.first_byte_timeout_s={}",
    "endpoints.sim.temperature={}",
    "endpoints.sim.n={}",
    "endpoints.sim.max_event_bytes={}",
    "endpoints.sim.retries={max={},backoff_ms=10}",
    "endpoints.sim.retries={max=1,backoff_ms={}}",
    "endpoints.sim.simulator.ttft_ms={}",
    "endpoints.sim.simulator.itl_ms={}",
    "endpoints.sim.simulator.pooling_ms={}",
    "endpoints.sim.simulator.embedding_dim={}",
    "endpoints.sim.simulator.batching={max_batch={}}",
    "endpoints.sim.simulator.batching={itl_per_seq_ms={}}",
    "endpoints.sim.simulator.faults={stall_ms={}}",
    "endpoints.sim.simulator.faults={retry_after_s={}}",
    "endpoints.sim.simulator.faults={http_500={}}",
    "endpoints.sim.metrics={interval_ms={}}",
    "scenarios.s.spec=\"D({},4)\"",
    "scenarios.s.spec=\"D(4,{})\"",
    "scenarios.s.spec=\"N({},1)/(4,1)\"",
    "scenarios.s.spec=\"U(1,{})/(1,4)\"",
    "scenarios.s.spec=\"I({},{})\"",
    "scenarios.s.spec=\"I(8,8,{})\"",
    "scenarios.s.spec={kind=\"deterministic\",input={},output=4}",
    "scenarios.s.max_tokens_cap={}",
    "scenarios.s.turns={}",
    "scenarios.s.prefix={tokens={},groups=1}",
    "scenarios.s.prefix={tokens=8,groups={}}",
    "scenarios.s.images={width={},height=8}",
    "scenarios.e.spec=\"E({})\"",
    "scenarios.e.spec=\"E({}w)\"",
    "grid[0].batch_sizes=[{}]",
    "grid[0]={endpoints=[\"sim\"],scenarios=[\"s\"],mode=\"concurrency\",concurrency=[{}],requests=2}",
    "grid[0]={endpoints=[\"sim\"],scenarios=[\"s\"],mode=\"concurrency\",concurrency=[2],requests={}}",
    "grid[0]={endpoints=[\"sim\"],scenarios=[\"s\"],mode=\"rate\",rates=[{}],requests=2}",
    "grid[0]={endpoints=[\"sim\"],scenarios=[\"s\"],mode=\"rate\",rates=[1],requests=2,duration_s={}}",
    "grid[0]={endpoints=[\"sim\"],scenarios=[\"s\"],mode=\"ramp\",stages=[{rate=1,duration_s={}}]}",
    "grid[0]={endpoints=[\"emb\"],scenarios=[\"e\"],mode=\"burst\",batch_sizes=[1]}",
];

/// Extreme numbers, as TOML writes them.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "1e300",
    "-1e300",
    "1e19",
    "nan",
    "inf",
    "-inf",
    "-0.0",
    "2097152",
    "2097153",
    "0.5",
];

/// Loads, plans and prepares the first run of the first point; returns what
/// happened, or the panic message.
fn attempt(dir: &Path, set: &str) -> Result<String, String> {
    let path = dir.join("extreme.toml");
    let opts = LoadOptions {
        overrides: vec![set.to_owned()],
    };
    let run = AssertUnwindSafe(|| -> String {
        let m = match manifest::load_from_str(&path, BASE, &opts, Vec::new()) {
            Ok(m) => m,
            Err(e) => {
                assert_eq!(e.file, path, "{e}");
                return format!("rejected: {e}");
            }
        };
        let plan = match plan::build(&m, &PlanOptions::default()) {
            Ok(p) => p,
            Err(e) => {
                assert!(e.key.is_some(), "a plan error names its key: {e}");
                return format!("refused by the plan: {e}");
            }
        };
        let Some(point) = plan.points.first() else {
            return "planned, no points".into();
        };
        let preparer = match Preparer::new(&plan) {
            Ok(p) => p,
            Err(e) => return format!("preparer: {e}"),
        };
        let count = u32::try_from(point.requests_per_run().min(2)).unwrap_or(2);
        match preparer.prepare_run(point, 0, count) {
            Ok(run) => format!("prepared {} request(s)", run.requests.len()),
            Err(e) => format!("prepare: {e}"),
        }
    });
    std::panic::catch_unwind(run).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    })
}

fn check(set: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    LARGEST.store(0, Ordering::Relaxed);
    let outcome = attempt(dir.path(), set);
    let largest = LARGEST.load(Ordering::Relaxed);
    let outcome = outcome.unwrap_or_else(|p| panic!("--set {set} panicked: {p}"));
    assert!(
        largest <= MAX_ALLOCATION,
        "--set {set}: an allocation of {largest} bytes ({outcome})"
    );
}

#[test]
fn every_extreme_value_in_every_numeric_key() {
    for key in KEYS {
        for v in VALUES {
            check(&key.replace("{}", v));
        }
    }
}

#[test]
fn the_largest_accepted_requests_prepare_within_the_bound() {
    // At the limits, accepted: one body of 2,097,152 tokens, one 4096x4096 image.
    for set in [
        "scenarios.s.spec=\"D(2097152,4)\"",
        "scenarios.s.spec=\"I(4096,4096)\"",
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let outcome = attempt(dir.path(), set).unwrap_or_else(|p| panic!("{set}: {p}"));
        assert!(
            outcome.starts_with("prepared 1 request"),
            "{set}: {outcome}"
        );
    }
    // One past them, rejected with the key.
    for (set, key) in [
        ("scenarios.s.spec=\"D(2097153,4)\"", "scenarios.s.spec"),
        ("scenarios.s.spec=\"I(4097,4096)\"", "scenarios.s.spec"),
        ("endpoints.sim.timeout_s=1e19", "endpoints.sim.timeout_s"),
        ("scenarios.s.turns=4294967295", "scenarios.s.turns"),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let outcome = attempt(dir.path(), set).unwrap_or_else(|p| panic!("{set}: {p}"));
        assert!(
            outcome.starts_with("rejected: ") && outcome.contains(&format!(": {key}: ")),
            "{set}: {outcome}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any number at all, in any numeric key.
    #[test]
    fn arbitrary_numbers_never_crash(
        key in prop::sample::select(KEYS),
        v in prop_oneof![
            any::<i64>().prop_map(|v| v.to_string()),
            any::<f64>().prop_map(|v| format!("{v:?}")),
            any::<u32>().prop_map(|v| v.to_string()),
        ],
    ) {
        let v = match v.as_str() {
            "NaN" => "nan".to_owned(),
            "inf" => "inf".to_owned(),
            "-inf" => "-inf".to_owned(),
            _ => v,
        };
        check(&key.replace("{}", &v));
    }
}
