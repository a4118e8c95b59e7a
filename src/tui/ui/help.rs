//! The `?` overlay: every key.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::keymap::keys;

/// Draws the overlay centred in `area`.
pub fn render(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let theme = &app.theme;
    let keys = keys(app.replay.is_some());
    let h = (keys.len() as u16 + 4).min(area.height);
    let w = 84.min(area.width);
    let [row] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(row);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<11}"), theme.accent),
                Span::styled(*what, theme.base),
            ])
        })
        .collect();
    lines.push(Line::styled(
        format!(
            " theme: {} (--theme NAME) · any key closes this",
            theme.name
        ),
        theme.dim,
    ));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .title(" Keys ")
                    .border_style(theme.border_focus),
            )
            .style(theme.base),
        popup,
    );
}
