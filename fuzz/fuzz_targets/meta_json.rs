//! `meta.json` on any bytes: parsed or refused with a reason, never a
//! panic or a stack overflow; what parses feeds the analysis context and
//! survives a round trip through JSON.

#![no_main]

use grokscope::run::RunMeta;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(meta) = RunMeta::from_slice(data) else {
        return;
    };
    let _ = grokscope::analysis::RunContext::of(Some(&meta));
    let text = serde_json::to_vec(&meta).unwrap();
    let back = RunMeta::from_slice(&text).unwrap();
    assert_eq!(back, meta);
});
