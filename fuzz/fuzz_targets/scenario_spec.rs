//! Fuzz target: arbitrary text as a scenario spec (`D(128,64)`, `U(10,20)/(5,9)`, ...).
//!
//! Checked: nothing panics; an accepted spec validates and prints back to a spec
//! that parses to the same workload; an error points inside the input and lists
//! the accepted forms; the manifest's `spec` parser agrees on acceptance.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenomics::dataset::scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = scenario::parse(text);
    match &parsed {
        Ok(workload) => {
            assert!(
                workload.validate().is_ok(),
                "{text:?} parsed but does not validate"
            );
            let spec = workload.to_spec_string();
            let again = scenario::parse(&spec)
                .unwrap_or_else(|e| panic!("{text:?} printed as {spec:?}, which fails: {e}"));
            assert_eq!(&again, workload, "{text:?} → {spec:?}");
        }
        Err(e) => {
            assert!(e.position.is_none_or(|p| p <= text.chars().count()));
            assert!(e.to_string().contains("accepted forms"));
        }
    }
    let via_manifest = tokenomics::manifest::parse_workload(text);
    assert_eq!(via_manifest.is_ok(), parsed.is_ok(), "{text:?}");
});
