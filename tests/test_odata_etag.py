"""ETag helpers."""

from __future__ import annotations

import pytest

from bcbridge.odata import ANY, etag_of, etags_match, is_weak, opaque_tag, require_etag

TAG = 'W/"JzQ0O2c4UTNaRHErODdzODZnVlJxN2tNTkt3SHBwajNBaHNSdStNeEFONGUwVkE9MTswMDsn"'


def test_etag_of_and_require():
    assert etag_of({"@odata.etag": TAG, "id": 1}) == TAG
    assert etag_of({"id": 1}) is None
    assert etag_of({"@odata.etag": ""}) is None
    assert require_etag({"@odata.etag": TAG}) == TAG
    with pytest.raises(ValueError, match=r"no @odata\.etag"):
        require_etag({})


def test_weak_and_strong_comparison():
    assert is_weak(TAG) and not is_weak('"abc"')
    assert opaque_tag('W/"abc"') == opaque_tag('"abc"') == "abc"
    assert etags_match('W/"abc"', '"abc"')
    assert not etags_match('W/"abc"', '"abc"', weak=False)
    assert etags_match('"abc"', '"abc"', weak=False)
    assert not etags_match('W/"abc"', 'W/"abd"')
    assert not etags_match(None, TAG)
    assert etags_match(ANY, TAG)
