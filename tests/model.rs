//! Model-based property test: random operation sequences run against a
//! `MemoryStore` (with random limits) and against a plain `BTreeMap` model
//! of the contract; every result, error, output buffer and counter must
//! agree after every step.
//!
//! In cache mode (`evict`) the model cannot know which blocks the policy
//! evicts, so it learns it: after each write it drops the keys the store
//! no longer holds, and checks that a write is the only thing that evicts,
//! that it never evicts the block it wrote, that the store's eviction
//! counters account for exactly what went, and everything else as without
//! eviction: no stored block changes, and the cap always holds.
//!
//! Keys and prefixes come from a tiny alphabet that includes 0x00 and 0xFF,
//! so keys collide, prefixes overlap and the prefix-range edge cases
//! (trailing 0xFF, empty prefix) come up often.

use std::collections::BTreeMap;

use blockmem::{Deleted, Error, MemoryStore, Options, DEFAULT_MAX_KEY_LEN};
use proptest::prelude::*;

const ALPHABET: [u8; 5] = [0x00, 0x01, b'a', 0xFE, 0xFF];
/// What an untouched byte of an output buffer holds.
const FILL: u8 = 0xA5;

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<u8>, Vec<u8>),
    Read(Vec<u8>),
    ReadInto(Vec<u8>, usize),
    ReadRange(Vec<u8>, u64, u64),
    ReadRangeInto(Vec<u8>, u64, u64, usize),
    Stat(Vec<u8>),
    Exists(Vec<u8>),
    Delete(Vec<u8>),
    DeleteByPrefix(Vec<u8>),
    List(Vec<u8>),
    ListPage(Vec<u8>, Option<Vec<u8>>, usize),
    /// A full pagination walk with this page size.
    Walk(Vec<u8>, usize),
    HealthCheck,
    Close,
}

fn bytes(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(&ALPHABET[..]), len)
}

/// Mostly short keys (many collisions), sometimes empty or long enough to
/// exceed a small `max_key_len`.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![9 => bytes(1..=3), 1 => bytes(0..=6)]
}

fn prefix() -> impl Strategy<Value = Vec<u8>> {
    bytes(0..=3)
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..=12),
        1 => prop::collection::vec(any::<u8>(), 13..=40),
    ]
}

/// Offsets and lengths: mostly near block sizes, sometimes huge or at the
/// edge of overflow.
fn position() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..=45,
        1 => Just(u64::MAX),
        1 => (1u64..=45).prop_map(|d| u64::MAX - d),
        1 => Just(1u64 << 63),
        1 => Just(1u64 << 32),
    ]
}

fn buf_len() -> impl Strategy<Value = usize> {
    0usize..=42
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (key(), data()).prop_map(|(k, d)| Op::Write(k, d)),
        3 => key().prop_map(Op::Read),
        3 => (key(), buf_len()).prop_map(|(k, n)| Op::ReadInto(k, n)),
        3 => (key(), position(), position()).prop_map(|(k, o, l)| Op::ReadRange(k, o, l)),
        3 => (key(), position(), position(), buf_len())
            .prop_map(|(k, o, l, n)| Op::ReadRangeInto(k, o, l, n)),
        2 => key().prop_map(Op::Stat),
        2 => key().prop_map(Op::Exists),
        4 => key().prop_map(Op::Delete),
        2 => prefix().prop_map(Op::DeleteByPrefix),
        2 => prefix().prop_map(Op::List),
        3 => (prefix(), prop::option::of(bytes(0..=4)), 0usize..=4)
            .prop_map(|(p, a, l)| Op::ListPage(p, a, l)),
        2 => (prefix(), 1usize..=4).prop_map(|(p, l)| Op::Walk(p, l)),
        1 => Just(Op::HealthCheck),
        // Rare, so most sequences do plenty of work before (if ever) closing.
        1 => prop_oneof![39 => Just(Op::HealthCheck), 1 => Just(Op::Close)],
    ]
}

fn options() -> impl Strategy<Value = Options> {
    (
        prop_oneof![2 => Just(0u64), 1 => 8u64..=80],
        prop_oneof![2 => Just(0u64), 1 => 1u64..=24],
        prop_oneof![2 => Just(0usize), 1 => 1usize..=4],
        prop_oneof![2 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(max_bytes, max_block_size, max_key_len, evict)| Options {
            max_bytes,
            max_block_size,
            max_key_len,
            evict,
        })
}

/// The contract, written as plainly as possible.
struct Model {
    blocks: BTreeMap<Vec<u8>, Vec<u8>>,
    closed: bool,
    max_bytes: u64,
    max_block_size: u64,
    max_key_len: usize,
    /// Cache mode: a write over the cap evicts instead of failing.
    evict: bool,
    /// Reads that found their key, and reads that did not.
    hits: u64,
    misses: u64,
}

type Entries = Vec<(Vec<u8>, u64)>;

impl Model {
    fn new(o: Options) -> Model {
        Model {
            blocks: BTreeMap::new(),
            closed: false,
            max_bytes: o.max_bytes,
            max_block_size: o.max_block_size,
            max_key_len: if o.max_key_len == 0 {
                DEFAULT_MAX_KEY_LEN
            } else {
                o.max_key_len
            },
            evict: o.evict && o.max_bytes != 0,
            hits: 0,
            misses: 0,
        }
    }

    fn total(&self) -> u64 {
        self.blocks.values().map(|d| d.len() as u64).sum()
    }

    fn check_key(&self, key: &[u8]) -> Result<(), Error> {
        if key.is_empty() || key.len() > self.max_key_len {
            return Err(Error::InvalidKey {
                len: key.len(),
                max_len: self.max_key_len,
            });
        }
        Ok(())
    }

    fn open(&self) -> Result<(), Error> {
        if self.closed {
            Err(Error::StoreClosed)
        } else {
            Ok(())
        }
    }

    /// Argument checks first (README: "Argument checks come first"), then
    /// closed, then the checks that depend on the stored state.
    fn write(&mut self, key: &[u8], data: &[u8]) -> Result<(), Error> {
        self.check_key(key)?;
        let size = data.len() as u64;
        if self.max_block_size != 0 && size > self.max_block_size {
            return Err(Error::BlockTooLarge {
                size,
                max: self.max_block_size,
            });
        }
        if self.max_bytes != 0 && size > self.max_bytes {
            return Err(Error::StoreFull {
                needed: size,
                max: self.max_bytes,
            });
        }
        self.open()?;
        let old = self.blocks.get(key).map_or(0, |d| d.len() as u64);
        let needed = self.total() - old + size;
        if self.max_bytes != 0 && needed > self.max_bytes && !self.evict {
            return Err(Error::StoreFull {
                needed,
                max: self.max_bytes,
            });
        }
        self.blocks.insert(key.to_vec(), data.to_vec());
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<&[u8], Error> {
        self.check_key(key)?;
        self.open()?;
        self.blocks
            .get(key)
            .map(Vec::as_slice)
            .ok_or(Error::NotFound)
    }

    /// [`get`](Self::get) for a read of the data, which counts a hit or a
    /// miss once the key is valid and the store open.
    fn read(&mut self, key: &[u8]) -> Result<&[u8], Error> {
        match self.get(key) {
            Ok(_) => self.hits += 1,
            Err(Error::NotFound) => self.misses += 1,
            Err(_) => {}
        }
        self.get(key)
    }

    fn range(&mut self, key: &[u8], offset: u64, length: u64) -> Result<&[u8], Error> {
        let data = self.read(key)?;
        let size = data.len() as u64;
        if offset > size {
            return Err(Error::InvalidRange { offset, size });
        }
        // u128: no overflow, whatever the inputs.
        let end = (offset as u128 + length as u128).min(size as u128) as usize;
        Ok(&data[offset as usize..end])
    }

    /// What a read into a `cap`-byte buffer returns and leaves in it.
    fn into_buf(result: Result<&[u8], Error>, cap: usize) -> (Result<usize, Error>, Vec<u8>) {
        let mut buf = vec![FILL; cap];
        let result = result.and_then(|data| {
            if data.len() > cap {
                return Err(Error::BufferTooSmall {
                    needed: data.len(),
                    capacity: cap,
                });
            }
            buf[..data.len()].copy_from_slice(data);
            Ok(data.len())
        });
        (result, buf)
    }

    fn delete(&mut self, key: &[u8]) -> Result<bool, Error> {
        self.check_key(key)?;
        self.open()?;
        Ok(self.blocks.remove(key).is_some())
    }

    fn delete_by_prefix(&mut self, prefix: &[u8]) -> Result<Deleted, Error> {
        self.open()?;
        let doomed: Vec<Vec<u8>> = self
            .blocks
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        let mut deleted = Deleted::default();
        for k in doomed {
            let data = self.blocks.remove(&k).unwrap();
            deleted.blocks += 1;
            deleted.bytes += data.len() as u64;
        }
        Ok(deleted)
    }

    fn list_page(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<(Entries, bool), Error> {
        self.open()?;
        let all: Entries = self
            .blocks
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| start_after.is_none_or(|a| k.as_slice() > a))
            .map(|(k, d)| (k.clone(), d.len() as u64))
            .collect();
        let limit = if limit == 0 { usize::MAX } else { limit };
        let more = all.len() > limit;
        Ok((all.into_iter().take(limit).collect(), more))
    }

    fn close(&mut self) {
        self.closed = true;
        self.blocks.clear();
    }
}

fn entries(listing: &blockmem::Listing) -> Entries {
    listing.iter().map(|(k, s)| (k.to_vec(), s)).collect()
}

fn run(options: Options, ops: &[Op]) -> Result<(), TestCaseError> {
    let store = MemoryStore::with_options(options);
    let mut model = Model::new(options);
    for (step, op) in ops.iter().enumerate() {
        let at = format!("step {step}: {op:?}");
        match op {
            Op::Write(k, d) => {
                let before = store.stats();
                prop_assert_eq!(store.write(k, d), model.write(k, d), "{}", at);
                if model.evict {
                    // Learn what the write evicted.
                    let gone: Vec<Vec<u8>> = model
                        .blocks
                        .keys()
                        .filter(|key| !store.exists(key).unwrap_or(true))
                        .cloned()
                        .collect();
                    let mut bytes = 0;
                    for key in &gone {
                        prop_assert!(key != k, "{}: the written block was evicted", at);
                        bytes += model.blocks.remove(key).unwrap().len() as u64;
                    }
                    let after = store.stats();
                    prop_assert_eq!(
                        after.evictions - before.evictions,
                        gone.len() as u64,
                        "{}",
                        at
                    );
                    prop_assert_eq!(after.evicted_bytes - before.evicted_bytes, bytes, "{}", at);
                }
            }
            Op::Read(k) => {
                let got = store.read(k).map(|b| b.to_vec());
                prop_assert_eq!(got, model.read(k).map(<[u8]>::to_vec), "{}", at);
            }
            Op::ReadInto(k, cap) => {
                let mut buf = vec![FILL; *cap];
                let got = store.read_into(k, &mut buf);
                let (want, want_buf) = Model::into_buf(model.read(k), *cap);
                prop_assert_eq!(got, want, "{}", at);
                prop_assert_eq!(buf, want_buf, "{}: buffer contents", at);
            }
            Op::ReadRange(k, o, l) => {
                let got = store.read_range(k, *o, *l).map(|b| b.to_vec());
                let want = model.range(k, *o, *l).map(<[u8]>::to_vec);
                prop_assert_eq!(got, want, "{}", at);
            }
            Op::ReadRangeInto(k, o, l, cap) => {
                let mut buf = vec![FILL; *cap];
                let got = store.read_range_into(k, *o, *l, &mut buf);
                let (want, want_buf) = Model::into_buf(model.range(k, *o, *l), *cap);
                prop_assert_eq!(got, want, "{}", at);
                prop_assert_eq!(buf, want_buf, "{}: buffer contents", at);
            }
            Op::Stat(k) => {
                let want = model.get(k).map(|d| d.len() as u64);
                prop_assert_eq!(store.stat(k), want, "{}", at);
            }
            Op::Exists(k) => {
                let want = match model.get(k) {
                    Ok(_) => Ok(true),
                    Err(Error::NotFound) => Ok(false),
                    Err(e) => Err(e),
                };
                prop_assert_eq!(store.exists(k), want, "{}", at);
            }
            Op::Delete(k) => {
                prop_assert_eq!(store.delete(k), model.delete(k), "{}", at);
            }
            Op::DeleteByPrefix(p) => {
                prop_assert_eq!(
                    store.delete_by_prefix(p),
                    model.delete_by_prefix(p),
                    "{}",
                    at
                );
            }
            Op::List(p) => {
                let got = store.list(p).map(|l| (entries(&l), l.has_more()));
                prop_assert_eq!(got, model.list_page(p, None, 0), "{}", at);
            }
            Op::ListPage(p, after, limit) => {
                let got = store
                    .list_page(p, after.as_deref(), *limit)
                    .map(|l| (entries(&l), l.has_more()));
                let want = model.list_page(p, after.as_deref(), *limit);
                prop_assert_eq!(got, want, "{}", at);
            }
            Op::Walk(p, limit) => {
                let mut after: Option<Vec<u8>> = None;
                let mut walked = Vec::new();
                for page_no in 0.. {
                    prop_assert!(page_no <= model.blocks.len() + 1, "{}: endless walk", at);
                    let got = store
                        .list_page(p, after.as_deref(), *limit)
                        .map(|l| (entries(&l), l.has_more()));
                    let want = model.list_page(p, after.as_deref(), *limit);
                    prop_assert_eq!(&got, &want, "{}: page {}", at, page_no);
                    let Ok((page, more)) = got else { break };
                    after = page.last().map(|(k, _)| k.clone());
                    walked.extend(page);
                    if !more {
                        break;
                    }
                }
                if let Ok((all, _)) = model.list_page(p, None, 0) {
                    prop_assert_eq!(walked, all, "{}: walk", at);
                }
            }
            Op::HealthCheck => {
                prop_assert_eq!(store.health_check(), model.open(), "{}", at);
            }
            Op::Close => {
                store.close();
                model.close();
            }
        }
        prop_assert_eq!(
            store.block_count(),
            model.blocks.len() as u64,
            "{}: block_count",
            at
        );
        prop_assert_eq!(store.total_size(), model.total(), "{}: total_size", at);
        prop_assert!(options.max_bytes == 0 || store.total_size() <= options.max_bytes);
        prop_assert_eq!(store.is_closed(), model.closed, "{}: closed", at);
        let stats = store.stats();
        prop_assert_eq!(
            (stats.hits, stats.misses),
            (model.hits, model.misses),
            "{}: hits, misses",
            at
        );
        prop_assert!(
            model.evict || stats.evictions == 0,
            "{}: evicted without cache mode",
            at
        );
    }
    // Finally, the whole content, block by block.
    if !model.closed {
        let listing = store.list("").unwrap();
        prop_assert_eq!(listing.len(), model.blocks.len());
        for (k, d) in &model.blocks {
            prop_assert_eq!(&store.read(k).unwrap()[..], &d[..]);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // No regression files in the repository; a failure prints the
        // minimal sequence, which can be pasted into a unit test.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_model(options in options(), ops in prop::collection::vec(op(), 1..160)) {
        run(options, &ops)?;
    }
}

/// Sequences that once were interesting, replayed on every run.
#[test]
fn fixed_sequences_match_model() {
    let ff = |n: usize| vec![0xFFu8; n];
    let cases: Vec<(Options, Vec<Op>)> = vec![
        (
            Options::default(),
            vec![
                Op::Write(ff(1), b"x".to_vec()),
                Op::Write(ff(2), b"yy".to_vec()),
                Op::Write(vec![0xFE, 0xFF], b"z".to_vec()),
                Op::ListPage(ff(1), Some(ff(1)), 1),
                Op::Walk(vec![], 1),
                Op::DeleteByPrefix(ff(1)),
                Op::List(vec![]),
            ],
        ),
        (
            Options {
                max_bytes: 10,
                max_block_size: 6,
                max_key_len: 2,
                evict: false,
            },
            vec![
                Op::Write(b"a".to_vec(), vec![1; 6]),
                Op::Write(b"b".to_vec(), vec![1; 5]),
                Op::Write(b"a".to_vec(), vec![1; 5]),
                Op::Write(b"b".to_vec(), vec![1; 5]),
                Op::Write(b"abc".to_vec(), vec![]),
                Op::Write(b"c".to_vec(), vec![1; 7]),
                Op::ReadRange(b"a".to_vec(), 5, u64::MAX),
                Op::ReadRangeInto(b"a".to_vec(), 2, u64::MAX - 1, 2),
                Op::Close,
                Op::Write(b"c".to_vec(), vec![1; 11]),
                Op::Write(b"c".to_vec(), vec![1; 1]),
                Op::Read(vec![]),
                Op::Walk(vec![], 2),
            ],
        ),
    ];
    for (options, ops) in cases {
        run(options, &ops).unwrap();
    }
}
