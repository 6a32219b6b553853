//! A cheap look at how deeply a document nests its flow collections (`[...]`,
//! `{...}`), taken before the YAML parser sees it.
//!
//! serde_yaml refuses a document nested more than 128 levels deep, but only after
//! libyaml has read all of it, and libyaml's scanner does work proportional to the
//! flow nesting depth for every token, so the time grows with the square of the
//! depth: 100,000 `[` (100 KB) took six minutes in a debug build, 200,000 about four
//! times that. So the loader measures the flow depth first, in one linear pass, and
//! refuses a document beyond [`MAX_FLOW_DEPTH`] at once.
//!
//! The pass is not a YAML parser. It knows just enough to tell a bracket that opens
//! a collection from one that is text: a bracket counts only where a token can
//! start (not inside a plain scalar such as `a[0]`), and quoted scalars, comments
//! and block scalars (`|`, `>`) are skipped. Where it is unsure, it counts. It can
//! count a bracket of text only in rare layouts (a quoted scalar continued on
//! further lines, a block scalar's text at an unusual indentation), and the limit
//! leaves twice serde_yaml's room for those: a document nested deeper than 128
//! levels is refused either way. The pass guards against accidents, not against a
//! document written to mislead it (say, a continued quoted line that looks like a
//! block scalar's header): such a document reaches the parser, as every document
//! did before.

/// The deepest flow nesting the pass lets through to the parser: twice serde_yaml's
/// own limit of 128 levels, so that it is never the one to refuse a real document.
pub(crate) const MAX_FLOW_DEPTH: usize = 256;

// ANCHOR: check_flow_depth
/// Returns the 1-based line and column of the first `[` or `{` that opens a
/// collection more than [`MAX_FLOW_DEPTH`] levels deep, or `None` if there is none.
pub(crate) fn too_deep_at(text: &str) -> Option<(usize, usize)> {
    let mut depth = 0_usize;
    // Indentation above which the lines after a `|` or `>` are that scalar's text.
    let mut block_scalar: Option<usize> = None;
    for (index, line) in text.split('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if let Some(parent) = block_scalar {
            if line.trim().is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut scan = LineScan::new(line, depth);
        match scan.run() {
            Outcome::TooDeep(column) => return Some((index + 1, column)),
            Outcome::BlockScalar => block_scalar = Some(node_indent(line)),
            Outcome::EndOfLine => {}
        }
        depth = scan.depth;
    }
    None
}
// ANCHOR_END: check_flow_depth

/// How the scan of one line ended.
enum Outcome {
    /// At the end of the line.
    EndOfLine,
    /// At a `|` or `>` that starts a block scalar: the next lines may be its text.
    BlockScalar,
    /// At an opener too many, in this 1-based column (counted in characters).
    TooDeep(usize),
}

/// The scan of one line, carrying the flow depth across lines.
struct LineScan<'a> {
    line: &'a str,
    depth: usize,
}

impl<'a> LineScan<'a> {
    fn new(line: &'a str, depth: usize) -> Self {
        LineScan { line, depth }
    }

    /// Walks the line token by token. A quoted scalar is taken to end with its line
    /// at the latest: a multi-line one only makes the pass count a few brackets of
    /// text, never miss an opener on a later line.
    fn run(&mut self) -> Outcome {
        let mut chars = self.line.char_indices().peekable();
        // Whether the previous character was white space (or the line start), so a
        // `#` there starts a comment.
        let mut after_space = true;
        while let Some((at, c)) = chars.next() {
            let next = chars.peek().map(|&(_, n)| n);
            let spaced = |n: Option<char>| n.is_none_or(|n| n == ' ' || n == '\t' || n == '\r');
            match c {
                ' ' | '\t' | '\r' => {
                    after_space = true;
                    continue;
                }
                '#' if after_space => return Outcome::EndOfLine,
                '[' | '{' => {
                    self.depth += 1;
                    if self.depth > MAX_FLOW_DEPTH {
                        return Outcome::TooDeep(self.line[..at].chars().count() + 1);
                    }
                }
                ']' | '}' => self.depth = self.depth.saturating_sub(1),
                ',' => {}
                '\'' => skip_quoted(&mut chars, '\''),
                '"' => skip_quoted(&mut chars, '"'),
                '|' | '>' if self.depth == 0 => return Outcome::BlockScalar,
                '-' | '?' | ':' if spaced(next) => {}
                // A document marker, `---` or `...`, at the start of a line.
                '-' | '.'
                    if at == 0 && self.line.get(..3).is_some_and(|m| m == "---" || m == "...") =>
                {
                    chars.next();
                    chars.next();
                }
                // An anchor, alias or tag: up to white space or a flow indicator.
                '&' | '*' | '!' => while chars.next_if(|&(_, n)| !ends_word(n)).is_some() {},
                // A plain scalar: in a flow collection it ends at an indicator, in
                // block context only at `: ` or ` #` (brackets there are text).
                _ => {
                    let flow = self.depth > 0;
                    let mut previous = c;
                    while let Some(&(_, n)) = chars.peek() {
                        let after = chars.clone().nth(1).map(|(_, a)| a);
                        let ends = (n == ':' && spaced(after))
                            || (n == '#' && (previous == ' ' || previous == '\t'))
                            || (flow && matches!(n, ',' | '[' | ']' | '{' | '}'));
                        if ends {
                            break;
                        }
                        previous = n;
                        chars.next();
                    }
                    after_space = previous == ' ' || previous == '\t';
                    continue;
                }
            }
            after_space = false;
        }
        Outcome::EndOfLine
    }
}

/// Skips a quoted scalar's text up to its closing quote or the end of the line.
/// Inside `'...'` a doubled `''` is a quote; inside `"..."` a `\` escapes.
fn skip_quoted(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, quote: char) {
    while let Some((_, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.next_if(|&(_, n)| n == '\'').is_some() {
                continue;
            }
            return;
        }
    }
}

/// Whether `c` ends an anchor, alias or tag.
fn ends_word(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | ',' | '[' | ']' | '{' | '}')
}

/// The indentation of the node a line's block scalar belongs to: the column of its
/// first token after any `- ` and `? ` indicators. A block scalar's text is indented
/// more than that; taking the column of the line's first token could be too little
/// (`- key: |`) and would skip real lines.
fn node_indent(line: &str) -> usize {
    let mut column = 0;
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        column += rest.len() - trimmed.len();
        match trimmed.as_bytes() {
            [b'-' | b'?', b' ', ..] => {
                column += 1;
                rest = &trimmed[1..];
            }
            _ => return column,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(opener: &str, n: usize) -> String {
        opener.repeat(n)
    }

    #[test]
    fn only_real_openers_count() {
        let at_limit = format!("a: {}1{}\n", deep("[", 256), deep("]", 256));
        assert_eq!(too_deep_at(&at_limit), None);
        let over = format!("a:\n  - {}\n", deep("{x: [", 200));
        // `  - ` then pairs of five characters; the 257th opener starts pair 129.
        assert_eq!(too_deep_at(&over), Some((2, 4 + 5 * 128 + 1)));
        for text in [
            format!("a: x{}\n", deep("[", 300)),
            format!("a: '{}'\n", deep("[", 300)),
            format!("a: \"\\\"{}\"\n", deep("[", 300)),
            format!("a: 1 # {}\n", deep("[", 300)),
            format!("a: !tag 'x{}'\n", deep("[", 300)),
            format!(
                "- key: >\n    {}\n\n    {}\n",
                deep("[", 200),
                deep("{", 200)
            ),
        ] {
            assert_eq!(too_deep_at(&text), None, "{text}");
        }
    }

    #[test]
    fn a_document_marker_is_not_text() {
        let text = format!("--- {}\n", deep("[", 300));
        assert_eq!(too_deep_at(&text), Some((1, 4 + 257)));
    }

    #[test]
    fn a_block_scalar_ends_where_its_node_ends() {
        // `other` is indented more than the `-`, but it is the mapping's next key:
        // its openers count.
        let text = format!("- key: |\n    text\n  other: {}\n", deep("[", 300));
        assert_eq!(too_deep_at(&text), Some((3, 9 + 257)));
    }

    #[test]
    fn node_indent_skips_sequence_and_key_indicators() {
        assert_eq!(node_indent("key: |"), 0);
        assert_eq!(node_indent("  - - key: |"), 6);
        assert_eq!(node_indent("? |"), 2);
    }
}
