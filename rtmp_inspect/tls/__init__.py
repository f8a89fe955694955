"""RTMPS: TLS record parsing, NSS key logs and decryption of TLS 1.2/1.3 application data.

A TLS flow is carried by `carrier.TlsCarrier`, which turns the TCP byte streams of one connection into the
plaintext byte streams of a virtual flow that the analyzer decodes like any other RTMP flow.
"""
