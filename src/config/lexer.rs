//! Splits one configuration line into words, the way HAProxy 2.6's `parse_line()` does.
//!
//! configuration.txt §2.2 (quoting and escaping) and §2.3 (environment variables):
//! blanks separate words, `#` starts a comment, `"…"` protects blanks and expands
//! `$VAR` / `${VAR}` / `${VAR-default}` / `${VAR[*]}`, `'…'` protects everything,
//! and backslash escapes work outside single quotes.

/// The most words one line may hold (HAProxy's `MAX_LINE_ARGS`).
pub const MAX_WORDS: usize = 64;

/// Why a line could not be split; positions are byte offsets into the raw line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexError {
    /// A quote opened at `at` was never closed.
    UnmatchedQuote {
        /// Offset of the quote.
        at: usize,
    },
    /// `\x` not followed by two hex digits.
    BadHex {
        /// Offset of the backslash.
        at: usize,
    },
    /// `${` without a matching `}`.
    UnmatchedBrace {
        /// Offset after the dollar sign.
        at: usize,
    },
    /// `$` followed by something that cannot start a variable name.
    BadVarName {
        /// Offset after the dollar sign.
        at: usize,
    },
    /// More than [`MAX_WORDS`] words; `pos` is HAProxy's 1-based offset of word 64.
    TooManyWords {
        /// 1-based offset of word 64 in the joined words.
        pos: usize,
        /// Word 64.
        word: String,
    },
}

impl LexError {
    /// Byte offset in the raw line that a caret should point at, when there is one.
    pub fn caret(&self) -> Option<usize> {
        match self {
            LexError::UnmatchedQuote { at }
            | LexError::BadHex { at }
            | LexError::UnmatchedBrace { at }
            | LexError::BadVarName { at } => Some(*at),
            LexError::TooManyWords { .. } => None,
        }
    }

    /// HAProxy's wording of the error, without location prefix.
    pub fn message(&self) -> String {
        match self {
            LexError::UnmatchedQuote { at } => format!("unmatched quote at position {}", at + 1),
            LexError::BadHex { at } => {
                format!(
                    "truncated or invalid hexadecimal sequence at position {}",
                    at + 1
                )
            }
            LexError::UnmatchedBrace { at } => format!(
                "unmatched brace in environment variable name at position {}",
                at + 1
            ),
            LexError::BadVarName { at } => format!(
                "forbidden first char in environment variable name at position {}",
                at + 1
            ),
            LexError::TooManyWords { pos, word } => {
                format!(
                    "too many words, truncating after word {MAX_WORDS}, position {pos}: <{word}>."
                )
            }
        }
    }
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t' || c == b'\r' || c == b'\n'
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits `line` (without its trailing newline) into words, expanding variables through `env`.
///
/// An empty result means a blank or comment-only line. Words stay bytes (a `\xff` escape
/// is one byte, as in haproxy); keywords read them as text through [`text`].
pub fn split_words(
    line: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Vec<u8>>, LexError> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut in_word = false;
    let mut i = 0;
    let n = line.len();
    while i < n {
        let c = line[i];
        if is_blank(c) {
            if in_word {
                words.push(std::mem::take(&mut cur));
                in_word = false;
            }
            i += 1;
            continue;
        }
        if c == b'#' {
            break;
        }
        in_word = true;
        match c {
            b'\'' => {
                let start = i;
                i += 1;
                while i < n && line[i] != b'\'' {
                    cur.push(line[i]);
                    i += 1;
                }
                if i >= n {
                    return Err(LexError::UnmatchedQuote { at: start });
                }
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    if i >= n {
                        return Err(LexError::UnmatchedQuote { at: start });
                    }
                    let d = line[i];
                    if d == b'"' {
                        i += 1;
                        break;
                    }
                    if d == b'\\' {
                        i = escape(line, i, &mut cur, true)?;
                        continue;
                    }
                    if d == b'$' {
                        i = expand_var(line, i, &mut cur, &mut words, env)?;
                        continue;
                    }
                    cur.push(d);
                    i += 1;
                }
            }
            b'\\' => {
                i = escape(line, i, &mut cur, false)?;
            }
            _ => {
                cur.push(c);
                i += 1;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    if words.len() > MAX_WORDS {
        let pos = words[..MAX_WORDS - 1]
            .iter()
            .map(|w| w.len() + 1)
            .sum::<usize>()
            + 1;
        return Err(LexError::TooManyWords {
            pos,
            word: String::from_utf8_lossy(&words[MAX_WORDS - 1]).into_owned(),
        });
    }
    // haproxy's words are C strings: a `\x00` ends one.
    for w in &mut words {
        if let Some(nul) = w.iter().position(|&b| b == 0) {
            w.truncate(nul);
        }
    }
    Ok(words)
}

/// A word as text, for keyword names and arguments that are text (anything not UTF-8 is
/// replaced: no keyword or name haproxy accepts needs it).
pub fn text(word: &[u8]) -> String {
    String::from_utf8_lossy(word).into_owned()
}

/// Handles a backslash at `i`; returns the index after the escape.
fn escape(line: &[u8], i: usize, cur: &mut Vec<u8>, in_dquote: bool) -> Result<usize, LexError> {
    let Some(&next) = line.get(i + 1) else {
        cur.push(b'\\');
        return Ok(i + 1);
    };
    match next {
        b' ' | b'#' | b'\\' | b'\'' | b'"' => cur.push(next),
        b'$' if in_dquote => cur.push(b'$'),
        b'n' => cur.push(b'\n'),
        b'r' => cur.push(b'\r'),
        b't' => cur.push(b'\t'),
        b'x' => {
            let h = line.get(i + 2).copied().and_then(hex_val);
            let l = line.get(i + 3).copied().and_then(hex_val);
            match (h, l) {
                (Some(h), Some(l)) => {
                    cur.push(h << 4 | l);
                    return Ok(i + 4);
                }
                _ => return Err(LexError::BadHex { at: i }),
            }
        }
        // HAProxy keeps unknown escapes as they are written.
        _ => {
            cur.push(b'\\');
            cur.push(next);
        }
    }
    Ok(i + 2)
}

/// Expands the variable whose `$` is at `i` (inside double quotes).
fn expand_var(
    line: &[u8],
    i: usize,
    cur: &mut Vec<u8>,
    words: &mut Vec<Vec<u8>>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<usize, LexError> {
    let mut j = i + 1;
    let braced = line.get(j) == Some(&b'{');
    if braced {
        j += 1;
    }
    let name_start = j;
    let first_ok = line
        .get(j)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_');
    if !first_ok {
        return Err(LexError::BadVarName { at: i + 1 });
    }
    while j < line.len() && (line[j].is_ascii_alphanumeric() || line[j] == b'_') {
        j += 1;
    }
    let name = String::from_utf8_lossy(&line[name_start..j]).into_owned();
    let mut default: Option<Vec<u8>> = None;
    let mut split = false;
    if braced {
        if line.get(j) == Some(&b'[') && line[j..].starts_with(b"[*]") {
            split = true;
            j += 3;
        }
        if line.get(j) == Some(&b'-') {
            let dstart = j + 1;
            let mut k = dstart;
            while k < line.len() && line[k] != b'}' && line[k] != b'"' {
                k += 1;
            }
            default = Some(line[dstart..k].to_vec());
            j = k;
        }
        if line.get(j) != Some(&b'}') {
            return Err(LexError::UnmatchedBrace { at: i + 1 });
        }
        j += 1;
    }
    let value: Vec<u8> = match env(&name) {
        Some(v) => v.into_bytes(),
        None => default.unwrap_or_default(),
    };
    if split {
        // `${V[*]}` turns the value's blank-separated parts into separate words.
        let mut parts = value
            .split(|c| is_blank(*c))
            .filter(|p| !p.is_empty())
            .peekable();
        while let Some(p) = parts.next() {
            cur.extend_from_slice(p);
            if parts.peek().is_some() {
                words.push(std::mem::take(cur));
            }
        }
    } else {
        cur.extend_from_slice(&value);
    }
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "ORX" => Some("val".into()),
            "ORX_EMPTY" => Some(String::new()),
            "ORX_LIST" => Some("p q r".into()),
            _ => None,
        }
    }

    fn words(s: &str) -> Vec<String> {
        split_words(s.as_bytes(), &env)
            .expect("lexes")
            .iter()
            .map(|w| text(w))
            .collect()
    }

    #[test]
    fn escapes_stay_bytes() {
        let w = split_words(br#"send "\xff\x01a\x00b" \xc3"#, &env).expect("lexes");
        assert_eq!(w, vec![b"send".to_vec(), vec![0xff, 1, b'a'], vec![0xc3]]);
    }

    #[test]
    fn quoting_and_escapes_follow_haproxy() {
        assert_eq!(words(r"a\ b"), vec!["a b"]);
        assert_eq!(words(r#""a b#c""#), vec!["a b#c"]);
        assert_eq!(words(r#"'x"$HOME\n'"#), vec![r#"x"$HOME\n"#]);
        assert_eq!(words(r#""\x41\t\$"z'q'"#), vec!["A\t$zq"]);
        assert_eq!(words(r"a\qb a\$b"), vec![r"a\qb", r"a\$b"]);
        assert_eq!(
            words("default_backend ab#comment"),
            vec!["default_backend", "ab"]
        );
        assert_eq!(words(r#""""#), vec![""]);
        assert!(words("   # only a comment").is_empty());
    }

    #[test]
    fn variables_expand_only_in_double_quotes() {
        assert_eq!(
            words(r#""${ORX}-$ORX-${ORX_UNSET}-${ORX_UNSET-dflt}-${ORX_EMPTY-dflt}""#),
            vec!["val-val--dflt-"]
        );
        assert_eq!(words("$ORX"), vec!["$ORX"]);
        assert_eq!(words(r#"x "${ORX_LIST[*]}""#), vec!["x", "p", "q", "r"]);
    }

    #[test]
    fn errors_carry_haproxy_positions() {
        let e = split_words(br#"  bind 127.0.0.1:9000 "abc"#, &env).unwrap_err();
        assert_eq!(e.message(), "unmatched quote at position 23");
        let e = split_words(br".notice \x41\x4g", &env).unwrap_err();
        assert_eq!(
            e.message(),
            "truncated or invalid hexadecimal sequence at position 13"
        );
        let e = split_words(br#".notice "${NOPE:-x}""#, &env).unwrap_err();
        assert_eq!(
            e.message(),
            "unmatched brace in environment variable name at position 11"
        );
        let e = split_words(br#".notice "$""#, &env).unwrap_err();
        assert_eq!(
            e.message(),
            "forbidden first char in environment variable name at position 11"
        );
    }

    #[test]
    fn too_many_words_is_reported_like_haproxy() {
        let mut line = String::from("  log-tag");
        for i in 2..72 {
            line.push_str(&format!(" w{i}"));
        }
        let e = split_words(line.as_bytes(), &env).unwrap_err();
        assert_eq!(
            e.message(),
            "too many words, truncating after word 64, position 249: <w64>."
        );
    }
}
