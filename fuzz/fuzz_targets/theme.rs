//! Theme files on any text: parsed and resolved, or refused with a clear
//! error, never a panic or a stack overflow; what resolves gives a picture
//! palette, a monochrome form and colours for any heat value.

#![no_main]

use grokscope::export::palette::Palette;
use grokscope::tui::theme::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(theme) = parse(text, "fuzz.toml") else {
        return;
    };
    let _ = Palette::from_theme(&theme);
    for t in [-1.0, 0.0, 0.37, 1.0, 2.0, f64::NAN, f64::INFINITY] {
        let _ = theme.heat_color(t);
    }
    let _ = theme.series_color(usize::MAX);
    let _ = theme.monochrome();
});
