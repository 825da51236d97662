"""Claims: the first token set on a key holds it, a repeat of that token still holds it, any other
token is refused — on both queues, in one call or across calls. The controller answers each check once
with them."""

from __future__ import annotations


async def test_the_first_token_holds_the_key_and_a_repeat_of_it_still_does(queue, unique_id):
    key = f"test-{unique_id}:answered:1"
    assert await queue.claim([(key, "first")], ttl_s=60) == [True]
    assert await queue.claim([(key, "second")], ttl_s=60) == [False]
    assert await queue.claim([(key, "first")], ttl_s=60) == [True]


async def test_one_call_claims_in_order(queue, unique_id):
    a, b = f"test-{unique_id}:answered:a", f"test-{unique_id}:answered:b"
    held = await queue.claim([(a, "x"), (b, "y"), (a, "z"), (b, "y")], ttl_s=60)
    assert held == [True, True, False, True]


async def test_nothing_to_claim_is_no_call(queue):
    assert await queue.claim([], ttl_s=60) == []


async def test_an_expired_claim_is_free_again_in_memory(monkeypatch):
    """Redis expires keys itself; the in-process queue forgets them on its own clock."""
    from maskwatch.queue import memory, open_queue

    now = [1000.0]
    monkeypatch.setattr(memory.time, "monotonic", lambda: now[0])
    queue = open_queue("memory://", claim_idle_ms=300)
    assert await queue.claim([("k", "first")], ttl_s=60) == [True]
    now[0] += 59
    assert await queue.claim([("k", "second")], ttl_s=60) == [False]
    now[0] += 2
    assert await queue.claim([("k", "second")], ttl_s=60) == [True]
    assert await queue.claim([("k", "first")], ttl_s=60) == [False]
