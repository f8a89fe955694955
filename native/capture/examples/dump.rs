//! Differential dump: one canonical line per packet and per flow event, then the reader's totals and every
//! flow's final counters, in exactly the format of `tests/reference_dump.py` (the pure-Python reference).
//!
//!     dump CAPTURE [--chunk N] [--max-flows N] [--max-ended N] [--max-buffer N] [--max-pieces N] [--history N]
//!     dump CAPTURE --bench parse|flows     (timing only: no output but totals and MB/s)
//!
//! `--chunk N` feeds the parser N bytes at a time (0, the default: the whole file at once). Floats are
//! printed as the hex of their IEEE bits, byte strings as length:crc32.

use std::io::{Read, Write};
use std::time::Instant;

use rtmp_inspect_capture::{
    recycle_events, Address, CaptureParser, FlowEvent, FlowSummary, FlowTable, Packet, StreamSummary, DEFAULT_HISTORY,
    DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, DEFAULT_MAX_FLOWS,
};

fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (i, e) in t.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
        *e = c;
    }
    t
}

struct Out {
    w: std::io::BufWriter<std::io::Stdout>,
    crc: [u32; 256],
}

impl Out {
    fn h(&self, b: &[u8]) -> String {
        let mut c = !0u32;
        for &x in b {
            c = self.crc[((c ^ x as u32) & 0xFF) as usize] ^ (c >> 8);
        }
        format!("{}:{:08x}", b.len(), !c)
    }
}

fn fb(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

fn hex(a: &Address) -> String {
    a.bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

fn stream(s: &StreamSummary) -> String {
    format!(
        "[{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}]",
        s.segments,
        s.retransmissions,
        s.gaps,
        s.gap_bytes,
        s.mismatches,
        s.mismatch_bytes,
        s.keepalives,
        s.syn_seen as u8,
        opt(s.isn),
        opt(s.base_seq),
        opt(s.fin_offset),
        s.next_offset,
        opt(s.next_seq),
        s.high,
        s.hint,
        s.acked,
        s.pending_bytes,
        s.pending_pieces,
        s.finished as u8
    )
}

fn summary(f: &FlowSummary) -> String {
    format!(
        "{} {}:{} {}:{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
        f.id,
        hex(&f.endpoints[0].0),
        f.endpoints[0].1,
        hex(&f.endpoints[1].0),
        f.endpoints[1].1,
        f.first_frame,
        fb(f.first_time),
        f.last_frame,
        fb(f.last_time),
        f.packets[0],
        f.packets[1],
        f.bytes[0],
        f.bytes[1],
        f.zero_windows,
        opt(f.zero_window_first_frame),
        f.late_packets,
        f.ended as u8,
        f.end_reason.map(|r| r.as_str()).unwrap_or("-"),
        stream(&f.streams[0]),
        stream(&f.streams[1])
    )
}

fn event(o: &mut Out, e: &FlowEvent<'_>) {
    let line = match e {
        FlowEvent::Started { flow } => format!("start {flow}"),
        FlowEvent::Data { flow, direction, frame, time, data, offset } => {
            format!("data {flow} {direction} {frame} {} {offset} {}", fb(*time), o.h(data))
        }
        FlowEvent::Gap { flow, direction, frame, time, offset, size } => {
            format!("gap {flow} {direction} {frame} {} {offset} {size}", fb(*time))
        }
        FlowEvent::Mismatch { flow, direction, frame, offset, size } => {
            format!("mismatch {flow} {direction} {frame} {offset} {size}")
        }
        FlowEvent::Ended { flow, frame, time, reason, summary: s } => {
            format!("end {flow} {frame} {} {} | {}", fb(*time), reason.as_str(), summary(s))
        }
    };
    let _ = writeln!(o.w, "{line}");
}

struct Args {
    path: String,
    chunk: usize,
    bench: Option<String>,
    max_flows: usize,
    max_ended: Option<usize>,
    max_buffer: u64,
    max_pieces: usize,
    history: u64,
}

fn args() -> Args {
    let mut a = Args {
        path: String::new(),
        chunk: 0,
        bench: None,
        max_flows: DEFAULT_MAX_FLOWS,
        max_ended: None,
        max_buffer: DEFAULT_MAX_BUFFER,
        max_pieces: DEFAULT_MAX_PIECES,
        history: DEFAULT_HISTORY,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut val = || it.next().expect("option value");
        match x.as_str() {
            "--chunk" => a.chunk = val().parse().expect("--chunk N"),
            "--bench" => a.bench = Some(val()),
            "--max-flows" => a.max_flows = val().parse().expect("number"),
            "--max-ended" => a.max_ended = Some(val().parse().expect("number")),
            "--max-buffer" => a.max_buffer = val().parse().expect("number"),
            "--max-pieces" => a.max_pieces = val().parse().expect("number"),
            "--history" => a.history = val().parse().expect("number"),
            _ => a.path = x,
        }
    }
    a
}

fn bench(a: &Args, data: &[u8], with_flows: bool) {
    let chunk = if a.chunk == 0 { 1 << 20 } else { a.chunk };
    let t0 = Instant::now();
    let mut parser = CaptureParser::new(&a.path);
    let mut table = FlowTable::with_limits(a.max_flows, a.max_ended, a.max_buffer, a.max_pieces, a.history);
    let mut spare: Vec<FlowEvent<'static>> = Vec::new();
    let (mut tcp, mut udp, mut nev, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut fed = 0;
    loop {
        if fed < data.len() {
            let end = (fed + chunk).min(data.len());
            parser.feed(&data[fed..end]);
            fed = end;
            if fed == data.len() {
                parser.end_of_input();
            }
        } else {
            parser.end_of_input();
        }
        loop {
            match parser.next_packet() {
                Ok(Some(Packet::Tcp(seg))) => {
                    tcp += 1;
                    if with_flows {
                        let mut events = recycle_events(std::mem::take(&mut spare));
                        table.add(&seg, &mut events);
                        for e in events.iter() {
                            nev += 1;
                            if let FlowEvent::Data { data, .. } = e {
                                bytes += data.len() as u64;
                            }
                        }
                        spare = recycle_events(events);
                    } else {
                        bytes += seg.payload.len() as u64;
                    }
                }
                Ok(Some(Packet::Udp(_))) => udp += 1,
                Ok(None) => break,
                Err(e) => {
                    println!("error {e}");
                    return;
                }
            }
        }
        if parser.is_done() {
            break;
        }
    }
    let mut events = spare;
    table.flush(&mut events);
    nev += events.len() as u64;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{}: {} packets, {tcp} tcp, {udp} udp, {nev} events, {bytes} payload bytes, {:.3} s, {:.0} MB/s",
        if with_flows { "parse+flows" } else { "parse" },
        parser.packets(),
        secs,
        data.len() as f64 / secs / 1e6
    );
}

fn main() {
    let a = args();
    let mut data = Vec::new();
    std::fs::File::open(&a.path).and_then(|mut f| f.read_to_end(&mut data)).expect("read the capture");
    match a.bench.as_deref() {
        Some("parse") => return bench(&a, &data, false),
        Some("flows") => return bench(&a, &data, true),
        Some(other) => panic!("--bench parse|flows, not {other}"),
        None => {}
    }
    let mut o = Out { w: std::io::BufWriter::new(std::io::stdout()), crc: crc_table() };
    let mut parser = CaptureParser::new(&a.path);
    let mut table = FlowTable::with_limits(a.max_flows, a.max_ended, a.max_buffer, a.max_pieces, a.history);
    table.set_keep_forgotten(true);
    let mut spare: Vec<FlowEvent<'static>> = Vec::new();
    let chunk = if a.chunk == 0 { data.len().max(1) } else { a.chunk };
    let mut fed = 0;
    loop {
        if fed < data.len() {
            let end = (fed + chunk).min(data.len());
            parser.feed(&data[fed..end]);
            fed = end;
        }
        if fed == data.len() {
            parser.end_of_input();
        }
        loop {
            match parser.next_packet() {
                Ok(Some(Packet::Tcp(seg))) => {
                    let line = format!(
                        "tcp {} {} {} {} {} {} {} {} {} {} {} {}",
                        seg.frame,
                        fb(seg.time),
                        hex(&seg.src),
                        seg.sport,
                        hex(&seg.dst),
                        seg.dport,
                        seg.seq,
                        seg.ack,
                        seg.flags,
                        seg.window,
                        o.h(seg.payload),
                        seg.missing
                    );
                    let _ = writeln!(o.w, "{line}");
                    let mut events = recycle_events(std::mem::take(&mut spare));
                    table.add(&seg, &mut events);
                    for e in events.iter() {
                        event(&mut o, e);
                    }
                    spare = recycle_events(events);
                }
                Ok(Some(Packet::Udp(u))) => {
                    let line = format!(
                        "udp {} {} {} {} {} {} {}",
                        u.frame,
                        fb(u.time),
                        hex(&u.src),
                        u.sport,
                        hex(&u.dst),
                        u.dport,
                        o.h(u.payload)
                    );
                    let _ = writeln!(o.w, "{line}");
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = writeln!(o.w, "error {e}");
                    return;
                }
            }
            let _ = writeln!(o.w, "w {} p {}", parser.warnings().len(), parser.packets());
        }
        if parser.is_done() {
            break;
        }
    }
    let mut events = spare;
    table.flush(&mut events);
    for e in events.drain(..) {
        event(&mut o, &e);
    }
    let _ = writeln!(o.w, "format {}", parser.format());
    let _ = writeln!(o.w, "packets {}", parser.packets());
    let _ = writeln!(o.w, "start {}", parser.start().map(fb).unwrap_or_else(|| "-".into()));
    let lt: Vec<String> = parser.link_types().iter().map(|x| x.to_string()).collect();
    let _ = writeln!(o.w, "link_types {}", lt.join(","));
    for w in parser.warnings() {
        let _ = writeln!(o.w, "warning {w}");
    }
    let _ = writeln!(o.w, "flows_started {}", table.flows_started());
    let mut flows = table.take_forgotten();
    flows.sort_by_key(|f| f.id);
    for f in &flows {
        let _ = writeln!(o.w, "flow {}", summary(f));
    }
    let _ = o.w.flush();
}
