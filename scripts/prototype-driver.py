#!/usr/bin/env python3
"""Drive the Python prototype engine (autonet-code/world-model) through the solver loop.

Written for autonet from the behaviour reference (§2.1 charter, §2.2 turn → observation, §3.2 solver
loop); it imports the prototype from a checkout given on the command line and contains none of its
code. Prints one JSON object with the same fields `autonet substrate replay --json` prints, so
`scripts/compare-prototype` and `autonet bench substrate --prototype` can compare them.

Usage: prototype-driver.py CHECKOUT --turns FILE.jsonl [--epochs N] [--task-size N]
Only turns with explicit impact fields are supported (the keyword scorer lives in another repo).
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkout")
    ap.add_argument("--turns", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--task-size", type=int, default=256)
    args = ap.parse_args()
    sys.path.insert(0, args.checkout)
    from world_model.generalized import GeneralizedTendency, World, equilibrate
    from world_model.generalized.observation import Observation

    turns = [json.loads(l) for l in open(args.turns) if l.strip()]
    world = World()
    dim = len(CHARTER)
    for i, (tid, thesis) in enumerate(CHARTER):
        e = tuple(1.0 if j == i else 0.0 for j in range(dim))
        world.add_tendency(GeneralizedTendency(id=tid, thesis=thesis, anchor=e, polarity_axis=e,
                                               budget=1.0, bandwidth=1.5))

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
    }, indent=2))


if __name__ == "__main__":
    main()
