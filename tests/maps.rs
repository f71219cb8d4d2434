//! The `map_*` converters compared with haproxy 2.6 on the same map files and requests:
//! exact (`map`, first entry of a key wins), longest prefix (`map_beg`), substring,
//! suffix, domain and directory words, regular expressions, integer ranges, longest
//! network (`map_ip`, on a header and on `src`), integer output with a default, and a
//! cast that fails (no value, not the default). The bytes each client gets are compared.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{start, Which};

const FILES: [(&str, &str); 5] = [
    ("m.map", "# hosts and paths\nex.com be1\n  www.ex.com \t  be2  \n\nex.com dup\n/api apiv\n/api/v2 api2\n/a a1\n"),
    ("ip.map", "10.0.0.0/8 ten\n10.1.0.0/16 teno\n10.1.2.3 host\n127.0.0.0/8 local\n::1 six\n"),
    ("int.map", "1:5 low\n6 six\n7- high\n"),
    ("reg.map", "^/x/[0-9]+ num\n^/x other\n"),
    ("ints.map", "ex.com 10\nwww.ex.com 20\n"),
];

fn config(d: &str, port: u16) -> String {
    format!(
        "defaults\n  mode http\n  timeout client 5s\n  timeout server 5s\n  timeout connect 5s\n\
frontend f\n  bind 127.0.81.1:{port}\n\
  http-request return status 200 content-type text/plain lf-string \"str=%[req.hdr(host),map({d}/m.map,none)] beg=%[path,map_beg({d}/m.map)] ip=%[req.hdr(x-ip),map_ip({d}/ip.map,noip)] sub=%[path,map_sub({d}/m.map,nosub)] end=%[req.hdr(host),map_end({d}/m.map,noend)] dom=%[req.hdr(host),map_dom({d}/m.map,nodom)] dir=%[path,map_dir({d}/m.map,nodir)] int=%[req.hdr(x-n),map_int({d}/int.map,noint)] reg=%[path,map_reg({d}/reg.map,noreg)] si=%[req.hdr(host),map_str_int({d}/ints.map,-1)] src=%[src,map_ip({d}/ip.map,nosrc)]\"\n"
    )
}

fn run(which: Which, d: &str, port: u16) -> Vec<String> {
    let to: SocketAddr = format!("127.0.81.1:{port}").parse().unwrap();
    let _p = start(which, &format!("maps-{port}"), &config(d, port), to);
    let cases = [
        ("ex.com", "10.1.2.3", "3", "/api/v2/x"),
        ("www.ex.com", "10.1.9.9", "6", "/a/b"),
        ("x", "10.9.9.9", "9", "/x/12"),
        ("sub.ex.com", "1.2.3.4", "0", "/x/y"),
        ("EX.COM", "::1", "-1", "/apix"),
        ("", "zz", "abc", "/"),
    ];
    cases
        .iter()
        .map(|(h, ip, n, p)| {
            let mut c = TcpStream::connect(to).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            let req = format!("GET {p} HTTP/1.1\r\nHost: {h}\r\nX-IP: {ip}\r\nX-N: {n}\r\nConnection: close\r\n\r\n");
            c.write_all(req.as_bytes()).unwrap();
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
        .collect()
}

#[test]
fn maps_match_haproxy() {
    let dir = std::env::temp_dir().join(format!("haproxide-maps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (n, c) in FILES {
        std::fs::write(dir.join(n), c).unwrap();
    }
    let d = dir.to_str().unwrap().to_string();
    let want = run(Which::Haproxy, &d, 8701);
    let got = run(Which::Haproxide, &d, 8702);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(got, want);
    // The lookups did find things: the first entry of a key, the longest prefix and
    // network, a range, a regex, an integer value, the client's own address.
    let all = want.join("\n");
    for s in [
        "str=be1 beg=api2 ip=host",
        "int=six",
        "reg=num",
        "si=20",
        "src=local",
        "ip=six",
        "ip= ",
    ] {
        assert!(all.contains(s), "{s}: {all}");
    }
}
