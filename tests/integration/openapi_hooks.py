"""Schemathesis hooks for Chorus (loaded through SCHEMATHESIS_HOOKS by test_openapi.py): WHIP and
WHEP offers and answers are SDP text (application/sdp, RFC 8866), which schemathesis does not
know how to send or read."""

from __future__ import annotations

import schemathesis


@schemathesis.serializer("application/sdp")
def sdp_body(ctx, value):
    if value is None or isinstance(value, bytes):
        return value
    # surrogatepass: a generated lone surrogate goes out as the invalid UTF-8 it stands for.
    return str(value).encode("utf-8", errors="surrogatepass")


@schemathesis.deserializer("application/sdp")
def sdp_text(ctx, response):
    return response.content.decode("utf-8", errors="replace")
