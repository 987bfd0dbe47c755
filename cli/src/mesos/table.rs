//! Column output: a header row and rows, each column as wide as its widest
//! cell, separated by two spaces (the Mesos CLI's table layout).

/// Renders `header` and `rows` as aligned text, one line each.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                out.push_str(cell);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
        out
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let text = super::render(
            &["ID", "STATE"],
            &[
                vec!["t1".into(), "TASK_RUNNING".into()],
                vec!["long-task".into(), "TASK_FINISHED".into()],
            ],
        );
        assert_eq!(
            text,
            "ID         STATE\nt1         TASK_RUNNING\nlong-task  TASK_FINISHED\n"
        );
    }
}
