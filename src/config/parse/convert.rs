//! The converters of sample.c beyond the string basics, read as haproxy 2.6 reads them:
//! arguments by `make_arg_list`, then each converter's own check (`check_operator`,
//! `smp_check_concat`, `sample_conv_regsub_check`, `sample_conv_json_check` …) with its
//! message.

use super::sample::{make_args_at, read_int64, Arg, ArgType};
use super::vars::var_name;
use crate::ir::acl::{Conv, Regex, SmpType};
use crate::ir::conv::{
    Arith, Concat, Digest, Hash, JsonInput, Operand, Regsub, Simple, Unary, Xxh,
};

/// A converter and its output type.
pub type Parsed = (Conv, SmpType);

/// The converter `name` with the text between its parentheses (None: none), when it is
/// one of this module's; Err carries haproxy's message.
pub fn conv(name: &str, inner: Option<&str>) -> Option<Result<Parsed, String>> {
    use ArgType::{Int, Str};
    use SmpType as T;
    let invalid = |(p, e): (usize, String)| format!("invalid arg {p} in converter '{name}' : {e}");
    let args = |spec: &[ArgType], m: usize| make_args_at(inner, spec, m).map_err(invalid);
    let check = |e: String| format!("invalid args in converter '{name}' : {e}");
    let arith = |op| {
        let a = args(&[Str], 1)?;
        Ok((Conv::Arith(op, operand(a[0].str()).map_err(check)?), T::Int))
    };
    let unary = |op, out| args(&[], 0).map(|_| (Conv::Unary(op), out));
    let simple = |c, out| args(&[], 0).map(|_| (Conv::Simple(c), out));
    let hash = |h| {
        let a = args(&[Int], 0)?;
        let avalanche = a.first().is_some_and(|v| v.int() != 0);
        Ok((Conv::Hash(h, avalanche), T::Int))
    };
    Some(match name {
        "add" => arith(Arith::Add),
        "sub" => arith(Arith::Sub),
        "mul" => arith(Arith::Mul),
        "div" => arith(Arith::Div),
        "mod" => arith(Arith::Mod),
        "and" => arith(Arith::And),
        "or" => arith(Arith::Or),
        "xor" => arith(Arith::Xor),
        "neg" => unary(Unary::Neg, T::Int),
        "cpl" => unary(Unary::Cpl, T::Int),
        "bool" => unary(Unary::Bool, T::Bool),
        "not" => unary(Unary::Not, T::Bool),
        "odd" => unary(Unary::Odd, T::Bool),
        "even" => unary(Unary::Even, T::Bool),
        "concat" | "add_item" => (|| {
            let item = name == "add_item";
            let a = args(&[Str, Str, Str], usize::from(item) * 2)?;
            let text = |i: usize| {
                a.get(i)
                    .map_or(Box::default(), |v: &Arg| v.str().as_bytes().into())
            };
            let var = match a.get(1).map(Arg::str).filter(|v| !v.is_empty()) {
                None => None,
                Some(v) => Some(
                    var_name(v)
                        .map_err(|_| check(format!("failed to register variable name '{v}'")))?,
                ),
            };
            let c = Concat {
                start: text(0),
                var,
                end: text(2),
                item,
            };
            if item && c.var.is_none() && c.end.is_empty() {
                return Err(check(
                    "one of the optional arguments has to be nonempty".into(),
                ));
            }
            Ok((Conv::Concat(Box::new(c)), T::Str))
        })(),
        "regsub" => (|| {
            let a = args(&[Str, Str, Str], 2)?;
            let mut icase = false;
            let mut global = false;
            for f in a.get(2).map_or("", Arg::str).chars() {
                match f {
                    'i' => icase = true,
                    'g' => global = true,
                    c => {
                        return Err(check(format!(
                            "invalid regex flag '{c}', only 'i' and 'g' are supported"
                        )))
                    }
                }
            }
            let re = a[0].str();
            // haproxy resolves the regex once the section is read and refuses an
            // empty one then (worded here as an argument error).
            if re.is_empty() {
                return Err(check("missing regex".into()));
            }
            let compiled = regex::bytes::RegexBuilder::new(re)
                .unicode(false)
                .case_insensitive(icase)
                .build()
                .map_err(|e| {
                    check(format!(
                        "regex '{re}' is invalid ({})",
                        super::acl::regex_error(&e)
                    ))
                })?;
            let r = Regsub {
                re: Regex(std::sync::Arc::new(compiled)),
                subst: a[1].str().as_bytes().into(),
                global,
            };
            Ok((Conv::Regsub(Box::new(r)), T::Str))
        })(),
        "json" => (|| {
            let a = args(&[Str], 1)?;
            let input = match a[0].str() {
                "" | "ascii" => JsonInput::Ascii,
                "utf8" => JsonInput::Utf8,
                "utf8s" => JsonInput::Utf8s,
                "utf8p" => JsonInput::Utf8p,
                "utf8ps" => JsonInput::Utf8ps,
                _ => return Err(check("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'".into())),
            };
            Ok((Conv::Json(input), T::Str))
        })(),
        "ltrim" | "rtrim" => args(&[Str], 1).map(|a| {
            let c = Conv::Trim(a[0].str().as_bytes().into(), name == "ltrim");
            (c, T::Str)
        }),
        "strcmp" => (|| {
            let a = args(&[Str], 1)?;
            let v = a[0].str();
            if v.is_empty() {
                return Err(check("missing variable name".into()));
            }
            let var = var_name(v)
                .map_err(|_| check(format!("failed to register variable name '{v}'")))?;
            Ok((Conv::StrCmp(var), T::Int))
        })(),
        "iif" => args(&[Str, Str], 2).map(|a| {
            let c = Conv::Iif(a[0].str().as_bytes().into(), a[1].str().as_bytes().into());
            (c, T::Str)
        }),
        "djb2" => hash(Hash::Djb2),
        "sdbm" => hash(Hash::Sdbm),
        "wt6" => hash(Hash::Wt6),
        "crc32" => hash(Hash::Crc32),
        "crc32c" => hash(Hash::Crc32c),
        "xxh32" | "xxh64" | "xxh3" => args(&[Int], 0).map(|a| {
            let seed = a.first().map_or(0, Arg::int);
            let x = match name {
                "xxh32" => Xxh::X32,
                "xxh64" => Xxh::X64,
                _ => Xxh::X3,
            };
            (Conv::Xxh(x, seed), T::Int)
        }),
        "sha1" => args(&[], 0).map(|_| (Conv::Digest(Digest::Sha1), T::Bin)),
        "sha2" => (|| {
            let a = args(&[Int], 0)?;
            let bits = match a.first().map(Arg::int) {
                None => 256,
                Some(b @ (224 | 256 | 384 | 512)) => b as u16,
                Some(b) => return Err(check(format!("Unsupported number of bits: '{b}'"))),
            };
            Ok((Conv::Digest(Digest::Sha2(bits)), T::Bin))
        })(),
        "http_date" => (|| {
            let a = args(&[Int, Str], 0)?;
            let offset = a.first().map_or(0, Arg::int);
            let (div, frac) = match a.get(1).map(Arg::str) {
                None => (1, false),
                Some("s") => (1, false),
                Some("ms") => (1000, true),
                Some("us") => (1_000_000, true),
                Some(u) => return Err(check(format!("expects 's', 'ms' or 'us', got '{u}'"))),
            };
            Ok((Conv::HttpDate(offset, div, frac), T::Str))
        })(),
        "url_enc" => (|| {
            let a = args(&[Str], 0)?;
            match a.first().map_or("", Arg::str) {
                "" | "query" => Ok((Conv::UrlEnc, T::Str)),
                _ => Err(check(
                    "Unexpected encode type. Allowed value is 'query'".into(),
                )),
            }
        })(),
        "be2dec" | "be2hex" => (|| {
            let dec = name == "be2dec";
            let a = args(&[Str, Int, Int], usize::from(dec))?;
            let sep: Box<[u8]> = a
                .first()
                .map_or(Box::default(), |v| v.str().as_bytes().into());
            let chunk = a.get(1).map_or(0, Arg::int);
            let truncate = a.get(2).map_or(0, Arg::int);
            if dec && !(1..=8).contains(&chunk) {
                return Err(check(format!("chunk_size out of [1..8] range ({chunk})")));
            }
            if !dec && chunk <= 0 && (!sep.is_empty() || truncate != 0) {
                return Err(check(format!("chunk_size needs to be positive ({chunk})")));
            }
            if truncate != 0 && truncate != 1 {
                return Err(check(format!("Unsupported truncate value ({truncate})")));
            }
            let chunk = chunk.max(0) as usize;
            let c = if dec {
                Conv::Be2Dec(sep, chunk, truncate == 1)
            } else {
                Conv::Be2Hex(sep, chunk, truncate == 1)
            };
            Ok((c, T::Str))
        })(),
        "ub64enc" => simple(Simple::Ub64Enc, T::Str),
        "ub64dec" => simple(Simple::Ub64Dec, T::Bin),
        "cut_crlf" => simple(Simple::CutCrlf, T::Str),
        "host_only" => simple(Simple::HostOnly, T::Str),
        "port_only" => simple(Simple::PortOnly, T::Int),
        "hex2i" => simple(Simple::Hex2i, T::Int),
        "b64dec" => simple(Simple::B64Dec, T::Bin),
        "htonl" => simple(Simple::Htonl, T::Bin),
        _ => return None,
    })
}

/// The type converter `name` casts its input to (sample.c's `in_type`), when it is one
/// of this module's.
pub fn input_type(name: &str) -> Option<SmpType> {
    Some(match name {
        "add" | "sub" | "mul" | "div" | "mod" | "and" | "or" | "xor" | "neg" | "cpl" | "bool"
        | "not" | "odd" | "even" | "htonl" => SmpType::Int,
        "djb2" | "sdbm" | "wt6" | "crc32" | "crc32c" | "xxh32" | "xxh64" | "xxh3" | "sha1"
        | "sha2" | "ub64enc" | "be2dec" | "be2hex" => SmpType::Bin,
        "url_enc" => SmpType::Str,
        "http_date" => SmpType::Int,
        "ub64dec" => SmpType::Str,
        "iif" => SmpType::Bool,
        "concat" | "add_item" | "regsub" | "json" | "ltrim" | "rtrim" | "strcmp" | "cut_crlf"
        | "host_only" | "port_only" | "hex2i" | "b64dec" => SmpType::Str,
        _ => return None,
    })
}

/// haproxy's `check_operator`: a variable name, else an integer (an empty argument is 0).
fn operand(a: &str) -> Result<Operand, String> {
    if let Ok(v) = var_name(a) {
        return Ok(Operand::Var(v));
    }
    // read_int64 takes a lone sign as 0, as nothing at all.
    if matches!(a, "" | "-" | "+") {
        return Ok(Operand::Int(0));
    }
    read_int64(a)
        .map(Operand::Int)
        .ok_or_else(|| "expects an integer or a variable name".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_converter_has_an_input_type() {
        for n in [
            "add",
            "sub",
            "mul",
            "div",
            "mod",
            "and",
            "or",
            "xor",
            "neg",
            "cpl",
            "bool",
            "not",
            "odd",
            "even",
            "concat",
            "add_item",
            "regsub",
            "json",
            "ltrim",
            "rtrim",
            "strcmp",
            "iif",
            "djb2",
            "sdbm",
            "wt6",
            "crc32",
            "crc32c",
            "cut_crlf",
            "host_only",
            "port_only",
            "hex2i",
            "b64dec",
            "htonl",
            "xxh32",
            "xxh64",
            "xxh3",
            "sha1",
            "sha2",
            "ub64enc",
            "ub64dec",
            "url_enc",
            "http_date",
            "be2dec",
            "be2hex",
        ] {
            assert!(conv(n, None).is_some() && input_type(n).is_some(), "{n}");
        }
        assert!(conv("lower", None).is_none() && input_type("lower").is_none());
    }
}
