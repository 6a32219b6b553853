//! The rules for variable names, and how YAML keys are folded onto them.
//!
//! A name is one or more parts joined by dots (`tcp.connect.timeout`). A part is
//! made of lowercase ASCII letters, the ten digits and `_`. sylar's C++ check listed
//! the characters `abcdefghijklmnopqrstuvwxyz._012345678` and so forgot the digit 9;
//! here the test is a range, `'0'..='9'`, and a test names every digit.
//!
//! Names in code are strict (an uppercase name is an error), keys in YAML files are
//! forgiving: they are folded to lowercase before matching, so `Port:` in a file sets
//! the variable `port`. Two keys that fold to the same name are reported by the loader.

/// Why a name is not a valid variable name, or `Ok` when it is.
///
/// The reason is a phrase that completes "the name ... ": it ends up in
/// [`ConfigError::InvalidName`](crate::ConfigError::InvalidName).
// ANCHOR: check_name
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if !name.chars().all(is_name_char) {
        return Err("may contain only lowercase letters a-z, digits 0-9, '.' and '_'");
    }
    if name.split('.').any(str::is_empty) {
        return Err("has an empty part (a leading, trailing or doubled '.')");
    }
    Ok(())
}

/// The characters a name may hold: all ten digits, unlike sylar's list.
fn is_name_char(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | '.' | '_')
}
// ANCHOR_END: check_name

/// Folds a YAML key to the name it sets: ASCII letters are lowercased.
///
/// Returns `None` when the folded key still is not a valid name (say `max-conn` or
/// `a b`): such a key can never set a variable, and the loader lists it in
/// [`LoadReport::invalid_keys`](crate::LoadReport::invalid_keys).
// ANCHOR: fold_key
pub(crate) fn fold_key(key: &str) -> Option<String> {
    let folded = key.to_ascii_lowercase();
    check_name(&folded).is_ok().then_some(folded)
}
// ANCHOR_END: fold_key

/// Joins a parent name and a child part with a dot (no dot at the top level).
pub(crate) fn join(parent: Option<&str>, part: &str) -> String {
    match parent {
        Some(parent) => format!("{parent}.{part}"),
        None => part.to_owned(),
    }
}

/// Every proper ancestor of a dotted name, nearest first: `a.b.c` gives `a.b`, `a`.
pub(crate) fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    name.char_indices()
        .rev()
        .filter(|&(_, c)| c == '.')
        .map(move |(i, _)| &name[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_digit_is_a_name_character() {
        for digit in '0'..='9' {
            assert!(check_name(&format!("port{digit}")).is_ok(), "digit {digit}");
        }
    }

    #[test]
    fn structural_mistakes_are_rejected() {
        for bad in ["", ".a", "a.", "a..b", "A", "a-b", "a b", "é"] {
            assert!(check_name(bad).is_err(), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn keys_fold_to_lowercase_names() {
        assert_eq!(fold_key("Space.NUM").as_deref(), Some("space.num"));
        assert_eq!(fold_key("max-conn"), None);
    }

    #[test]
    fn ancestors_are_listed_nearest_first() {
        assert_eq!(ancestors("a.b.c").collect::<Vec<_>>(), ["a.b", "a"]);
        assert_eq!(ancestors("a").count(), 0);
    }
}
