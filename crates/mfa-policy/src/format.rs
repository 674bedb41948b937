//! Reading the native format: size and nesting bounds, then serde with errors that say where.

use serde::de::DeserializeOwned;

use crate::error::{Format, PolicyError};

/// The largest policy file or context accepted, in bytes (1 MiB).
pub const MAX_INPUT_LEN: usize = 1 << 20;

/// The deepest nesting of arrays and tables accepted (dotted keys count as levels in TOML).
pub const MAX_NESTING: usize = 32;

fn check_len(text: &str) -> Result<(), PolicyError> {
    if text.len() > MAX_INPUT_LEN {
        return Err(PolicyError::TooLarge {
            len: text.len(),
            limit: MAX_INPUT_LEN,
        });
    }
    Ok(())
}

/// Reads JSON after the size and nesting checks.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
    check_len(text)?;
    check_json_depth(text, MAX_NESTING)?;
    serde_json::from_str(text).map_err(|error| PolicyError::Syntax {
        format: Format::Json,
        line: Some(error.line()).filter(|&line| line > 0),
        column: Some(error.column()).filter(|&column| column > 0),
        message: strip_position(&error.to_string()),
    })
}

/// Reads TOML after the size and nesting checks.
pub(crate) fn from_toml<T: DeserializeOwned>(text: &str) -> Result<T, PolicyError> {
    check_len(text)?;
    check_toml_depth(text)?;
    toml::from_str(text).map_err(|error| {
        let (line, column) = match error.span() {
            Some(span) => {
                let (line, column) = line_and_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        PolicyError::Syntax {
            format: Format::Toml,
            line,
            column,
            message: error.message().trim_end().to_owned(),
        }
    })
}

/// serde_json appends " at line L column C" to its messages; we report those separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let line_start = before
        .rfind('\n')
        .map_or(0, |newline| newline.saturating_add(1));
    let column = before
        .get(line_start..)
        .map_or(0, |tail| tail.chars().count())
        .saturating_add(1);
    (line, column)
}

/// Refuses JSON nested deeper than `max` arrays and objects (counted outside strings), before a
/// parser recurses into it.
pub(crate) fn check_json_depth(text: &str, max: usize) -> Result<(), PolicyError> {
    let mut depth = 0_usize;
    let mut line = 1_usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if byte == b'\n' {
            line = line.saturating_add(1);
        }
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                if depth > max {
                    return Err(PolicyError::TooDeep {
                        format: Format::Json,
                        line,
                    });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A conservative scan: brackets and braces outside strings and comments, plus the dots of
/// dotted keys (and of floats, which only makes the bound a little stricter) on the same line.
fn check_toml_depth(text: &str) -> Result<(), PolicyError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        Code,
        Comment,
        Basic,
        Literal,
        MultiBasic,
        MultiLiteral,
    }
    let bytes = text.as_bytes();
    let mut state = State::Code;
    let mut depth = 0_usize;
    let mut dots_on_line = 0_usize;
    let mut line = 1_usize;
    let mut i = 0_usize;
    let starts =
        |i: usize, pattern: &[u8]| bytes.get(i..).is_some_and(|rest| rest.starts_with(pattern));
    while let Some(&byte) = bytes.get(i) {
        if byte == b'\n' {
            line = line.saturating_add(1);
            dots_on_line = 0;
            if matches!(state, State::Comment | State::Basic | State::Literal) {
                state = State::Code;
            }
            i = i.saturating_add(1);
            continue;
        }
        let mut step = 1_usize;
        match state {
            State::Comment => {}
            State::Basic | State::MultiBasic if byte == b'\\' => step = 2,
            State::Basic if byte == b'"' => state = State::Code,
            State::Literal if byte == b'\'' => state = State::Code,
            State::MultiBasic if starts(i, b"\"\"\"") => {
                state = State::Code;
                step = 3;
            }
            State::MultiLiteral if starts(i, b"'''") => {
                state = State::Code;
                step = 3;
            }
            State::Basic | State::Literal | State::MultiBasic | State::MultiLiteral => {}
            State::Code => match byte {
                b'#' => state = State::Comment,
                b'"' if starts(i, b"\"\"\"") => {
                    state = State::MultiBasic;
                    step = 3;
                }
                b'"' => state = State::Basic,
                b'\'' if starts(i, b"'''") => {
                    state = State::MultiLiteral;
                    step = 3;
                }
                b'\'' => state = State::Literal,
                b'[' | b'{' => depth = depth.saturating_add(1),
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'.' => dots_on_line = dots_on_line.saturating_add(1),
                _ => {}
            },
        }
        if depth.saturating_add(dots_on_line) > MAX_NESTING {
            return Err(PolicyError::TooDeep {
                format: Format::Toml,
                line,
            });
        }
        i = i.saturating_add(step);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_and_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncd", 4), (2, 2));
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep_json = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(matches!(
            check_json_depth(&deep_json, MAX_NESTING),
            Err(PolicyError::TooDeep { .. })
        ));
        let deep_toml = format!("a = {}{}", "[".repeat(40), "]".repeat(40));
        assert!(check_toml_depth(&deep_toml).is_err());
        let dotted = format!("{} = 1", vec!["a"; 40].join("."));
        assert!(check_toml_depth(&dotted).is_err());
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "a = \"{}\" # {}\nb = '''{}'''",
            "[".repeat(40),
            "{".repeat(40),
            "[".repeat(40)
        );
        assert!(check_toml_depth(&quoted).is_ok());
        assert!(check_json_depth(&format!("\"{}\\\"\"", "[".repeat(40)), MAX_NESTING).is_ok());
    }

    #[test]
    fn oversized_input_is_refused() {
        let big = " ".repeat(MAX_INPUT_LEN + 1);
        assert!(matches!(
            from_json::<serde_json::Value>(&big),
            Err(PolicyError::TooLarge { .. })
        ));
    }
}
