//! The live dashboard, `grokscope watch` (being built).

pub mod panels;
pub mod plot;
pub mod smooth;
pub mod theme;
pub mod widgets;
