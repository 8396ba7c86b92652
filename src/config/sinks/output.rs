//! What every sink shares: the format it receives events in and the event keys it takes.

use serde::Deserialize;

use crate::event::Format;

/// The fields every sink accepts beside its own.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OutputConfig {
    /// `json` (default, the canonical event), `ecs`, `ocsf`, `cef` or `leef`.
    #[serde(default)]
    pub format: FormatName,
    /// For `leef`: the character between attributes. A tab by default; a space or any
    /// printable ASCII character except `=`, `|`, `\`, `-`, `:`, `.`, `'`, `_`, a letter
    /// or a digit; `x09` or `0x09` style hex is accepted too.
    #[serde(default)]
    pub leef_delimiter: Option<String>,
    /// Glob patterns over event keys (`*` matches any text, dots included; `?` one
    /// character; `[ab]` a class). When not empty, only matching events are taken.
    #[serde(default)]
    pub include_keys: Vec<String>,
    /// Glob patterns of event keys never taken; applied after `include_keys`.
    #[serde(default)]
    pub exclude_keys: Vec<String>,
}

/// The configured name of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    #[default]
    Json,
    Ecs,
    Ocsf,
    Cef,
    Leef,
}

impl OutputConfig {
    /// The format to encode to; a delimiter that does not parse falls back on the tab
    /// (validation refuses it before this is used).
    pub fn format(&self) -> Format {
        match self.format {
            FormatName::Json => Format::Json,
            FormatName::Ecs => Format::Ecs,
            FormatName::Ocsf => Format::Ocsf,
            FormatName::Cef => Format::Cef,
            FormatName::Leef => Format::Leef {
                delimiter: self
                    .leef_delimiter
                    .as_deref()
                    .map_or(Ok('\t'), parse_delimiter)
                    .unwrap_or('\t'),
            },
        }
    }
}

/// Reads a LEEF delimiter: one character, or its code in hex as `x09` or `0x09`.
pub fn parse_delimiter(text: &str) -> Result<char, String> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix('x'));
    let delimiter = match hex {
        Some(digits) if !digits.is_empty() => u32::from_str_radix(digits, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("{text:?} is not a character code in hex"))?,
        _ => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => {
                    return Err(format!(
                        "{text:?} must be one character, or hex such as x09"
                    ));
                }
            }
        }
    };
    // `-:.'_` occur in the values of devTime, src and cat, which QRadar reads unescaped;
    // beyond ASCII, some readers take U+2028 and the like for line breaks.
    let printable = delimiter == '\t' || delimiter == ' ' || delimiter.is_ascii_graphic();
    if !printable || delimiter.is_alphanumeric() || "=|\\-:.'_".contains(delimiter) {
        return Err(format!(
            "{text:?} cannot separate LEEF attributes: use a tab (the default), ^, or another \
             printable ASCII character that is not '=', '|', '\\', '-', ':', '.', \"'\", '_', \
             a letter or a digit"
        ));
    }
    Ok(delimiter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_one_character_or_hex() {
        assert_eq!(parse_delimiter("^"), Ok('^'));
        assert_eq!(parse_delimiter("\t"), Ok('\t'));
        assert_eq!(parse_delimiter("x09"), Ok('\t'));
        assert!(parse_delimiter("0x7C").is_err());
        assert_eq!(parse_delimiter("0x5e"), Ok('^'));
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("=").is_err());
        assert!(parse_delimiter(":").is_err() && parse_delimiter("x2D").is_err());
        for bad in ["x00", "x7f", "\u{2028}", "\n", "é"] {
            assert!(parse_delimiter(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_delimiter(" "), Ok(' '));
        assert!(
            parse_delimiter("x")
                .unwrap_err()
                .contains("cannot separate")
        );
        assert!(parse_delimiter("xzz").is_err());
    }
}
