//! The Rust runner of the contract's cases (`docs/contract-cases.txt`, whose
//! header says the format and what each operation calls): every case on a
//! fresh `MemoryStore`, every step checked, with the checks every runner
//! adds (a failed step changes nothing, caller buffers are written only as
//! reported, the counters equal a recount).

use std::fmt::Write as _;

use blockmem::{Error, MemoryStore, Options};

const CASES: &str = include_str!("../docs/contract-cases.txt");
const FILE: &str = "docs/contract-cases.txt";
const FILL: u8 = 0xEE;

/// One token of a step's expectation or arguments, read as bytes, a
/// number or a word.
fn bytes(tok: &str) -> Result<Vec<u8>, String> {
    if let Some((n, hex)) = tok.split_once('*') {
        if !tok.starts_with('"') {
            let n: usize = n.parse().map_err(|_| format!("bad count in {tok}"))?;
            let b = u8::from_str_radix(hex, 16).map_err(|_| format!("bad byte in {tok}"))?;
            return Ok(vec![b; n]);
        }
    }
    let inner = tok
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(|| format!("not a byte string: {tok}"))?;
    let mut out = Vec::new();
    let mut rest = inner.as_bytes();
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match rest {
            [b'x', h, l, tail @ ..] => {
                let hex = std::str::from_utf8(&[*h, *l]).unwrap_or("").to_owned();
                out.push(u8::from_str_radix(&hex, 16).map_err(|_| format!("bad escape in {tok}"))?);
                rest = tail;
            }
            [e @ (b'\\' | b'"'), tail @ ..] => {
                out.push(*e);
                rest = tail;
            }
            _ => return Err(format!("bad escape in {tok}")),
        }
    }
    Ok(out)
}

/// Splits a line into tokens: spaces separate them, except inside quotes.
fn tokens(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match (start, c) {
            (None, ' ') => {}
            (None, _) => {
                start = Some(i);
                quoted = c == '"';
            }
            (Some(s), _) if quoted && i > s => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    quoted = false;
                }
            }
            (Some(s), ' ') if !quoted => {
                out.push(&line[s..i]);
                start = None;
            }
            _ => {}
        }
    }
    if quoted {
        return Err("unterminated string".into());
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    Ok(out)
}

fn number(tok: &str) -> Result<u64, String> {
    tok.parse().map_err(|_| format!("not a number: {tok}"))
}

fn show(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' | b'\\' => write!(s, "\\{}", c as char),
            0x20..=0x7e => write!(s, "{}", c as char),
            _ => write!(s, "\\x{c:02x}"),
        }
        .expect("a String takes any write");
    }
    if s.len() > 80 {
        return format!("{} bytes", b.len());
    }
    s + "\""
}

fn error_name(e: &Error) -> String {
    match e {
        Error::NotFound => "not_found".into(),
        Error::StoreClosed => "store_closed".into(),
        Error::InvalidKey { .. } => "invalid_key".into(),
        Error::InvalidRange { .. } => "invalid_range".into(),
        Error::BufferTooSmall { needed, .. } => format!("buffer_too_small {needed}"),
        Error::BlockTooLarge { .. } => "block_too_large".into(),
        Error::StoreFull { .. } => "store_full".into(),
        Error::OutOfMemory { .. } => "out_of_memory".into(),
        other => format!("an error the cases do not name: {other}"),
    }
}

/// Every key with its listed size and its data, and the counters; `None`
/// once closed.
type State = (Vec<(Vec<u8>, u64, Vec<u8>)>, u64, u64);

fn state(store: &MemoryStore) -> Option<State> {
    let listing = store.list("").ok()?;
    let blocks = (&listing)
        .into_iter()
        .map(|(k, n)| {
            (
                k.to_vec(),
                n,
                store.read(k).map(|b| b.to_vec()).unwrap_or_default(),
            )
        })
        .collect();
    Some((blocks, store.block_count(), store.total_size()))
}

/// What a step gave, written as the cases file writes expectations.
fn run_step(store: &MemoryStore, op: &str, args: &[&str]) -> Result<String, String> {
    let key = |i: usize| -> Result<Vec<u8>, String> {
        bytes(
            args.get(i)
                .ok_or_else(|| format!("{op}: missing argument {i}"))?,
        )
    };
    let num = |i: usize| -> Result<u64, String> {
        number(
            args.get(i)
                .ok_or_else(|| format!("{op}: missing argument {i}"))?,
        )
    };
    let data = |r: Result<Vec<u8>, Error>| match r {
        Ok(b) => show(&b),
        Err(e) => error_name(&e),
    };
    let listing = |r: Result<blockmem::Listing, Error>, paged: bool| match r {
        Ok(l) => {
            let mut words: Vec<String> = (&l)
                .into_iter()
                .map(|(k, n)| format!("{} {n}", show(k)))
                .collect();
            if paged {
                words.push(if l.has_more() { "more" } else { "end" }.into());
            }
            words.join(" ")
        }
        Err(e) => error_name(&e),
    };
    // A buffer read: what was reported, after checking the bytes past it.
    let buffered = |r: Result<usize, Error>, buf: &[u8]| -> String {
        let n = *r.as_ref().unwrap_or(&0);
        if buf[n..].iter().any(|&b| b != FILL) {
            return format!("a buffer written past the {n} bytes reported");
        }
        match r {
            Ok(n) => show(&buf[..n]),
            Err(e) => error_name(&e),
        }
    };
    let unit = |r: Result<(), Error>| r.map_or_else(|e| error_name(&e), |()| "ok".into());
    Ok(match op {
        "write" => unit(store.write(key(0)?, key(1)?)),
        "stream" => {
            let d = key(1)?;
            unit(store.reserve(key(0)?, d.len()).and_then(|mut r| {
                r.as_mut_slice().copy_from_slice(&d);
                store.commit(r)
            }))
        }
        "read" | "get" => data(store.read(key(0)?).map(|b| b.to_vec())),
        "range" => data(
            store
                .read_range(key(0)?, num(1)?, num(2)?)
                .map(|b| b.to_vec()),
        ),
        "into" => {
            let mut buf = vec![FILL; num(1)? as usize];
            let r = store.read_into(key(0)?, &mut buf);
            buffered(r, &buf)
        }
        "range_into" => {
            let cap = num(2)?;
            let mut buf = vec![FILL; cap as usize];
            let r = store.read_range_into(key(0)?, num(1)?, cap, &mut buf);
            buffered(r, &buf)
        }
        "stat" => store
            .stat(key(0)?)
            .map_or_else(|e| error_name(&e), |n| n.to_string()),
        "exists" => store
            .exists(key(0)?)
            .map_or_else(|e| error_name(&e), |b| b.to_string()),
        "delete" => store
            .delete(key(0)?)
            .map_or_else(|e| error_name(&e), |b| b.to_string()),
        "delete_prefix" => store
            .delete_by_prefix(key(0)?)
            .map_or_else(|e| error_name(&e), |d| format!("{} {}", d.blocks, d.bytes)),
        "list" => listing(store.list(key(0)?), false),
        "page" => listing(
            store.list_page(key(0)?, Some(key(1)?), num(2)? as usize),
            true,
        ),
        "count" => store.block_count().to_string(),
        "size" => store.total_size().to_string(),
        "stats" => {
            let s = store.stats();
            let open = if s.closed { "closed" } else { "open" };
            format!("{} {} {open}", s.block_count, s.total_size)
        }
        "evictions" => {
            let s = store.stats();
            format!("{} {}", s.evictions, s.evicted_bytes)
        }
        "health" => unit(store.health_check()),
        "close" => {
            store.close();
            "ok".into()
        }
        _ => return Err(format!("unknown operation {op}")),
    })
}

/// The expectation, normalised the way `run_step` writes results.
fn expected(words: &[&str]) -> Result<String, String> {
    let mut out = Vec::new();
    for w in words {
        out.push(if w.starts_with('"') || w.contains('*') {
            show(&bytes(w)?)
        } else {
            (*w).to_owned()
        });
    }
    Ok(out.join(" "))
}

fn options(words: &[&str]) -> Result<Options, String> {
    let mut o = Options::default();
    for w in words {
        let (name, value) = w.split_once('=').ok_or_else(|| format!("bad option {w}"))?;
        let value = number(value)?;
        match name {
            "max_bytes" => o.max_bytes = value,
            "max_block_size" => o.max_block_size = value,
            "max_key_len" => o.max_key_len = value as usize,
            "evict" => o.evict = value != 0,
            _ => return Err(format!("unknown option {name}")),
        }
    }
    Ok(o)
}

#[test]
fn contract_cases() {
    let mut failures = Vec::new();
    let (mut cases, mut steps) = (0, 0);
    let mut store = MemoryStore::new();
    let mut name = "";
    for (i, line) in CASES.lines().enumerate() {
        let at = format!("{FILE}:{}", i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = tokens(line).unwrap_or_else(|e| panic!("{at}: {e}"));
        match words[0] {
            "case" => {
                name = words
                    .get(1)
                    .unwrap_or_else(|| panic!("{at}: a case needs a name"));
                store = MemoryStore::new();
                cases += 1;
                continue;
            }
            "options" => {
                store = MemoryStore::with_options(
                    options(&words[1..]).unwrap_or_else(|e| panic!("{at}: {e}")),
                );
                continue;
            }
            _ => {}
        }
        let arrow = words
            .iter()
            .position(|w| *w == "->")
            .unwrap_or_else(|| panic!("{at}: no ->"));
        let want = expected(&words[arrow + 1..]).unwrap_or_else(|e| panic!("{at}: {e}"));
        let before = state(&store);
        let got =
            run_step(&store, words[0], &words[1..arrow]).unwrap_or_else(|e| panic!("{at}: {e}"));
        steps += 1;
        let mut fail = |what: String| failures.push(format!("{at}: case {name}: {line}: {what}"));
        if got != want {
            fail(format!("want {want}, got {got}"));
        }
        let failed = !got.starts_with('"') && got.contains('_');
        if failed && state(&store) != before {
            fail("a failed step changed the store".into());
        }
        if let Some((blocks, count, size)) = state(&store) {
            let recount: u64 = blocks.iter().map(|(_, _, d)| d.len() as u64).sum();
            if count != blocks.len() as u64 || size != recount {
                fail(format!(
                    "count {count} size {size}, a recount gives {} and {recount}",
                    blocks.len()
                ));
            }
            for (key, listed, data) in &blocks {
                if *listed != data.len() as u64 {
                    fail(format!(
                        "listed {} with size {listed}, read {} bytes",
                        show(key),
                        data.len()
                    ));
                }
            }
        }
    }
    assert!(
        cases > 20 && steps > 200,
        "only {cases} cases, {steps} steps read from {FILE}"
    );
    assert!(
        failures.is_empty(),
        "{} steps failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
