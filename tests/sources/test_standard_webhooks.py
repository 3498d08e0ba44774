"""The shared Standard Webhooks check: the specification's published vector, and a 401 naming the header for every failure."""

from __future__ import annotations

import pytest

from bridge.sources.base import Rejected
from bridge.sources.standard_webhooks import decode_key, sign, verify

# The reference libraries' signing vector: standard-webhooks/standard-webhooks, libraries/go/webhook_test.go (TestWebhookSign).
KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
STAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# A well-formed signature that is not the vector's (from the same tests' "invalid signature" case).
OTHER = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="


def headers(**changes: str | None) -> dict:
    """The vector's headers, with some replaced or (None) removed."""
    given = {"webhook-id": MSG_ID, "webhook-timestamp": str(STAMP), "webhook-signature": SIGNATURE, **{k.replace("_", "-"): v for k, v in changes.items()}}
    return {name: value for name, value in given.items() if value is not None}


def test_the_published_vector_signs_and_verifies():
    assert sign(KEY, MSG_ID, STAMP, BODY) == SIGNATURE
    verify(headers(), BODY, KEY, now=STAMP)


@pytest.mark.parametrize(
    "signatures",
    [f"{OTHER} {SIGNATURE}", f"v2,{SIGNATURE[3:]} {SIGNATURE}", f"{SIGNATURE}  v1a,xyz", f"v1,not!base64 {SIGNATURE}", f"  {SIGNATURE}  "],
    ids=["another-first", "other-version-first", "unknown-version-after", "malformed-first", "spaces-around"],
)
def test_any_valid_v1_signature_among_several_passes(signatures):
    verify(headers(webhook_signature=signatures), BODY, KEY, now=STAMP)


@pytest.mark.parametrize("drift", [-300, 0, 300])
def test_a_timestamp_within_five_minutes_either_way_passes(drift):
    verify(headers(), BODY, KEY, now=STAMP - drift)


def test_the_key_may_be_given_without_its_prefix():
    verify(headers(), BODY, KEY.removeprefix("whsec_"), now=STAMP)


@pytest.mark.parametrize(
    "changes, body, key, now, reason",
    [
        ({"webhook_id": None}, BODY, KEY, STAMP, "missing webhook-id header"),
        ({"webhook_timestamp": None}, BODY, KEY, STAMP, "missing webhook-timestamp header"),
        ({"webhook_signature": None}, BODY, KEY, STAMP, "missing webhook-signature header"),
        ({"webhook_signature": ""}, BODY, KEY, STAMP, "missing webhook-signature header"),
        ({}, BODY, KEY, STAMP + 301, "webhook-timestamp is 301 s old, more than 300 s"),
        ({}, BODY, KEY, STAMP - 301, "webhook-timestamp is 301 s in the future"),
        ({"webhook_timestamp": "2021-02-25T15:02:10Z"}, BODY, KEY, STAMP, "webhook-timestamp must be whole seconds"),
        ({"webhook_timestamp": "-5"}, BODY, KEY, STAMP, "webhook-timestamp must be whole seconds"),
        ({"webhook_timestamp": "9" * 40}, BODY, KEY, STAMP, "webhook-timestamp must be whole seconds"),
        ({"webhook_timestamp": "\u0661\u0666\u0661\u0664"}, BODY, KEY, STAMP, "webhook-timestamp must be whole seconds"),
        ({"webhook_signature": OTHER}, BODY, KEY, STAMP, "webhook-signature does not match"),
        ({}, BODY + b" ", KEY, STAMP, "webhook-signature does not match"),
        ({"webhook_id": MSG_ID + "x"}, BODY, KEY, STAMP, "webhook-signature does not match"),
        ({}, BODY, "whsec_" + "QUJD" * 8, STAMP, "webhook-signature does not match"),
        ({"webhook_signature": "v2," + SIGNATURE[3:]}, BODY, KEY, STAMP, "webhook-signature holds no v1,<base64> signature"),
        ({"webhook_signature": SIGNATURE[3:]}, BODY, KEY, STAMP, "webhook-signature holds no v1,<base64> signature"),
        ({"webhook_signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"}, BODY, KEY, STAMP, "webhook-signature holds a signature that is not valid base64"),
        ({"webhook_signature": "v1,!!!!"}, BODY, KEY, STAMP, "webhook-signature holds a signature that is not valid base64"),
        ({"webhook_signature": "v1,"}, BODY, KEY, STAMP, "webhook-signature does not match"),
        ({}, BODY, "whsec_not base64!", STAMP, "signing_secret is not a whsec_<base64> key"),
    ],
    ids=[
        "no-id", "no-timestamp", "no-signature", "empty-signature", "stale", "future", "iso-timestamp", "negative-timestamp", "huge-timestamp", "arabic-digits",
        "wrong-signature", "body-changed", "id-changed", "wrong-key", "wrong-version", "no-version", "unpadded-base64", "not-base64", "empty-v1",
        "bad-key",
    ],
)  # fmt: skip
def test_every_failure_is_a_401_naming_the_header(changes, body, key, now, reason):
    with pytest.raises(Rejected) as caught:
        verify(headers(**changes), body, key, now=now)
    assert caught.value.status == 401
    assert reason in caught.value.message


@pytest.mark.parametrize("key", ["whsec_", "whsec_%%%", "whsec_QUJD=x"])
def test_a_key_that_is_not_whsec_base64_is_refused(key):
    with pytest.raises(ValueError):
        decode_key(key)
