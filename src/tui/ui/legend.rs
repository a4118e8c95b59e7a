//! A chart's legend: entries that are never split, packed into one or two
//! rows; names abbreviated when that makes them all fit; and, when even
//! that is not enough, a "+k" saying how many were left out (full screen
//! shows them).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// One legend entry: spans kept together on one row.
pub type Entry = Vec<Span<'static>>;

/// Width of an entry in cells.
fn width(e: &[Span<'_>]) -> usize {
    e.iter().map(Span::width).sum()
}

const GAP: usize = 2;

/// Packs `head` (title, cursor step) and `entries` into at most `rows`
/// rows of `width` cells. Returns the rows and how many entries did not
/// fit (their count is shown as `+k Enter` at the end, in `more_style`).
pub fn pack(
    head: &[Span<'static>],
    entries: &[Entry],
    cells: usize,
    rows: usize,
    more_style: Style,
) -> (Vec<Line<'static>>, usize) {
    let rows = rows.max(1);
    let mut lines: Vec<Vec<Span<'static>>> = vec![head.to_vec()];
    let mut used = vec![width(head)];
    let mut placed = 0;
    for e in entries {
        let w = width(e);
        let row = lines.len() - 1;
        let gap = if used[row] == 0 { 0 } else { GAP };
        if used[row] + gap + w <= cells {
            if gap > 0 {
                lines[row].push(Span::raw("  "));
            }
            lines[row].extend(e.iter().cloned());
            used[row] += gap + w;
            placed += 1;
        } else if lines.len() < rows && w <= cells {
            lines.push(e.clone());
            used.push(w);
            placed += 1;
        } else {
            break;
        }
    }
    let dropped = entries.len() - placed;
    if dropped > 0 {
        // Make room for the count on the last row, taking entries back.
        loop {
            let more = format!("+{} Enter", entries.len() - placed);
            let row = lines.len() - 1;
            let need = more.chars().count() + if used[row] == 0 { 0 } else { GAP };
            if used[row] + need <= cells || placed == 0 {
                if used[row] > 0 {
                    lines[row].push(Span::raw("  "));
                }
                lines[row].push(Span::styled(more, more_style));
                break;
            }
            // Take the last entry of the last row back.
            let e = &entries[placed - 1];
            let n = e.len() + usize::from(lines[row].len() > e.len());
            let keep = lines[row].len().saturating_sub(n);
            lines[row].truncate(keep);
            used[row] = width(&lines[row]);
            placed -= 1;
            if lines[row].is_empty() && lines.len() > 1 {
                lines.pop();
                used.pop();
            }
        }
    }
    let dropped = entries.len() - placed;
    (lines.into_iter().map(Line::from).collect(), dropped)
}

/// Shorter metric names for a crowded legend: the group every name shares
/// (`sc/`, `lc/`) is left out; long names are cut with `…`.
pub fn abbreviate(names: &[String], max_chars: usize) -> Vec<String> {
    let group = |n: &str| n.split_once('/').map(|(g, _)| g.to_string());
    let common = names
        .first()
        .and_then(|n| group(n))
        .filter(|g| names.iter().all(|n| group(n).as_ref() == Some(g)));
    names
        .iter()
        .map(|n| {
            let short = match &common {
                Some(g) => n[g.len() + 1..].to_string(),
                None => n.clone(),
            };
            if short.chars().count() > max_chars && max_chars > 1 {
                short.chars().take(max_chars - 1).collect::<String>() + "…"
            } else {
                short
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(s: &str) -> Entry {
        vec![Span::raw(s.to_string())]
    }

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn entries_wrap_then_say_how_many_are_left_out() {
        let e: Vec<Entry> = ["aaaa", "bbbb", "cccc", "dddd"].map(entry).to_vec();
        let (l, k) = pack(&[], &e, 10, 2, Style::new());
        assert_eq!(
            (text(&l), k),
            (vec!["aaaa  bbbb".into(), "cccc  dddd".into()], 0)
        );
        let (l, k) = pack(&[], &e, 10, 1, Style::new());
        assert_eq!((text(&l), k), (vec!["+4 Enter".into()], 4));
        let (l, k) = pack(&[], &e, 16, 1, Style::new());
        assert_eq!((text(&l), k), (vec!["aaaa  +3 Enter".into()], 3));
        let (l, k) = pack(&[Span::raw("title")], &e, 30, 1, Style::new());
        assert_eq!(
            (text(&l), k),
            (vec!["title  aaaa  bbbb  cccc  dddd".into()], 0)
        );
    }

    #[test]
    fn names_lose_their_shared_group_first() {
        let n = ["sc/collapsed", "sc/zero_loss"].map(String::from);
        assert_eq!(abbreviate(&n, 20), vec!["collapsed", "zero_loss"]);
        let n = ["train/loss", "test/acc"].map(String::from);
        assert_eq!(abbreviate(&n, 6), vec!["train…", "test/…"]);
    }
}
