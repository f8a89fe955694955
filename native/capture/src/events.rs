//! What the flow layer hands on: small event records, in capture order (port of `flows/events.py`).
//!
//! Offsets are 0-based positions in one direction's byte stream. Python's events point at the live `Flow`;
//! here they carry its id, and `Ended` a snapshot of the flow's counters taken when it ended (the table may
//! forget the flow right after).

use std::borrow::Cow;

use crate::segment::Address;

/// Why a flow ended (Python's `END_*` strings).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EndReason {
    /// Both directions sent FIN.
    Fin,
    /// Either side sent RST.
    Rst,
    /// Still open when the capture ended (`FlowTable::flush`).
    EndOfCapture,
    /// Pushed out by the bound on open flows.
    Evicted,
    /// A new connection (new SYN) took over the same 4-tuple.
    Reused,
}

impl EndReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::EndOfCapture => "end-of-capture",
            EndReason::Evicted => "evicted",
            EndReason::Reused => "reused",
        }
    }
}

/// One direction's reassembly state and counters, as plain values.
#[derive(Clone, Copy, PartialEq, Debug, Default)]
pub struct StreamSummary {
    pub segments: u64,
    pub retransmissions: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub mismatches: u64,
    pub mismatch_bytes: u64,
    pub keepalives: u64,
    pub syn_seen: bool,
    pub isn: Option<u32>,
    /// Sequence number of stream offset 0 (ISN+1, or first seen seq).
    pub base_seq: Option<u32>,
    /// Stream offset of the FIN (can be negative on nonsense input, as in Python).
    pub fin_offset: Option<i64>,
    /// Offset of the next byte to deliver (= bytes delivered + gap bytes).
    pub next_offset: i64,
    pub next_seq: Option<u32>,
    pub high: i64,
    pub hint: i64,
    pub acked: i64,
    pub pending_bytes: i64,
    pub pending_pieces: u64,
    pub finished: bool,
    pub implausible: u64,
    pub implausible_acks: u64,
}

/// A snapshot of a flow: identity and every counter.
#[derive(Clone, PartialEq, Debug)]
pub struct FlowSummary {
    pub id: u64,
    /// (address, port) of direction 0's sender, then of its peer.
    pub endpoints: [(Address, u16); 2],
    pub first_frame: u64,
    pub first_time: f64,
    pub last_frame: u64,
    pub last_time: f64,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub zero_windows: u64,
    pub zero_window_first_frame: Option<u64>,
    pub late_packets: u64,
    pub data_segments: [u64; 2],
    pub full_segments: [u64; 2],
    pub checksum_drops: [u64; 2],
    pub checksum_drop_first_frame: Option<u64>,
    pub resets_ignored: u64,
    pub reset_ignored_first_frame: Option<u64>,
    pub ended: bool,
    pub end_reason: Option<EndReason>,
    pub streams: [StreamSummary; 2],
}

impl FlowSummary {
    pub fn syn_seen(&self, direction: usize) -> bool {
        self.streams[direction].syn_seen
    }

    pub fn fin_seen(&self, direction: usize) -> bool {
        self.streams[direction].fin_offset.is_some()
    }
}

/// One event of a flow (Python: FlowStarted, StreamData, StreamGap, OverlapMismatch, FlowEnded).
#[derive(Clone, PartialEq, Debug)]
pub enum FlowEvent<'a> {
    /// First packet of a new flow (a new 4-tuple, or a new SYN on a reused one).
    Started { flow: u64 },
    /// Contiguous bytes of one direction, now deliverable, at `offset`. `frame`/`time`: the segment whose
    /// arrival made them deliverable. In order, `data` borrows the segment's payload (no copy).
    Data { flow: u64, direction: u8, frame: u64, time: f64, data: Cow<'a, [u8]>, offset: u64 },
    /// `size` bytes at `offset` that the capture does not hold.
    Gap { flow: u64, direction: u8, frame: u64, time: f64, offset: u64, size: u64 },
    /// A later copy of bytes [offset, offset+size) differed from the first copy (which was kept).
    Mismatch { flow: u64, direction: u8, frame: u64, offset: u64, size: u64 },
    /// The flow is over.
    Ended { flow: u64, frame: u64, time: f64, reason: EndReason, summary: Box<FlowSummary> },
}

impl FlowEvent<'_> {
    /// The id of the flow the event belongs to.
    pub fn flow(&self) -> u64 {
        match self {
            FlowEvent::Started { flow }
            | FlowEvent::Data { flow, .. }
            | FlowEvent::Gap { flow, .. }
            | FlowEvent::Mismatch { flow, .. }
            | FlowEvent::Ended { flow, .. } => *flow,
        }
    }
}

/// An emptied event vector with its allocation kept, usable for segments of another lifetime: events
/// borrow the capture buffer, so a vector reused across packets must be let go of between them. (Std
/// collects a `Vec`'s `into_iter` in place when the element layout is the same, so nothing is allocated.)
#[allow(clippy::unnecessary_filter_map)] // the point is the new element lifetime, not the filtering
pub fn recycle_events<'b>(mut events: Vec<FlowEvent<'_>>) -> Vec<FlowEvent<'b>> {
    events.clear();
    events.into_iter().filter_map(|_| None).collect()
}
