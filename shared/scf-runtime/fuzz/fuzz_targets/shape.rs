//! Message shapes (digits folded): a message whose shape is one of a fixed list cannot echo its
//! input. Included with `#[path]` by the targets that check messages, here and in
//! shared/wxlogin/fuzz (key_file), so the one copy serves both.
#![allow(dead_code)]

/// `s` with every run of ASCII digits replaced by `#`: a message's shape.
pub fn shape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// The message is one of `templates` (digits aside): it cannot echo input text.
pub fn assert_shape(what: &str, msg: &str, templates: &[&str]) {
    let s = shape(msg);
    assert!(
        templates.contains(&s.as_str()),
        "{what}: message {s:?} is not one of the known shapes"
    );
}
