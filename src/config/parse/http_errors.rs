//! `http-errors <name>` sections (configuration.txt §3.8): `errorfile` pages a proxy
//! takes with `errorfiles <name>`. Messages as haproxy 2.6's `cfg_parse_http_errors`.

use super::{Parser, Section, Stmt};
use crate::config::ast::HttpErrorsConf;
use crate::config::diag::{Diagnostic, LocStyle};

impl Parser {
    /// `http-errors <name>`: starts the section.
    pub(super) fn http_errors_section(&mut self, stmt: &Stmt) {
        let loc = stmt.loc;
        let name = stmt.arg(1);
        if name.is_empty() {
            self.alert(loc, "missing name for http-errors section.");
            self.aborted = true;
            return;
        }
        self.check_section_name(loc, "http-errors", name);
        if let Some(first) = self.http_errors.iter().find(|s| s.name == name) {
            let msg = format!(
                "http-errors section '{name}' already exists (declared at {}).",
                first.loc
            );
            self.push(Diagnostic::alert(loc, msg).styled(LocStyle::ParsingTight));
        }
        self.http_errors.push(HttpErrorsConf {
            name: name.to_string(),
            loc: loc.clone(),
            pages: Vec::new(),
        });
        self.section = Section::HttpErrors(self.http_errors.len() - 1);
    }

    /// One line of an `http-errors` section.
    pub(super) fn parse_http_errors(&mut self, i: usize, stmt: &Stmt) {
        let loc = stmt.loc;
        let kw = stmt.arg(0);
        if kw != "errorfile" {
            return self.alert(
                loc,
                format!("unknown keyword '{kw}' in 'http-errors' section"),
            );
        }
        if stmt.arg(1).is_empty() || stmt.arg(2).is_empty() {
            return self.alert(
                loc,
                "errorfile: expects <status_code> and <file> as arguments.",
            );
        }
        let code = super::units::lenient_int(stmt.arg(1));
        if !super::proxy::ERROR_CODES.contains(&code) {
            return self.alert(
                loc,
                format!("errorfile : status code '{code}' not handled."),
            );
        }
        let file = stmt.arg(2);
        let missing = self.missing_file(loc, "errorfile", file);
        let Some(bytes) = super::proxy::read_errorfile(file).or(missing.then(Vec::new)) else {
            return self.alert(loc, format!("errorfile : error opening file '{file}'."));
        };
        let pages = &mut self.http_errors[i].pages;
        pages.retain(|(c, _)| *c != code as u16);
        pages.push((code as u16, bytes.into()));
    }
}
