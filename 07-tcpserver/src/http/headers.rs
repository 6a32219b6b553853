//! [`Headers`]: an ordered, case-insensitive list of header fields, stored so
//! that a connection can reuse it from one request to the next without
//! allocating.

use std::fmt;

// ANCHOR: headers
/// Header fields in the order they were added; names compare
/// case-insensitively (`content-type` finds `Content-Type`), and a name may
/// appear several times.
///
/// All names and values live back to back in one `String`, indexed by a `Vec`
/// of spans. Clearing keeps both allocations, so a session that reuses one
/// `Headers` per connection parses request after request without allocating.
/// Removing or replacing a field leaves its old text behind until the next
/// [`clear`](Headers::clear); that waste is bounded by what was inserted.
#[derive(Clone, Default)]
pub struct Headers {
    /// Every name and value, back to back.
    text: String,
    /// One entry a field, in order.
    fields: Vec<Field>,
}

/// Where one field's name and value lie in `Headers::text`.
#[derive(Clone, Copy, Debug)]
struct Field {
    /// Start of the name.
    start: usize,
    /// End of the name, start of the value.
    mid: usize,
    /// End of the value.
    end: usize,
}
// ANCHOR_END: headers

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The number of fields (a repeated name counts each time).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True if there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of the first field called `name` (any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| self.is_named(f, name))
            .map(|f| self.value(f))
    }

    /// The values of every field called `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |f| self.is_named(f, name))
            .map(|f| self.value(f))
    }

    /// True if a field called `name` (any case) is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every field as `(name, value)`, in order, names as they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone + '_ {
        self.fields
            .iter()
            .map(|f| (&self.text[f.start..f.mid], &self.text[f.mid..f.end]))
    }

    /// Adds a field after the others, keeping any with the same name.
    #[inline] // once a field of every request: no call
    pub fn append(&mut self, name: &str, value: &str) {
        let field = self.push_text(name, value);
        self.fields.push(field);
    }

    /// Sets `name` to `value`: the first field of that name takes the new value
    /// (and keeps its place), the others of that name are removed; with none,
    /// the field is appended.
    #[inline] // a servlet's `set_content_type`: usually a new name, no call
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.position(name) {
            Some(first) => self.replace(first, name, value),
            None => self.append(name, value),
        }
    }

    /// [`insert`](Self::insert) when field `first` is the first called `name`.
    fn replace(&mut self, first: usize, name: &str, value: &str) {
        let field = self.push_text(name, value);
        self.fields[first] = field;
        let mut index = 0;
        let text = self.text.as_bytes();
        self.fields.retain(|f| {
            let keep =
                index <= first || !text[f.start..f.mid].eq_ignore_ascii_case(name.as_bytes());
            index += 1;
            keep
        });
    }

    /// Removes every field called `name` (any case); true if there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.fields.len();
        let text = self.text.as_bytes();
        self.fields
            .retain(|f| !text[f.start..f.mid].eq_ignore_ascii_case(name.as_bytes()));
        self.fields.len() != before
    }

    /// Removes every field, keeping the memory for the next use.
    pub fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
    }

    /// True if `token` is one of the comma-separated elements of any `name`
    /// field, ignoring case and spaces: `has_token("connection", "close")`
    /// matches `Connection: keep-alive, Close`.
    #[inline] // twice a request, usually to find no such field: no call
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        // Nested `any`s rather than `flat_map`: the same search, without
        // the flattening adapter's state (twice per request, for
        // `Connection`).
        self.get_all(name).any(|value| list_has(value, token))
    }

    /// Releases memory above `keep` bytes of text (after an unusually large
    /// request), so that an idle connection does not hold on to it.
    pub(crate) fn shrink_to(&mut self, keep: usize) {
        if self.text.capacity() > keep {
            self.text = String::with_capacity(keep);
            self.fields = Vec::new();
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| self.is_named(f, name))
    }

    // ANCHOR: is_named
    /// True if `field` is called `name` (any case). The name is compared as
    /// bytes: slicing the `str` would check both ends for a character
    /// boundary, on every field of every lookup.
    fn is_named(&self, field: &Field, name: &str) -> bool {
        self.text.as_bytes()[field.start..field.mid].eq_ignore_ascii_case(name.as_bytes())
    }
    // ANCHOR_END: is_named

    /// The value of `field`.
    fn value(&self, field: &Field) -> &str {
        &self.text[field.mid..field.end]
    }

    #[inline] // part of `append`, inlined with it
    fn push_text(&mut self, name: &str, value: &str) -> Field {
        let start = self.text.len();
        self.text.push_str(name);
        let mid = self.text.len();
        self.text.push_str(value);
        Field {
            start,
            mid,
            end: self.text.len(),
        }
    }

    /// The field spans as (start, end), for the unit tests' look at reuse.
    #[cfg(test)]
    fn spans(&self) -> Vec<(usize, usize)> {
        self.fields.iter().map(|f| (f.start, f.end)).collect()
    }
}

/// True if `token` is one of the comma-separated elements of `value`,
/// ignoring case and spaces.
fn list_has(value: &str, token: &str) -> bool {
    value.split(',').any(|element| {
        element
            .trim_matches([' ', '\t'])
            .eq_ignore_ascii_case(token)
    })
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Headers {
    /// Same fields in the same order (names compared ignoring case).
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((n1, v1), (n2, v2))| n1.eq_ignore_ascii_case(n2) && v1 == v2)
    }
}

impl Eq for Headers {}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.append(name, value);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_keep_order() {
        let mut h = Headers::new();
        h.append("Content-Type", "text/plain");
        h.append("X-A", "1");
        h.append("x-a", "2");
        assert_eq!(h.get("content-type"), Some("text/plain"));
        assert_eq!(h.get_all("X-a").collect::<Vec<_>>(), ["1", "2"]);
        assert!(h.contains("CONTENT-TYPE"));
        assert!(!h.contains("Content"));
        assert_eq!(h.len(), 3);
        let names: Vec<_> = h.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["Content-Type", "X-A", "x-a"]);
    }

    #[test]
    fn insert_replaces_in_place_and_drops_duplicates() {
        let mut h: Headers = [("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")]
            .into_iter()
            .collect();
        h.insert("A", "new");
        let all: Vec<_> = h.iter().collect();
        assert_eq!(all, [("A", "new"), ("B", "2"), ("C", "4")]);
        h.insert("D", "5");
        assert_eq!(h.get("d"), Some("5"));
        assert_eq!(h.len(), 4);
    }

    #[test]
    fn remove_reports_whether_anything_went() {
        let mut h: Headers = [("A", "1"), ("a", "2"), ("B", "3")].into_iter().collect();
        assert!(h.remove("A"));
        assert!(!h.remove("A"));
        assert_eq!(h.iter().collect::<Vec<_>>(), [("B", "3")]);
    }

    #[test]
    fn clear_keeps_the_memory() {
        let mut h = Headers::new();
        h.append("Host", "example.com");
        let capacity = h.text.capacity();
        h.clear();
        assert!(h.is_empty());
        assert_eq!(h.text.capacity(), capacity);
        h.append("Host", "x");
        assert_eq!(h.spans(), [(0, 5)]);
    }

    #[test]
    fn tokens_are_found_in_lists() {
        let h: Headers = [
            ("Connection", "keep-alive, Close"),
            ("connection", "upgrade"),
        ]
        .into_iter()
        .collect();
        assert!(h.has_token("connection", "close"));
        assert!(h.has_token("Connection", "UPGRADE"));
        assert!(!h.has_token("connection", "clo"));
    }

    #[test]
    fn equality_ignores_name_case_only() {
        let a: Headers = [("A", "x")].into_iter().collect();
        let b: Headers = [("a", "x")].into_iter().collect();
        let c: Headers = [("a", "X")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
