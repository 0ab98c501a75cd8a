//! header-guard: a Gatehouse policy module in Rust, on the raw ABI
//! (abi/ABI.md), with no SDK, no allocator and no standard library.
//!
//! It does what `gatehouse plugin new` makes in Go: it refuses a request
//! without a configured header (401 by default), hands the header's value
//! to later policies as the variable `client`, and marks every response
//! with `X-Checked-By: header-guard`.
//!
//! Config (a flat JSON object): {"header": "X-Client", "status": 401}.
//!
//! Build (Debian: apt-get install rustc libstd-rust-dev-wasm32):
//!   rustc --target wasm32-unknown-unknown --crate-type cdylib \
//!     -C opt-level=s -C panic=abort -C strip=symbols \
//!     -C link-arg=-zstack-size=65536 -o header-guard.wasm lib.rs
#![no_std]

use core::panic::PanicInfo;

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[link(wasm_import_module = "gatehouse_v1")]
extern "C" {
    fn get_plan(ctx: i32, plan: i32, buf: *mut u8, cap: i32) -> i32;
    fn get_attachment(ctx: i32, att: i32, item: i32, buf: *mut u8, cap: i32) -> i32;
    fn get_header(ctx: i32, kind: i32, name: *const u8, name_len: i32, buf: *mut u8, cap: i32) -> i32;
    fn set_header(ctx: i32, kind: i32, name: *const u8, name_len: i32, val: *const u8, val_len: i32) -> i32;
    fn send_response(ctx: i32, code: i32, body: *const u8, body_len: i32) -> i32;
    fn set_var(ctx: i32, name: *const u8, name_len: i32, val: *const u8, val_len: i32) -> i32;
}

const OK: i32 = 0;
const ERR_NOT_FOUND: i32 = -1;
const ERR_INVALID: i32 = -2;
const ACTION_CONTINUE: i32 = 0;
const ACTION_STOP: i32 = 1;
const KIND_REQUEST: i32 = 0;
const KIND_RESPONSE: i32 = 1;
const NAME: &[u8] = b"header-guard";

/// The version marker: this module uses only ABI v1.0 functions.
#[no_mangle]
pub extern "C" fn gatehouse_abi_v1() -> i32 {
    0
}

// One call at a time per instance (ABI.md §9): static buffers are safe.
static mut PLAN: [u8; 256] = [0; 256];
static mut CONFIG: [u8; 1024] = [0; 1024];
static mut VALUE: [u8; 8192] = [0; 8192];
static mut BODY: [u8; 256] = [0; 256];

struct Config<'a> {
    header: &'a [u8],
    status: i32,
}

#[no_mangle]
pub extern "C" fn on_request(ctx: i32, plan: i32) -> i32 {
    each_attachment(ctx, plan, |ctx, cfg| {
        let v = unsafe { &mut VALUE };
        let n = unsafe { get_header(ctx, KIND_REQUEST, cfg.header.as_ptr(), cfg.header.len() as i32, v.as_mut_ptr(), v.len() as i32) };
        if n == ERR_NOT_FOUND || n == 0 {
            let body = refusal(cfg);
            let ct = b"Content-Type";
            let json = b"application/json";
            unsafe {
                set_header(ctx, KIND_RESPONSE, ct.as_ptr(), ct.len() as i32, json.as_ptr(), json.len() as i32);
                let st = send_response(ctx, cfg.status, body.as_ptr(), body.len() as i32);
                if st != OK {
                    return st;
                }
            }
            return ACTION_STOP;
        }
        if n < 0 || n as usize > v.len() {
            return if n < 0 { n } else { ERR_INVALID };
        }
        // Several values come joined by NUL: the first one is handed on.
        let mut end = n as usize;
        for (i, b) in v[..n as usize].iter().enumerate() {
            if *b == 0 {
                end = i;
                break;
            }
        }
        let name = b"client";
        let st = unsafe { set_var(ctx, name.as_ptr(), name.len() as i32, v.as_ptr(), end as i32) };
        if st != OK {
            return st;
        }
        ACTION_CONTINUE
    })
}

#[no_mangle]
pub extern "C" fn on_response(ctx: i32, plan: i32) -> i32 {
    each_attachment(ctx, plan, |ctx, _| {
        let h = b"X-Checked-By";
        let st = unsafe { set_header(ctx, KIND_RESPONSE, h.as_ptr(), h.len() as i32, NAME.as_ptr(), NAME.len() as i32) };
        if st != OK {
            return st;
        }
        ACTION_CONTINUE
    })
}

/// Runs f for each attachment of the plan, in order, until one answers or
/// fails.
fn each_attachment(ctx: i32, plan: i32, f: impl Fn(i32, &Config) -> i32) -> i32 {
    let buf = unsafe { &mut PLAN };
    let n = unsafe { get_plan(ctx, plan, buf.as_mut_ptr(), buf.len() as i32) };
    if n < 0 {
        return n;
    }
    if n as usize > buf.len() || n % 4 != 0 {
        return ERR_INVALID; // more than 64 attachments in one plan
    }
    for i in 0..(n as usize / 4) {
        let id = i32::from_le_bytes([buf[4 * i], buf[4 * i + 1], buf[4 * i + 2], buf[4 * i + 3]]);
        let cfg_buf = unsafe { &mut CONFIG };
        let m = unsafe { get_attachment(ctx, id, 1, cfg_buf.as_mut_ptr(), cfg_buf.len() as i32) };
        if m < 0 {
            return m;
        }
        if m as usize > cfg_buf.len() {
            return ERR_INVALID; // a config over 1 KiB
        }
        let cfg = match parse_config(&cfg_buf[..m as usize]) {
            Some(c) => c,
            None => return ERR_INVALID,
        };
        let r = f(ctx, &cfg);
        if r != ACTION_CONTINUE {
            return r;
        }
    }
    ACTION_CONTINUE
}

/// The refusal: {"message":"missing header NAME","statusCode":STATUS}.
fn refusal(cfg: &Config) -> &'static [u8] {
    let b = unsafe { &mut BODY };
    let mut n = 0;
    let mut put = |s: &[u8]| {
        for c in s {
            if n < b.len() {
                b[n] = *c;
                n += 1;
            }
        }
    };
    put(b"{\"message\":\"missing header ");
    put(cfg.header);
    put(b"\",\"statusCode\":");
    let s = cfg.status as u32;
    put(&[b'0' + (s / 100 % 10) as u8, b'0' + (s / 10 % 10) as u8, b'0' + (s % 10) as u8]);
    put(b"}");
    unsafe { &BODY[..n] }
}

/// Parses a flat JSON object with the keys "header" (a string of header
/// name characters, no escapes) and "status" (400–599); anything else is
/// refused (None), like the Go policy's strict decoding.
fn parse_config(s: &[u8]) -> Option<Config<'_>> {
    let mut c = Config { header: b"X-Client", status: 401 };
    let mut i = skip_ws(s, 0);
    if s.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(s, i + 1);
    if s.get(i) == Some(&b'}') {
        return if skip_ws(s, i + 1) == s.len() { Some(c) } else { None };
    }
    loop {
        let (key, j) = string(s, i)?;
        i = skip_ws(s, j);
        if s.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(s, i + 1);
        match key {
            b"header" => {
                let (v, j) = string(s, i)?;
                if v.is_empty() || !v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_') {
                    return None;
                }
                c.header = v;
                i = j;
            }
            b"status" => {
                let mut v: i32 = 0;
                let start = i;
                while let Some(d) = s.get(i).filter(|d| d.is_ascii_digit()) {
                    v = v.checked_mul(10)?.checked_add((d - b'0') as i32)?;
                    i += 1;
                }
                if i == start || !(400..=599).contains(&v) {
                    return None;
                }
                c.status = v;
            }
            _ => return None,
        }
        i = skip_ws(s, i);
        match s.get(i) {
            Some(b',') => i = skip_ws(s, i + 1),
            Some(b'}') => return if skip_ws(s, i + 1) == s.len() { Some(c) } else { None },
            _ => return None,
        }
    }
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while matches!(s.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// A JSON string without escapes at s[i..]: its bytes and the index after it.
fn string(s: &[u8], i: usize) -> Option<(&[u8], usize)> {
    if s.get(i) != Some(&b'"') {
        return None;
    }
    let start = i + 1;
    let mut j = start;
    loop {
        match s.get(j)? {
            b'"' => return Some((&s[start..j], j + 1)),
            b'\\' => return None,
            _ => j += 1,
        }
    }
}
