"""What the tests share: where the samples are, the external tools they use as oracles, and builders of
bytes (RTMP chunk streams, TLS records, packets and capture files)."""
