//! `show stat`: haproxy 2.6's CSV, one row per frontend, server and backend, with the
//! columns in haproxy's order and each counter empty or 0 where haproxy leaves it so.

use std::sync::atomic::Ordering::Relaxed;

use crate::ir::Balance;
use crate::runtime::lb::state::{Admin, Shared};

/// HAProxy 2.6's `show stat` columns, in order (scripts index them by name or position).
const STAT_FIELDS: &str = "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out";

/// Counters HAProxy prints as numbers (0 until counted) on each kind of row; the others
/// it leaves empty. haproxide does not count all of them yet: those stay 0.
const FRONTEND_ZEROS: &str = "scur smax stot bin bout dreq dresp ereq sid type rate rate_lim rate_max req_rate req_rate_max req_tot comp_in comp_out comp_byp comp_rsp conn_rate conn_rate_max conn_tot dcon dses wrew eint ssl_sess ssl_reused_sess ssl_failed_handshake h2_headers_rcvd h2_data_rcvd h2_settings_rcvd h2_rst_stream_rcvd h2_goaway_rcvd h2_detected_conn_protocol_errors h2_detected_strm_protocol_errors h2_rst_stream_resp h2_goaway_resp h2_open_connections h2_backend_open_streams h2_total_connections h2_backend_total_streams h1_open_connections h1_open_streams h1_total_connections h1_total_streams h1_bytes_in h1_bytes_out h1_spliced_bytes_in h1_spliced_bytes_out";
const SERVER_ZEROS: &str = "qcur qmax scur smax stot bin bout dresp econ eresp wretr wredis bck lbtot rate rate_max cli_abrt srv_abrt qtime ctime rtime ttime wrew connect reuse srv_icur qtime_max ctime_max rtime_max ttime_max eint idle_conn_cur safe_conn_cur used_conn_cur need_conn_est ssl_sess ssl_reused_sess ssl_failed_handshake";
const BACKEND_ZEROS: &str = "qcur qmax scur smax stot bin bout dreq dresp econ eresp wretr wredis weight act bck chkdown downtime sid lbtot rate rate_max cli_abrt srv_abrt comp_in comp_out comp_byp comp_rsp qtime ctime rtime ttime wrew connect reuse qtime_max ctime_max rtime_max ttime_max eint uweight agg_server_status agg_server_check_status agg_check_status ssl_sess ssl_reused_sess ssl_failed_handshake h2_headers_rcvd h2_data_rcvd h2_settings_rcvd h2_rst_stream_rcvd h2_goaway_rcvd h2_detected_conn_protocol_errors h2_detected_strm_protocol_errors h2_rst_stream_resp h2_goaway_resp h2_open_connections h2_backend_open_streams h2_total_connections h2_backend_total_streams h1_open_connections h1_open_streams h1_total_connections h1_total_streams h1_bytes_in h1_bytes_out h1_spliced_bytes_in h1_spliced_bytes_out";

/// One CSV row, filled by column name.
struct Row(Vec<String>);

impl Row {
    fn new(zeros: &str) -> Row {
        let mut r = Row(vec![String::new(); STAT_FIELDS.split(',').count()]);
        for z in zeros.split(' ') {
            r.set(z, 0);
        }
        r
    }

    /// A check's last result in the `<kind>_status|duration|desc|code` columns and its
    /// text in `last`.
    fn result(&mut self, kind: &str, last: &str, o: &crate::runtime::lb::health::Outcome) {
        self.set(&format!("{kind}_status"), o.status())
            .set(&format!("{kind}_duration"), o.ms)
            .set(&format!("{kind}_desc"), o.reason);
        if let Some(code) = &o.code {
            self.set(&format!("{kind}_code"), code);
        }
        if let Some(info) = &o.info {
            self.set(last, info);
        }
    }

    fn set(&mut self, name: &str, v: impl ToString) -> &mut Row {
        if let Some(i) = STAT_FIELDS.split(',').position(|f| f == name) {
            self.0[i] = v.to_string();
        }
        self
    }

    /// An HTTP proxy's response and compression counters, and its cache's (none here: 0).
    fn http(&mut self, c: &crate::runtime::lb::counters::HttpCounters) -> &mut Row {
        for (col, n) in c.columns().chain(c.comp_columns()) {
            self.set(col, n);
        }
        self.set("cache_lookups", 0).set("cache_hits", 0)
    }

    /// Bytes and the most sessions at once.
    fn traffic(&mut self, t: &crate::runtime::lb::counters::Traffic) -> &mut Row {
        for (col, n) in t.columns() {
            self.set(col, n);
        }
        self
    }

    /// What a frontend refused.
    fn refused(&mut self, r: &crate::runtime::lb::counters::Refused) -> &mut Row {
        for (col, n) in r.columns() {
            self.set(col, n);
        }
        self
    }

    /// A server's or a backend's failed connections, retries and redispatches.
    fn counts(&mut self, c: &crate::runtime::lb::counters::ConnCounters) -> &mut Row {
        for (col, n) in c.columns() {
            self.set(col, n);
        }
        self
    }

    fn line(&self) -> String {
        self.0.join(",") + ",\n"
    }
}

fn algo(b: &Balance) -> &'static str {
    match b {
        Balance::RoundRobin => "roundrobin",
        Balance::StaticRr => "static-rr",
        Balance::LeastConn => "leastconn",
        Balance::First => "first",
        Balance::Source => "source",
        Balance::Hash(_) => "hash",
        Balance::Http(crate::ir::HttpHash::Uri { .. }) => "uri",
        Balance::Http(crate::ir::HttpHash::UrlParam(_)) => "url_param",
        Balance::Http(crate::ir::HttpHash::Hdr { .. }) => "hdr",
        // haproxy 2.6's name table has no entry for random.
        Balance::Random(_) => "unknown",
    }
}

/// `show stat`: HAProxy's CSV statistics, one line per proxy side and server.
pub fn show_stat(shared: &Shared) -> String {
    // Each proxy's rows together, in declaration order, as haproxy dumps them: its
    // FRONTEND row, then its servers and its BACKEND row (a `listen` has both).
    let mut rows: Vec<(u32, u8, String)> = Vec::new();
    for f in &shared.frontends {
        let fe_http = f.ir.stats_page.is_some() || f.ir.http.is_some();
        let mut r = Row::new(FRONTEND_ZEROS);
        r.set("pxname", &f.ir.name)
            .set("svname", "FRONTEND")
            .set("scur", f.feconn.load(Relaxed))
            .set("stot", f.cumulated.load(Relaxed))
            .set(
                "status",
                match *f.listening.borrow() {
                    crate::runtime::lb::state::Listening::Ready => "OPEN",
                    crate::runtime::lb::state::Listening::Paused => "PAUSED",
                    crate::runtime::lb::state::Listening::Stopped => "STOP",
                },
            )
            .set("pid", 1)
            .set("iid", f.ir.uuid)
            .set("sid", 0)
            .set("type", 0)
            .set("rate", f.sess_rate.read())
            .set("rate_lim", f.ir.rate_limit_sessions)
            .set("rate_max", f.sess_rate.max())
            .set("conn_rate", f.conn_rate.read())
            .set("conn_rate_max", f.conn_rate.max())
            .set("conn_tot", f.conn_tot.load(Relaxed))
            .set("mode", if fe_http { "http" } else { "tcp" })
            .set("req_rate", f.req_rate.read())
            .set("req_rate_max", f.req_rate.max())
            .set("req_tot", f.http.req.load(Relaxed))
            .traffic(&f.traffic)
            .refused(&f.refused)
            .set("-", "-");
        if fe_http {
            r.http(&f.http)
                .set("intercepted", f.intercepted.load(Relaxed));
        }
        if let Some(l) = &f.slots {
            r.set("slim", l.limit());
        }
        rows.push((f.ir.uuid, 0, r.line()));
    }
    // Disabled proxies are not shown (stats_dump_proxies).
    for (bi, b) in shared
        .backends
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.ir.disabled)
    {
        let mut out = String::new();
        let be_http = b.ir.mode == crate::ir::Mode::Http;
        let mode = if be_http { "http" } else { "tcp" };
        let lb = b.lb.lock().unwrap_or_else(|e| e.into_inner());
        for (si, s) in b.servers.iter().enumerate() {
            let slot = &lb.slots[si];
            let h = *s.health.lock().unwrap_or_else(|e| e.into_inner());
            let via = s.ir.track.map(|(tb, ts)| {
                let t = &shared.backends[tb];
                format!("{}/{}", t.ir.name, t.servers[ts].ir.name)
            });
            let status = super::server_status::status(shared, s);
            let agent = s
                .asking()
                .then(|| s.agent.lock().unwrap_or_else(|e| e.into_inner()));
            let mut r = Row::new(SERVER_ZEROS);
            r.set("pxname", &b.ir.name)
                .set("svname", &s.ir.name)
                .set("qcur", s.queued.load(Relaxed))
                .set("scur", s.sessions.load(Relaxed))
                .set("stot", s.cumulated.load(Relaxed))
                .set("status", &status)
                .set("weight", slot.shown_weight())
                .set("uweight", slot.weight)
                .set("act", u8::from(!s.ir.backup))
                .set("bck", u8::from(s.ir.backup))
                .set("pid", 1)
                .set("iid", b.ir.uuid)
                .set("sid", s.ir.id)
                .set("type", 2)
                .set("mode", mode)
                .set("lbtot", s.lbtot.load(Relaxed))
                .traffic(&s.traffic)
                .counts(&s.conn)
                .set("lastsess", s.last_sess.age())
                .set("-", "-");
            if be_http {
                r.set("req_tot", s.http.req.load(Relaxed));
                for (c, n) in s.http.columns() {
                    r.set(c, n);
                }
            }
            // Only a server warming up shows it, and not while drained (weight 0 then).
            if let Some(t) = slot
                .throttle()
                .filter(|_| status.starts_with("UP") || status == "no check")
            {
                r.set("throttle", t);
            }
            // The agent's maxconn:N changes it.
            if slot.maxconn > 0 {
                r.set("slim", slot.maxconn);
            }
            // The address and the port as configured (an offset as 16 bits), haproxy's
            // addr_to_str and svc_port.
            if let Some(a) = s.endpoint().shown() {
                r.set("addr", a);
            }
            if let Some(v) = &via {
                r.set("tracked", v);
            }
            let since = |t: &std::sync::Mutex<std::time::Instant>| {
                t.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .elapsed()
                    .as_secs()
            };
            r.set("lastchg", since(&s.lastchg));
            if s.checking() {
                r.set("chkfail", s.chkfail.load(Relaxed))
                    .set("chkdown", s.chkdown.load(Relaxed));
            }
            // Counted where the checked server at the end of the track chain observes.
            if super::server_status::checked(shared, s)
                .ir
                .observe
                .is_some()
            {
                r.set("hanafail", s.hanafail.load(Relaxed));
            }
            // Maintenance pauses the checks: their columns go blank (haproxy's
            // CHK_ST_PAUSED); before the first check the status is INI.
            if s.checking() && s.admin() != Admin::Maint {
                r.set("check_rise", h.rise)
                    .set("check_fall", h.fall)
                    .set("check_health", h.h);
                match &*s.last_check.lock().unwrap_or_else(|e| e.into_inner()) {
                    Some(o) => r.result("check", "last_chk", o),
                    None => {
                        r.set("check_status", "INI")
                            .set("check_desc", "Initializing");
                    }
                }
            }
            if let Some(a) = &agent {
                r.set("agent_rise", a.health.rise)
                    .set("agent_fall", a.health.fall)
                    .set("agent_health", a.health.h);
                if let Some(o) = &a.last {
                    r.result("agent", "last_agt", o);
                }
            }
            out.push_str(&r.line());
        }
        let act = lb.slots.iter().filter(|x| !x.backup && x.usable).count();
        let bck = lb.slots.iter().filter(|x| x.backup && x.usable).count();
        let weight: u64 = lb
            .slots
            .iter()
            .filter(|x| x.usable && (!x.backup || act == 0))
            .map(|x| x.eweight())
            .sum::<u64>()
            .div_ceil(16);
        // The user weights of the servers in service: the active ones, else the
        // backups (only the first without `option allbackups`), as stats.c sums them.
        let uweight: u64 = if act == 0 && !b.ir.allbackups {
            (lb.slots.iter().find(|x| x.backup && x.usable)).map_or(0, |x| u64::from(x.weight))
        } else {
            (lb.slots.iter())
                .filter(|x| x.usable && x.weight > 0 && (!x.backup || act == 0))
                .map(|x| u64::from(x.weight))
                .sum()
        };
        drop(lb);
        // Each read takes the lock on its own (a guard in the chain below would live to
        // its end).
        let lastchg = b
            .lastchg
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
            .as_secs();
        let downtime = b.downtime(weight == 0);
        let slim = fullconn(shared, bi);
        let mut r = Row::new(BACKEND_ZEROS);
        r.set("pxname", &b.ir.name)
            .set("svname", "BACKEND")
            .set("qcur", b.queued.load(Relaxed))
            .set("scur", b.beconn.load(Relaxed))
            .set("stot", b.cumulated.load(Relaxed))
            .set("lastchg", lastchg)
            .set("slim", slim)
            .set("status", if act + bck > 0 { "UP" } else { "DOWN" })
            .set("weight", weight)
            .set("act", act)
            .set("bck", bck)
            .set("pid", 1)
            .set("iid", b.ir.uuid)
            .set("sid", 0)
            .set("type", 1)
            .set("mode", mode)
            .set("algo", algo(&b.ir.balance))
            .set("lbtot", b.lbtot.load(Relaxed))
            .traffic(&b.traffic)
            .counts(&b.conn)
            .set("dreq", b.denied.load(Relaxed))
            .set("lastsess", b.last_sess.age())
            .set("uweight", uweight)
            .set("downtime", downtime)
            .set("-", "-");
        if be_http {
            r.http(&b.http).set("req_tot", b.http.req.load(Relaxed));
        }
        // haproxy has no downtime for a backend without servers (a stats listen).
        if b.servers.is_empty() {
            r.set("downtime", "");
        }
        out.push_str(&r.line());
        rows.push((b.ir.uuid, 1, out));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let mut out = format!("# {STAT_FIELDS},\n");
    for (_, _, r) in rows {
        out.push_str(&r);
    }
    out + "\n"
}

/// A backend's `fullconn`: its own, else haproxy's (proxy_adjust_all_maxconn) a tenth,
/// rounded up, of the maxconn of the frontends whose default backend or fixed switching
/// rules reach it, each frontend once, never less than 1.
fn fullconn(shared: &Shared, bi: usize) -> u32 {
    if let Some(n) = shared.backends[bi].ir.fullconn {
        return n;
    }
    let reaches = |f: &crate::ir::Frontend| {
        f.default_backend == Some(bi)
            || f.switching
                .iter()
                .any(|r| matches!(r.backend, crate::ir::SwitchTarget::Backend(b) if b == bi))
    };
    let total: u64 = (shared.frontends.iter())
        .filter(|f| reaches(&f.ir))
        .map(|f| u64::from(f.ir.maxconn.filter(|&m| m > 0).unwrap_or(shared.maxconn)))
        .sum();
    total.div_ceil(10).clamp(1, u64::from(u32::MAX)) as u32
}
