//! Splitting a page into its entries without parsing them, so that one entry no parser
//! accepts (a lone UTF-16 surrogate, nesting deeper than the parser allows) can be set
//! aside instead of blocking the whole page forever.

/// The byte ranges of a JSON array's elements, or `None` when the text is not one whole
/// array (cut off, or not an array at all). Strings and escapes are honoured; the
/// elements themselves are not checked.
pub fn split_array(body: &[u8]) -> Option<Vec<&[u8]>> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[start] != b'[' {
        return None;
    }
    let mut elements = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut element_start = start + 1;
    for (i, &byte) in body.iter().enumerate().skip(start + 1) {
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
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' if depth == 0 => {
                elements.push(trim(&body[element_start..i]));
                element_start = i + 1;
            }
            b']' => {
                let last = trim(&body[element_start..i]);
                if !last.is_empty() || !elements.is_empty() {
                    elements.push(last);
                }
                let rest = &body[i + 1..];
                return rest.iter().all(u8::is_ascii_whitespace).then_some(elements);
            }
            _ => {}
        }
    }
    None
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Option<Vec<String>> {
        split_array(text.as_bytes()).map(|parts| {
            parts
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect()
        })
    }

    #[test]
    fn elements_are_found_through_strings_and_nesting() {
        let parts = split(r#" [ {"a":"x,]}\"y"}, [1,[2]] ,3 ] "#).unwrap();
        assert_eq!(parts, [r#"{"a":"x,]}\"y"}"#, "[1,[2]]", "3"]);
        assert_eq!(split("[]").unwrap(), Vec::<String>::new());
        assert_eq!(
            split(r#"[{"bad":"\ud800"}]"#).unwrap(),
            [r#"{"bad":"\ud800"}"#]
        );
    }

    #[test]
    fn a_cut_or_foreign_body_is_not_split() {
        for text in [r#"[{"a":1},{"b":"#, r#"{"a":[1]}"#, "[1] x", "", "[\"]"] {
            assert_eq!(split(text), None, "{text}");
        }
    }
}
