//! `userlist` sections (configuration.txt §3.4) with haproxy's messages: a section's
//! `group` and `user` lines, then (once every file is read) group and user names
//! resolved as `userlist_postinit` does, and the userlists named by `http_auth(…)`
//! arguments found.

use std::sync::Arc;

use super::sample::PendingUserlist;
use super::{Parser, Section, Stmt};
use crate::config::ast::{UserConf, UserlistConf};
use crate::config::diag::Loc;
use crate::ir::auth::{Password, User, Userlist};

impl Parser {
    /// `userlist <name>`.
    pub(super) fn userlist_section(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        // Lines go to the section created last, even after a header that made none.
        self.section = Section::Userlist;
        if name.is_empty() {
            return self.alert_tight(loc, "'userlist' expects <name> as arguments.");
        }
        if stmt.words.len() > 2 {
            let msg = format!(
                "'userlist' cannot handle unexpected argument '{}'.",
                stmt.arg(2)
            );
            return self.alert(loc, msg);
        }
        if let Some(bad) = invalid_char(name) {
            let msg = format!("character '{bad}' is not permitted in 'userlist' name '{name}'.");
            return self.alert_tight(loc, msg);
        }
        if self.userlists.iter().any(|u| u.name == name) {
            return self.warn_tight(loc, format!("ignoring duplicated userlist '{name}'."));
        }
        self.userlists.push(UserlistConf {
            name: name.to_string(),
            ..Default::default()
        });
    }

    /// A `group` or `user` line.
    pub(super) fn parse_userlist(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        let name = stmt.arg(1);
        if matches!(kw, "group" | "user") && name.is_empty() {
            return self.alert_tight(loc, format!("'{kw}' expects <name> as arguments."));
        }
        match kw {
            "group" => {
                if let Some(bad) = invalid_char(name) {
                    let msg =
                        format!("character '{bad}' is not permitted in 'group' name '{name}'.");
                    return self.alert_tight(loc, msg);
                }
                let Some(ul) = self.userlists.last() else {
                    return;
                };
                if ul.groups.iter().any(|g| g.0 == name) {
                    let msg = format!(
                        "ignoring duplicated group '{name}' in userlist '{}'.",
                        ul.name
                    );
                    return self.warn_tight(loc, msg);
                }
                let mut users = None;
                let mut i = 2;
                while !stmt.arg(i).is_empty() {
                    if stmt.arg(i) != "users" {
                        return self.alert_tight(loc, "'group' only supports 'users' option.");
                    }
                    users = Some(stmt.arg(i + 1).to_string());
                    i += 2;
                }
                if let Some(ul) = self.userlists.last_mut() {
                    ul.groups.push((name.to_string(), users));
                }
            }
            "user" => {
                let Some(ul) = self.userlists.last() else {
                    return;
                };
                if ul.users.iter().any(|u| u.name == name) {
                    let msg = format!(
                        "ignoring duplicated user '{name}' in userlist '{}'.",
                        ul.name
                    );
                    return self.warn_tight(loc, msg);
                }
                let mut user = UserConf {
                    name: name.to_string(),
                    password: None,
                    groups: None,
                };
                let mut i = 2;
                let mut err: Option<String> = None;
                // haproxy keeps the last password given, and its insecure flag once set.
                let mut insecure = false;
                while !stmt.arg(i).is_empty() {
                    let v = stmt.arg(i + 1);
                    match stmt.arg(i) {
                        // haproxy asks crypt(3) whether it knows the hash's method, which
                        // libxcrypt always answers (a failure token): nothing to refuse.
                        "password" | "insecure-password" => {
                            insecure |= stmt.arg(i) == "insecure-password";
                            let p: Box<[u8]> = v.as_bytes().into();
                            user.password = Some(if insecure {
                                Password::Insecure(p)
                            } else {
                                Password::Crypt(p)
                            });
                        }
                        "groups" => user.groups = Some(v.to_string()),
                        _ => {
                            err = Some("'user' only supports 'password', 'insecure-password' and 'groups' options.".into());
                            break;
                        }
                    }
                    i += 2;
                }
                // haproxy has added the user before it reads a bad option.
                if let Some(ul) = self.userlists.last_mut() {
                    ul.users.push(user);
                }
                if let Some(m) = err {
                    self.alert_tight(loc, m);
                }
            }
            _ => self.alert_tight(loc, format!("unknown keyword '{kw}' in 'users' section")),
        }
    }
}

/// haproxy's `invalid_char`: the first character not allowed in a name.
fn invalid_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':')))
}

/// `userlist_postinit`: every section with its groups resolved, or haproxy's message
/// for the first name that is not there. haproxy walks its lists newest first, so the
/// first error it reports is the one nearest the end.
pub fn resolve(confs: &[UserlistConf]) -> Result<Vec<Arc<Userlist>>, String> {
    let mut out = Vec::new();
    for ul in confs.iter().rev() {
        let mut users: Vec<User> = ul
            .users
            .iter()
            .map(|u| User {
                name: u.name.as_bytes().into(),
                password: u.password.clone(),
                groups: Vec::new(),
            })
            .collect();
        for (i, u) in ul.users.iter().enumerate().rev() {
            for g in u
                .groups
                .iter()
                .flat_map(|g| g.split(','))
                .filter(|g| !g.is_empty())
            {
                if !ul.groups.iter().any(|(n, _)| n == g) {
                    return Err(format!(
                        "userlist '{}': no such group '{g}' specified in user '{}'",
                        ul.name, u.name
                    ));
                }
                users[i].groups.push(g.as_bytes().into());
            }
        }
        for (g, members) in ul.groups.iter().rev() {
            for m in members
                .iter()
                .flat_map(|m| m.split(','))
                .filter(|m| !m.is_empty())
            {
                let Some(u) = users.iter_mut().find(|u| *u.name == *m.as_bytes()) else {
                    return Err(format!(
                        "userlist '{}': no such user '{m}' specified in group '{g}'",
                        ul.name
                    ));
                };
                u.groups.push(g.as_bytes().into());
            }
        }
        out.push(Arc::new(Userlist {
            name: ul.name.as_str().into(),
            users,
            groups: ul.groups.iter().map(|(g, _)| g.as_bytes().into()).collect(),
        }));
    }
    out.reverse();
    Ok(out)
}

/// Points every `http_auth(…)` argument at its userlist: haproxy's messages for the
/// ones that name none (where, the proxy, the message), in the order they were written.
pub fn bind_refs(
    lists: &[Arc<Userlist>],
    refs: &[(Loc, String, String, PendingUserlist)],
) -> Vec<(Loc, String, String)> {
    let mut errors = Vec::new();
    for (loc, proxy, stmt_kw, p) in refs {
        let place = if p.in_acl == Some(true) {
            format!("ACL keyword '{}'", p.kw)
        } else {
            format!("sample fetch keyword '{}' in {stmt_kw} expression", p.kw)
        };
        if p.r.name.is_empty() {
            let m = format!("missing userlist name in arg 1 of {place} in proxy '{proxy}'.");
            errors.push((loc.clone(), proxy.clone(), m));
            continue;
        }
        match lists.iter().find(|l| *l.name == *p.r.name) {
            Some(l) => {
                let _ = p.r.list.set(l.clone());
            }
            None => {
                let m = format!("unable to find userlist '{}' referenced in arg 1 of {place} in proxy '{proxy}'.", p.r.name);
                errors.push((loc.clone(), proxy.clone(), m));
            }
        }
    }
    errors
}

/// haproxy's `acl_find_targets`: every group an `http_auth_group` ACL names exists in
/// its userlist, for the ACLs of proxy `name` (once its arguments are resolved).
pub fn check_groups(refs: &[(Loc, String, String, PendingUserlist)], name: &str) -> Vec<String> {
    let mut errors = Vec::new();
    for (_, proxy, _, p) in refs.iter().filter(|r| r.1 == name) {
        let (Some(groups), Some(list)) = (&p.groups, p.r.get()) else {
            continue;
        };
        let acl = &p.acl_name;
        if groups.is_empty() {
            errors.push(format!(
                "proxy {proxy}: acl {acl} {}(): no groups specified.",
                p.kw
            ));
        }
        for g in groups {
            if !list.groups.iter().any(|n| n == g) {
                let g = String::from_utf8_lossy(g);
                errors.push(format!(
                    "proxy {proxy}: acl {acl} {}(): invalid group '{g}'.",
                    p.kw
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(groups: &[(&str, Option<&str>)], users: &[(&str, Option<&str>)]) -> UserlistConf {
        UserlistConf {
            name: "L".into(),
            groups: groups
                .iter()
                .map(|(g, u)| (g.to_string(), u.map(str::to_string)))
                .collect(),
            users: users
                .iter()
                .map(|(n, g)| UserConf {
                    name: n.to_string(),
                    password: Some(Password::Insecure(b"pw".to_vec().into())),
                    groups: g.map(str::to_string),
                })
                .collect(),
        }
    }

    #[test]
    fn groups_resolved_both_ways() {
        let l = resolve(&[conf(
            &[("a", Some("bob")), ("b", None)],
            &[("al", Some("b,a")), ("bob", None)],
        )])
        .unwrap();
        let g = |u: &str| l[0].user(u.as_bytes()).unwrap().groups.clone();
        assert_eq!(g("al"), vec![Box::from(&b"b"[..]), Box::from(&b"a"[..])]);
        assert_eq!(g("bob"), vec![Box::from(&b"a"[..])]);
        assert!(l[0].check(b"bob", b"pw"));
        assert!(l[0].check(b"bob", b"pw\0junk"));
        assert!(!l[0].check(b"bob", b"px"));
        assert!(!l[0].check(b"carl", b"pw"));
        // The last bad user is reported, as haproxy walks its list newest first.
        let e = resolve(&[conf(&[], &[("x", Some("n1")), ("y", Some("n2"))])]).unwrap_err();
        assert_eq!(e, "userlist 'L': no such group 'n2' specified in user 'y'");
        let e = resolve(&[conf(&[("a", Some("zed"))], &[])]).unwrap_err();
        assert_eq!(e, "userlist 'L': no such user 'zed' specified in group 'a'");
    }
}
