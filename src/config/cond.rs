//! Conditions of `.if`/`.elif` blocks and of `-cc` (configuration.txt §2.4): terms
//! (integers as `strtol` reads them, `(expr)`, predicates, each negated by `!`) joined by
//! `&&` and `||`. Parsed and evaluated as haproxy 2.6's `cfgcond.c` does, so the verdicts,
//! the messages and the error positions are the same.

use std::cmp::Ordering;

/// A condition that does not parse: haproxy's message and the byte offset in the
/// condition text where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CondError {
    /// The message.
    pub msg: String,
    /// Offset of the character the message points at.
    pub at: usize,
}

/// What predicates look at.
pub struct Context<'a> {
    /// `defined(NAME)`: whether an environment variable is set.
    pub defined: &'a dyn Fn(&str) -> bool,
    /// `feature(NAME)`: the `-vv` feature list (`+NAME`/`-NAME` words).
    pub features: &'a str,
    /// `version_atleast`/`version_before`: the version to compare with.
    pub version: &'a str,
}

/// The `-vv` feature list: what `feature(NAME)` finds (`+NAME` is present).
pub const FEATURES: &str = "+ACCEPT4 +CPU_AFFINITY +EPOLL +GETADDRINFO -LUA +LINUX_TPROXY -OPENSSL -PCRE -PCRE2 -POLL -PROMEX -QUIC +RUSTLS +SYSTEMD +THREAD -ZLIB";

/// The HAProxy version whose configuration haproxide reads (`version_atleast`).
pub const VERSION: &str = "2.6.12";

/// haproxy's recursion limit for nested terms (`MAX_CFG_RECURSION`).
const MAX_DEPTH: i32 = 1024;

const PREDICATES: &[(&str, usize)] = &[
    ("defined", 1),
    ("feature", 1),
    ("streq", 2),
    ("strneq", 2),
    ("version_atleast", 1),
    ("version_before", 1),
];

/// A parsed term.
enum Term {
    Const(bool),
    Paren(Box<Expr>),
    /// Predicate name and its arguments (None: written without parentheses).
    Pred(&'static str, Option<Vec<String>>),
}

/// `a && b && …` of possibly negated terms.
struct And(Vec<(bool, Term)>);

/// `a || b || …`
struct Expr(Vec<And>);

/// What a parse step gives, as haproxy's return codes: something parsed and where it
/// ended (1), or nothing there and where its text pointer was left (0).
enum Step<T> {
    Got(T, usize),
    Empty(usize),
}

type Parsed<T> = Result<Step<T>, CondError>;

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
}

fn skip_blanks(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
        i += 1;
    }
    i
}

impl<'a> Parser<'a> {
    fn rest(&self, i: usize) -> &'a str {
        &self.text[i.min(self.text.len())..]
    }

    fn unparsable(&self, what: &str, at: usize) -> CondError {
        CondError {
            msg: format!("unparsable conditional {what} '{}'", self.rest(at)),
            at,
        }
    }

    /// `cfg_parse_cond_term`
    fn term(&self, start: usize, depth: i32) -> Parsed<(bool, Term)> {
        let s = self.s;
        let mut i = skip_blanks(s, start);
        if i >= s.len() {
            return Ok(Step::Empty(start));
        }
        if depth <= 0 {
            return Err(self.unparsable("expression", start));
        }
        let mut neg = false;
        while i < s.len() && s[i] == b'!' {
            neg = !neg;
            i = skip_blanks(s, i + 1);
        }
        if let Some((v, end)) = crate::config::parse::units::strtol0(self.rest(i)) {
            return Ok(Step::Got((neg, Term::Const(v != 0)), i + end));
        }
        if i < s.len() && s[i] == b'(' {
            let inner = skip_blanks(s, i + 1);
            let (e, j) = match self.expr(inner, depth - 1)? {
                Step::Got(e, j) => (e, skip_blanks(s, j)),
                Step::Empty(_) => return Err(self.unparsable("expression", start)),
            };
            if j >= s.len() || s[j] != b')' {
                return Err(CondError {
                    msg: format!(
                        "expected ')' after conditional expression '{}'",
                        self.rest(start)
                    ),
                    at: start,
                });
            }
            let j = skip_blanks(s, j + 1);
            return Ok(Step::Got((neg, Term::Paren(Box::new(e))), j));
        }
        let word_len = s[i..]
            .iter()
            .position(|&c| c == b' ' || c == b'(')
            .unwrap_or(s.len() - i);
        let word = &self.text[i..i + word_len];
        if let Some(&(name, nargs)) = PREDICATES.iter().find(|(n, _)| *n == word) {
            let (args, end) = self.args(name, nargs, i + word_len)?;
            return Ok(Step::Got((neg, Term::Pred(name, args)), end));
        }
        Err(self.unparsable("expression", start))
    }

    /// haproxy's `make_arg_list` for string arguments: `(a,b)` split at commas, no
    /// trimming, no escapes; no parenthesis means no arguments at all.
    fn args(
        &self,
        name: &str,
        want: usize,
        at: usize,
    ) -> Result<(Option<Vec<String>>, usize), CondError> {
        let s = self.s;
        if at >= s.len() || s[at] != b'(' {
            return Ok((None, at));
        }
        let mut args = Vec::new();
        let mut i = at + 1;
        loop {
            let end = s[i..]
                .iter()
                .position(|&c| c == b',' || c == b')')
                .map_or(s.len(), |p| i + p);
            args.push(self.text[i..end].to_string());
            // haproxy names argument 1 in every one of these messages.
            let fail = |msg: String, at: usize| CondError {
                msg: format!(
                    "{msg} in argument 1 of predicate '{name}' used in conditional expression"
                ),
                at,
            };
            if end >= s.len() && args.len() >= want {
                return Err(fail("expected ')'".into(), end));
            }
            if end >= s.len() || s[end] == b')' {
                if args.len() < want {
                    return Err(fail(
                        format!(
                            "missing arguments (got {}/{want}), type 'string' expected",
                            args.len()
                        ),
                        end,
                    ));
                }
                return Ok((Some(args), end + 1));
            }
            if args.len() == want {
                return Err(fail(
                    format!("expected ')' before '{}'", self.rest(end)),
                    end,
                ));
            }
            i = end + 1;
        }
    }

    /// One level of `a OP b OP …` (haproxy's `cfg_parse_cond_and` for `&&`, and
    /// `cfg_parse_cond_expr` for `||`): `item` parses each operand. A chain ending in a
    /// bare operator gives nothing back, its pointer left on the chain's first operator.
    /// `what` names the level in haproxy's messages; an operand that is missing is
    /// reported from the chain's start (`&&`) or from where the operand stopped (`||`).
    fn chain<T>(
        &self,
        start: usize,
        depth: i32,
        op: &str,
        what: &str,
        item: &dyn Fn(usize, i32) -> Parsed<T>,
    ) -> Parsed<Vec<T>> {
        if start >= self.s.len() {
            return Ok(Step::Empty(start));
        }
        if depth <= 0 {
            return Err(self.unparsable(what, start));
        }
        let (t, i) = match item(start, depth - 1)? {
            Step::Got(t, i) => (t, skip_blanks(self.s, i)),
            Step::Empty(stop) => {
                let at = if op == "&&" { start } else { stop };
                return Err(self.unparsable(what, at));
            }
        };
        if !self.rest(i).starts_with(op) {
            return Ok(Step::Got(vec![t], i));
        }
        let j = skip_blanks(self.s, i + 2);
        Ok(match self.chain(j, depth - 1, op, what, item)? {
            Step::Got(mut rest, k) => {
                rest.insert(0, t);
                Step::Got(rest, k)
            }
            Step::Empty(_) => Step::Empty(i),
        })
    }

    fn and(&self, start: usize, depth: i32) -> Parsed<And> {
        let terms = self.chain(start, depth, "&&", "sub-expression", &|at, d| {
            self.term(at, d)
        })?;
        Ok(match terms {
            Step::Got(v, k) => Step::Got(And(v), k),
            Step::Empty(at) => Step::Empty(at),
        })
    }

    fn expr(&self, start: usize, depth: i32) -> Parsed<Expr> {
        let ands = self.chain(start, depth, "||", "expression", &|at, d| self.and(at, d))?;
        Ok(match ands {
            Step::Got(v, k) => Step::Got(Expr(v), k),
            Step::Empty(at) => Step::Empty(at),
        })
    }
}

/// Compares `version` with `v` as haproxy's `compare_current_version` does (numbers
/// separated by dots and dashes, missing parts count as lower).
fn version_cmp(version: &str, v: &str) -> Ordering {
    let parse =
        |s: &str| -> Vec<u32> { s.split(['.', '-']).map_while(|p| p.parse().ok()).collect() };
    parse(version).cmp(&parse(v))
}

fn feature(list: &str, name: &str) -> bool {
    list.split_whitespace()
        .any(|w| w.strip_prefix('+') == Some(name))
}

impl Term {
    fn eval(&self, cx: &Context) -> bool {
        match self {
            Term::Const(v) => *v,
            Term::Paren(e) => e.eval(cx),
            Term::Pred(name, args) => {
                let arg = |k: usize| args.as_ref().and_then(|a| a.get(k)).map(String::as_str);
                match *name {
                    "defined" => arg(0).is_some_and(|n| !n.is_empty() && (cx.defined)(n)),
                    "feature" => arg(0).is_some_and(|n| feature(cx.features, n)),
                    "streq" => arg(0) == arg(1),
                    "strneq" => arg(0) != arg(1),
                    "version_atleast" => {
                        version_cmp(cx.version, arg(0).unwrap_or("")) != Ordering::Less
                    }
                    _ => version_cmp(cx.version, arg(0).unwrap_or("")) == Ordering::Less,
                }
            }
        }
    }
}

impl Expr {
    fn eval(&self, cx: &Context) -> bool {
        self.0
            .iter()
            .any(|and| and.0.iter().all(|(neg, t)| t.eval(cx) != *neg))
    }
}

/// Evaluates condition `text` (the words after `.if`, joined by single spaces). An empty
/// condition is false.
pub fn eval(text: &str, cx: &Context) -> Result<bool, CondError> {
    if text.is_empty() {
        return Ok(false);
    }
    let p = Parser {
        s: text.as_bytes(),
        text,
    };
    let (e, end) = match p.expr(0, MAX_DEPTH)? {
        Step::Got(e, end) => (e, end),
        Step::Empty(at) => {
            return Err(CondError {
                msg: format!("unparsable conditional expression '{text}'"),
                at,
            })
        }
    };
    let end = skip_blanks(p.s, end);
    if let Some(c) = text[end..].chars().next() {
        return Err(CondError {
            msg: format!(
                "unexpected character '{c}' at the end of conditional expression '{text}'"
            ),
            at: end,
        });
    }
    Ok(e.eval(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &str) -> Result<bool, (String, usize)> {
        let cx = Context {
            defined: &|n| n == "HOME" || n == "PATH",
            features: "+EPOLL -OPENSSL +RUSTLS +THREAD",
            version: "2.6.12",
        };
        eval(t, &cx).map_err(|e| (e.msg, e.at + 1))
    }

    // Verdicts and messages of haproxy 2.6.12 on the same conditions (position is
    // 1-based, as haproxy prints it).
    #[test]
    fn verdicts_match_haproxy() {
        for (t, v) in [
            ("defined(HOME) && defined(PATH)", true),
            ("defined(HOME) && !defined(NOPE) || 0", true),
            ("(1 || 0) && feature(EPOLL)", true),
            ("feature(OPENSSL)", false),
            ("!!0", false),
            ("0x10", true),
            ("defined(HOME)&&defined(PATH)", true),
            ("version_atleast(2.6.12) && version_before(2.7)", true),
            ("version_atleast(2.7)", false),
            ("streq(a, a)", false),
            ("streq(a,a)", true),
            ("defined()", false),
            ("defined", false),
            ("", false),
        ] {
            assert_eq!(run(t), Ok(v), "{t}");
        }
    }

    #[test]
    fn errors_match_haproxy() {
        for (t, msg, pos) in [
            ("a b", "unparsable conditional expression 'a b'", 1),
            ("defined(HOME) && bogus", "unparsable conditional expression 'bogus'", 18),
            ("(1", "expected ')' after conditional expression '(1'", 1),
            ("1 x", "unexpected character 'x' at the end of conditional expression '1 x'", 3),
            ("streq(a)", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 8),
            ("1 || bogus", "unparsable conditional expression 'bogus'", 6),
            ("streq(a,a,a)", "expected ')' before ',a)' in argument 1 of predicate 'streq' used in conditional expression", 10),
            ("streq(a,a", "expected ')' in argument 1 of predicate 'streq' used in conditional expression", 10),
            ("defined(HOME) &&", "unparsable conditional expression '&&'", 15),
            ("|| 1", "unparsable conditional expression '|| 1'", 1),
            ("1 ||", "unparsable conditional expression '1 ||'", 3),
            ("1 &&& 1", "unparsable conditional expression '& 1'", 5),
            ("1 && 1 &&", "unparsable conditional expression '&& 1 &&'", 3),
            ("defined(a,b)", "expected ')' before ',b)' in argument 1 of predicate 'defined' used in conditional expression", 10),
            ("streq()", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 7),
            ("defined(a", "expected ')' in argument 1 of predicate 'defined' used in conditional expression", 10),
            ("streq(a", "missing arguments (got 1/2), type 'string' expected in argument 1 of predicate 'streq' used in conditional expression", 8),
        ] {
            assert_eq!(run(t), Err((msg.to_string(), pos)), "{t}");
        }
    }
}
