//! The pattern language: a small parser from `"%d%T[%p]%T%m%n"` to a list of items.
//!
//! | item | prints | | item | prints |
//! |---|---|---|---|---|
//! | `%m` | the message | | `%d{fmt}` | the time, `fmt` in strftime syntax plus `%L` = milliseconds |
//! | `%p` | the level | | `%F` | the source file |
//! | `%r` | ms since program start | | `%l` | the source line |
//! | `%c` | the logger's name | | `%T` | a tab |
//! | `%t` | the thread id | | `%n` | a newline |
//! | `%N` | the thread name | | `%%` | a percent sign |
//! | `%f` | the fiber id | | other text | itself |

use std::fmt;

use crate::time_format::DateFormat;

/// The time format `%d` uses when it has no `{argument}`: sylar's, plus milliseconds.
pub const DEFAULT_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S.%L";

// ANCHOR: item
/// One parsed piece of a pattern.
#[derive(Debug)]
pub(crate) enum Item {
    /// Text copied as is. `%T`, `%n`, `%%` and neighbouring plain text are folded into one
    /// literal at parse time, so rendering copies one slice instead of several.
    Literal(String),
    /// `%m`
    Message,
    /// `%p`
    Level,
    /// `%r`
    Elapsed,
    /// `%c`
    Logger,
    /// `%t`
    ThreadId,
    /// `%N`
    ThreadName,
    /// `%f`
    FiberId,
    /// `%d` or `%d{strftime}`
    Date(DateFormat),
    /// `%F`
    File,
    /// `%l`
    Line,
    /// A malformed piece kept by the lenient parser so that it shows in every line.
    Bad(String),
}
// ANCHOR_END: item

// ANCHOR: pattern_error
/// Why a pattern was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    position: usize,
    kind: PatternErrorKind,
}

/// The kinds of malformed pattern item.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternErrorKind {
    /// A `%` at the very end of the pattern.
    DanglingPercent,
    /// `%` followed by a character that names no item, e.g. `%q`.
    UnknownItem(char),
    /// `%{...}`: an argument with no item letter before it.
    BraceWithoutItem,
    /// `%d{` with no closing `}`.
    UnclosedBrace,
    /// A `%d{...}` time format containing a NUL byte, which strftime cannot take.
    NulInTimeFormat,
}
// ANCHOR_END: pattern_error

impl PatternError {
    /// Byte offset in the pattern of the `%` that starts the bad item.
    pub fn position(&self) -> usize {
        self.position
    }

    /// What is wrong with the item.
    pub fn kind(&self) -> &PatternErrorKind {
        &self.kind
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.position;
        match &self.kind {
            PatternErrorKind::DanglingPercent => write!(f, "dangling `%` at byte {at}"),
            PatternErrorKind::UnknownItem(c) => write!(f, "unknown item `%{c}` at byte {at}"),
            PatternErrorKind::BraceWithoutItem => {
                write!(f, "`{{` with no item letter before it at byte {at}")
            }
            PatternErrorKind::UnclosedBrace => write!(f, "`%d{{` never closed at byte {at}"),
            PatternErrorKind::NulInTimeFormat => {
                write!(f, "NUL byte in the time format at byte {at}")
            }
        }
    }
}

impl std::error::Error for PatternError {}

// ANCHOR: parse
/// Parses `pattern` into items. Every malformed piece is reported in `errors` and also
/// kept as an [`Item::Bad`], so the strict constructor can refuse the pattern and the
/// lenient one can render it. Never panics, whatever the input.
pub(crate) fn parse(pattern: &str) -> (Vec<Item>, Vec<PatternError>) {
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.char_indices().peekable();

    while let Some((start, c)) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        let Some((_, letter)) = chars.next() else {
            flush_literal(&mut literal, &mut items);
            errors.push(bad(
                &mut items,
                start,
                PatternErrorKind::DanglingPercent,
                "%",
            ));
            break;
        };
        let item = match letter {
            '%' => Some("%"),
            'T' => Some("\t"),
            'n' => Some("\n"),
            _ => None,
        };
        if let Some(text) = item {
            literal.push_str(text);
            continue;
        }
        flush_literal(&mut literal, &mut items);
        match letter {
            'm' => items.push(Item::Message),
            'p' => items.push(Item::Level),
            'r' => items.push(Item::Elapsed),
            'c' => items.push(Item::Logger),
            't' => items.push(Item::ThreadId),
            'N' => items.push(Item::ThreadName),
            'f' => items.push(Item::FiberId),
            'F' => items.push(Item::File),
            'l' => items.push(Item::Line),
            'd' => {
                let argument = if chars.peek().is_some_and(|&(_, c)| c == '{') {
                    chars.next();
                    match take_until_brace(&mut chars, pattern) {
                        Some(arg) => arg,
                        None => {
                            let kind = PatternErrorKind::UnclosedBrace;
                            errors.push(bad(&mut items, start, kind, &pattern[start..]));
                            break;
                        }
                    }
                } else {
                    ""
                };
                let format = if argument.is_empty() {
                    DEFAULT_TIME_FORMAT
                } else {
                    argument
                };
                match DateFormat::new(format) {
                    Some(date) => items.push(Item::Date(date)),
                    None => {
                        let kind = PatternErrorKind::NulInTimeFormat;
                        let text = format!("%d{{{}}}", argument.replace('\0', "\\0"));
                        errors.push(bad(&mut items, start, kind, &text));
                    }
                }
            }
            '{' => {
                // Swallow the argument too, so the error shows the whole piece.
                let arg = take_until_brace(&mut chars, pattern).unwrap_or(&pattern[start + 2..]);
                let text = format!("%{{{arg}}}");
                errors.push(bad(
                    &mut items,
                    start,
                    PatternErrorKind::BraceWithoutItem,
                    &text,
                ));
            }
            other => {
                let kind = PatternErrorKind::UnknownItem(other);
                errors.push(bad(&mut items, start, kind, &format!("%{other}")));
            }
        }
    }
    flush_literal(&mut literal, &mut items);
    (items, errors)
}
// ANCHOR_END: parse

/// Moves pending literal text into an item.
fn flush_literal(literal: &mut String, items: &mut Vec<Item>) {
    if !literal.is_empty() {
        items.push(Item::Literal(std::mem::take(literal)));
    }
}

/// Records a malformed piece: returns the error and keeps a visible [`Item::Bad`].
fn bad(items: &mut Vec<Item>, position: usize, kind: PatternErrorKind, text: &str) -> PatternError {
    let error = PatternError { position, kind };
    items.push(Item::Bad(format!("<<{text}: {error}>>")));
    error
}

/// After a `{`: returns the text up to the matching `}` and consumes it, or `None` (having
/// consumed the rest of the pattern) if there is no `}`.
fn take_until_brace<'p>(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'p>>,
    pattern: &'p str,
) -> Option<&'p str> {
    let from = chars.peek().map_or(pattern.len(), |&(i, _)| i);
    for (i, c) in chars.by_ref() {
        if c == '}' {
            return Some(&pattern[from..i]);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(pattern: &str) -> Vec<String> {
        parse(pattern)
            .0
            .iter()
            .map(|item| match item {
                Item::Literal(s) => format!("lit:{s}"),
                Item::Bad(s) => format!("bad:{s}"),
                Item::Date(_) => "date".to_owned(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn literals_tabs_newlines_and_percent_fold_into_one_item() {
        assert_eq!(shape("a%Tb%n%%c"), ["lit:a\tb\n%c"]);
    }

    #[test]
    fn every_item_letter_is_recognised() {
        assert_eq!(
            shape("%m%p%r%c%t%N%f%d%F%l"),
            [
                "Message",
                "Level",
                "Elapsed",
                "Logger",
                "ThreadId",
                "ThreadName",
                "FiberId",
                "date",
                "File",
                "Line"
            ]
        );
    }

    #[test]
    fn braces_after_other_items_are_literal_text() {
        assert_eq!(shape("%m{x}"), ["Message", "lit:{x}"]);
    }

    #[test]
    fn errors_carry_the_byte_offset_of_their_percent() {
        let (_, errors) = parse("ab%q %{x} %d{oops");
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.position(), e.kind().clone()))
            .collect();
        assert_eq!(
            found,
            [
                (2, PatternErrorKind::UnknownItem('q')),
                (5, PatternErrorKind::BraceWithoutItem),
                (10, PatternErrorKind::UnclosedBrace),
            ]
        );
    }

    #[test]
    fn multibyte_text_keeps_byte_offsets_right() {
        let (items, errors) = parse("日志%x");
        assert_eq!(errors[0].position(), "日志".len());
        assert!(matches!(&items[0], Item::Literal(s) if s == "日志"));
    }
}
