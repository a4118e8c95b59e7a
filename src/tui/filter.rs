//! The metric filter typed after `/`.

use regex::Regex;

/// A metric filter: a regular expression, or a plain substring when the
/// text is not a valid one.
#[derive(Debug, Clone)]
pub struct MetricFilter {
    /// What the user typed.
    pub text: String,
    regex: Option<Regex>,
}

impl MetricFilter {
    /// A filter from typed text.
    pub fn new(text: &str) -> MetricFilter {
        MetricFilter {
            text: text.to_string(),
            regex: Regex::new(text).ok(),
        }
    }

    /// Whether `name` passes.
    pub fn matches(&self, name: &str) -> bool {
        match &self.regex {
            Some(r) => r.is_match(name),
            None => name.contains(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_or_substring() {
        assert!(MetricFilter::new("^sc/").matches("sc/margin"));
        assert!(!MetricFilter::new("^sc/").matches("lc/sc/x"));
        assert!(
            MetricFilter::new("a(b").matches("xa(bc"),
            "invalid regex falls back to substring"
        );
    }
}
