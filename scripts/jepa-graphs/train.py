"""Gradient and training-step graphs from a forward loss graph.

gradient graph: the loss graph, reversed by onnx-ad with the loss seeded by a constant 1, so it
returns `loss`, the forward graph's other outputs, and `grad.<p>` for every parameter `p`.
train-step graph: the gradient graph followed by AdamW, with the moment estimates as inputs
`m.<p>`, `v.<p>` and outputs `new.<p>`, `new_m.<p>`, `new_v.<p>`; `step` (1-based, float) and
`lr` are scalar inputs. Weight decay applies to matrices only (rank >= 2).
"""
import numpy as np
from onnx import helper, numpy_helper
from onnx_ad import reverse

ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8
WEIGHT_DECAY = 0.01


def gradient_model(loss_model, params, np_type):
    """params: [(name, shape, init)] in manifest order."""
    names = [p[0] for p in params]
    n_outputs = len(loss_model.graph.output)
    model = reverse(loss_model, inputs=names, outputs=["loss"], layout="onnx")
    graph = model.graph
    seed = [i for i in graph.input if i.name.startswith("adj_")]
    if len(seed) != 1:
        raise RuntimeError(f"expected one seed input, got {[i.name for i in seed]}")
    seed_name = seed[0].name
    graph.input.remove(seed[0])
    graph.initializer.append(numpy_helper.from_array(np.ones((1,), np_type), seed_name))
    adjoints = list(graph.output)[n_outputs:]
    if len(adjoints) != len(params):
        raise RuntimeError("reverse pass returned an unexpected number of adjoints")
    elem = adjoints[0].type.tensor_type.elem_type
    axis = helper.make_tensor("grad_squeeze_axis", 7, [1], [-1])
    graph.initializer.append(axis)
    for out, (name, shape, _) in zip(adjoints, params):
        graph.output.remove(out)
        graph.node.append(helper.make_node("Squeeze", [out.name, "grad_squeeze_axis"],
                                           [f"grad.{name}"]))
        graph.output.append(helper.make_tensor_value_info(f"grad.{name}", elem, shape))
    return model


def train_step_model(grad_model, params):
    """AdamW appended to a float32 gradient graph."""
    graph = grad_model.graph
    f32 = 1  # TensorProto.FLOAT
    consts = {"adamw.b1": ADAM_BETA1, "adamw.b2": ADAM_BETA2, "adamw.1mb1": 1 - ADAM_BETA1,
              "adamw.1mb2": 1 - ADAM_BETA2, "adamw.eps": ADAM_EPS, "adamw.wd": WEIGHT_DECAY,
              "adamw.one": 1.0}
    for name, value in consts.items():
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
    graph.input.append(helper.make_tensor_value_info("step", f32, []))
    graph.input.append(helper.make_tensor_value_info("lr", f32, []))
    nodes = graph.node
    nodes.append(helper.make_node("Pow", ["adamw.b1", "step"], ["adamw.b1t"]))
    nodes.append(helper.make_node("Pow", ["adamw.b2", "step"], ["adamw.b2t"]))
    nodes.append(helper.make_node("Sub", ["adamw.one", "adamw.b1t"], ["adamw.bc1"]))
    nodes.append(helper.make_node("Sub", ["adamw.one", "adamw.b2t"], ["adamw.bc2"]))
    grad_outputs = {o.name for o in graph.output if o.name.startswith("grad.")}
    for o in [o for o in graph.output if o.name in grad_outputs]:
        graph.output.remove(o)
    for name, shape, _ in params:
        g, m, v, p = f"grad.{name}", f"m.{name}", f"v.{name}", name
        graph.input.append(helper.make_tensor_value_info(m, f32, shape))
        graph.input.append(helper.make_tensor_value_info(v, f32, shape))
        t = f"adamw/{name}/"

        def node(op, ins, out):
            nodes.append(helper.make_node(op, ins, [t + out]))
            return t + out

        m1 = node("Add", [node("Mul", ["adamw.b1", m], "bm"), node("Mul", ["adamw.1mb1", g], "bg")],
                  "m")
        gg = node("Mul", [g, g], "gg")
        v1 = node("Add", [node("Mul", ["adamw.b2", v], "bv"), node("Mul", ["adamw.1mb2", gg], "bgg")],
                  "v")
        mhat = node("Div", [m1, "adamw.bc1"], "mhat")
        vhat = node("Div", [v1, "adamw.bc2"], "vhat")
        den = node("Add", [node("Sqrt", [vhat], "sq"), "adamw.eps"], "den")
        upd = node("Div", [mhat, den], "upd")
        if len(shape) >= 2:
            upd = node("Add", [upd, node("Mul", ["adamw.wd", p], "decay")], "upd_wd")
        p1 = node("Sub", [p, node("Mul", ["lr", upd], "lr_upd")], "p")
        for value, out in [(p1, f"new.{name}"), (m1, f"new_m.{name}"), (v1, f"new_v.{name}")]:
            nodes.append(helper.make_node("Identity", [value], [out]))
            graph.output.append(helper.make_tensor_value_info(out, f32, shape))
    return grad_model
