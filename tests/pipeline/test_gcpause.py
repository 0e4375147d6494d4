"""The cycle collector paused while a stage builds many objects, and left as it was found."""

import gc
import weakref

from pipeline.gcpause import gc_paused


def test_the_pause_restores_the_collector_and_nested_pauses_leave_it_on():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner pause found it off
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before: off after
    finally:
        gc.enable()


def test_what_the_pause_made_is_kept_collectable_and_frozen_objects_stay_frozen():
    class Node:
        pass

    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle made during the pause
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None  # freed by a full collection
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            pass
        # not unfrozen (that would empty it); a few frozen objects may be freed meanwhile by other threads (xdist's)
        assert gc.get_freeze_count() >= frozen - 1000 > 0
    finally:
        gc.unfreeze()
