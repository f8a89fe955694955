//! What the capture layer hands on: a TCP segment or a UDP datagram, with where it came from
//! (as `rtmp_inspect.capture.segment.TcpSegment` and the arguments of the Python UDP hook).

/// TCP flag bits, as in the TCP header.
pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// `TcpSegment::checksum`: whether the TCP checksum could be checked, and how it came out (Python's
/// `CHECKSUM_*`).
pub const CHECKSUM_UNVERIFIED: u8 = 0;
pub const CHECKSUM_GOOD: u8 = 1;
pub const CHECKSUM_BAD: u8 = 2;

/// A packed IPv4 or IPv6 address (Python: 4 or 16 `bytes`; the two never compare equal).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Address {
    V4([u8; 4]),
    V6([u8; 16]),
}

impl Address {
    /// The packed bytes (4 or 16), as Python's `seg.src`.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Address::V4(a) => a,
            Address::V6(a) => a,
        }
    }
}

/// One decodable TCP packet. `payload` borrows the capture buffer (or the caller's packet bytes).
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct TcpSegment<'a> {
    /// 1-based number of the capture packet, as Wireshark numbers frames.
    pub frame: u64,
    /// Epoch seconds.
    pub time: f64,
    pub src: Address,
    pub sport: u16,
    pub dst: Address,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    /// The TCP payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the snap length cut off (after `payload`); never data.
    pub missing: u64,
    /// `CHECKSUM_*`: the TCP checksum over pseudo-header, header and payload.
    pub checksum: u8,
    /// `CHECKSUM_*`: the IPv4 header checksum (IPv6 has none).
    pub ip_checksum: u8,
}

/// A UDP datagram that is not GTP-U (what Python passes to its UDP hook).
#[derive(Clone, Copy, PartialEq, Debug)]
pub struct UdpDatagram<'a> {
    pub src: Address,
    pub sport: u16,
    pub dst: Address,
    pub dport: u16,
    pub payload: &'a [u8],
    pub frame: u64,
    pub time: f64,
}

/// A packet the capture layer hands on.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Packet<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
}
