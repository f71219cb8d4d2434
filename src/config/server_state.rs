//! Server state files (configuration.txt `server-state-file`, `server-state-base`,
//! `load-server-state-from-file`, `server-state-file-name`; management.txt `show servers
//! state`): read at load as haproxy 2.6's apply_server_state reads them, with its
//! warnings, into each server's [`SavedState`]. The runtime applies what was read.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::ast::ProxyConf;
use crate::config::diag::{check, Diagnostics, Level};
use crate::ir::{Backend, SavedState, StateFrom};

/// haproxy's SRV_STATE_LINE_MAXLEN: fgets reads at most one byte less per call.
const LINE_MAX: usize = 2000 - 1;

/// The fields of one state line, from `be_id` on (4 to 25 of them).
type Params = Vec<String>;

fn warn(diags: &mut Diagnostics, msg: String) {
    diags.push(check(Level::Warning, msg));
}

/// The system's words for an I/O error, as strerror gives them.
fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// A relative name under `server-state-base` (srv_state_get_filepath).
fn path(base: Option<&str>, name: &str) -> String {
    match base {
        Some(b) if !name.starts_with('/') => {
            let sep = if b.ends_with('/') { "" } else { "/" };
            format!("{b}{sep}{name}")
        }
        _ => name.to_string(),
    }
}

/// Splits a file into fgets-sized chunks: lines with their `\n`, longer ones cut.
fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .take(LINE_MAX)
            .position(|&c| c == b'\n')
            .map_or(rest.len().min(LINE_MAX), |i| i + 1);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

/// The version line (srv_state_get_version): an integer then the newline; only 1 exists.
fn version(first: Option<&[u8]>) -> bool {
    let Some(l) = first else { return false };
    let text = String::from_utf8_lossy(l);
    let (v, rest) = crate::numbers::strtol(&text);
    rest.len() != text.len() && rest == "\n" && v == 1
}

/// One line (srv_state_parse_line): Ok(None) for blank or comment lines, Err for a
/// truncated line or one whose field count is not version 1's.
fn parse_line(l: &[u8]) -> Result<Option<Params>, ()> {
    if l.last() != Some(&b'\n') {
        return Err(());
    }
    let text = String::from_utf8_lossy(&l[..l.len() - 1]);
    let body = text.trim_start_matches([' ', '\t']);
    if body.is_empty() || body.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<String> = body
        .split([' ', '\t'])
        .filter(|f| !f.is_empty())
        .take(25)
        .map(str::to_string)
        .collect();
    if (20..=25).contains(&fields.len()) {
        Ok(Some(fields))
    } else {
        Err(())
    }
}

/// Reads one file: its lines by `"<backend> <server>"`, the first of each kept; None
/// when the file (or its version) could not be read or a line was corrupted, said in
/// `notes` with the messages `msgs` start. `keep` decides, per parsed line, the key it
/// is stored under (None: skip it).
fn read(
    file: &str,
    notes: &mut Vec<String>,
    msgs: (&str, &str, &str, &str),
    mut keep: impl FnMut(&Params, &mut Vec<String>) -> Option<String>,
) -> Option<Vec<(String, Params)>> {
    let (open_fail, open_end, no_version, corrupted) = msgs;
    let data = match std::fs::read(file) {
        Ok(d) => d,
        Err(e) => {
            notes.push(format!("{open_fail} '{file}': {}{open_end}", strerror(&e)));
            return None;
        }
    };
    let lines = chunks(&data);
    if !version(lines.first().copied()) {
        notes.push(format!("{no_version} '{file}'."));
        return None;
    }
    let mut out: Vec<(String, Params)> = Vec::new();
    for (n, l) in lines.iter().enumerate().skip(1) {
        match parse_line(l) {
            Err(()) => {
                notes.push(format!("{corrupted} '{file}' at line {n}."));
                return None;
            }
            Ok(None) => {}
            Ok(Some(p)) => {
                if let Some(key) = keep(&p, notes) {
                    // A duplicate (a hand-made file) is dropped: the first stands.
                    if !out.iter().any(|(k, _)| *k == key) {
                        out.push((key, p));
                    }
                }
            }
        }
    }
    Some(out)
}

/// Reads the state files the backends ask for and gives each named server its
/// [`SavedState`], with haproxy's warnings.
pub fn load(
    proxies: &[ProxyConf],
    global: &crate::ir::Global,
    backends: &mut [Backend],
    diags: &mut Diagnostics,
) {
    let confs: Vec<&ProxyConf> = proxies.iter().filter(|p| p.kind.caps() & 4 != 0).collect();
    // Disabled backends neither warn nor load (haproxy skips them both times).
    let wants = |p: &ProxyConf| p.load_state.unwrap_or(StateFrom::None);
    for p in confs.iter().filter(|p| !p.disabled) {
        if wants(p) == StateFrom::Global && global.server_state_file.is_none() {
            warn(diags, format!("backend '{}' configured to load server state file from global section 'server-state-file' directive. Unfortunately, 'server-state-file' is not set!", p.name));
        }
    }
    let base = global.server_state_base.as_deref();
    let mut global_lines: Option<HashMap<String, Params>> = None;
    if let Some(f) = &global.server_state_file {
        let file = path(base, f);
        let mut notes = Vec::new();
        global_lines = read(
            &file,
            &mut notes,
            (
                "config: Can't open global server state file",
                "",
                "config: Can't get version of the global server state file",
                "config: corrupted global server state file",
            ),
            |p, _| Some(format!("{} {}", p[1], p[3])),
        )
        .map(|lines| lines.into_iter().collect());
        for n in notes {
            warn(diags, n);
        }
    }
    for (b, p) in backends.iter_mut().zip(confs) {
        if b.servers.is_empty() || b.disabled {
            continue;
        }
        match wants(p) {
            StateFrom::None => {}
            StateFrom::Global => {
                if let Some(lines) = &global_lines {
                    for si in 0..b.servers.len() {
                        let key = format!("{} {}", b.name, b.servers[si].name);
                        if let Some(params) = lines.get(&key) {
                            apply_line(b, si, params);
                        }
                    }
                }
            }
            StateFrom::Local => {
                let name = p.state_file_name.clone().unwrap_or_else(|| p.name.clone());
                let file = path(base, &name);
                let who = format!("Proxy '{}':", b.name);
                let (uuid, bname) = (b.uuid, b.name.clone());
                let mut notes = Vec::new();
                let got = read(
                    &file,
                    &mut notes,
                    (
                        &format!("{who} Can't open server state file"),
                        ".",
                        &format!("{who} Can't get version of the server state file"),
                        &format!("{who} corrupted server state file"),
                    ),
                    |params, notes| local_key(&bname, uuid, params, notes),
                );
                // Said as haproxy reads the file: after the earlier backends' states.
                b.state_notes.0 = notes;
                let Some(got) = got else { continue };
                let mut left = got;
                for si in 0..b.servers.len() {
                    let key = format!("{} {}", b.name, b.servers[si].name);
                    if let Some(i) = left.iter().position(|(k, _)| *k == key) {
                        let (_, params) = left.remove(i);
                        apply_line(b, si, &params);
                    }
                }
                for (_, params) in left {
                    b.state_notes.1.push(format!(
                        "{who} can't find server '{}' in backend '{}'",
                        params[3], b.name
                    ));
                }
            }
        }
    }
}

/// Whether a local file's line is the backend's (srv_state_parse_and_store_line with a
/// proxy): by number or name, with haproxy's mismatch warnings.
fn local_key(name: &str, uuid: u32, p: &Params, notes: &mut Vec<String>) -> Option<String> {
    let by_id = crate::numbers::strtol(&p[0]).0 == i64::from(uuid);
    let by_name = p[1] == name;
    let forced = crate::numbers::strtol(&p[15]).0 & 0x80 != 0;
    if !by_id && !by_name {
        return None;
    }
    if !by_id {
        notes.push(format!("Proxy '{name}': backend ID mismatch: from server state file: '{}', from running config '{uuid}'", p[0]));
    } else if !by_name {
        notes.push(format!("Proxy '{name}': backend name mismatch: from server state file: '{}', from running config '{name}'", p[1]));
        if !forced {
            return None;
        }
    }
    Some(format!("{name} {}", p[3]))
}

/// A check's or agent's port and address from a state line (`port` when not "0", `addr`
/// when not "-"), checked as srv_update_check_addr_port and srv_update_agent_addr_port
/// check them; Err is haproxy's reason.
fn target(
    enabled: bool,
    kind: &str,
    port: Option<&String>,
    addr: Option<&String>,
) -> Result<(Option<u16>, Option<IpAddr>), String> {
    let port = port.filter(|p| *p != "0");
    let addr = addr.filter(|a| *a != "-");
    if port.is_none() && addr.is_none() {
        return Ok((None, None));
    }
    if !enabled {
        return Err(format!(", {kind} checks are not enabled on this server"));
    }
    let ip = match addr.map(|a| (a, a.parse::<IpAddr>())) {
        Some((raw, Err(_))) => return Err(format!(", invalid addr '{raw}'")),
        Some((_, Ok(ip))) => Some(ip),
        None => None,
    };
    let port = match port {
        None => None,
        Some(p) if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit() || c == b'-') => {
            return Err(", provided port is not an integer".into())
        }
        Some(p) => match p.parse::<i64>() {
            Ok(n) if (0..=65535).contains(&n) => Some(n as u16),
            Ok(_) => return Err(", provided port is invalid".into()),
            Err(_) => return Err(", provided port is not an integer".into()),
        },
    };
    Ok((port, ip))
}

/// strtol as haproxy's reader uses it: the value, and whether any digit was read.
fn num(s: &str) -> Option<i64> {
    let (v, rest) = crate::numbers::strtol(s);
    (rest.len() != s.len()).then_some(v)
}

/// Validates one line's values for server `si` (srv_state_srv_update's checks) and keeps
/// them, or why the line is not applied (said when the states are applied).
fn apply_line(b: &mut Backend, si: usize, p: &Params) {
    let v = &p[4..];
    let mut errs = String::new();
    let mut bad = |name: &str, raw: &str| errs.push_str(&format!(", invalid {name} value '{raw}'"));
    let op = num(&v[1]).filter(|o| (0..=3).contains(o));
    if op.is_none() {
        bad("srv_op_state", &v[1]);
    }
    // Inherited, resolution and FQDN flags are recomputed, not read.
    let admin = num(&v[2]).map(|a| a & !(0x02 | 0x10 | 0x20 | 0x40));
    let admin = admin.filter(|a| [0, 1, 4, 5, 4 | 8, 8].contains(a));
    if admin.is_none() {
        bad("srv_admin_state", &v[2]);
    }
    let weight = |s: &str| num(s).filter(|w| (0..=256).contains(w));
    let (uweight, iweight) = (weight(&v[3]), weight(&v[4]));
    if uweight.is_none() {
        bad("srv_uweight", &v[3]);
    }
    if iweight.is_none() {
        bad("srv_iweight", &v[4]);
    }
    let since = num(&v[5]);
    if since.is_none() {
        bad("srv_last_time_change", &v[5]);
    }
    let status = num(&v[6]).filter(|s| (0..21).contains(s));
    if status.is_none() {
        bad("srv_check_status", &v[6]);
    }
    let result = num(&v[7]).filter(|r| (0..=4).contains(r));
    if result.is_none() {
        bad("srv_check_result", &v[7]);
    }
    let health = num(&v[8]);
    if health.is_none() {
        bad("srv_check_health", &v[8]);
    }
    for (i, name) in [(9, "srv_check_state"), (10, "srv_agent_state")] {
        if num(&v[i]).filter(|s| s & !0x1f == 0).is_none() {
            bad(name, &v[i]);
        }
    }
    for (i, name) in [(11, "bk_f_forced_id"), (12, "srv_f_forced_id")] {
        if num(&v[i]).filter(|f| *f == 0 || *f == 1).is_none() {
            bad(name, &v[i]);
        }
    }
    let fqdn = &v[13];
    let valid_name = |n: &str| {
        n.len() <= 255
            && n.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')
    };
    if !fqdn.starts_with('-') && !valid_name(fqdn) {
        bad("srv_fqdn", fqdn);
    }
    // strl2uic: the leading digits.
    let digits: String = v[14].chars().take_while(char::is_ascii_digit).collect();
    let port = digits
        .parse::<u64>()
        .unwrap_or(if digits.is_empty() { 0 } else { u64::MAX });
    if port > 65535 {
        bad("srv_port", &v[14]);
    }
    let srv = &b.servers[si];
    let who = format!("{}/{}", b.name, srv.name);
    if !errs.is_empty() {
        let failed = Some(format!(
            "server-state application failed for server '{who}'{errs}"
        ));
        b.servers[si].saved = Some(SavedState {
            failed,
            ..Default::default()
        });
        return;
    }
    // The check's fields first; the agent's are not looked at once they failed.
    let (check, agent) = match target(srv.check.is_some(), "health", v.get(17), v.get(18)) {
        Ok(c) => (
            c,
            target(srv.agent.is_some(), "agent", v.get(20), v.get(19)),
        ),
        Err(e) => (Default::default(), Err(e)),
    };
    let ((check_port, check_addr), (agent_port, agent_addr), partial) = match agent {
        Ok(a) => (check, a, String::new()),
        Err(e) => (check, Default::default(), e),
    };
    let partial = (!partial.is_empty())
        .then(|| format!("server-state partially applied for server '{who}'{partial}"));
    // What the previous process used wins over the configuration: the service port
    // (haproxy applies it whatever the configuration says now), the check's and agent's
    // address and port (`set server … check-port|addr|agent-*`).
    let sv = &mut b.servers[si];
    if sv.port_offset.is_none() {
        sv.port = port as u16;
    }
    if let Some(c) = sv.check.as_mut() {
        c.port = check_port.or(c.port);
        c.addr = check_addr.or(c.addr);
    }
    if let Some(a) = sv.agent.as_mut() {
        a.port = agent_port.unwrap_or(a.port);
        a.addr = agent_addr.or(a.addr);
    }
    sv.saved = Some(SavedState {
        op: op.unwrap_or(2) as u8,
        admin: admin.unwrap_or(0) as u8,
        uweight: uweight.unwrap_or(1) as u32,
        iweight: iweight.unwrap_or(1) as u32,
        since: since.unwrap_or(0).max(0) as u64,
        check_status: status.unwrap_or(0) as u8,
        check_result: result.unwrap_or(0) as u8,
        check_health: health.unwrap_or(0),
        check_state: num(&v[9]).unwrap_or(0) as u8,
        agent_state: num(&v[10]).unwrap_or(0) as u8,
        port: port as u16,
        use_ssl: v.get(16).map(|s| num(s).unwrap_or(0) != 0),
        check_port,
        check_addr,
        agent_port,
        agent_addr,
        failed: None,
        partial,
    });
}
