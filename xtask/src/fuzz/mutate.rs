//! The mutations of `cargo xtask fuzz`: what AFL and libFuzzer do without coverage feedback —
//! bit flips, random and interesting bytes, interesting integers in both byte orders (to hit
//! length and dim fields), inserts, deletes, duplicated runs, splices with other seeds, and,
//! for the text inside `.npy` headers, safetensors headers and JSON, interesting tokens and
//! numbers.

/// SplitMix64: small, fast, and the same inputs for the same seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const INTERESTING_BYTES: [u8; 14] = [
    0, 1, 2, 3, 4, 8, 0x0B, 0x0E, 0x1F, 0x7F, 0x80, 0x8B, 0xFE, 0xFF,
];

const INTERESTING_INTS: [u64; 24] = [
    0,
    1,
    2,
    3,
    16,
    28,
    64,
    255,
    256,
    784,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x1_0000,
    60_000,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    0x1_0000_0000,
    0x7FFF_FFFF_FFFF_FFFF,
    0x8000_0000_0000_0000,
    u64::MAX,
    u64::MAX - 1,
    1 << 40,
];

const TOKENS: [&str; 40] = [
    "0",
    "1",
    "-1",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-320",
    "NaN",
    "null",
    "true",
    "false",
    "True",
    "False",
    "()",
    "(0,)",
    "(0, 4294967295, 4294967295)",
    "[]",
    "[0,18446744073709551615]",
    "{}",
    "\"",
    "'",
    ",",
    ":",
    "<f4",
    ">f8",
    "|b1",
    "<i8",
    "|u1",
    "{\"Float\":1e308}",
    "{\"Bool\":true}",
    "\"F32\"",
    "\"F64\"",
    "\"BF16\"",
    "\"data_offsets\"",
    "\"shape\"",
    "\"step\"",
];

/// Applies one to four mutations to `data`, keeping it at most `max_len` bytes.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>], max_len: usize) {
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, data, seeds);
    }
    data.truncate(max_len);
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = data.len();
    let at = |rng: &mut Rng| if len == 0 { 0 } else { rng.below(len) };
    match rng.below(14) {
        0 if len > 0 => {
            let i = at(rng);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = at(rng);
            data[i] = rng.next() as u8;
        }
        2 if len > 0 => {
            let i = at(rng);
            data[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        3 => {
            // An interesting integer of 1, 2, 4 or 8 bytes, little- or big-endian.
            let v = INTERESTING_INTS[rng.below(INTERESTING_INTS.len())];
            let width = 1 << rng.below(4);
            let bytes = if rng.below(2) == 0 {
                v.to_le_bytes()[..width].to_vec()
            } else {
                v.to_be_bytes()[8 - width..].to_vec()
            };
            let i = at(rng);
            overwrite(data, i, &bytes);
        }
        4 => {
            let n = 1 + rng.below(16);
            let i = at(rng);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            data.splice(i..i, bytes);
        }
        5 => {
            let n = 1 + rng.below(256);
            let byte = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
            let i = at(rng);
            data.splice(i..i, std::iter::repeat_n(byte, n));
        }
        6 if len > 0 => {
            let i = at(rng);
            let n = 1 + rng.below((len - i).min(64));
            data.drain(i..i + n);
        }
        7 if len > 0 => {
            let i = at(rng);
            let n = 1 + rng.below((len - i).min(64));
            let chunk = data[i..i + n].to_vec();
            let j = rng.below(len + 1);
            data.splice(j..j, chunk);
        }
        8 => {
            // Splice: a prefix of this input and a suffix of another seed.
            let other = &seeds[rng.below(seeds.len())];
            let i = rng.below(len + 1);
            let j = rng.below(other.len() + 1);
            data.truncate(i);
            data.extend_from_slice(&other[j..]);
        }
        9 => {
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            let i = at(rng);
            if rng.below(2) == 0 {
                data.splice(i..i, token.iter().copied());
            } else {
                overwrite(data, i, token);
            }
        }
        10 => replace_number(rng, data),
        11 if len > 0 => data.truncate(rng.below(len)),
        12 if len >= 4 => {
            // Add or subtract a little from a 32-bit field in either byte order.
            let i = rng.below(len - 3);
            let delta = rng.below(33) as i64 - 16;
            let mut field = [data[i], data[i + 1], data[i + 2], data[i + 3]];
            if rng.below(2) == 0 {
                let v = u32::from_le_bytes(field).wrapping_add(delta as u32);
                field = v.to_le_bytes();
            } else {
                let v = u32::from_be_bytes(field).wrapping_add(delta as u32);
                field = v.to_be_bytes();
            }
            data[i..i + 4].copy_from_slice(&field);
        }
        _ => {
            let i = at(rng);
            data.insert(i.min(data.len()), rng.next() as u8);
        }
    }
}

fn overwrite(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let end = at + bytes.len();
    if end > data.len() {
        data.resize(end, 0);
    }
    data[at..end].copy_from_slice(bytes);
}

/// Replaces a run of ASCII digits (a dim, a length, an offset in a text header) with an
/// interesting number.
fn replace_number(rng: &mut Rng, data: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..data.len())
        .filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let i = starts[rng.below(starts.len())];
    let mut j = i;
    while j < data.len() && data[j].is_ascii_digit() {
        j += 1;
    }
    let v = INTERESTING_INTS[rng.below(INTERESTING_INTS.len())];
    let text = match rng.below(3) {
        0 => v.to_string(),
        1 => (v as u32).to_string(),
        _ => (v >> rng.below(64)).to_string(),
    };
    data.splice(i..j, text.bytes());
}
