//! Capture records to TCP flow events: the native port of `rtmp_inspect.capture` and `rtmp_inspect.flows`.
//!
//! Behaviour is identical to the Python reference (same packets, same events, same counters, same warning
//! and error texts), so the Python package can switch between them with byte-identical output.
//!
//! * [`CaptureParser`] (`parser`, `pcap`, `pcapng`): sans-IO pcap / pcapng record parser. It is fed the
//!   (already gunzipped) bytes of a capture in any chunking and hands out packets that decode to TCP
//!   segments or UDP datagrams, as zero-copy slices of its buffer.
//! * [`decode_packet`] (`layers`): link layers, VLAN / MPLS / PPPoE, IPv4 / IPv6, UDP, GTP-U, TCP.
//! * [`FlowTable`] (`table`, `reassembly`, `history`): TCP flows keyed by 4-tuple, with per-direction
//!   reassembly into byte streams and the events of `rtmp_inspect.flows.events`.
//!
//! Memory is bounded as in Python; hostile input never panics (no `unsafe`, lengths checked before use).

mod events;
mod fxhash;
mod history;
mod layers;
mod parser;
mod pcap;
mod pcapng;
mod reassembly;
mod segment;
mod table;
mod timestamp;

pub use events::{recycle_events, EndReason, FlowEvent, FlowSummary, StreamSummary};
pub use layers::{decode_packet, is_supported_link_type};
pub use parser::{CaptureError, CaptureParser, MAX_BLOCK, MAX_PACKET};
pub use reassembly::{StreamReassembler, DEFAULT_HISTORY, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES};
pub use segment::{
    Address, Packet, TcpSegment, UdpDatagram, ACK, CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED, FIN, PSH, RST, SYN,
};
pub use table::{Flow, FlowTable, DEFAULT_MAX_ENDED, DEFAULT_MAX_FLOWS};
pub use timestamp::div_round;
