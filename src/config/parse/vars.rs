//! Variable names and the `set-var`, `set-var-fmt` and `unset-var` actions (vars.c
//! `vars_hash_name`, `parse_store`), with haproxy's messages. Every `proc.` name met is
//! remembered: haproxy creates those variables, empty, when it reads the configuration.

use std::cell::RefCell;

use super::sample::{self, expr_words, SampleError};
use super::value_format::{parse_format_on, unavailable};
use crate::ir::vars::{SetVar, VarConds, VarName, VarScope, VarValue};

thread_local! {
    /// The `proc.` variable names parsed on this thread since the last take.
    static PROC_NAMES: RefCell<Vec<Box<str>>> = const { RefCell::new(Vec::new()) };
}

/// The `proc.` names parsed since the last call, each once, in first-seen order.
pub fn take_proc_names() -> Vec<Box<str>> {
    PROC_NAMES.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

/// A variable name as `vars_hash_name` checks it.
pub fn var_name(s: &str) -> Result<VarName, String> {
    if s.is_empty() {
        return Err("Empty variable name cannot be accepted".into());
    }
    let scopes = [
        ("proc.", VarScope::Proc),
        ("sess.", VarScope::Sess),
        ("txn.", VarScope::Txn),
        ("req.", VarScope::Req),
        ("res.", VarScope::Res),
        ("check.", VarScope::Check),
    ];
    let Some((scope, name)) = scopes.iter().find_map(|(p, sc)| {
        s.strip_prefix(p)
            .filter(|rest| !rest.is_empty())
            .map(|rest| (*sc, rest))
    }) else {
        return Err(format!("invalid variable name '{s}'. A variable name must be start by its scope. The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'"));
    };
    if let Some(at) = bad_char(name) {
        return Err(format!("invalid syntax at char '{}'", &name[at..]));
    }
    if scope == VarScope::Proc {
        PROC_NAMES.with(|p| {
            let mut p = p.borrow_mut();
            if !p.iter().any(|n| &**n == name) {
                p.push(name.into());
            }
        });
    }
    Ok(VarName {
        scope,
        name: name.into(),
    })
}

/// Where the name after the scope (or the whole text) has a character a variable name
/// cannot have.
fn bad_char(s: &str) -> Option<usize> {
    let name = ["proc.", "sess.", "txn.", "req.", "res.", "check."]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s);
    let skip = s.len() - name.len();
    name.char_indices()
        .find(|(_, c)| !c.is_ascii_alphanumeric() && *c != '_' && *c != '.')
        .map(|(i, _)| skip + i)
}

/// The conditions haproxy's `conditions_array` names.
const CONDITIONS: [(&str, u8); 8] = [
    ("ifexists", VarConds::IFEXISTS),
    ("ifnotexists", VarConds::IFNOTEXISTS),
    ("ifempty", VarConds::IFEMPTY),
    ("ifnotempty", VarConds::IFNOTEMPTY),
    ("ifset", VarConds::IFSET),
    ("ifnotset", VarConds::IFNOTSET),
    ("ifgt", VarConds::IFGT),
    ("iflt", VarConds::IFLT),
];

/// Whether `word` names a variable action (`set-var(…)`, `set-var-fmt(…)`,
/// `unset-var(…)`, or one of them left incomplete).
pub fn is_var_action(word: &str) -> bool {
    ["set-var", "unset-var"].iter().any(|p| word.starts_with(p))
}

/// A variable action whose word is `words[i]`, its value read from the next words
/// (`response`: the rule runs on responses, as for formats). Returns the action and the
/// index of the word after it, or haproxy's message.
pub fn var_action(
    words: &[String],
    i: usize,
    response: Option<bool>,
) -> Result<(SetVar, usize), SampleError> {
    let word = words[i].as_str();
    let (kind, rest) = if let Some(r) = word.strip_prefix("set-var-fmt") {
        (2, r)
    } else if let Some(r) = word.strip_prefix("set-var") {
        (1, r)
    } else {
        (0, word.strip_prefix("unset-var").unwrap_or(word))
    };
    let expects =
        "Expects 'set-var(<var-name>)', 'set-var-fmt(<var-name>)' or 'unset-var(<var-name>)'";
    let Some(inner) = rest.strip_prefix('(') else {
        return Err(SampleError::Invalid(format!(
            "invalid or incomplete action '{word}'. {expects}"
        )));
    };
    let Some(inner) = inner.strip_suffix(')') else {
        return Err(SampleError::Invalid(format!(
            "incomplete argument after action '{word}'. {expects}"
        )));
    };
    let mut parts = inner.split(',');
    let name = parts.next().unwrap_or("");
    let mut conds = VarConds::default();
    for c in parts.take_while(|c| !c.is_empty()) {
        if kind == 0 {
            return Err(SampleError::Invalid("unset-var does not expect parameters after the variable name. Only \"set-var\" and \"set-var-fmt\" manage conditions".into()));
        }
        match CONDITIONS.iter().find(|(n, _)| *n == c) {
            Some((_, bit)) => conds.0 |= bit,
            None => return Err(SampleError::Invalid(format!("unknown condition \"{c}\""))),
        }
    }
    // haproxy quotes the rest of the word from a bad character on, ')' included.
    let var = var_name(name).map_err(|e| match bad_char(name) {
        Some(at) if e.starts_with("invalid syntax") => {
            SampleError::Invalid(format!("invalid syntax at char '{}'", &rest[1 + at..]))
        }
        _ => SampleError::Invalid(e),
    })?;
    let (value, next) = match kind {
        0 => (VarValue::Unset, i + 1),
        1 => {
            let (text, next) = expr_words(words, i + 1);
            let end = words.get(next).map(String::as_str);
            let text = if text.is_empty() && matches!(end, None | Some("if" | "unless")) {
                String::new()
            } else {
                text
            };
            let p = sample::parse(&text, None)?;
            if let Some(what) = response.and_then(|r| unavailable(&p.expr.fetch, r)) {
                return Err(SampleError::Invalid(format!("fetch method '{word}' extracts information from '{what}', none of which is available here")));
            }
            (VarValue::Expr(p.expr), next)
        }
        _ => {
            let text = words.get(i + 1).map(String::as_str).unwrap_or("");
            (VarValue::Fmt(parse_format_on(text, response)?), i + 2)
        }
    };
    Ok((SetVar { var, conds, value }, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn names_and_conditions_as_haproxy_reads_them() {
        assert_eq!(var_name("txn.a_b.c").unwrap().scope, VarScope::Txn);
        assert_eq!(
            var_name("txn.a-b").unwrap_err(),
            "invalid syntax at char '-b'"
        );
        assert!(var_name("txn.")
            .unwrap_err()
            .starts_with("invalid variable name 'txn.'"));
        let (a, next) = var_action(
            &words("set-var(txn.x,ifnotexists,ifgt) int(3) if TRUE"),
            0,
            None,
        )
        .ok()
        .unwrap();
        assert_eq!(a.conds.0, VarConds::IFNOTEXISTS | VarConds::IFGT);
        assert_eq!(next, 2);
        assert!(matches!(
            var_action(&words("unset-var(txn.x,ifset)"), 0, None),
            Err(SampleError::Invalid(m)) if m.starts_with("unset-var does not expect")
        ));
        assert!(matches!(
            var_action(&words("set-var(txn.x"), 0, None),
            Err(SampleError::Invalid(m)) if m.starts_with("incomplete argument after action 'set-var(txn.x'")
        ));
    }
}
