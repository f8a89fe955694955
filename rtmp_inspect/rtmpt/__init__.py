"""RTMPT: RTMP tunnelled through HTTP POSTs (`/open/1`, `/send/<session>/<seq>`, `/idle/...`, `/close/...`).

`carrier.RtmptTunnels` parses the HTTP of every connection that speaks it and joins the bodies of one tunnel
session, across connections, into the two byte streams of a virtual RTMP flow.
"""
