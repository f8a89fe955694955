//! The handshake framing of one direction: C0/S0 (the version), C1/S1 and C2/S2 (1536 bytes each), then
//! plain chunks, or a stop for RTMPE (`_handshake_step` in chunks.py). The checks on the handshake's
//! contents (schemes, digests, echoes) are the analysis layer's job, not this one's.

use crate::decoder::{ChunkDecoder, Phase, HANDSHAKE_SIZE};
use crate::events::Event;

/// Versions of RTMPE (encrypted RTMP): the chunk stream after the handshake cannot be read.
const ENCRYPTED_VERSIONS: [u8; 3] = [6, 8, 9];

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl ChunkDecoder {
    /// Take the next handshake part if it is all buffered. False when more bytes are needed.
    pub(crate) fn handshake_step(&mut self, out: &mut Vec<Event>) -> bool {
        let pos = self.pos;
        let offset = self.base + pos as u64;
        if self.phase == Phase::Hs0 {
            let Some(&version) = self.buf.get(pos) else {
                return false;
            };
            self.version = Some(version);
            out.push(Event::HandshakeVersion { version, offset });
            self.pos = pos + 1;
            self.phase = Phase::Hs1;
            return true;
        }
        let Some(data) = self.buf.get(pos..pos + HANDSHAKE_SIZE) else {
            return false;
        };
        let data = data.to_vec();
        let time = be32(&data[0..4]);
        let field = be32(&data[4..8]);
        self.pos = pos + HANDSHAKE_SIZE;
        if self.phase == Phase::Hs1 {
            out.push(Event::HandshakeRandom {
                time,
                version_field: field,
                data,
                offset,
            });
            self.phase = Phase::Hs2;
            return true;
        }
        out.push(Event::HandshakeEcho {
            time,
            time2: field,
            data,
            offset,
        });
        match self.version {
            Some(version) if ENCRYPTED_VERSIONS.contains(&version) => {
                out.push(Event::Encrypted {
                    version,
                    offset: self.offset(),
                });
                self.phase = Phase::Encrypted;
                self.drop_buffer();
            }
            version => {
                if version != Some(3) {
                    // Hs2 follows Hs0 and Hs1 with no gap between (a gap leaves the handshake), so C0 is
                    // exactly 1537 bytes before C2 and the subtraction cannot underflow.
                    out.push(Event::violation(
                        "handshake.version",
                        "warning",
                        offset.saturating_sub(HANDSHAKE_SIZE as u64 + 1),
                        format!(
                            "handshake version {} is not 3; decoding as plain RTMP",
                            version.map_or_else(|| "None".to_string(), |v| v.to_string())
                        ),
                    ));
                }
                self.phase = Phase::Chunks;
            }
        }
        true
    }
}
