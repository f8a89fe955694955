//! `reader`: bytes -> CaptureParser, fed whole and in pieces whose sizes come from the input; every packet
//! is pulled after every piece.
//!
//! Input: byte 0 = options (bits 0..3: how many piece sizes follow, n; bit 4: set_gunzipped; bit 5: call
//! try_open() after every piece; bit 6: also feed byte by byte when the capture is at most 4 KB), then n
//! piece sizes as u16 little-endian (0 feeds an empty slice), then the capture bytes. The sizes are used in
//! turn, cyclically, until the capture is all fed.
//!
//! Findings: a panic (an arithmetic overflow too: cargo fuzz builds with overflow checks); a different
//! outcome (packets, CaptureError, warnings, counters, format, link types) between the feedings; a parser
//! that does not say it is done after end_of_input; a multi-line warning or error; a packet over MAX_PACKET.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtmp_inspect_capture::{Address, CaptureError, CaptureParser, Packet, MAX_PACKET};

#[derive(Debug, PartialEq)]
enum Own {
    Tcp {
        frame: u64,
        time: u64,
        src: Address,
        sport: u16,
        dst: Address,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        payload: Vec<u8>,
        missing: u64,
    },
    Udp {
        frame: u64,
        time: u64,
        src: Address,
        sport: u16,
        dst: Address,
        dport: u16,
        payload: Vec<u8>,
    },
}

fn own(p: &Packet<'_>) -> Own {
    match p {
        Packet::Tcp(s) => {
            assert!(s.payload.len() as u64 <= MAX_PACKET as u64, "TCP payload of {} bytes", s.payload.len());
            Own::Tcp {
                frame: s.frame,
                time: s.time.to_bits(),
                src: s.src,
                sport: s.sport,
                dst: s.dst,
                dport: s.dport,
                seq: s.seq,
                ack: s.ack,
                flags: s.flags,
                window: s.window,
                payload: s.payload.to_vec(),
                missing: s.missing,
            }
        }
        Packet::Udp(u) => {
            assert!(u.payload.len() as u64 <= MAX_PACKET as u64, "UDP payload of {} bytes", u.payload.len());
            Own::Udp {
                frame: u.frame,
                time: u.time.to_bits(),
                src: u.src,
                sport: u.sport,
                dst: u.dst,
                dport: u.dport,
                payload: u.payload.to_vec(),
            }
        }
    }
}

#[derive(Debug, PartialEq)]
struct Outcome {
    packets: Vec<Own>,
    error: Option<CaptureError>,
    warnings: Vec<String>,
    format: String,
    count: u64,
    start: Option<u64>,
    link_types: Vec<u32>,
    open: bool,
}

struct Run {
    parser: CaptureParser,
    packets: Vec<Own>,
    error: Option<CaptureError>,
    probe: bool,
}

impl Run {
    fn new(gunzipped: bool, probe: bool) -> Run {
        let mut parser = CaptureParser::new("fuzz.pcap");
        parser.set_gunzipped(gunzipped);
        Run { parser, packets: Vec::new(), error: None, probe }
    }

    /// Every packet the bytes fed so far allow.
    fn pull(&mut self) {
        if self.error.is_some() {
            return;
        }
        if self.probe {
            if let Err(e) = self.parser.try_open() {
                self.error = Some(e);
                return;
            }
        }
        loop {
            match self.parser.next_packet() {
                Ok(Some(p)) => {
                    let p = own(&p);
                    self.packets.push(p);
                }
                Ok(None) => return,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
    }

    fn feed(&mut self, piece: &[u8]) {
        self.parser.feed(piece);
        self.pull();
    }

    fn end(mut self) -> Outcome {
        self.parser.end_of_input();
        self.pull();
        let p = &mut self.parser;
        assert!(p.is_done(), "not done after end_of_input and Ok(None)");
        // Once over, it stays over (the same error, or no packet).
        match (&self.error, p.next_packet()) {
            (None, Ok(None)) => {}
            (Some(e), Err(again)) => assert_eq!(*e, again),
            (e, r) => panic!("after the end: {e:?} then {:?}", r.map(|o| o.is_some())),
        }
        for w in p.warnings() {
            assert!(!w.contains('\n'), "multi-line warning {w:?}");
        }
        if let Some(e) = &self.error {
            assert!(!e.0.contains('\n'), "multi-line error {e:?}");
            assert!(e.0.starts_with("fuzz.pcap: "), "error without the name: {e:?}");
        }
        Outcome {
            packets: self.packets,
            error: self.error,
            warnings: p.warnings().to_vec(),
            format: p.format().to_string(),
            count: p.packets(),
            start: p.start().map(f64::to_bits),
            link_types: p.link_types().to_vec(),
            open: p.is_open(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let n = (options & 15) as usize;
    if rest.len() < 2 * n {
        return;
    }
    let (head, capture) = rest.split_at(2 * n);
    let mut sizes: Vec<usize> = head.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as usize).collect();
    if sizes.iter().all(|&s| s == 0) {
        sizes.push(1);
    }
    let gunzipped = options & 16 != 0;
    let probe = options & 32 != 0;

    let mut whole = Run::new(gunzipped, false);
    whole.feed(capture);
    let whole = whole.end();

    let mut split = Run::new(gunzipped, probe);
    let (mut pos, mut i) = (0, 0);
    while pos < capture.len() {
        let size = sizes[i % sizes.len()].min(capture.len() - pos);
        i += 1;
        split.feed(&capture[pos..pos + size]);
        pos += size;
    }
    let split = split.end();
    assert_eq!(whole, split, "whole vs pieces of {sizes:?}");

    if options & 64 != 0 && capture.len() <= 4096 {
        let mut bytewise = Run::new(gunzipped, probe);
        for b in capture.chunks(1) {
            bytewise.feed(b);
        }
        assert_eq!(whole, bytewise.end(), "whole vs byte by byte");
    }
});
