#!/usr/bin/env python3
"""Generates the JEPA graphs and their manifest (see README.md beside this file).

    python3 scripts/jepa-graphs/generate.py --out models/graphs --config tiny --config default

For each config and model (vl: VL-JEPA, txt: TextJEPA, dec: the FiLM text decoder) it writes
<model>_infer.onnx (inference; also the EMA target forward for vl/txt), <model>_loss.onnx,
<model>_grad.onnx, <model>_train_step.onnx, and for the tiny config <model>_grad_f64.onnx, plus
manifest.json (parameter names, shapes, init rules and order; graph files with sha256 and I/O).
Output is deterministic: the test command regenerates the graphs and compares bytes.
"""
import argparse
import hashlib
import json
import os

import numpy as np

import models
import train

F64_CONFIGS = {"tiny"}


def io_of(model):
    def desc(v):
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        return {"name": v.name, "elem": t.elem_type, "shape": dims}

    return {"inputs": [desc(v) for v in model.graph.input],
            "outputs": [desc(v) for v in model.graph.output]}


def write(out_dir, file, model, params):
    data = model.SerializeToString()
    with open(os.path.join(out_dir, file), "wb") as f:
        f.write(data)
    names = {p[0] for p in params}
    io = io_of(model)
    io["inputs"] = [i for i in io["inputs"] if i["name"] not in names
                    and not i["name"].startswith(("m.", "v."))]
    io["outputs"] = [o for o in io["outputs"]
                     if not o["name"].startswith(("new.", "new_m.", "new_v.", "grad."))]
    return {"file": file, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **io}


def generate(config_name, out_dir):
    c = models.CONFIGS[config_name]
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"format": 1, "config_name": config_name, "config": c,
                "loss": {"var_weight": models.VAR_WEIGHT, "cov_weight": models.COV_WEIGHT},
                "adamw": {"beta1": train.ADAM_BETA1, "beta2": train.ADAM_BETA2,
                          "eps": train.ADAM_EPS, "weight_decay": train.WEIGHT_DECAY},
                "models": {}}
    for name, (infer_builder, infer_output, loss_builder) in models.MODELS.items():
        infer = infer_builder(c)
        loss = loss_builder(c)
        params = loss.params
        graphs = {"infer": write(out_dir, f"{name}_infer.onnx", infer.model(f"{name}_infer"),
                                 params),
                  "loss": write(out_dir, f"{name}_loss.onnx", loss.model(f"{name}_loss"), params)}
        grad = train.gradient_model(loss.model(f"{name}_grad"), params, np.float32)
        graphs["grad"] = write(out_dir, f"{name}_grad.onnx", grad, params)
        if config_name in F64_CONFIGS:
            loss64 = loss_builder(c, "float64")
            grad64 = train.gradient_model(loss64.model(f"{name}_grad_f64"), params, np.float64)
            graphs["grad_f64"] = write(out_dir, f"{name}_grad_f64.onnx", grad64, params)
        step = train.train_step_model(
            train.gradient_model(loss.model(f"{name}_train_step"), params, np.float32), params)
        graphs["train_step"] = write(out_dir, f"{name}_train_step.onnx", step, params)
        infer_names = {p[0] for p in infer.params}
        manifest["models"][name] = {
            "infer_output": infer_output,
            "params": [{"name": n, "shape": s, "init": i, "in_infer": n in infer_names}
                       for n, s, i in params],
            "graphs": graphs,
        }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder; one subfolder per config")
    ap.add_argument("--config", action="append", choices=sorted(models.CONFIGS), required=True)
    args = ap.parse_args()
    for config_name in args.config:
        generate(config_name, os.path.join(args.out, config_name))


if __name__ == "__main__":
    main()
