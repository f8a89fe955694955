//! Feeds a feed file (see tests/make_feeds.py) to the Rust ChunkDecoder and prints one canonical line per
//! event, exactly as tests/reference_events.py prints those of the Python decoder.
//!
//!     events FEEDFILE                 canonical lines on stdout
//!     events FEEDFILE --bench [N]     decode N times (default 3) without printing; report the best MB/s
//!
//! Feed file: b"RTMPFEED1\n", then records, each a tag byte:
//!   N  u8 expect_handshake, u8 at_chunk_boundary, u8 has_chunk_size, u32 chunk_size, u16 n, n bytes label
//!   D  u32 n, n bytes: receive_data        G  u64 size: receive_gap
//!   F  finish                              S  print the decoder's state
//! (integers little-endian).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use rtmp_inspect_rtmp::{ChunkDecoder, Event};

enum Op<'a> {
    New {
        handshake: bool,
        boundary: bool,
        chunk_size: Option<u32>,
        label: &'a str,
    },
    Data(&'a [u8]),
    Gap(u64),
    Finish,
    State,
}

fn parse(feed: &[u8]) -> Result<Vec<Op<'_>>, String> {
    const MAGIC: &[u8] = b"RTMPFEED1\n";
    let mut rest = feed.strip_prefix(MAGIC).ok_or("not a feed file")?;
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if rest.len() < n {
            return Err("truncated feed file".into());
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    fn le(b: &[u8]) -> u64 {
        b.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x))
    }
    let mut ops = Vec::new();
    while let Some((&tag, tail)) = rest.split_first() {
        rest = tail;
        ops.push(match tag {
            b'N' => {
                let head = take(&mut rest, 9)?;
                let n = le(&head[7..9]) as usize;
                let label = std::str::from_utf8(take(&mut rest, n)?).map_err(|e| e.to_string())?;
                Op::New {
                    handshake: head[0] != 0,
                    boundary: head[1] != 0,
                    chunk_size: (head[2] != 0).then(|| le(&head[3..7]) as u32),
                    label,
                }
            }
            b'D' => {
                let n = le(take(&mut rest, 4)?) as usize;
                Op::Data(take(&mut rest, n)?)
            }
            b'G' => Op::Gap(le(take(&mut rest, 8)?)),
            b'F' => Op::Finish,
            b'S' => Op::State,
            other => return Err(format!("unknown record {other:#x}")),
        });
    }
    Ok(ops)
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn line(out: &mut String, event: &Event) {
    let _ = match event {
        Event::HandshakeVersion { version, offset } => writeln!(out, "HV {version} {offset}"),
        Event::HandshakeRandom {
            time,
            version_field,
            data,
            offset,
        } => {
            writeln!(
                out,
                "HR {time} {version_field} {} {} {offset}",
                data.len(),
                sha256_hex(data)
            )
        }
        Event::HandshakeEcho {
            time,
            time2,
            data,
            offset,
        } => {
            writeln!(
                out,
                "HE {time} {time2} {} {} {offset}",
                data.len(),
                sha256_hex(data)
            )
        }
        Event::Message(m) => writeln!(
            out,
            "M {} {} {} {} {} {} {} {} {} {} {} {}",
            m.csid,
            m.stream_id,
            m.timestamp,
            m.type_id,
            m.body.len(),
            sha256_hex(&m.body),
            m.offset,
            m.end_offset,
            m.chunks,
            m.first_fmt,
            u8::from(m.extended_timestamp),
            u8::from(m.inferred)
        ),
        Event::Violation {
            code,
            severity,
            offset,
            reason,
        } => writeln!(out, "V {code} {severity} {offset} {reason}"),
        Event::ChunkSizeChanged { size, offset } => writeln!(out, "CS {size} {offset}"),
        Event::Resynchronised {
            offset,
            skipped,
            chunk_size,
            chunk_size_inferred,
        } => {
            writeln!(
                out,
                "RS {offset} {skipped} {chunk_size} {}",
                u8::from(*chunk_size_inferred)
            )
        }
        Event::Encrypted { version, offset } => writeln!(out, "EN {version} {offset}"),
    };
}

fn state(out: &mut String, d: &ChunkDecoder) {
    let _ = writeln!(
        out,
        "S {} {} {} {} {} {} {} {} {}",
        d.offset(),
        d.received_offset(),
        u8::from(d.in_handshake()),
        u8::from(d.encrypted()),
        d.chunk_size(),
        u8::from(d.chunk_size_inferred()),
        opt(d.version()),
        opt(d.repeats_extended_timestamp().map(u8::from)),
        d.messages()
    );
}

fn print_events(ops: &[Op]) {
    let stdout = std::io::stdout();
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut text = String::new();
    let mut events = Vec::new();
    let mut decoder = ChunkDecoder::new(true, None, false);
    for op in ops {
        match *op {
            Op::New {
                handshake,
                boundary,
                chunk_size,
                label,
            } => {
                decoder = ChunkDecoder::new(handshake, chunk_size, boundary);
                let _ = writeln!(text, "run {label}");
            }
            Op::Data(data) => decoder.receive_data(data, &mut events),
            Op::Gap(size) => decoder.receive_gap(size, &mut events),
            Op::Finish => decoder.finish(&mut events),
            Op::State => state(&mut text, &decoder),
        }
        for event in events.drain(..) {
            line(&mut text, &event);
        }
        if text.len() > 1 << 16 {
            let _ = stdout.write_all(text.as_bytes());
            text.clear();
        }
    }
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn bench(ops: &[Op], repeat: usize) {
    let bytes: usize = ops
        .iter()
        .map(|op| if let Op::Data(d) = op { d.len() } else { 0 })
        .sum();
    let mut best = f64::INFINITY;
    let mut count = 0;
    for _ in 0..repeat.max(1) {
        let mut events = Vec::new();
        let mut decoder = ChunkDecoder::new(true, None, false);
        count = 0;
        let start = Instant::now();
        for op in ops {
            match *op {
                Op::New {
                    handshake,
                    boundary,
                    chunk_size,
                    ..
                } => decoder = ChunkDecoder::new(handshake, chunk_size, boundary),
                Op::Data(data) => decoder.receive_data(data, &mut events),
                Op::Gap(size) => decoder.receive_gap(size, &mut events),
                Op::Finish => decoder.finish(&mut events),
                Op::State => {}
            }
            count += events.len();
            events.clear(); // the events are dropped here, as a consumer would after using them
        }
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "{bytes} bytes, {count} events, best of {repeat}: {:.3} s, {:.0} MB/s",
        best,
        bytes as f64 / best / 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: events FEEDFILE [--bench [N]]");
        std::process::exit(2);
    };
    let feed = std::fs::read(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    let ops = parse(&feed).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    if args.get(2).map(String::as_str) == Some("--bench") {
        bench(&ops, args.get(3).and_then(|n| n.parse().ok()).unwrap_or(3));
    } else {
        print_events(&ops);
    }
}

// -- SHA-256 (FIPS 180-4), to name bodies as the Python side does with hashlib ------------------------------

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn compress(h: &mut [u32; 8], block: &[u8]) {
    let mut w = [0u32; 64];
    for (i, word) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
        *x = x.wrapping_add(y);
    }
}

/// The first 24 hex digits of the SHA-256 of `data` (as reference_events.py prints them).
fn sha256_hex(data: &[u8]) -> String {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        compress(&mut h, block);
    }
    let tail = blocks.remainder();
    let mut last = [0u8; 128];
    last[..tail.len()].copy_from_slice(tail);
    last[tail.len()] = 0x80;
    let n = if tail.len() < 56 { 64 } else { 128 };
    last[n - 8..n].copy_from_slice(&(data.len() as u64 * 8).to_be_bytes());
    for block in last[..n].chunks_exact(64) {
        compress(&mut h, block);
    }
    let mut hex = String::with_capacity(24);
    for word in &h[..3] {
        let _ = write!(hex, "{word:08x}");
    }
    hex
}
