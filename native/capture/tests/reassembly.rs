//! TCP flow table and per-direction reassembly: ordering, retransmissions (same and differing bytes),
//! overlaps, gaps, sequence wraparound, SYN / FIN / RST, 4-tuple reuse and the table's bounds. The cases
//! and expected events are those of tests/test_reassembly.py (or of `rtmp_inspect.flows.table` run on the
//! same segments). Sequence numbers are written relative: `rel` 0 is a direction's first data byte.

mod common;

use common::*;
use rtmp_inspect_capture::Address;
use rtmp_inspect_capture::{
    EndReason, FlowTable, StreamReassembler, ACK, DEFAULT_HISTORY, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, FIN, PSH, RST, SYN,
};

const PA: u8 = PSH | ACK;
const FA: u8 = FIN | ACK;

fn d(bytes: &[u8]) -> Piece {
    Piece::Data(0, bytes.to_vec())
}

fn table_with(max_flows: usize, max_ended: Option<usize>, max_buffer: u64, max_pieces: usize, history: u64) -> Runner {
    Runner::new(FlowTable::with_limits(max_flows, max_ended, max_buffer, max_pieces, history))
}

fn summed(r: &Runner, id: u64, f: impl Fn(&rtmp_inspect_capture::StreamSummary) -> u64) -> u64 {
    let s = r.summary(id);
    f(&s.streams[0]) + f(&s.streams[1])
}

/// Events of a lone reassembler, owned.
fn own(events: Vec<rtmp_inspect_capture::FlowEvent<'_>>) -> Vec<Ev> {
    use rtmp_inspect_capture::FlowEvent as F;
    events
        .into_iter()
        .map(|e| match e {
            F::Data { flow, direction, frame, data, offset, .. } => Ev::Data { flow, dir: direction, frame, offset, data: data.into_owned() },
            F::Gap { flow, direction, frame, offset, size, .. } => Ev::Gap { flow, dir: direction, frame, offset, size },
            F::Mismatch { flow, direction, frame, offset, size } => Ev::Mismatch { flow, dir: direction, frame, offset, size },
            other => panic!("a lone reassembler gave {other:?}"),
        })
        .collect()
}

// ------------------------------------------------------------------------------------------ in order

#[test]
fn in_order_connection_both_directions() {
    let mut c = Cap::default();
    let up = pattern(3000, 1);
    let down = pattern(1500, 2);
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &up[..1000], PA));
    segs.push(c.seg(0, 1000, &up[1000..2000], PA));
    segs.push(c.seg_full(1, 0, &down, PA, 2000, 65535));
    segs.push(c.seg_full(0, 2000, &up[2000..], PA, 1500, 65535));
    segs.push(c.ack(0, 3000, FA, 1500));
    segs.push(c.ack(1, 1500, FA, 3001));
    segs.push(c.ack(0, 3001, ACK, 1501));
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[0], vec![Ev::Started(0)]);
    // in-order data is delivered by the segment that carries it, borrowed from it
    for i in [3, 4, 5, 6] {
        assert_eq!(per[i].len(), 1, "segment {i}");
        assert!(matches!(&per[i][0], Ev::Data { frame, data, .. } if *frame == segs[i].frame && *data == segs[i].payload));
    }
    assert_eq!(r.borrowed, 4);
    assert!(r.times.iter().all(|(f, t)| *t == Cap::time_of(*f)));
    let events: Vec<Ev> = per.iter().flatten().cloned().collect();
    assert_eq!(layout(&events, 0, 0), vec![d(&up)]);
    assert_eq!(layout(&events, 0, 1), vec![d(&down)]);
    assert_eq!(per[8], vec![ended(0, 9, EndReason::Fin)]);
    assert_eq!(per[9], vec![]); // the last ACK: a late packet of the ended flow
    let flow = r.table.flow(0).expect("remembered after its end");
    assert!(flow.ended && flow.end_reason == Some(EndReason::Fin));
    assert_eq!(flow.endpoints, [(v4a(C_ADDR), 40000), (v4a(S_ADDR), 1935)]);
    assert_eq!((flow.packets, flow.bytes, flow.late_packets), ([7, 3], [3000, 1500], 1));
    assert_eq!((flow.first_frame, flow.last_frame), (1, 10));
    assert_eq!((flow.first_time, flow.last_time), (segs[0].time, segs[9].time));
    assert_eq!(flow.zero_windows, 0);
    assert!(flow.syn_seen(0) && flow.syn_seen(1) && flow.fin_seen(0) && flow.fin_seen(1));
    assert_eq!(summed(&r, 0, |s| s.gaps + s.retransmissions + s.mismatches), 0);
    assert_eq!(r.flush(), vec![]); // already ended by FIN/FIN
    assert!(r.table.flow(0).is_none());
}

#[test]
fn ipv6_flow() {
    let mut c = Cap { ends: [(v6a("2001:db8::1"), 50000), (v6a("2001:db8::2"), 1935)], ..Cap::default() };
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, b"hello", PA));
    segs.push(c.seg_full(1, 0, b"world", PA, 5, 65535));
    let (events, r) = run(&segs);
    assert_eq!(r.summary(0).endpoints[0], (v6a("2001:db8::1"), 50000));
    assert_eq!(layout(&events, 0, 0), vec![d(b"hello")]);
    assert_eq!(layout(&events, 0, 1), vec![d(b"world")]);
    assert_eq!(events.last(), Some(&ended(0, 5, EndReason::EndOfCapture)));
}

// ------------------------------------------------------------------------------------------ reordering / duplicates / overlaps

#[test]
fn reordered_segments_are_delivered_when_the_hole_fills() {
    let mut c = Cap::default();
    let data = pattern(400, 3);
    let mut segs = c.handshake();
    for lo in [0, 200, 300, 100] {
        segs.push(c.seg(0, lo as i64, &data[lo..lo + 100], ACK));
    }
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!((per[4].clone(), per[5].clone()), (vec![], vec![]));
    assert_eq!(per[6], vec![data_ev(0, 0, 7, 100, &data[100..400])]);
    assert_eq!(r.times.last(), Some(&(7, segs[6].time)));
    let f = r.table.flow(0).unwrap();
    assert_eq!((f.streams[0].pending_bytes(), f.streams[0].pending_pieces()), (0, 0));
    let s = f.summary();
    assert_eq!((s.streams[0].retransmissions, s.streams[0].gaps), (0, 0));
}

fn data_ev(flow: u64, dir: u8, frame: u64, offset: u64, bytes: &[u8]) -> Ev {
    data(flow, dir, frame, offset, bytes)
}

#[test]
fn duplicated_segments_are_taken_once() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    for (rel, b) in [(0, b'A'), (0, b'A'), (200, b'C'), (200, b'C'), (100, b'B'), (100, b'B')] {
        segs.push(c.seg(0, rel, &[b; 100], ACK));
    }
    let (events, r) = run(&segs);
    assert_eq!(layout(&events, 0, 0), vec![d(&[[b'A'; 100], [b'B'; 100], [b'C'; 100]].concat())]);
    assert_eq!(summed(&r, 0, |s| s.retransmissions), 3);
    assert_eq!(count(&events, is_mismatch), 0);
    assert_eq!(r.summary(0).bytes[0], 600);
}

#[test]
fn overlaps_with_the_same_bytes() {
    let mut c = Cap::default();
    let data = pattern(500, 4);
    let mut segs = c.handshake();
    for (lo, hi) in [(0, 100), (50, 150), (300, 400), (250, 450), (150, 300), (450, 500)] {
        segs.push(c.seg(0, lo as i64, &data[lo..hi], ACK));
    }
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[4], vec![data_ev(0, 0, 5, 100, &data[100..150])]); // half old, half new
    assert_eq!(per[6], vec![]); // overlaps held bytes on both sides
    assert_eq!(per[7], vec![data_ev(0, 0, 8, 150, &data[150..450])]);
    let mut events: Vec<Ev> = per.into_iter().flatten().collect();
    events.extend(r.flush());
    assert_eq!(layout(&events, 0, 0), vec![d(&data)]);
    assert_eq!(count(&events, is_mismatch), 0);
    // [50,150) (half old), [250,450) (over held [300,400)), [150,300) (over held [250,300))
    assert_eq!(summed(&r, 0, |s| s.retransmissions), 3);
}

#[test]
fn overlaps_with_different_bytes_first_copy_wins() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    for (rel, b) in [(0, b'a'), (50, b'b'), (300, b'x'), (250, b'y'), (150, b'z')] {
        segs.push(c.seg(0, rel, &[b; 100], ACK));
    }
    let mut r = Runner::default();
    let per = r.each(&segs);
    // [50,100) differs from delivered bytes; the new bytes after it are data
    assert_eq!(per[4], vec![mismatch(0, 0, 5, 50, 50), data_ev(0, 0, 5, 100, &[b'b'; 50])]);
    // [300,350) differs from held bytes
    assert_eq!(per[6], vec![mismatch(0, 0, 7, 300, 50)]);
    let mut events: Vec<Ev> = per.into_iter().flatten().collect();
    events.extend(r.flush());
    let want = [&[b'a'; 100][..], &[b'b'; 50], &[b'z'; 100], &[b'y'; 50], &[b'x'; 100]].concat();
    assert_eq!(layout(&events, 0, 0), vec![d(&want)]);
    assert_eq!(summed(&r, 0, |s| s.mismatches), 2);
    assert_eq!(summed(&r, 0, |s| s.mismatch_bytes), 100);
    assert_eq!(summed(&r, 0, |s| s.retransmissions), 2);
}

#[test]
fn a_mismatch_spanning_several_held_pieces_is_one_event() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 100, &[b'1'; 100], ACK));
    segs.push(c.seg(0, 200, &[b'2'; 100], ACK));
    segs.push(c.seg(0, 100, &[b'9'; 200], ACK));
    segs.push(c.seg(0, 0, &[b'0'; 100], ACK));
    let (events, _) = run(&segs);
    let mis: Vec<&Ev> = events.iter().filter(|e| is_mismatch(e)).collect();
    assert_eq!(mis, vec![&mismatch(0, 0, 6, 100, 200)]);
    assert_eq!(layout(&events, 0, 0), vec![d(&[[b'0'; 100], [b'1'; 100], [b'2'; 100]].concat())]);
}

#[test]
fn a_differing_retransmission_of_delivered_bytes_across_several_payloads() {
    // delivered as [0,100) [100,200) [200,300); a copy of [50,250) differing only in [120,130) and [220,230)
    let mut c = Cap::default();
    let data = pattern(300, 11);
    let mut segs = c.handshake();
    for lo in [0, 100, 200] {
        segs.push(c.seg(0, lo as i64, &data[lo..lo + 100], ACK));
    }
    let mut copy = data[50..250].to_vec();
    for b in &mut copy[70..80] {
        *b ^= 0xFF;
    }
    for b in &mut copy[170..180] {
        *b ^= 0xFF;
    }
    segs.push(c.seg(0, 50, &copy, ACK));
    let mut r = Runner::default();
    let per = r.each(&segs);
    // compared payload by payload: [100,200) and [200,250) differ, adjacent, so one range
    assert_eq!(per[6], vec![mismatch(0, 0, 7, 100, 150)]);
    let s = r.table.flow(0).unwrap().summary();
    assert_eq!((s.streams[0].retransmissions, s.streams[0].mismatches, s.streams[0].mismatch_bytes), (1, 1, 150));
}

#[test]
fn retransmission_older_than_the_history_is_not_checked() {
    let mut s = StreamReassembler::new(0, 0, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, 200);
    let mut out = Vec::new();
    s.feed(99, SYN, b"", 0, 1, 0.0, &mut out);
    let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![65 + i; 100]).collect();
    for (i, p) in payloads.iter().enumerate() {
        s.feed(100 + i as u32 * 100, PA, p, 0, 2 + i as u64, 0.0, &mut out);
    }
    assert_eq!(own(out).len(), 5);
    let q = [b'?'; 100];
    let mut out = Vec::new();
    s.feed(100, PA, &q, 0, 10, 0.0, &mut out); // offset 0: out of the history
    assert_eq!(own(out), vec![]);
    assert_eq!((s.summary().retransmissions, s.summary().mismatches), (1, 0));
    let mut out = Vec::new();
    s.feed(400, PA, &q, 0, 11, 0.0, &mut out); // offset 300: still kept
    assert_eq!(own(out), vec![mismatch(0, 0, 11, 300, 100)]);
}

#[test]
fn zero_history_checks_nothing() {
    let mut s = StreamReassembler::new(3, 1, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, 0);
    let mut out = Vec::new();
    s.feed(0, ACK, b"abc", 0, 1, 0.0, &mut out);
    s.feed(0, ACK, b"xyz", 0, 2, 0.0, &mut out);
    assert_eq!(own(out), vec![data(3, 1, 1, 0, b"abc")]);
    assert_eq!((s.summary().retransmissions, s.summary().mismatches), (1, 0));
}

// ------------------------------------------------------------------------------------------ losses

#[test]
fn a_lost_segment_becomes_a_gap_at_end_of_capture() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 100], ACK));
    segs.push(c.seg(0, 200, &[b'C'; 100], ACK)); // [100,200) never captured, never acked
    segs.push(c.seg(0, 300, &[b'D'; 50], ACK));
    let mut r = Runner::default();
    let before: Vec<Ev> = r.each(&segs).into_iter().flatten().collect();
    assert_eq!(count(&before, is_gap), 0);
    assert_eq!(layout(&before, 0, 0), vec![d(&[b'A'; 100])]);
    let after = r.flush();
    let cd = [[b'C'; 100].to_vec(), vec![b'D'; 50]].concat();
    assert_eq!(after, vec![gap(0, 0, 6, 100, 100), data_ev(0, 0, 6, 200, &cd), ended(0, 6, EndReason::EndOfCapture)]);
    assert!(r.times[r.times.len() - 3..].iter().all(|&(f, t)| (f, t) == (6, segs[5].time)));
    assert_eq!((summed(&r, 0, |s| s.gaps), summed(&r, 0, |s| s.gap_bytes)), (1, 100));
}

#[test]
fn an_ack_past_a_hole_declares_the_gap_at_that_ack() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 100], ACK));
    segs.push(c.seg(0, 200, &[b'C'; 100], ACK)); // [100,200) lost from the capture
    segs.push(c.seg(0, 300, &[b'D'; 100], ACK));
    segs.push(c.ack(1, 0, ACK, 100)); // not past the hole: nothing
    segs.push(c.ack(1, 0, ACK, 300)); // the receiver has everything up to 300
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[6], vec![]);
    let cd = [[b'C'; 100], [b'D'; 100]].concat();
    assert_eq!(per[7], vec![gap(0, 0, 8, 100, 100), data_ev(0, 0, 8, 200, &cd)]);
    // a late copy of the lost bytes is a retransmission, not data
    let late = c.seg(0, 100, &[b'B'; 100], ACK);
    assert_eq!(r.add(&late), vec![]);
    assert_eq!(r.table.flow(0).unwrap().summary().streams[0].retransmissions, 1);
    let more = c.seg(0, 400, &[b'E'; 10], ACK);
    assert_eq!(r.add(&more), vec![data_ev(0, 0, 10, 400, &[b'E'; 10])]);
}

#[test]
fn an_ack_partly_into_a_hole_gaps_only_the_acked_part() {
    let mut c = Cap::default();
    let data = pattern(300, 5);
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &data[..100], ACK));
    segs.push(c.seg(0, 200, &data[200..], ACK));
    segs.push(c.ack(1, 0, ACK, 150));
    segs.push(c.seg(0, 100, &data[100..200], ACK)); // the retransmission arrives after all
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[5], vec![gap(0, 0, 6, 100, 50)]);
    assert_eq!(per[6], vec![data_ev(0, 0, 7, 150, &data[150..300])]);
    assert_eq!(r.table.flow(0).unwrap().summary().streams[0].retransmissions, 1); // [100,150) was accounted for
}

#[test]
fn an_ack_of_a_fin_past_a_trailing_hole() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 100], ACK));
    segs.push(c.seg(0, 200, b"", FA)); // [100,200) lost; an empty FIN at 200
    segs.push(c.ack(1, 0, FA, 201));
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[5], vec![gap(0, 0, 6, 100, 100), ended(0, 6, EndReason::Fin)]);
}

#[test]
fn an_ack_beyond_everything_seen_is_a_trailing_gap_at_the_end() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 100], ACK));
    segs.push(c.ack(1, 0, ACK, 200)); // [100,200) sent but never captured
    let mut r = Runner::default();
    let before: Vec<Ev> = r.each(&segs).into_iter().flatten().collect();
    assert_eq!(count(&before, is_gap), 0);
    // no FIN seen: the last acknowledged sequence number may be an unseen FIN, so one is held back
    let after = r.flush();
    let gaps: Vec<&Ev> = after.iter().filter(|e| is_gap(e)).collect();
    assert_eq!(gaps, vec![&gap(0, 0, 5, 100, 99)]);
}

#[test]
fn later_sequence_numbers_reveal_a_trailing_loss() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 100], ACK));
    segs.push(c.seg(0, 300, &[b'D'; 100], ACK)); // held; [100,300) missing
    segs.push(c.seg(0, 400, b"", FA));
    segs.push(c.ack(1, 0, FA, 0)); // acks nothing
    let (events, _) = run(&segs);
    assert_eq!(layout(&events, 0, 0), vec![d(&[b'A'; 100]), Piece::Gap(100, 200), Piece::Data(300, vec![b'D'; 100])]);
    // both FINs seen, the hole only given up at the end: still "fin"
    assert_eq!(events.last(), Some(&ended(0, 7, EndReason::Fin)));
}

#[test]
fn a_fin_with_a_hole_waits_for_the_retransmission() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 100], ACK));
    segs.push(c.seg(0, 200, &[b'C'; 100], ACK));
    segs.push(c.seg(0, 300, b"", FA));
    segs.push(c.ack(1, 0, FA, 100)); // the peer closes too, but has not got [100,200)
    segs.push(c.seg(0, 100, &[b'B'; 100], ACK)); // the retransmission
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[6], vec![]);
    let bc = [[b'B'; 100], [b'C'; 100]].concat();
    assert_eq!(per[7], vec![data_ev(0, 0, 8, 100, &bc), ended(0, 8, EndReason::Fin)]);
    assert_eq!(summed(&r, 0, |s| s.gaps), 0);
}

#[test]
fn a_snaplen_cut_segment_is_a_gap_after_its_bytes() {
    let mut c = Cap::default();
    let data = pattern(1200, 6);
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &data[..100], ACK));
    segs.push(c.seg(0, 100, &data[100..1100], ACK).cut(300));
    segs.push(c.seg(0, 1100, &data[1100..], ACK));
    assert_eq!((segs[4].payload.len(), segs[4].missing), (300, 700));
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[4], vec![data_ev(0, 0, 5, 100, &data[100..400]), gap(0, 0, 5, 400, 700)]);
    assert_eq!(per[5], vec![data_ev(0, 0, 6, 1100, &data[1100..])]);
    let f = r.table.flow(0).unwrap();
    assert_eq!((f.bytes[0], f.summary().streams[0].gap_bytes), (1200, 700));
}

#[test]
fn a_snaplen_cut_segment_out_of_order() {
    let mut c = Cap::default();
    let data = pattern(600, 7);
    let mut segs = c.handshake();
    segs.push(c.seg(0, 200, &data[200..500], ACK).cut(100)); // held: [200,300) + lost [300,500)
    segs.push(c.seg(0, 500, &data[500..], ACK));
    segs.push(c.seg(0, 0, &data[..200], ACK));
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[5], vec![data_ev(0, 0, 6, 0, &data[..300]), gap(0, 0, 6, 300, 200), data_ev(0, 0, 6, 500, &data[500..])]);
}

#[test]
fn a_full_copy_fills_the_bytes_a_cut_copy_lacked() {
    let mut c = Cap::default();
    let data = pattern(400, 8);
    let mut segs = c.handshake();
    segs.push(c.seg(0, 100, &data[100..], ACK).cut(50)); // held [100,150) + lost [150,400)
    segs.push(c.seg(0, 100, &data[100..], ACK)); // a full copy (another capture path)
    segs.push(c.seg(0, 0, &data[..100], ACK));
    let (events, _) = run(&segs);
    assert_eq!(layout(&events, 0, 0), vec![d(&data)]);
}

// ------------------------------------------------------------------------------------------ sequence space

#[test]
fn wraparound_across_2_32() {
    let mut c = Cap::new([(MASK - 150) as u32, 7]); // data starts at 2**32 - 150
    let data = pattern(500, 9);
    let mut segs = c.handshake();
    for (lo, hi) in [(0, 100), (200, 300), (100, 200), (300, 400), (450, 500)] {
        segs.push(c.seg(0, lo as i64, &data[lo..hi], ACK));
    }
    segs.push(c.ack(1, 0, ACK, 500)); // the ack number itself has wrapped
    assert_eq!((segs[4].seq, segs[5].seq), (50, u32::MAX - 49));
    let mut r = Runner::default();
    let per = r.each(&segs);
    let events: Vec<Ev> = per[..per.len() - 1].iter().flatten().cloned().collect();
    assert_eq!(layout(&events, 0, 0), vec![d(&data[..400])]);
    assert_eq!(per[per.len() - 1], vec![gap(0, 0, 9, 400, 50), data_ev(0, 0, 9, 450, &data[450..])]);
}

#[test]
fn offsets_are_64_bit_beyond_4_gib() {
    let mut c = Cap::new([(MASK - 10) as u32, 7]);
    let chunk = vec![0u8; 65483];
    let template = c.seg(0, 0, &chunk, PA);
    let mut r = Runner::default();
    r.add(&c.seg(0, -1, b"", SYN));
    let n = (1u64 << 32) / chunk.len() as u64 + 2; // past 4 GiB
    let mut seq = template.seq;
    let mut offset = 0u64;
    let mut seg = template.clone();
    for i in 0..n {
        seg.frame = 10 + i;
        seg.seq = seq;
        let mut out = Vec::new();
        r.table.add(&seg.view(), &mut out);
        assert!(matches!(out.as_slice(), [rtmp_inspect_capture::FlowEvent::Data { offset: o, .. }] if *o == offset), "segment {i}");
        offset += chunk.len() as u64;
        seq = seq.wrapping_add(chunk.len() as u32);
    }
    assert!(offset > 1 << 32);
    // out of order beyond 4 GiB, then a hole given up by an ACK
    let mut a = template.clone();
    a.frame = 1_000_000;
    a.seq = seq.wrapping_add(100);
    a.payload = vec![b'x'; 100];
    let mut b = template.clone();
    b.frame = 1_000_001;
    b.seq = seq;
    b.payload = vec![b'w'; 50];
    assert_eq!(r.add(&a), vec![]);
    assert_eq!(r.add(&b), vec![data_ev(0, 0, 1_000_001, offset, &[b'w'; 50])]);
    let mut ack = c.ack(1, 0, ACK, 0);
    ack.frame = 1_000_002;
    ack.ack = seq.wrapping_add(200);
    assert_eq!(r.add(&ack), vec![gap(0, 0, 1_000_002, offset + 50, 50), data_ev(0, 0, 1_000_002, offset + 100, &[b'x'; 100])]);
}

#[test]
fn syn_with_data_and_fin_with_data() {
    let mut c = Cap::default();
    let segs = vec![
        c.seg(0, -1, b"early", SYN), // data in the SYN: offset 0
        c.ack(1, -1, SYN | ACK, 5),
        c.seg(0, 5, b" bird", PA),
        c.seg(0, 10, b"!", FIN | PA), // FIN after its data: at 11
        c.seg_full(1, 0, b"ok", FIN | PA, 12, 65535), // acks the FIN: no gap
        c.ack(0, 12, ACK, 3),
    ];
    let mut r = Runner::default();
    let events: Vec<Ev> = r.each(&segs).into_iter().flatten().collect();
    assert_eq!(layout(&events, 0, 0), vec![d(b"early bird!")]);
    assert_eq!(layout(&events, 0, 1), vec![d(b"ok")]);
    assert_eq!(count(&events, is_gap), 0);
    assert_eq!(events.last(), Some(&ended(0, 5, EndReason::Fin)));
    let f = r.table.flow(0).unwrap();
    assert_eq!((f.streams[0].fin_offset(), f.streams[1].fin_offset()), (Some(11), Some(2)));
    assert_eq!(f.late_packets, 1);
}

#[test]
fn retransmitted_syn_and_fin_are_counted_not_data() {
    let mut c = Cap::default();
    let segs = vec![
        c.seg(0, -1, b"", SYN),
        c.seg(0, -1, b"", SYN),
        c.seg(1, -1, b"", SYN | ACK),
        c.seg(0, 0, b"abc", PA),
        c.seg(0, 3, b"", FA),
        c.seg(0, 3, b"", FA),
    ];
    let (events, r) = run(&segs);
    assert_eq!(layout(&events, 0, 0), vec![d(b"abc")]);
    assert_eq!(summed(&r, 0, |s| s.retransmissions), 2);
    assert_eq!(count(&events, is_started), 1);
    assert_eq!(events.last(), Some(&ended(0, 6, EndReason::EndOfCapture)));
}

#[test]
fn rst_ends_the_flow_and_gives_up_its_holes() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'A'; 10], ACK));
    segs.push(c.seg(0, 20, &[b'C'; 10], ACK));
    segs.push(c.ack(1, 0, RST | ACK, 10));
    segs.push(c.seg(0, 30, b"late", ACK)); // after the end: absorbed
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[5], vec![gap(0, 0, 6, 10, 10), data_ev(0, 0, 6, 20, &[b'C'; 10]), ended(0, 6, EndReason::Rst)]);
    assert_eq!(per[6], vec![]);
    assert_eq!(r.table.flow(0).unwrap().late_packets, 1);
    assert_eq!(r.flush(), vec![]);
}

#[test]
fn zero_windows_are_counted_but_not_on_rst() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &[b'x'; 10], ACK));
    segs.push(c.seg_full(1, 0, b"", ACK, 10, 0));
    segs.push(c.seg_full(1, 0, b"", ACK, 10, 0));
    segs.push(c.seg_full(1, 0, b"", ACK, 10, 100));
    segs.push(c.seg_full(1, 0, b"", RST, 0, 0));
    let (_, r) = run(&segs);
    let s = r.summary(0);
    assert_eq!((s.zero_windows, s.zero_window_first_frame), (2, Some(5)));
}

#[test]
fn a_keepalive_is_not_data() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, b"hello", PA));
    segs.push(c.ack(1, 0, ACK, 5));
    segs.push(c.seg(0, 4, b"\x00", ACK)); // keep-alive: seq = next - 1, one garbage byte
    segs.push(c.seg(0, 5, b"more", PA));
    let (events, r) = run(&segs);
    assert_eq!(layout(&events, 0, 0), vec![d(b"hellomore")]);
    assert_eq!(count(&events, is_mismatch), 0);
    assert_eq!((summed(&r, 0, |s| s.keepalives), summed(&r, 0, |s| s.retransmissions)), (1, 0));
}

#[test]
fn a_one_byte_segment_before_a_seen_fin_is_data_not_a_keepalive() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, b"abc", PA));
    segs.push(c.seg(0, 4, b"", FA)); // FIN seen before the last byte
    segs.push(c.seg(0, 3, b"\x00", PA)); // seq = highest seen - 1, one byte: real data here
    let (events, r) = run(&segs);
    assert_eq!(layout(&events, 0, 0), vec![d(b"abc\x00")]);
    assert_eq!(summed(&r, 0, |s| s.keepalives), 0);
}

// ------------------------------------------------------------------------------------------ flows

#[test]
fn a_capture_starting_mid_stream() {
    let mut c = Cap::new([70000, 900000]);
    let segs = vec![
        c.seg_full(1, 5000, b"server-bytes", PA, 300, 65535), // first packet: server side, mid-stream
        c.seg_full(0, 300, b"client", PA, 5012, 65535),
        c.seg_full(1, 5012, b"!", PA, 306, 65535),
        c.seg_full(0, 306, b"?", PA, 5013, 65535),
    ];
    let (events, r) = run(&segs);
    let s = r.summary(0);
    // direction 0 is the sender of the first packet; offsets start at its seq
    assert_eq!(s.endpoints[0], (v4a(S_ADDR), 1935));
    assert_eq!(layout(&events, 0, 0), vec![d(b"server-bytes!")]);
    assert_eq!(layout(&events, 0, 1), vec![d(b"client?")]);
    assert_eq!(s.streams[0].base_seq, Some(900000 + 1 + 5000));
    assert!(!s.syn_seen(0));
    assert_eq!(count(&events, is_gap), 0);
}

#[test]
fn the_syn_sender_is_direction_0_even_with_the_lower_port() {
    let mut c = Cap { ends: [(v4a("10.0.0.9"), 1935), (v4a("10.0.0.1"), 80)], ..Cap::default() };
    let (_, r) = run(&c.handshake());
    assert_eq!(r.summary(0).endpoints[0], (v4a("10.0.0.9"), 1935));
}

#[test]
fn a_new_syn_after_fin_is_a_new_flow() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, b"one", PA));
    segs.push(c.seg(0, 3, b"", FA));
    segs.push(c.ack(1, 0, FA, 4));
    segs.push(c.ack(0, 4, ACK, 1));
    let mut c2 = Cap::new([777777, 888888]);
    c2.frame = c.frame;
    let second_first = c2.frame + 1;
    segs.extend(c2.handshake());
    segs.push(c2.seg(0, 0, b"two", PA));
    let (events, r) = run(&segs);
    let started: Vec<&Ev> = events.iter().filter(|e| is_started(e)).collect();
    assert_eq!(started, vec![&Ev::Started(0), &Ev::Started(1)]);
    assert_eq!(r.summary(1).first_frame, second_first);
    assert_eq!(layout(&events, 0, 0), vec![d(b"one")]);
    assert_eq!(layout(&events, 1, 0), vec![d(b"two")]);
    let ends: Vec<(u64, EndReason)> = r.summaries.iter().map(|s| (s.id, s.end_reason.unwrap())).collect();
    assert_eq!(ends, vec![(0, EndReason::Fin), (1, EndReason::EndOfCapture)]);
}

#[test]
fn a_new_syn_after_rst_is_a_new_flow() {
    let mut c = Cap::default();
    let mut segs = vec![c.seg(0, -1, b"", SYN), c.ack(1, 0, RST | ACK, 0)];
    let mut c2 = Cap::new([1234, 0]);
    c2.frame = c.frame;
    segs.push(c2.seg(0, -1, b"", SYN));
    segs.push(c2.seg(1, -1, b"", SYN | ACK));
    let (events, _) = run(&segs);
    assert_eq!(events, vec![Ev::Started(0), ended(0, 2, EndReason::Rst), Ev::Started(1), ended(1, 4, EndReason::EndOfCapture)]);
}

#[test]
fn a_new_syn_with_another_isn_on_an_open_flow_replaces_it() {
    let mut c = Cap::default();
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, b"abc", PA));
    segs.push(c.seg(0, 10, b"held", ACK));
    let mut c2 = Cap::new([424242, 5]);
    c2.frame = c.frame;
    segs.push(c2.seg(0, -1, b"", SYN));
    let mut r = Runner::default();
    let per = r.each(&segs);
    assert_eq!(per[5], vec![gap(0, 0, 5, 3, 7), data_ev(0, 0, 5, 10, b"held"), ended(0, 5, EndReason::Reused), Ev::Started(1)]);
    assert!(r.table.flow(1).unwrap().syn_seen(0));
    // the old flow was replaced, not remembered
    assert!(r.table.flow(0).is_none());
    assert_eq!(r.table.flows_started(), 2);
}

#[test]
fn a_syn_on_a_flow_seen_mid_stream() {
    // a bare SYN that fits just before the first seen bytes is the same connection, any other a new one
    let mut c = Cap::default();
    let (events, _) = run(&[c.seg(0, 0, b"abc", PA), c.seg(0, -1, b"", SYN)]);
    assert_eq!(count(&events, is_started), 1);
    assert_eq!(layout(&events, 0, 0), vec![d(b"abc")]);
    let mut c = Cap::default();
    let (events, _) = run(&[c.seg(0, 0, b"abc", PA), c.seg(0, 99, b"", SYN)]);
    let started: Vec<&Ev> = events.iter().filter(|e| is_started(e)).collect();
    assert_eq!(started, vec![&Ev::Started(0), &Ev::Started(1)]);
}

#[test]
fn a_syn_from_the_silent_side() {
    // nothing sent by the server yet: its SYN belongs to the flow (simultaneous open) unless data flowed
    let mut c = Cap::default();
    let (events, _) = run(&[c.seg(0, -1, b"", SYN), c.seg(1, -1, b"", SYN)]);
    assert_eq!(count(&events, is_started), 1);
    let mut c = Cap::default();
    let (events, _) = run(&[c.seg(0, 0, b"data", PA), c.seg(1, -1, b"", SYN)]);
    assert_eq!(count(&events, is_started), 2);
}

// ------------------------------------------------------------------------------------------ bounds

#[test]
fn eviction_of_the_least_recently_active_flow() {
    let mut r = table_with(2, None, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, DEFAULT_HISTORY);
    let mut caps: Vec<Cap> = (0..3)
        .map(|i| {
            let mut c = Cap::default();
            c.ends[0].1 = 40000 + i;
            c
        })
        .collect();
    let mut frame = 0;
    let mut seg = |i: usize, rel: i64, data: &[u8]| {
        caps[i].frame = frame;
        let s = caps[i].seg(0, rel, data, PA);
        frame = s.frame;
        s
    };
    r.add(&seg(0, 0, b"a0"));
    r.add(&seg(1, 0, b"b0"));
    r.add(&seg(0, 10, b"a-held")); // flow 0 active again, with a hole
    r.add(&seg(1, 2, b"b1")); // flow 1 most recent; flow 0 the oldest
    let evs = r.add(&seg(2, 0, b"c0")); // a third flow: flow 0 goes
    assert_eq!(
        evs,
        vec![Ev::Started(2), gap(0, 0, 3, 2, 8), data_ev(0, 0, 3, 10, b"a-held"), ended(0, 3, EndReason::Evicted), data_ev(2, 0, 5, 0, b"c0")]
    );
    assert_eq!(r.table.open_flows(), 2);
    assert!(r.table.flow(0).is_none()); // evicted flows are not remembered
    // flow 0's 4-tuple comes back: a new flow, and flow 1 (now the oldest) goes
    let evs = r.add(&seg(0, 16, b"again"));
    assert_eq!(evs[0], Ev::Started(3));
    assert!(evs.contains(&ended(1, 4, EndReason::Evicted)));
    assert_eq!(r.table.max_flows(), 2);
}

#[test]
fn the_out_of_order_byte_bound() {
    let mut r = table_with(100, None, 250, DEFAULT_MAX_PIECES, DEFAULT_HISTORY);
    let mut c = Cap::default();
    let mut segs = c.handshake();
    for (rel, b) in [(0, b'a'), (200, b'c'), (400, b'e'), (600, b'g')] {
        segs.push(c.seg(0, rel, &[b; 100], ACK));
    }
    let per = r.each(&segs);
    // 300 bytes held > 250: the first hole goes
    assert_eq!(per[6], vec![gap(0, 0, 7, 100, 100), data_ev(0, 0, 7, 200, &[b'c'; 100])]);
    assert_eq!(r.table.flow(0).unwrap().streams[0].pending_bytes(), 200);
    let mut events: Vec<Ev> = per.into_iter().flatten().collect();
    events.extend(r.flush());
    assert_eq!(
        layout(&events, 0, 0),
        vec![
            d(&[b'a'; 100]),
            Piece::Gap(100, 100),
            Piece::Data(200, vec![b'c'; 100]),
            Piece::Gap(300, 100),
            Piece::Data(400, vec![b'e'; 100]),
            Piece::Gap(500, 100),
            Piece::Data(600, vec![b'g'; 100]),
        ]
    );
}

#[test]
fn the_out_of_order_piece_bound() {
    let mut s = StreamReassembler::new(0, 0, DEFAULT_MAX_BUFFER, 3, DEFAULT_HISTORY);
    let mut out = Vec::new();
    s.feed(0, ACK, b"a", 0, 1, 0.0, &mut out);
    for (i, off) in [2u32, 4, 6, 8].iter().enumerate() {
        s.feed(*off, ACK, b"x", 0, 2 + i as u64, 0.0, &mut out);
    }
    assert_eq!(own(out), vec![data(0, 0, 1, 0, b"a"), gap(0, 0, 5, 1, 1), data(0, 0, 5, 2, b"x")]);
    assert_eq!(s.pending_pieces(), 3);
}

#[test]
fn ended_flows_are_remembered_up_to_max_ended() {
    // each connection: SYN, RST from the server; then a trailing RST of each, oldest first
    let mut r = table_with(10, Some(1), DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, DEFAULT_HISTORY);
    let mut caps: Vec<Cap> = (0..2)
        .map(|i| {
            let mut c = Cap::default();
            c.ends[0].1 = 41000 + i;
            c
        })
        .collect();
    let mut frame = 0;
    let mut seg = |i: usize, d: usize, flags: u8| {
        caps[i].frame = frame;
        let s = caps[i].ack(d, if d == 0 { -1 } else { 0 }, flags, 0);
        frame = s.frame;
        s
    };
    let mut events = vec![];
    for i in 0..2 {
        events.extend(r.add(&seg(i, 0, SYN)));
        events.extend(r.add(&seg(i, 1, RST | ACK)));
    }
    assert_eq!(events, vec![Ev::Started(0), ended(0, 2, EndReason::Rst), Ev::Started(1), ended(1, 4, EndReason::Rst)]);
    // flow 1 is remembered: its trailing RST is a late packet
    assert_eq!(r.add(&seg(1, 1, RST | ACK)), vec![]);
    assert_eq!(r.table.flow(1).unwrap().late_packets, 1);
    // flow 0 was forgotten: its trailing RST starts a flow, which it ends at once
    assert_eq!(r.add(&seg(0, 1, RST | ACK)), vec![Ev::Started(2), ended(2, 6, EndReason::Rst)]);
    assert!(r.table.flow(0).is_none());
    assert_eq!(r.table.max_ended(), 1);
}

#[test]
fn flush_ends_open_flows_in_id_order() {
    let mut r = Runner::default();
    let mut caps: Vec<Cap> = (0..3)
        .map(|i| {
            let mut c = Cap::default();
            c.ends[0].1 = 42000 + i;
            c
        })
        .collect();
    let mut frame = 0;
    for i in [0usize, 1, 2, 0] {
        caps[i].frame = frame;
        let s = caps[i].seg(0, 0, b"", ACK);
        frame = s.frame;
        r.add(&s);
    }
    // frames: flow 0 was last active at frame 4, after flows 1 and 2
    assert_eq!(
        r.flush(),
        vec![ended(0, 4, EndReason::EndOfCapture), ended(1, 2, EndReason::EndOfCapture), ended(2, 3, EndReason::EndOfCapture)]
    );
    assert_eq!(r.table.open_flows(), 0);
}

// ------------------------------------------------------------------------------------------ randomised

/// One lossless connection, data shuffled and duplicated, as `_lossless_capture` of the Python tests.
fn lossless(rng: &mut Rng, up: &[u8], down: &[u8], isn: [u32; 2], with_fin: bool) -> Vec<OwnedSeg> {
    let mut c = Cap::new(isn);
    let head = c.handshake();
    let mut body: Vec<(usize, usize, Vec<u8>, u8)> = vec![];
    for (dir, data) in [(0, up), (1, down)] {
        let mut cuts: Vec<usize> = (0..rng.below(8)).map(|_| rng.below(data.len() as u64 + 1) as usize).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        cuts.dedup();
        for w in cuts.windows(2) {
            body.push((dir, w[0], data[w[0]..w[1]].to_vec(), PA));
        }
        for _ in 0..rng.below(3) {
            // re-segmented copies of bytes that exist
            let a = rng.below(data.len() as u64 + 1) as usize;
            let b = rng.below(data.len() as u64 + 1) as usize;
            let (lo, hi) = (a.min(b), a.max(b));
            if hi > lo {
                body.push((dir, lo, data[lo..hi].to_vec(), ACK));
            }
        }
    }
    if with_fin {
        body.push((0, up.len(), vec![], FA));
        body.push((1, down.len(), vec![], FA));
    }
    let shuffle = |rng: &mut Rng, v: &mut Vec<(usize, usize, Vec<u8>, u8)>| {
        for i in (1..v.len()).rev() {
            v.swap(i, rng.below(i as u64 + 1) as usize);
        }
    };
    shuffle(rng, &mut body);
    for _ in 0..rng.below(5) {
        if !body.is_empty() {
            let dup = body[rng.below(body.len() as u64) as usize].clone();
            body.push(dup);
        }
    }
    shuffle(rng, &mut body);
    let mut segs = head;
    for (dir, rel, data, flags) in body {
        segs.push(c.seg(dir, rel as i64, &data, flags));
    }
    segs
}

#[test]
fn random_permutations_and_duplicates_lose_nothing() {
    let mut rng = Rng(0xC0FFEE);
    for round in 0..150 {
        let (nu, nd) = (rng.below(400) as usize, rng.below(200) as usize);
        let (up, down) = (rng.bytes(nu), rng.bytes(nd));
        let isn = if round % 3 == 0 { [(MASK - rng.below(500) as i64) as u32, (MASK - rng.below(300) as i64) as u32] } else { [rng.next() as u32, rng.next() as u32] };
        let with_fin = round % 2 == 0;
        let segs = lossless(&mut rng, &up, &down, isn, with_fin);
        let (events, _) = run(&segs);
        assert_eq!(count(&events, is_gap), 0, "round {round}");
        assert_eq!(count(&events, is_mismatch), 0, "round {round}");
        assert_eq!(layout(&events, 0, 0), if up.is_empty() { vec![] } else { vec![d(&up)] }, "round {round}");
        assert_eq!(layout(&events, 0, 1), if down.is_empty() { vec![] } else { vec![d(&down)] }, "round {round}");
        assert_eq!(count(&events, is_started), 1);
        let reason = if with_fin { EndReason::Fin } else { EndReason::EndOfCapture };
        assert!(matches!(events.last(), Some(Ev::Ended { reason: r, .. }) if *r == reason), "round {round}");
    }
}

#[test]
fn losses_never_misplace_bytes() {
    // whatever is lost, delivered bytes are the original bytes at their true offsets
    let mut rng = Rng(0xBEEF);
    for round in 0..150 {
        let (nu, nd) = (1 + rng.below(400) as usize, rng.below(200) as usize);
        let (up, down) = (rng.bytes(nu), rng.bytes(nd));
        let isn = [(MASK - rng.below(300) as i64) as u32, rng.next() as u32];
        let segs = lossless(&mut rng, &up, &down, isn, round % 2 == 0);
        let kept: Vec<OwnedSeg> = segs.iter().enumerate().filter(|(i, _)| *i < 3 || rng.below(5) != 0).map(|(_, s)| s.clone()).collect();
        let (events, _) = run(&kept);
        for (dir, data) in [(0u8, &up), (1, &down)] {
            let mut extent = 0;
            for p in layout(&events, 0, dir) {
                match p {
                    Piece::Data(off, bytes) => {
                        assert_eq!(bytes[..], data[off as usize..off as usize + bytes.len()], "round {round}");
                        extent = off + bytes.len() as u64;
                    }
                    Piece::Gap(off, size) => extent = off + size,
                }
            }
            assert!(extent <= data.len() as u64, "round {round}");
        }
    }
}

#[test]
fn random_overlapping_pieces_through_a_lone_reassembler() {
    let mut rng = Rng(5);
    for seed in 0..5u64 {
        let data = rng.bytes(20000);
        let isn = [0u32, (MASK - 5000) as u32, rng.next() as u32][seed as usize % 3];
        let mut pieces: Vec<(usize, usize)> = (0..300)
            .map(|_| {
                let lo = rng.below(data.len() as u64) as usize;
                (lo, (lo + 1 + rng.below(1500) as usize).min(data.len()))
            })
            .collect();
        let mut pos = 0;
        while pos < data.len() {
            let hi = (pos + 1 + rng.below(1460) as usize).min(data.len());
            pieces.push((pos, hi));
            pos = hi;
        }
        for i in (1..pieces.len()).rev() {
            pieces.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut s = StreamReassembler::new(0, 0, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, DEFAULT_HISTORY);
        let mut all = vec![];
        let mut out = Vec::new();
        s.feed(isn, SYN, b"", 0, 0, 0.0, &mut out);
        all.extend(own(out));
        for (i, &(lo, hi)) in pieces.iter().enumerate() {
            let mut out = Vec::new();
            s.feed(isn.wrapping_add(1 + lo as u32), ACK, &data[lo..hi], 0, i as u64 + 1, 0.0, &mut out);
            all.extend(own(out));
        }
        let mut out = Vec::new();
        s.finish(0, 0.0, &mut out);
        all.extend(own(out));
        assert!(all.iter().all(|e| matches!(e, Ev::Data { .. })), "seed {seed}");
        assert_eq!(layout(&all, 0, 0), vec![d(&data)]);
        assert_eq!((s.pending_bytes(), s.finished()), (0, true));
    }
}

// ------------------------------------------------------------------------------------------ capture to events

/// A pcap file read in pieces of `cut` bytes (0: whole), every TCP segment through a flow table.
fn events_of_capture(data: &[u8], cut: usize) -> (Vec<Ev>, Vec<rtmp_inspect_capture::FlowSummary>) {
    let mut parser = rtmp_inspect_capture::CaptureParser::new("c.pcap");
    let mut r = Runner::default();
    let mut events = vec![];
    let pieces: Vec<&[u8]> = if cut == 0 { vec![data] } else { data.chunks(cut).collect() };
    for (i, piece) in pieces.iter().enumerate() {
        parser.feed(piece);
        if i + 1 == pieces.len() {
            parser.end_of_input();
        }
        while let Some(p) = parser.next_packet().unwrap() {
            if let rtmp_inspect_capture::Packet::Tcp(seg) = p {
                let mut out = vec![];
                r.table.add(&seg, &mut out);
                events.extend(own_all(&mut r, out));
            }
        }
    }
    events.extend(r.flush());
    (events, r.summaries)
}

/// Like `own`, for table events (the summaries go to the runner).
fn own_all(r: &mut Runner, out: Vec<rtmp_inspect_capture::FlowEvent<'_>>) -> Vec<Ev> {
    use rtmp_inspect_capture::FlowEvent as F;
    out.into_iter()
        .map(|e| match e {
            F::Started { flow } => Ev::Started(flow),
            F::Ended { flow, frame, reason, summary, .. } => {
                r.summaries.push(*summary);
                ended(flow, frame, reason)
            }
            other => own(vec![other]).remove(0),
        })
        .collect()
}

#[test]
fn a_capture_read_one_byte_at_a_time_gives_the_same_events() {
    // a connection with a reordered segment, a lost one given up by an ACK, and both FINs, in a pcap
    let mut c = Cap::default();
    let data = pattern(900, 12);
    let mut segs = c.handshake();
    segs.push(c.seg(0, 0, &data[..300], PA));
    segs.push(c.seg(0, 600, &data[600..], PA)); // [300,600) is lost
    segs.push(c.seg_full(1, 0, b"pong", PA, 300, 65535));
    segs.push(c.ack(1, 4, ACK, 900));
    segs.push(c.ack(0, 900, FA, 4));
    segs.push(c.ack(1, 4, FA, 901));
    let frames: Vec<(u32, u32, Vec<u8>)> = segs
        .iter()
        .map(|s| {
            let (Address::V4(src), Address::V4(dst)) = (s.src, s.dst) else { unreachable!() };
            let src = std::net::Ipv4Addr::from(src).to_string();
            let dst = std::net::Ipv4Addr::from(dst).to_string();
            let t = Tcp { sport: s.sport, dport: s.dport, seq: s.seq, ack: s.ack, flags: s.flags, window: s.window, payload: &s.payload, ..Default::default() };
            (1000, s.frame as u32 * 1000, ether(0x0800, &ipv4_with(&V4 { src: &src, dst: &dst, ..Default::default() }, &tcp(&t))))
        })
        .collect();
    let file = pcap(&frames);
    let whole = events_of_capture(&file, 0);
    assert_eq!(
        whole.0,
        vec![
            Ev::Started(0),
            data_ev(0, 0, 4, 0, &data[..300]),
            data_ev(0, 1, 6, 0, b"pong"),
            gap(0, 0, 7, 300, 300),
            data_ev(0, 0, 7, 600, &data[600..]),
            ended(0, 9, EndReason::Fin),
        ]
    );
    assert_eq!(whole.1[0].streams[0].gap_bytes, 300);
    assert_eq!(whole.1[0].packets, [5, 4]);
    for cut in [1, 7, 100] {
        assert_eq!(events_of_capture(&file, cut), whole, "pieces of {cut}");
    }
}
