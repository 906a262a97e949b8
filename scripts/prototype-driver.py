#!/usr/bin/env python3
"""Drive the Python prototype engine (autonet-code/world-model) through the solver loop.

Written for autonet from the behaviour reference (§2.1 charter, §2.2 turn → observation, §3.2 solver
loop); it imports the prototype from a checkout given on the command line and contains none of its
code. Prints one JSON object with the same fields `autonet substrate replay --json` prints, so
`scripts/compare-prototype` and `autonet bench substrate --prototype` can compare them.

Usage: prototype-driver.py CHECKOUT --turns FILE.jsonl [--epochs N] [--task-size N] [--trace FILE]
Only turns with explicit impact fields are supported (the keyword scorer lives in another repo).

--trace FILE writes one JSON line per turn (after its equilibration) with the whole world state in
the engine-neutral form `autonet substrate replay --trace` writes (see `trace_state`), for
`scripts/fuzz-prototype`. Node ids differ between the engines (sha256 of JSON here, BLAKE3 of CBOR
there), so nodes are keyed by their content-address inputs (anchor and axis) and roots by
`root:<tendency>`.
"""
import argparse
import hashlib
import json
import sys
import time

CHARTER = [
    ("life_precious", "Life is precious and should be preserved."),
    ("self_preservation", "The system should preserve its own continuity."),
    ("promotion_of_intelligence", "Intelligence in any form should be promoted."),
    ("evolution", "Forward advancement of capability is desirable."),
    ("correctness", "Work should achieve what it claims and avoid bugs."),
    ("simplicity", "Solutions should be minimal and direct, not over-engineered."),
]
IMPACT = ["life_impact", "self_pres_impact", "intelligence_impact", "evolution_impact",
          "correctness_impact", "simplicity_impact"]


def node_key(anchor, axis):
    """Engine-neutral node key: Python reprs of the content-address inputs."""
    return "a=[" + ", ".join(repr(float(x)) for x in anchor) + "] x=[" + ", ".join(
        repr(float(x)) for x in axis) + "]"


def trace_state(world, key, epoch, turn):
    """The world after one turn: root scores, every tree's index (in order), and per node its
    net score, posts (poster ids, sorted), novelty, parent links and child lists (in order).
    Reading net scores here, after equilibrate, fills no cache an engine step later reads stale:
    apply_stakes invalidates every indexed node before any score is read again."""
    roots = {tid: float(s) for tid, s in sorted(world.root_scores().items())}
    nodes = {}
    objects = {}
    trees = {}
    for tid, t in world.tendencies.items():
        trees[tid] = [key(n.id) for n in t.tree.all_nodes()]
        for n in t.tree.all_nodes():
            k = key(n.id)
            objects.setdefault(k, set()).add(id(n))
            if k in nodes:
                n.net_score  # read in the same order as the engine side; the value is cached
                continue
            nodes[k] = {
                "score": float(n.net_score),
                "stakes": sorted(s.agent_id for s in n.stakes),
                "n": float(n.n),
                "parents": [[key(l.parent_id), l.position.value, l.tendency_id] for l in n.parents],
                "pro": [key(c.id) for c in n.pro_children],
                "con": [key(c.id) for c in n.con_children],
            }
    dup = sorted(k for k, objs in objects.items() if len(objs) > 1)
    return {"epoch": epoch, "turn": turn, "roots": roots,
            "trees": trees, "nodes": dict(sorted(nodes.items())), "duplicate_objects": dup}


def memoize_evaluate(cls):
    """Wraps `GeneralizedTendency.evaluate` (the probe, nine tenths of the prototype's time) in a
    memo. Its verdict is a pure function of the point's coordinates and the tendency's frame, and
    the frame only ever grows in this driver (observations are absorbed, claims are added, nothing
    is pruned), so (number of absorbed observations, number of claims the tendency maps, coords)
    names the frame and the point. A new frame object per absorb (even of an observation already
    absorbed) would defeat a memo by object identity. The fuzzer checks on some streams that runs
    with and without the memo give identical traces."""
    original = cls.evaluate

    def evaluate(self, observation):
        memo = self.__dict__.setdefault("_driver_memo", {})
        k = (len(self.frame.integrated), len(self._node_to_claim), tuple(observation.coords))
        hit = memo.get(k)
        if hit is None:
            hit = memo[k] = original(self, observation)
        return hit

    cls.evaluate = evaluate


def sum_left_to_right(iterable, /, start=0):
    """CPython <= 3.11's built-in sum() over floats: plain left-to-right addition."""
    total = start
    for x in iterable:
        total = total + x
    return total


def pin_summation():
    """Makes the prototype's results the same on every Python >= 3.11. From 3.12 on, the built-in
    sum() adds floats with compensation (Neumaier), which changes the last bit of about a quarter
    of the squared distances of one-decimal coordinates; whether two claims tie as nearest then
    changes, and so does the parent a new node hangs under (a divergence first seen as root scores
    0.2-0.6% apart on 100-turn streams). The engine (and the world the prototype was written and
    recorded against) adds left to right, so every prototype module that sums coordinates gets
    that sum as a module global, which shadows the built-in inside the module."""
    import world_model.models.tree as tree_mod
    from world_model.generalized import coordinate_frame, tendency, world
    for module in (tree_mod, coordinate_frame, tendency, world):
        module.sum = sum_left_to_right


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout")
    ap.add_argument("--turns", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--task-size", type=int, default=256)
    ap.add_argument("--trace")
    ap.add_argument("--memo", action="store_true",
                    help="memoize the probe's verdicts (see `memoize_evaluate`)")
    args = ap.parse_args()
    sys.path.insert(0, args.checkout)
    from world_model.generalized import GeneralizedTendency, World, equilibrate
    from world_model.generalized.observation import Observation
    pin_summation()

    if args.memo:
        memoize_evaluate(GeneralizedTendency)
    turns = [json.loads(l) for l in open(args.turns) if l.strip()]
    world = World()
    dim = len(CHARTER)
    for i, (tid, thesis) in enumerate(CHARTER):
        e = tuple(1.0 if j == i else 0.0 for j in range(dim))
        world.add_tendency(GeneralizedTendency(id=tid, thesis=thesis, anchor=e, polarity_axis=e,
                                               budget=1.0, bandwidth=1.5))

    # Node id -> its content-address inputs, recorded as the engine computes addresses (the node
    # objects do not keep them).
    address_inputs = {}
    original_address = GeneralizedTendency._content_address

    def recording_address(self, anchor, axis):
        nid = original_address(self, anchor, axis)
        address_inputs[nid] = (list(anchor) if anchor else [], list(axis) if axis else [])
        return nid

    GeneralizedTendency._content_address = recording_address
    trace = open(args.trace, "w") if args.trace else None
    roots = {t.tree.root_node.id: tid for tid, t in world.tendencies.items()}

    keys = {nid: "root:" + tid for nid, tid in roots.items()}

    def key(node_id):
        k = keys.get(node_id)
        if k is None:
            k = keys[node_id] = node_key(*address_inputs[node_id])
        return k

    def all_ids():
        return {n.id for t in world.tendencies.values() for n in t.tree.all_nodes()}

    counts = {"observations": 0, "sprouts": 0, "epoch_ends": 0}
    start = time.perf_counter()
    tasks = [turns[i:i + args.task_size] for i in range(0, len(turns), args.task_size)]
    for task in tasks:
        for epoch in range(max(1, args.epochs)):
            for i, turn in enumerate(task):
                if not any(k in turn for k in IMPACT):
                    sys.exit("prototype-driver: only turns with impact fields are supported")
                coords = tuple(float(turn.get(k, 0.0)) for k in IMPACT)
                oid = "obs_" + hashlib.sha256(json.dumps(turn, sort_keys=True).encode()).hexdigest()[:16]
                label = turn.get("label") or f"turn_{epoch * 10000 + i}"
                before = all_ids()
                world.add_observation(Observation(id=oid, coords=coords, label=label))
                counts["observations"] += 1
                equilibrate(world, max_rounds=8, tolerance=1e-3)
                for t in world.tendencies.values():
                    counts["sprouts"] += sum(1 for n in t.tree.all_nodes() if n.id not in before)
                if trace:
                    trace.write(json.dumps(trace_state(world, key, epoch, i)) + "\n")
            world.clear_observations()
            counts["epoch_ends"] += 1
    seconds = time.perf_counter() - start
    print(json.dumps({
        "turns": len(turns),
        "epochs": args.epochs,
        "tasks": len(tasks),
        "root_scores": dict(sorted(world.root_scores().items())),
        "unique_nodes": len(all_ids()),
        "tree_occurrences": sum(len(t.tree.all_nodes()) for t in world.tendencies.values()),
        "events": counts,
        "events_total": counts["observations"] + counts["sprouts"],
        "seconds": seconds,
        "python": sys.version.split()[0],
    }, indent=2))


if __name__ == "__main__":
    main()
