//! [`PolicyError`]: the one error type of this crate.

use core::fmt;

/// Which text format a policy or context was read from.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML v1.0 (<https://toml.io/en/v1.0.0>).
    Toml,
    /// JSON (RFC 8259).
    Json,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Toml => "TOML",
            Self::Json => "JSON",
        })
    }
}

/// Why a policy set or a sign-in context could not be read or compiled.
///
/// Messages name the place (line and column, policy and field) and never echo more than a short
/// excerpt of the input.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// The input is longer than [`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN).
    TooLarge {
        /// The input length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Arrays and tables nest deeper than [`MAX_NESTING`](crate::MAX_NESTING).
    TooDeep {
        /// The format.
        format: Format,
        /// The 1-based line where the limit was crossed.
        line: usize,
    },
    /// The text is not valid in its format, or does not fit the model (an unknown or missing
    /// field, a wrong type, an unknown enum value).
    Syntax {
        /// The format.
        format: Format,
        /// The 1-based line, when the parser reported a place.
        line: Option<usize>,
        /// The 1-based column, when the parser reported a place.
        column: Option<usize>,
        /// The parser's message, which names the field (`unknown field `x``, `missing field `y``).
        message: String,
    },
    /// A network in CIDR notation is malformed.
    InvalidCidr {
        /// The text (at most 64 characters of it).
        text: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A sign-in frequency is not `every_time`, `<hours>h` or `<days>d` within range.
    InvalidSignInFrequency {
        /// The text (at most 64 characters of it).
        text: String,
    },
    /// The policy set parsed but does not make sense: a reference to an unknown strength or
    /// location, a grant that blocks and requires at once, a duplicate name.
    Invalid {
        /// The policy, strength or location concerned.
        item: String,
        /// The field concerned, as spelled in the native format.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, limit } => {
                write!(f, "input of {len} bytes is over the limit of {limit} bytes")
            }
            Self::TooDeep { format, line } => write!(
                f,
                "{format} nests deeper than {} levels at line {line}",
                crate::MAX_NESTING
            ),
            Self::Syntax {
                format,
                line,
                column,
                message,
            } => {
                write!(f, "{format}")?;
                if let Some(line) = line {
                    write!(f, " line {line}")?;
                }
                if let Some(column) = column {
                    write!(f, " column {column}")?;
                }
                write!(f, ": {message}")
            }
            Self::InvalidCidr { text, problem } => {
                write!(f, "invalid network `{text}`: {problem}")
            }
            Self::InvalidSignInFrequency { text } => write!(
                f,
                "invalid sign-in frequency `{text}`: expected `every_time`, `<1..=8760>h` or `<1..=365>d`"
            ),
            Self::Invalid {
                item,
                field,
                problem,
            } => write!(f, "`{item}`, field `{field}`: {problem}"),
        }
    }
}

impl std::error::Error for PolicyError {}
