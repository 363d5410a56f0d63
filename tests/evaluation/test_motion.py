"""Motion controls: a shuffle keeps every frame and loses the order; a still keeps one frame."""
from __future__ import annotations

import pytest
import torch

from vddlib.evaluation.motion import control, shuffle_time, still


def _videos(n=6, t=5):
    v = torch.zeros(n, t, 1, 2, 2, dtype=torch.uint8)
    for i in range(n):
        for k in range(t):
            v[i, k] = 10 * k + i                            # each frame tells its time step
    return v


def test_a_shuffle_keeps_every_frame_and_loses_the_order():
    v = _videos()
    s = shuffle_time(v, seed=3)
    for i in range(len(v)):
        assert sorted(s[i, :, 0, 0, 0].tolist()) == v[i, :, 0, 0, 0].tolist()     # the same frames
        assert s[i, :, 0, 0, 0].tolist() != v[i, :, 0, 0, 0].tolist()             # in another order
    assert torch.equal(s, shuffle_time(v, seed=3)) and not torch.equal(s, shuffle_time(v, seed=4))


def test_a_still_repeats_one_frame():
    v = _videos()
    st = still(v)
    assert st.shape == v.shape and torch.equal(st, v[:, 2:3].expand_as(v))
    assert torch.equal(still(v, 0)[:, 4], v[:, 0])
    with pytest.raises(ValueError, match="outside"):
        still(v, 5)
    assert control(v, "as_is") is v and torch.equal(control(v, "still"), st)
    with pytest.raises(ValueError, match="one of"):
        control(v, "reversed")
