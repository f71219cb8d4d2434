//! The converters of sample.c beyond the string basics, compared with haproxy 2.6 on the
//! same configuration and requests: each converter's output is put in a request header
//! the server records (arithmetic with integers and variables, concat/add_item,
//! ltrim/rtrim, strcmp, cut_crlf, iif, regsub with its flags, json in every input mode,
//! the hashes, host_only/port_only, hex2i, b64dec, htonl, xxh32/xxh64/xxh3, sha1/sha2,
//! ub64enc/ub64dec, url_enc, be2dec/be2hex, http_date), and a value a converter drops
//! leaves its place empty.

mod common;

const CFG: &str = "global\n  log stdout format raw local0\n\
defaults\n  mode http\n  log global\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n\
frontend web\n  bind 127.0.86.1:8720\n\
  http-request set-var(txn.n) req.hdr(x-n)\n\
  http-request set-var(txn.s) req.hdr(x-s)\n\
  http-request set-header x-arith \"%[req.hdr(x-a),add(7)]|%[req.hdr(x-a),sub(txn.n)]|%[req.hdr(x-a),mul(-3)]|%[req.hdr(x-a),div(txn.n)]|%[req.hdr(x-a),mod(4)]|%[req.hdr(x-a),and(6)]|%[req.hdr(x-a),or(txn.n)]|%[req.hdr(x-a),xor(5)]|%[req.hdr(x-a),neg]|%[req.hdr(x-a),cpl]|%[req.hdr(x-a),bool]|%[req.hdr(x-a),not]|%[req.hdr(x-a),odd]|%[req.hdr(x-a),even]|%[req.hdr(x-a),add(txn.none)]|%[req.hdr(x-a),div(0)]|%[req.hdr(x-a),mul(txn.n)]|%[req.hdr(x-a),add]\"\n\
  http-request set-header x-str \"%[req.hdr(x-s),concat(<,txn.n,>)]|%[req.hdr(x-s),concat(,txn.none,)]|%[req.hdr(x-s),add_item(-,txn.n)]|%[req.hdr(x-e),add_item(-,txn.n,!)]|%[req.hdr(x-s),ltrim(ab)]|%[req.hdr(x-s),rtrim(yz)]|%[req.hdr(x-s),strcmp(txn.s)]|%[req.hdr(x-s),strcmp(txn.n)]|%[req.hdr(x-s),strcmp(txn.none)]|%[req.hdr(x-a),bool,iif(yes,no)]|%[req.hdr(x-s),length]\"\n\
  http-request set-header x-re \"%[req.hdr(x-s),regsub(a,X)]|%[req.hdr(x-s),regsub(a,X,g)]|%[req.hdr(x-s),regsub(A,X,ig)]|%[req.hdr(x-s),regsub(^.,^)]|%[req.hdr(x-s),regsub(^.,^,g)]|%[req.hdr(x-s),regsub(x*,-,g)]|%[req.hdr(x-s),regsub([bc]+,<\\\\0>,g)]\"\n\
  http-request set-header x-json \"%[req.hdr(x-j),json]|%[req.hdr(x-j),json(utf8)]|%[req.hdr(x-j),json(utf8s)]|%[req.hdr(x-j),json(utf8p)]|%[req.hdr(x-j),json(utf8ps)]\"\n\
  http-request set-header x-hash \"%[req.hdr(x-s),djb2]|%[req.hdr(x-s),sdbm(1)]|%[req.hdr(x-s),wt6]|%[req.hdr(x-s),crc32]|%[req.hdr(x-s),crc32c]|%[req.hdr(x-s),djb2(1)]|%[req.hdr(x-a),crc32]\"\n\
  http-request set-header x-misc \"%[req.hdr(host),host_only]|%[req.hdr(host),port_only]|%[req.hdr(x-h),hex2i]|%[req.hdr(x-b),b64dec]|%[req.hdr(x-a),htonl,hex]|%[req.hdr(x-c),cut_crlf]|%[req.hdr(x-p),port_only]|%[req.hdr(x-z),b64dec,concat(!)]|%[req.hdr(x-a),djb2()]\"\n\
  http-request set-header x-digest \"%[req.hdr(x-s),xxh32]|%[req.hdr(x-s),xxh32(1)]|%[req.hdr(x-s),xxh64]|%[req.hdr(x-s),xxh64(-5)]|%[req.hdr(x-s),xxh3]|%[req.hdr(x-s),xxh3(7)]|%[req.hdr(x-s),sha1,hex]|%[req.hdr(x-s),sha2,hex]|%[req.hdr(x-s),sha2(224),hex]|%[req.hdr(x-s),sha2(384),base64]|%[req.hdr(x-s),sha2(512),ub64enc]|%[req.hdr(x-s),ub64enc]|%[req.hdr(x-u),ub64dec]|%[req.hdr(x-u),ub64dec,hex]\"\n\
  http-request set-header x-enc \"%[req.hdr(x-s),url_enc]|%[req.hdr(x-q),url_enc(query)]|%[req.hdr(x-s),be2dec(-,2)]|%[req.hdr(x-s),be2dec(.,3,1)]|%[req.hdr(x-s),be2dec(,8)]|%[req.hdr(x-s),be2hex]|%[req.hdr(x-s),be2hex(:,2)]|%[req.hdr(x-s),be2hex(-,4,1)]|%[req.hdr(x-s),be2hex(,3)]\"\n\
  http-request set-header x-date \"%[req.hdr(x-t),http_date]|%[req.hdr(x-t),http_date(3600)]|%[req.hdr(x-t),http_date(-5,s)]|%[req.hdr(x-t),http_date(7,ms)]|%[req.hdr(x-t),http_date(0,us)]|%[req.hdr(x-t),mul(1000),add(5),http_date(0,ms)]\"\n\
  default_backend app\n\
backend app\n  server s 127.0.86.2:8721\n\
frontend probe\n  bind 127.0.86.1:8729\n  no log\n  default_backend app\n";

fn conversations() -> Vec<Vec<String>> {
    let r = |extra: &str| format!("GET / HTTP/1.1\r\n{extra}\r\n");
    vec![
        vec![r(
            "Host: WWW.Example.COM:8080\r\nX-A: 13\r\nX-N: 4\r\nX-S: abcabcxyz\r\nX-J: a\"b\\c/d\te\r\nX-H: 1aF\r\nX-B: aGVsbG8h\r\nX-C: one%0Dtwo\r\nX-U: aGVsbG8h\r\nX-Q: a b&c=d/\u{e9}~%\r\nX-T: 1700000000\r\n",
        )],
        vec![r(
            "Host: [::1]:81\r\nX-A: -9223372036854775808\r\nX-N: -1\r\nX-S: zzAaa\r\nX-E: \r\nX-J: caf\u{e9} \u{20ac}\r\nX-H: xyz\r\nX-B: aGk\r\nX-U: aGk\r\nX-T: 951782400123456\r\n",
        )],
        vec![r(
            "Host: [::1]\r\nX-A: 0\r\nX-N: 0\r\nX-S: aa\r\nX-E: e\r\nX-H: \r\nX-B: aGk=\r\nX-U: a=b-_w\r\n",
        )],
        // Two negatives: haproxy 2.6.12's arith_add gives the largest integer; base64
        // padding in the middle; a port with a letter; binary cut at its NUL.
        vec![r(
            "Host: h\r\nX-A: -2\r\nX-N: 5\r\nX-S: q\r\nX-B: aGk=aGk=\r\nX-P: a:8x\r\nX-Z: AEE=\r\nX-U: abcde\r\n",
        )],
        // Out of the ranges JSON escapes take: the strict modes drop the value, the
        // skipping ones go on without the character.
        vec![r(
            "Host: h\r\nX-A: 5\r\nX-S: b\r\nX-J: x\u{ffff}y\u{10348}z\r\n",
        )],
    ]
}

#[test]
fn converters_match_haproxy() {
    common::compare_http(
        ("converters", CFG),
        ("127.0.86.1:8729", "127.0.86.1:8720"),
        &conversations(),
        (
            "127.0.86.2:8721",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
        &[
            // Arithmetic on 13 with txn.n = 4, and a missing variable dropping the value.
            "x-arith: 20|9|-39|3|1|4|13|8|-13|-14|1|0|1|0||9223372036854775807|52|13",
            // strcmp gives the C library's byte difference ('a' - '4').
            "x-str: abcabcxyz<4>|abcabcxyz|abcabcxyz-4||cabcxyz|abcabcx|0|45||yes|9",
            "x-misc: www.example.com|8080|431|hello!|0000000D|one%0Dtwo|",
            "|hihi|FFFFFFFE||152|!|",
            "x-re: Xbcabcxyz|XbcXbcxyz|XbcXbcxyz|^bcabcxyz|^bcabcxyz|-a-b-c-a-b-c--y-z-|a<bc>a<bc>xyz",
            "x-date: Tue, 14 Nov 2023 22:13:20 GMT|Tue, 14 Nov 2023 23:13:20 GMT|",
            "x-enc: abcabcxyz|a%20b%26c%3Dd%2F%C3%A9~%25|24930-25441-25187-30841-122|",
            // sha1 in hex, then ub64enc, ub64dec and its hex, on the first request.
            "|37C337B169EC23A4BC7AA8B79CD0BF7D2C8B540A|" ,
            "|YWJjYWJjeHl6|hello!|68656C6C6F21",
            "x-json: x\\u00ef\\u00bf\\u00bfy\\u00f0\\u0090\\u008d\\u0088z||xyz||xyz",
        ],
    );
}
