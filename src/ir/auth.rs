//! `userlist` sections (configuration.txt §3.4): users with their passwords and groups,
//! which `http_auth`, `http_auth_group` and the `auth` actions check credentials against.

use std::sync::{Arc, OnceLock};

/// A stored password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Password {
    /// `insecure-password`: compared as is.
    Insecure(Box<[u8]>),
    /// `password`: a `crypt(3)` hash, which the offered password must hash to.
    Crypt(Box<[u8]>),
}

/// One `user` line, its groups resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The name.
    pub name: Box<[u8]>,
    /// The password; None when the line gave none (no password matches).
    pub password: Option<Password>,
    /// The groups it belongs to, from its `groups` and the groups' `users`.
    pub groups: Vec<Box<[u8]>>,
}

/// A `userlist` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Userlist {
    /// The section's name.
    pub name: Box<str>,
    /// Its users (the first of a name: haproxy ignores a duplicate).
    pub users: Vec<User>,
    /// Its group names.
    pub groups: Vec<Box<[u8]>>,
}

impl Userlist {
    /// The user called `name`: compared as a C string, so up to a NUL.
    pub fn user(&self, name: &[u8]) -> Option<&User> {
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        self.users.iter().find(|u| &*u.name == name)
    }

    /// haproxy's `check_user`: `user` exists and `pass` is its password (hashed with
    /// the stored hash's method and salt for a `password` line).
    pub fn check(&self, user: &[u8], pass: &[u8]) -> bool {
        let Some(u) = self.user(user) else {
            return false;
        };
        let pass = &pass[..pass.iter().position(|&c| c == 0).unwrap_or(pass.len())];
        match &u.password {
            Some(Password::Insecure(p)) => **p == *pass,
            Some(Password::Crypt(h)) => crate::sys::crypt(pass, h) == **h,
            None => false,
        }
    }
}

/// A userlist named by a fetch argument (`http_auth(<userlist>)`): resolved once every
/// section is read, as haproxy resolves sample arguments after parsing.
#[derive(Debug, Clone)]
pub struct UserlistRef {
    /// The name as written.
    pub name: Box<str>,
    /// The section, once resolved.
    pub list: Arc<OnceLock<Arc<Userlist>>>,
}

impl UserlistRef {
    /// An unresolved reference to `name`.
    pub fn new(name: &str) -> UserlistRef {
        UserlistRef {
            name: name.into(),
            list: Arc::new(OnceLock::new()),
        }
    }

    /// The section; None only before resolution.
    pub fn get(&self) -> Option<&Userlist> {
        self.list.get().map(|l| &**l)
    }
}

impl PartialEq for UserlistRef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
