//! Self-verifying block payloads and a small random source, shared by
//! the stress test and the soak (`tests/stress.rs`, `tests/soak.rs`).
//!
//! A block is a sequence of little-endian u64 words:
//! - word 0: tag = key hash (high 32 bits) | version (low 32 bits)
//! - word 1: number of words
//! - word 2: checksum of words 3.. and of words 0 and 1
//! - word i >= 3: tag ^ whiten(i)
//!
//! A read that mixes two versions, comes from another key, or is cut short
//! fails the check; so does a range read (word-aligned) whose words do not
//! all carry the same tag.

#![allow(dead_code)]

pub fn key_hash(key: &[u8]) -> u32 {
    // FNV-1a, 32 bits.
    let mut h: u32 = 0x811c_9dc5;
    for &b in key {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn whiten(i: u64) -> u64 {
    let mut x = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x
}

fn checksum(words: impl Iterator<Item = u64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        h = (h ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub fn tag(key: &[u8], version: u32) -> u64 {
    ((key_hash(key) as u64) << 32) | version as u64
}

/// A payload of `words` words (at least 3).
pub fn make(key: &[u8], version: u32, words: usize) -> Vec<u8> {
    let words = words.max(3);
    let tag = tag(key, version);
    let mut w = vec![0u64; words];
    w[0] = tag;
    w[1] = words as u64;
    for (i, slot) in w.iter_mut().enumerate().skip(3) {
        *slot = tag ^ whiten(i as u64);
    }
    w[2] = checksum(w.iter().copied().take(2).chain(w.iter().copied().skip(3)));
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn words(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Checks a whole block read under `key`; returns its version.
pub fn verify(key: &[u8], bytes: &[u8]) -> Result<u32, String> {
    if !bytes.len().is_multiple_of(8) || bytes.len() < 24 {
        return Err(format!("bad length {}", bytes.len()));
    }
    let w = words(bytes);
    if (w[0] >> 32) as u32 != key_hash(key) {
        return Err(format!("block for another key under {key:?}"));
    }
    if w[1] != w.len() as u64 {
        return Err(format!("length word {} but {} words", w[1], w.len()));
    }
    let sum = checksum(w.iter().copied().take(2).chain(w.iter().copied().skip(3)));
    if w[2] != sum {
        return Err("checksum mismatch (torn block)".into());
    }
    for (i, &x) in w.iter().enumerate().skip(3) {
        if x ^ whiten(i as u64) != w[0] {
            return Err(format!("word {i} belongs to another version"));
        }
    }
    Ok(w[0] as u32)
}

/// Checks a word-aligned range `[first_word ..)` of a block under `key`.
pub fn verify_range(key: &[u8], first_word: usize, bytes: &[u8]) -> Result<(), String> {
    if !bytes.len().is_multiple_of(8) {
        return Err(format!("unaligned range length {}", bytes.len()));
    }
    let mut tag = None;
    for (j, x) in words(bytes).into_iter().enumerate() {
        let i = first_word + j;
        let t = match i {
            0 => x,
            1 | 2 => continue,
            _ => x ^ whiten(i as u64),
        };
        if (t >> 32) as u32 != key_hash(key) {
            return Err(format!("word {i} is not from key {key:?}"));
        }
        if *tag.get_or_insert(t) != t {
            return Err(format!("word {i} belongs to another version"));
        }
    }
    Ok(())
}

/// xorshift64*: a small, deterministic per-thread random source.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
