//! CSV formula injection (OWASP "CSV Injection"): a spreadsheet opening a
//! CSV runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or
//! carriage return before one) as a formula, so a learner's organisation
//! `=cmd|' /C calc'!A0` would run a command on the machine of whoever opens
//! the export. Every export path passes every cell through [`neutralise`].

use std::borrow::Cow;

/// Characters that make a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell, with a leading `'` when it starts with `=`, `+`, `-`, `@`, a
/// tab or a carriage return, so spreadsheets show it as text. A plain
/// number (`-12`, `-0.25`, `+3e5`) is left alone: spreadsheets read it as
/// that number, never as a formula, and reports carry negative growth
/// rates. Neutralising twice changes nothing more than once.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(first) if TRIGGERS.contains(&first) && !is_plain_number(cell) => {
            Cow::Owned(format!("'{cell}"))
        }
        _ => Cow::Borrowed(cell),
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, nothing else (no `inf`, no spaces).
fn is_plain_number(cell: &str) -> bool {
    let bytes = cell.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    if !digits(&mut i) {
        return false;
    }
    if bytes.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_get_a_leading_quote() {
        for cell in [
            "=cmd|' /C calc'!A0",
            "+1+1",
            "-1+cmd|x",
            "@SUM(A1:A2)",
            "\t=1+1",
            "\r=1+1",
            "=",
            "-",
            "+",
            "-inf",
            "-1 ",
            "-1e",
            "--1",
        ] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn ordinary_cells_and_plain_numbers_are_untouched() {
        for cell in [
            "",
            "ACME Bank",
            "Baku",
            "12",
            "0.5",
            "-12",
            "-0.25",
            "+3",
            "+3e5",
            "-2.5E-3",
            "a=b",
            " =1",
            "'=already",
        ] {
            assert!(
                matches!(neutralise(cell), Cow::Borrowed(c) if c == cell),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn neutralising_twice_is_neutralising_once() {
        for cell in ["=1+1", "@x", "-x", "plain", "-3"] {
            let once = neutralise(cell).into_owned();
            assert_eq!(neutralise(&once), once.as_str());
        }
    }
}
