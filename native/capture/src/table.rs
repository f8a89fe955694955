//! TCP flow tracking: segments in, ordered per-flow events out (port of `flows/table.py`; its module
//! documentation has the rules: keys, directions, new connections on SYN, how flows end).
//!
//! Python keeps `Flow` objects in a dict by 4-tuple, an OrderedDict of open flows in LRU order (oldest
//! evicted past `max_flows`) and one of ended flows (tombstones, at most `max_ended`). Here flows live in
//! a slab; the two OrderedDicts are intrusive doubly linked lists through it (same order, O(1) moves), and
//! the 4-tuple map points at slab slots. A flow dropped from the table during `add` stays in its slot until
//! the call returns, since Python may still count the segment on it (`max_flows` 0).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::events::{EndReason, FlowEvent, FlowSummary};
use crate::fxhash::SeededState;
use crate::reassembly::{StreamReassembler, DEFAULT_HISTORY, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, HALF, MASK};
use crate::segment::{Address, TcpSegment, ACK, CHECKSUM_GOOD, FIN, RST, SYN};

pub const DEFAULT_MAX_ENDED: usize = 4096;
pub const DEFAULT_MAX_FLOWS: usize = 100_000;
/// The smallest MSS: shorter segments are never "full".
pub const MIN_FULL_SEGMENT: u64 = 536;
/// How far past the expected sequence number an RST is still taken (unseen data before it).
pub const RST_WINDOW: i64 = 1 << 20;
/// Right checksums from a host before its wrong ones mean corruption, not offload.
pub const CHECKSUM_TRUST: u64 = 8;
/// Hosts whose checksums are tracked (hostile captures: more are not checked).
pub const MAX_CHECKSUM_HOSTS: usize = 65536;

/// One TCP connection as seen in the capture, with its counters. Per-direction arrays are indexed by
/// direction (0 = sender of the first packet). `bytes` counts TCP payload bytes as sent (retransmissions
/// and snap-length-cut bytes included).
pub struct Flow {
    pub id: u64,
    pub endpoints: [(Address, u16); 2],
    pub first_frame: u64,
    pub first_time: f64,
    pub last_frame: u64,
    pub last_time: f64,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Non-RST segments advertising window 0.
    pub zero_windows: u64,
    pub zero_window_first_frame: Option<u64>,
    /// Packets seen after the flow ended (final ACK etc.).
    pub late_packets: u64,
    /// Data segments, and those as long as the longest so far (the sender's segment size: a backlog), per
    /// direction.
    pub data_segments: [u64; 2],
    pub full_segments: [u64; 2],
    pub largest_segment: [u64; 2],
    /// Segments not used: a wrong checksum (see `FlowTable::add`).
    pub checksum_drops: [u64; 2],
    pub checksum_drop_first_frame: Option<u64>,
    /// RSTs outside what the receiver expects (RFC 5961), not taken as the end.
    pub resets_ignored: u64,
    pub reset_ignored_first_frame: Option<u64>,
    pub ended: bool,
    pub end_reason: Option<EndReason>,
    pub streams: [StreamReassembler; 2],
}

impl Flow {
    pub fn syn_seen(&self, direction: usize) -> bool {
        self.streams[direction].syn_seen()
    }

    pub fn fin_seen(&self, direction: usize) -> bool {
        self.streams[direction].fin_offset().is_some()
    }

    pub fn summary(&self) -> FlowSummary {
        FlowSummary {
            id: self.id,
            endpoints: self.endpoints,
            first_frame: self.first_frame,
            first_time: self.first_time,
            last_frame: self.last_frame,
            last_time: self.last_time,
            packets: self.packets,
            bytes: self.bytes,
            zero_windows: self.zero_windows,
            zero_window_first_frame: self.zero_window_first_frame,
            late_packets: self.late_packets,
            data_segments: self.data_segments,
            full_segments: self.full_segments,
            checksum_drops: self.checksum_drops,
            checksum_drop_first_frame: self.checksum_drop_first_frame,
            resets_ignored: self.resets_ignored,
            reset_ignored_first_frame: self.reset_ignored_first_frame,
            ended: self.ended,
            end_reason: self.end_reason,
            streams: [self.streams[0].summary(), self.streams[1].summary()],
        }
    }
}

/// Would the receiver take an RST with sequence number `seq` (RFC 5961)? Yes when nothing of the direction is
/// known yet, or `seq` is at or up to RST_WINDOW after the next expected sequence number.
fn reset_taken(stream: &StreamReassembler, seq: u32) -> bool {
    match stream.next_seq() {
        None => true,
        Some(next) => ((seq as i64 - next as i64) & MASK) <= RST_WINDOW,
    }
}

/// A 4-tuple as 64-bit words (IPv4 and IPv6 addresses never compare equal, as Python's bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key([u64; 5]);

fn words(a: &Address) -> (u64, u64, u64) {
    match a {
        Address::V4(b) => (u32::from_le_bytes(*b) as u64, 0, 4),
        Address::V6(b) => {
            let mut lo = [0u8; 8];
            let mut hi = [0u8; 8];
            lo.copy_from_slice(&b[..8]);
            hi.copy_from_slice(&b[8..]);
            (u64::from_le_bytes(lo), u64::from_le_bytes(hi), 6)
        }
    }
}

impl Key {
    #[inline]
    fn new(src: &Address, sport: u16, dst: &Address, dport: u16) -> Key {
        let (s0, s1, sv) = words(src);
        let (d0, d1, dv) = words(dst);
        Key([s0, s1, d0, d1, (sport as u64) | (dport as u64) << 16 | sv << 32 | dv << 40])
    }
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        for w in self.0 {
            h.write_u64(w);
        }
    }
}

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Member {
    None,
    Open,
    Ended,
}

struct Slot {
    flow: Flow,
    prev: u32,
    next: u32,
    member: Member,
}

/// An intrusive list through the slab, oldest first (an OrderedDict's order).
#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    len: usize,
}

impl List {
    const EMPTY: List = List { head: NIL, tail: NIL, len: 0 };
}

/// All flows of a capture.
pub struct FlowTable {
    max_flows: usize,
    max_ended: usize,
    max_buffer: u64,
    max_pieces: usize,
    history: u64,
    keys: HashMap<Key, (u32, u8), SeededState>,
    by_id: HashMap<u64, u32, SeededState>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    open: List,
    ended: List,
    last: Option<u64>,
    next_id: u64,
    detached: Vec<u32>,
    forgotten: Option<Vec<FlowSummary>>,
    /// Per source address: [right, wrong] TCP checksums, in order of appearance (`checksum_index` finds them).
    checksums: Vec<(Address, [u64; 2])>,
    checksum_index: HashMap<Address, usize, SeededState>,
    /// [right, wrong] IPv4 header checksums, over the whole capture.
    ip_checksums: [u64; 2],
    unmatched_checksum_drops: u64,
}

impl Default for FlowTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FlowTable {
    /// The Python defaults.
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_FLOWS, None, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES, DEFAULT_HISTORY)
    }

    /// `max_ended` None: min(max_flows, 4096), as Python.
    pub fn with_limits(max_flows: usize, max_ended: Option<usize>, max_buffer: u64, max_pieces: usize, history: u64) -> Self {
        let state = SeededState::new();
        FlowTable {
            checksums: Vec::new(),
            checksum_index: HashMap::with_hasher(state.clone()),
            ip_checksums: [0, 0],
            unmatched_checksum_drops: 0,
            max_flows,
            // Ended flows are remembered only to absorb their trailing ACKs and FINs.
            max_ended: max_ended.unwrap_or(max_flows.min(DEFAULT_MAX_ENDED)),
            max_buffer,
            max_pieces,
            history,
            keys: HashMap::with_hasher(state.clone()),
            by_id: HashMap::with_hasher(state),
            slots: Vec::new(),
            free: Vec::new(),
            open: List::EMPTY,
            ended: List::EMPTY,
            last: None,
            next_id: 0,
            detached: Vec::new(),
            forgotten: None,
        }
    }

    pub fn open_flows(&self) -> usize {
        self.open.len
    }

    pub fn flows_started(&self) -> u64 {
        self.next_id
    }

    pub fn max_flows(&self) -> usize {
        self.max_flows
    }

    pub fn max_ended(&self) -> usize {
        self.max_ended
    }

    /// A flow the table still holds (open, or ended and remembered).
    pub fn flow(&self, id: u64) -> Option<&Flow> {
        let slot = *self.by_id.get(&id)?;
        self.slots[slot as usize].as_ref().map(|s| &s.flow)
    }

    /// Record the final state of every flow the table drops (evicted, tombstone expired, replaced, flushed);
    /// `take_forgotten` hands them over. Off by default.
    pub fn set_keep_forgotten(&mut self, keep: bool) {
        self.forgotten = if keep { Some(self.forgotten.take().unwrap_or_default()) } else { None };
    }

    pub fn take_forgotten(&mut self) -> Vec<FlowSummary> {
        self.forgotten.as_mut().map(std::mem::take).unwrap_or_default()
    }

    // ------------------------------------------------------------------ add

    /// (hosts whose TCP checksums were wrong in every segment, at least CHECKSUM_TRUST of them, with their
    /// segment counts, in order of appearance; segments not used for a wrong checksum that matched no flow;
    /// packets with a wrong IPv4 header checksum when none was right): Python's `checksum_report`.
    pub fn checksum_report(&self) -> (Vec<(Address, u64)>, u64, u64) {
        let offloaded = self
            .checksums
            .iter()
            .filter(|(_, [right, wrong])| *wrong >= CHECKSUM_TRUST && *right == 0)
            .map(|(a, [_, w])| (*a, *w));
        let [ip_right, ip_wrong] = self.ip_checksums;
        let ip_offloaded = if ip_wrong >= CHECKSUM_TRUST && ip_right == 0 { ip_wrong } else { 0 };
        (offloaded.collect(), self.unmatched_checksum_drops, ip_offloaded)
    }

    /// Count the segment's checked checksum for its sender; true if it is wrong and the sender's checksums
    /// are known to be computed before the capture point (the segment was corrupted: the receiver drops it).
    fn checksum_drop(&mut self, seg: &TcpSegment<'_>) -> bool {
        // IPv4 header checksums over the whole capture (a corrupted header may carry any source address), TCP
        // checksums per sending host (offload is a property of a host's NIC).
        if seg.ip_checksum == CHECKSUM_GOOD {
            self.ip_checksums[0] += 1;
        } else if seg.ip_checksum != 0 {
            let [right, wrong] = self.ip_checksums;
            self.ip_checksums[1] = wrong + 1;
            if right >= CHECKSUM_TRUST && right >= 4 * wrong {
                return true;
            }
        }
        if seg.checksum == 0 {
            return false;
        }
        let at = match self.checksum_index.get(&seg.src) {
            Some(&at) => at,
            None => {
                if self.checksums.len() >= MAX_CHECKSUM_HOSTS {
                    return false;
                }
                self.checksums.push((seg.src, [0, 0]));
                self.checksum_index.insert(seg.src, self.checksums.len() - 1);
                self.checksums.len() - 1
            }
        };
        let counts = &mut self.checksums[at].1;
        let [right, wrong] = *counts;
        if seg.checksum == CHECKSUM_GOOD {
            counts[0] = right + 1;
            return false;
        }
        counts[1] = wrong + 1;
        right >= CHECKSUM_TRUST && right >= 4 * wrong
    }

    /// The events caused by one segment, appended to `out`.
    pub fn add<'a>(&mut self, seg: &TcpSegment<'a>, out: &mut Vec<FlowEvent<'a>>) {
        let flags = seg.flags;
        let key = Key::new(&seg.src, seg.sport, &seg.dst, seg.dport);
        if (seg.checksum != 0 || seg.ip_checksum != 0) && self.checksum_drop(seg) {
            match self.keys.get(&key) {
                None => self.unmatched_checksum_drops += 1,
                Some(&(slot, d)) => {
                    let flow = self.flow_mut(slot);
                    if flow.checksum_drop_first_frame.is_none() {
                        flow.checksum_drop_first_frame = Some(seg.frame);
                    }
                    flow.checksum_drops[d as usize] += 1;
                }
            }
            return;
        }
        let (slot, d) = match self.keys.get(&key) {
            None => (self.start(seg, out), 0usize),
            Some(&(slot, d)) => {
                if flags & (SYN | ACK) == SYN && self.new_connection(slot, d as usize, seg) {
                    let flow = self.flow_at(slot);
                    if !flow.ended {
                        let (frame, time) = (flow.last_frame, flow.last_time);
                        self.end(slot, EndReason::Reused, frame, time, out);
                    }
                    self.forget(slot);
                    (self.start(seg, out), 0)
                } else {
                    let (id, ended) = {
                        let f = self.flow_at(slot);
                        (f.id, f.ended)
                    };
                    if self.last != Some(id) {
                        if ended {
                            self.move_to_end(Member::Ended, slot);
                        } else {
                            self.move_to_end(Member::Open, slot);
                        }
                    }
                    (slot, d as usize)
                }
            }
        };
        let frame = seg.frame;
        let id = self.flow_at(slot).id;
        self.last = Some(id); // before the ends below, which may clear it (tombstone expired at once)
        let flow = self.flow_mut(slot);
        flow.packets[d] += 1;
        flow.bytes[d] += seg.payload.len() as u64 + seg.missing;
        let size = seg.payload.len() as u64 + seg.missing;
        if size > 0 {
            flow.data_segments[d] += 1;
            if size >= flow.largest_segment[d] {
                flow.largest_segment[d] = size;
                if size >= MIN_FULL_SEGMENT {
                    flow.full_segments[d] += 1;
                }
            }
        }
        flow.last_frame = frame;
        flow.last_time = seg.time;
        if seg.window == 0 && flags & RST == 0 {
            if flow.zero_windows == 0 {
                flow.zero_window_first_frame = Some(frame);
            }
            flow.zero_windows += 1;
        }
        if flow.ended {
            flow.late_packets += 1;
        } else if flags & RST != 0 && !reset_taken(&flow.streams[d], seg.seq) {
            // (the receiver drops the whole segment: its ACK and data too)
            flow.resets_ignored += 1;
            if flow.reset_ignored_first_frame.is_none() {
                flow.reset_ignored_first_frame = Some(frame);
            }
        } else {
            let [s0, s1] = &mut flow.streams;
            let (mine, peer) = if d == 0 { (s0, s1) } else { (s1, s0) };
            if flags & ACK != 0 {
                // Only an ACK past what the peer's stream delivered can matter.
                if let Some(ns) = peer.next_seq() {
                    let dist = (seg.ack as i64 - ns as i64) & MASK;
                    if 0 < dist && dist < HALF {
                        peer.ack(seg.ack, frame, seg.time, out);
                    }
                }
            }
            mine.feed(seg.seq, flags, seg.payload, seg.missing, frame, seg.time, out);
            if flags & RST != 0 {
                self.end(slot, EndReason::Rst, frame, seg.time, out);
            } else if (flags & FIN != 0 || flow.streams[0].fin_offset().is_some())
                && flow.streams[0].complete()
                && flow.streams[1].complete()
            {
                self.end(slot, EndReason::Fin, frame, seg.time, out);
            }
        }
        self.release_detached();
    }

    /// End of capture: end every open flow, in id order (its events appended to `out`), and forget them all.
    pub fn flush<'a>(&mut self, out: &mut Vec<FlowEvent<'a>>) {
        let mut open: Vec<(u64, u32)> = Vec::with_capacity(self.open.len);
        let mut at = self.open.head;
        while at != NIL {
            let s = self.slots[at as usize].as_ref().map(|s| (s.flow.id, s.next));
            match s {
                Some((id, next)) => {
                    open.push((id, at));
                    at = next;
                }
                None => break,
            }
        }
        open.sort_unstable();
        for (_, slot) in open {
            let flow = self.flow_at(slot);
            let both_fin = flow.fin_seen(0) && flow.fin_seen(1);
            let (frame, time) = (flow.last_frame, flow.last_time);
            self.end(slot, if both_fin { EndReason::Fin } else { EndReason::EndOfCapture }, frame, time, out);
        }
        // Python clears everything: every remembered flow is dropped.
        for i in 0..self.slots.len() {
            if self.slots[i].is_some() {
                self.detached.push(i as u32);
            }
        }
        self.open = List::EMPTY;
        self.ended = List::EMPTY;
        self.keys.clear();
        self.last = None;
        self.release_detached();
    }

    // ------------------------------------------------------------------ internals

    fn flow_at(&self, slot: u32) -> &Flow {
        match &self.slots[slot as usize] {
            Some(s) => &s.flow,
            None => unreachable!("flow table slot {slot} is free"),
        }
    }

    fn flow_mut(&mut self, slot: u32) -> &mut Flow {
        match &mut self.slots[slot as usize] {
            Some(s) => &mut s.flow,
            None => unreachable!("flow table slot {slot} is free"),
        }
    }

    fn start<'a>(&mut self, seg: &TcpSegment<'a>, out: &mut Vec<FlowEvent<'a>>) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        let stream = |d: u8| StreamReassembler::new(id, d, self.max_buffer, self.max_pieces, self.history);
        let flow = Flow {
            id,
            endpoints: [(seg.src, seg.sport), (seg.dst, seg.dport)],
            first_frame: seg.frame,
            first_time: seg.time,
            last_frame: seg.frame,
            last_time: seg.time,
            packets: [0, 0],
            bytes: [0, 0],
            zero_windows: 0,
            zero_window_first_frame: None,
            late_packets: 0,
            data_segments: [0, 0],
            full_segments: [0, 0],
            largest_segment: [0, 0],
            checksum_drops: [0, 0],
            checksum_drop_first_frame: None,
            resets_ignored: 0,
            reset_ignored_first_frame: None,
            ended: false,
            end_reason: None,
            streams: [stream(0), stream(1)],
        };
        let entry = Slot { flow, prev: NIL, next: NIL, member: Member::None };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.keys.insert(Key::new(&seg.src, seg.sport, &seg.dst, seg.dport), (slot, 0));
        self.keys.insert(Key::new(&seg.dst, seg.dport, &seg.src, seg.sport), (slot, 1));
        self.by_id.insert(id, slot);
        self.push_back(Member::Open, slot);
        out.push(FlowEvent::Started { flow: id });
        while self.open.len > self.max_flows {
            let old = self.open.head; // least recently active
            let f = self.flow_at(old);
            let (frame, time) = (f.last_frame, f.last_time);
            self.end(old, EndReason::Evicted, frame, time, out);
        }
        slot
    }

    /// Is this bare SYN (sent in direction d of the flow) a new connection?
    fn new_connection(&self, slot: u32, d: usize, seg: &TcpSegment<'_>) -> bool {
        let flow = self.flow_at(slot);
        let s = &flow.streams[d];
        if s.syn_seen() {
            return s.isn() != Some(seg.seq);
        }
        if flow.ended {
            return true;
        }
        if !s.started() {
            // Nothing sent this way yet: a SYN here is part of this flow (simultaneous open, or a SYN after
            // its SYN/ACK in the capture) unless the flow already carried data.
            return flow.bytes[0] + flow.bytes[1] > 0;
        }
        Some(seg.seq.wrapping_add(1)) != s.base_seq()
    }

    fn end<'a>(&mut self, slot: u32, reason: EndReason, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let flow = self.flow_mut(slot);
        for s in flow.streams.iter_mut() {
            s.finish(frame, time, out);
        }
        flow.ended = true;
        flow.end_reason = Some(reason);
        let id = flow.id;
        let summary = Box::new(flow.summary());
        out.push(FlowEvent::Ended { flow: id, frame, time, reason, summary });
        self.unlink(slot);
        if reason == EndReason::Evicted {
            self.forget(slot);
            return;
        }
        // Remember it so its trailing packets stay with it.
        self.push_back(Member::Ended, slot);
        while self.ended.len > self.max_ended {
            let old = self.ended.head;
            self.unlink(old);
            self.forget(old);
        }
    }

    /// Drop a flow's keys (if they still point at it) and its tombstone; the slot is released when the
    /// current call returns.
    fn forget(&mut self, slot: u32) {
        self.unlink(slot);
        let flow = self.flow_at(slot);
        let id = flow.id;
        let [(a, pa), (b, pb)] = flow.endpoints;
        for key in [Key::new(&a, pa, &b, pb), Key::new(&b, pb, &a, pa)] {
            if let Some(&(s, _)) = self.keys.get(&key) {
                if s == slot {
                    self.keys.remove(&key);
                }
            }
        }
        if self.last == Some(id) {
            self.last = None;
        }
        self.detached.push(slot);
    }

    fn release_detached(&mut self) {
        while let Some(slot) = self.detached.pop() {
            if let Some(s) = self.slots[slot as usize].take() {
                self.by_id.remove(&s.flow.id);
                if let Some(log) = self.forgotten.as_mut() {
                    log.push(s.flow.summary());
                }
                self.free.push(slot);
            }
        }
    }

    // ------------------------------------------------------------------ the two ordered lists

    fn list(&mut self, member: Member) -> &mut List {
        match member {
            Member::Ended => &mut self.ended,
            _ => &mut self.open,
        }
    }

    fn node(&mut self, slot: u32) -> &mut Slot {
        match &mut self.slots[slot as usize] {
            Some(s) => s,
            None => unreachable!("flow table slot {slot} is free"),
        }
    }

    fn push_back(&mut self, member: Member, slot: u32) {
        let tail = self.list(member).tail;
        {
            let n = self.node(slot);
            n.prev = tail;
            n.next = NIL;
            n.member = member;
        }
        if tail != NIL {
            self.node(tail).next = slot;
        }
        let list = self.list(member);
        if list.head == NIL {
            list.head = slot;
        }
        list.tail = slot;
        list.len += 1;
    }

    /// Take the slot out of whichever list holds it (if any).
    fn unlink(&mut self, slot: u32) {
        let (prev, next, member) = {
            let n = self.node(slot);
            let r = (n.prev, n.next, n.member);
            n.prev = NIL;
            n.next = NIL;
            n.member = Member::None;
            r
        };
        if member == Member::None {
            return;
        }
        if prev != NIL {
            self.node(prev).next = next;
        }
        if next != NIL {
            self.node(next).prev = prev;
        }
        let list = self.list(member);
        if list.head == slot {
            list.head = next;
        }
        if list.tail == slot {
            list.tail = prev;
        }
        list.len -= 1;
    }

    fn move_to_end(&mut self, member: Member, slot: u32) {
        let n = self.node(slot);
        if n.member != member || n.next == NIL {
            return; // already last (or, never in valid states, not in that list)
        }
        self.unlink(slot);
        self.push_back(member, slot);
    }
}
