//! Progress bars for work that can take more than a couple of seconds (`substrate replay`,
//! `model publish|fetch`, the first JEPA training).
//!
//! Bars go to stderr and are drawn only when stderr is a terminal (indicatif hides its stderr
//! target otherwise), so files, pipes and journald get no control codes; with `--json` they are
//! hidden outright, as a script reading the JSON wants a quiet stderr too.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps drawn with `template` (indicatif's template syntax); hidden with
/// `json` or when stderr is not a terminal.
pub fn bar(len: u64, template: &str, json: bool) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// A spinner with the elapsed time and a message naming the current step, for work whose
/// length is unknown; hidden like [`bar`].
pub fn spinner(json: bool) -> ProgressBar {
    let spinner = bar(0, "{spinner} [{elapsed_precise}] {msg}", json);
    if !spinner.is_hidden() {
        spinner.enable_steady_tick(Duration::from_millis(120));
    }
    spinner
}

#[cfg(test)]
mod tests {
    /// With `--json` nothing is drawn, whatever stderr is.
    #[test]
    fn json_hides_bars() {
        assert!(super::bar(10, "{bar}", true).is_hidden());
        assert!(super::spinner(true).is_hidden());
    }
}
