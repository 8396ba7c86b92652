//! The character rules of syslog fields: what each part may hold, and how odd content is
//! escaped so that no field can end a message, forge a header or break its framing.

/// Writes `value` as an RFC 5424 header field: printable US-ASCII without spaces, at most
/// `max` bytes. Other characters become `_`; an empty value becomes the NILVALUE `-`.
pub fn push_header_field(out: &mut Vec<u8>, value: &str, max: usize) {
    let start = out.len();
    for c in value.chars().take(max) {
        out.push(if c.is_ascii_graphic() { c as u8 } else { b'_' });
    }
    if out.len() == start {
        out.push(b'-');
    }
}

/// Writes `value` as an RFC 5424 PARAM-VALUE, inside its quotes.
///
/// `"`, `\` and `]` are escaped with a backslash, as the RFC requires. Control characters
/// are written as `\n`, `\r`, `\t` or `\u00XX`, so that a value can never start a line;
/// a reader that follows the RFC sees those as written, and the MSG keeps the exact text.
pub fn push_param_value(out: &mut Vec<u8>, value: &str) {
    for c in value.chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if c.is_control() => push_control(out, c),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn push_control(out: &mut Vec<u8>, c: char) {
    match c {
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        c => out.extend_from_slice(format!("\\u{:04x}", u32::from(c)).as_bytes()),
    }
}

/// Escapes the ASCII control bytes of a MSG body the same way, for newline framing, where
/// a raw line feed would end the message. The JSON encoder never writes one; this holds
/// for any encoder.
pub fn escape_controls(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !body.iter().any(|b| b.is_ascii_control()) {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    for &b in body {
        if b.is_ascii_control() {
            push_control(&mut out, char::from(b));
        } else {
            out.push(b);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The largest `n <= max` at which `bytes[..n]` ends on a UTF-8 character boundary.
pub fn utf8_floor(bytes: &[u8], max: usize) -> usize {
    if max >= bytes.len() {
        return bytes.len();
    }
    let mut n = max;
    // A continuation byte (10xxxxxx) at `n` means `n` cuts a character.
    while n > 0 && bytes[n] & 0xC0 == 0x80 {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(value: &str, max: usize) -> String {
        let mut out = Vec::new();
        push_header_field(&mut out, value, max);
        String::from_utf8(out).unwrap()
    }

    fn param(value: &str) -> String {
        let mut out = Vec::new();
        push_param_value(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn header_fields_keep_printable_ascii_only_and_never_go_empty() {
        assert_eq!(header("user.login", 32), "user.login");
        assert_eq!(
            header("custom event|with spaces", 32),
            "custom_event|with_spaces"
        );
        assert_eq!(header("export\n|CEF:0|é", 32), "export_|CEF:0|_");
        assert_eq!(header("", 32), "-");
        assert_eq!(header(&"k".repeat(40), 32), "k".repeat(32));
    }

    #[test]
    fn param_values_escape_what_the_rfc_requires_and_every_control() {
        assert_eq!(param(r#"a"b\c]d"#), r#"a\"b\\c\]d"#);
        assert_eq!(
            param("one\ntwo\r\tnul\u{0}esc\u{1b}"),
            r"one\ntwo\r\tnul\u0000esc\u001b"
        );
        assert_eq!(param("élodie 漢字 😀"), "élodie 漢字 😀");
        assert_eq!(param("c1\u{85}"), r"c1\u0085");
    }

    #[test]
    fn bodies_lose_their_line_breaks_only_when_they_have_some() {
        assert!(matches!(
            escape_controls(b"{\"a\":1}"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(&*escape_controls(b"a\nb\x7f"), br"a\nb\u007f");
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let text = "aé漢😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        let cuts: Vec<usize> = (0..=11).map(|max| utf8_floor(text, max)).collect();
        assert_eq!(cuts, [0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10]);
        for cut in cuts {
            assert!(std::str::from_utf8(&text[..cut]).is_ok());
        }
    }
}
