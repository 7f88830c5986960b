"""The network stage's risk markers as network-replay keeps them (apply_risk) and which fallen
markers the worker prunes (stale): pure, no Redis (net_risk.lua's parity: test_network_state)."""

from __future__ import annotations

from streams.network.replay import apply_risk
from streams.network.risk import stale

DAY = 86_400_000


def test_a_marker_keeps_since_across_high_levels_and_when_it_fell():
    risk: dict[str, str] = {}
    apply_risk(risk, "C1", "normal", 1)
    assert risk == {}  # never high-risk: no marker
    apply_risk(risk, "C1", "suspicious", 5)
    apply_risk(risk, "C1", "prohibited", 7)
    assert risk == {"C1": "prohibited@5"}
    apply_risk(risk, "C1", "watch", 9)
    apply_risk(risk, "C1", "normal", 11)  # a further change below keeps when it fell
    assert risk == {"C1": "normal@5@9"}
    apply_risk(risk, "C1", "suspicious", 15)  # high-risk again: a new episode, the ended one kept
    assert risk == {"C1": "suspicious@15;normal@5@9"}
    apply_risk(risk, "C1", "normal", 17)
    assert risk == {"C1": "normal@15@17;normal@5@9"}


def test_ended_episodes_are_kept_for_the_kept_days_and_at_most_eight():
    risk: dict[str, str] = {}
    apply_risk(risk, "C1", "suspicious", 0)
    apply_risk(risk, "C1", "normal", DAY)
    apply_risk(risk, "C1", "suspicious", 100 * DAY)  # the first ended 99 days before: gone
    assert risk == {"C1": f"suspicious@{100 * DAY}"}
    for n in range(1, 12):  # eleven more episodes, a day each
        apply_risk(risk, "C1", "normal", (100 + 2 * n - 1) * DAY)
        apply_risk(risk, "C1", "suspicious", (100 + 2 * n) * DAY)
    from factors.patterns.high_risk_exposure import EARLIER_EPISODES, episodes

    kept = episodes(risk["C1"])
    assert kept[0] == ("suspicious", 122 * DAY, None) and len(kept) == 1 + EARLIER_EPISODES == 9
    assert [since // DAY for _, since, _ in kept[1:]] == [120, 118, 116, 114, 112, 110, 108, 106]  # the newest ended ones


def test_an_edge_is_judged_by_the_episode_of_its_own_event_time():
    from factors.network.graph import Hop, NetworkView
    from factors.patterns.high_risk_exposure import counted_since, risk_since

    risk = {"H": f"suspicious@{40 * DAY};normal@{10 * DAY}@{20 * DAY}"}

    def at(day: float) -> NetworkView:
        return NetworkView(Hop("e" * 16, "id:X", "id:H", round(day * DAY), 100, ("t",)), "payee", {}, risk=risk)

    assert [risk_since(at(d), "H") for d in (5, 10, 19.9, 20, 39.9, 40, 90)] == [None, 10 * DAY, 10 * DAY, None, None, 40 * DAY, 40 * DAY]
    assert counted_since(at(30), "H", 30) == 10 * DAY  # within the first episode's monitoring period
    assert counted_since(at(30), "H", 5) is None


def test_fallen_markers_older_than_the_kept_days_are_stale_by_event_time():
    markers = {"C1": f"normal@0@{DAY}", "C2": f"watch@{DAY}@{50 * DAY}", "C3": f"suspicious@{95 * DAY}", "C4": f"prohibited@{2 * DAY}"}
    assert stale(markers, 90) == ["C1"]  # the latest event time any marker carries is day 95
    assert stale(markers, 40) == ["C1", "C2"]
    markers["C4"] += f";normal@0@{DAY}"  # an ended episode behind a current one: the newest decides
    markers["C2"] = f"watch@{60 * DAY}@{70 * DAY};normal@{DAY}@{50 * DAY}"
    assert stale(markers, 40) == ["C1"]
    assert stale({"C3": "suspicious@1"}, 0) == []  # a customer high-risk now is never stale


async def test_a_reload_that_read_the_hash_before_a_change_never_replaces_a_later_copy():
    """The CI failure of 2026-12-01 (no exposure for an edge whose counterparty the risk agent had
    just recorded): the periodic refresh read the hash, the risk agent recorded a change and
    reloaded, then the refresh's older read replaced the fresh copy until the next refresh."""
    import asyncio

    from streams.network.risk import RiskView

    shared: dict[str, str] = {}  # stands for the Redis hash
    gate = asyncio.Event()
    reads: list[dict[str, str]] = []

    async def loader(_redis: object) -> dict[str, str]:
        read = dict(shared)  # the hash as read now
        reads.append(read)
        if len(reads) == 1:  # the first read's reply comes late
            await gate.wait()
        return read

    view = RiskView(loader)
    refresh = asyncio.create_task(view.reload(None))  # reads {} and stalls
    await asyncio.sleep(0)
    shared["C-H"] = "suspicious@1"  # the risk agent records a change, then reloads
    agent = asyncio.create_task(view.reload(None))
    await asyncio.sleep(0)
    gate.set()
    assert await refresh == 0
    assert await agent == 1
    assert view.markers == {"C-H": "suspicious@1"}
    assert reads == [{}, {"C-H": "suspicious@1"}]


async def test_a_record_is_serialised_with_reloads_and_lands_in_the_copy():
    """The risk agent applies the markers its record sets to the copy instead of reloading the
    whole hash; a reload that read the hash before the record cannot replace the copy after it."""
    import asyncio

    from streams.network.risk import RiskView

    shared: dict[str, str] = {"C-A": "suspicious@1"}  # stands for the Redis hash
    gate = asyncio.Event()
    loads = 0

    async def loader(_redis: object) -> dict[str, str]:
        nonlocal loads
        loads += 1
        read = dict(shared)
        await gate.wait()  # the reply comes late
        return read

    async def recorder(_redis: object, changes: list[tuple[str, str, int]]) -> dict[str, str]:
        set_now = {cid: f"{level}@{ms}" for cid, level, ms in changes}
        shared.update(set_now)
        return set_now

    view = RiskView(loader, recorder)
    refresh = asyncio.create_task(view.reload(None))
    await asyncio.sleep(0)
    agent = asyncio.create_task(view.record(None, [("C-H", "suspicious", 2)]))
    await asyncio.sleep(0)
    assert "C-H" not in shared  # the record waits for the reload in flight
    gate.set()
    assert await refresh == 1
    assert await agent == 2
    assert view.markers == {"C-A": "suspicious@1", "C-H": "suspicious@2"} and loads == 1
    assert await view.record(None, []) == 2  # nothing to record: no call
