"""VL-JEPA, TextJEPA and the FiLM text decoder as ONNX forward graphs.

Every builder registers its parameters in a fixed order; graphs of the same model therefore list
the same parameters, and the manifest records that order for the Rust side's flat buffers.
"""
import numpy as np

from graph import Graph, normal
from layers import (INIT_STD, attention, block, cross_block, film, layernorm, linear, mlp,
                    sincos, smooth_l1, vicreg)
from onnx import TensorProto

CONFIGS = {
    # Small enough for the CPU test suite; the float64 gradient graph is generated for it.
    "tiny": dict(image=8, patch=2, channels=1, dim=32, heads=2, enc_depth=1, text_depth=1,
                 fusion_depth=1, sem_depth=1, latents=4, dec_depth=1, text_len=16, vocab=260,
                 batch=16, txt_depth=1, txt_pred_dim=16, txt_pred_depth=1, mlp_ratio=4),
    # The prototype's "small" VL-JEPA preset: D 256, 8 heads, depths 4/4/4/2, K = 16, 64x64.
    "default": dict(image=64, patch=8, channels=3, dim=256, heads=8, enc_depth=4, text_depth=4,
                    fusion_depth=4, sem_depth=2, latents=16, dec_depth=4, text_len=32, vocab=260,
                    batch=32, txt_depth=4, txt_pred_dim=128, txt_pred_depth=2, mlp_ratio=4),
}
# Loss weights of the anti-collapse terms (VICReg-style variance hinge and covariance penalty).
VAR_WEIGHT = 1.0
COV_WEIGHT = 0.04
MASK_NEG = -1e4  # additive attention mask for forbidden positions


def num_patches(c):
    return (c["image"] // c["patch"]) ** 2


def vl_plan(g, c, batch):
    """image (B, C, H, W), tokens (B, T) int64, keep (B, P) -> latent plan (B, K, D)."""
    d, h, p, n = c["dim"], c["heads"], c["patch"], c["image"] // c["patch"]
    image = g.input("image", [batch, c["channels"], c["image"], c["image"]])
    tokens = g.input("tokens", [batch, c["text_len"]], TensorProto.INT64)
    keep = g.input("patch_keep", [batch, n * n])
    # patches (B, P, C*p*p) in row-major patch order
    x = g.reshape(image, [-1, c["channels"], n, p, n, p])
    x = g.reshape(g.transpose(x, [0, 2, 4, 1, 3, 5]), [0, n * n, c["channels"] * p * p])
    x = linear(g, x, "vis.patch", c["channels"] * p * p, d)
    x = g.mul(x, g.unsqueeze(keep, [2]))  # masked patch embeddings are zeroed
    x = g.add(x, g.const(sincos(n * n, d)))
    for i in range(c["enc_depth"]):
        x = block(g, x, f"vis.{i}", d, h)
    vis = layernorm(g, x, "vis.norm", d)

    emb = g.param("text.embed", [c["vocab"], d], normal(INIT_STD))
    t = g.add(g.op("Gather", [emb, tokens], axis=0), g.const(sincos(c["text_len"], d)))
    for i in range(c["text_depth"]):
        t = block(g, t, f"text.{i}", d, h)
    t = layernorm(g, t, "text.norm", d)
    for i in range(c["fusion_depth"]):
        t = cross_block(g, t, vis, f"fuse.{i}", d, h)
    t = layernorm(g, t, "fuse.norm", d)

    seq = g.op("Concat", [vis, t], axis=1)
    for i in range(c["sem_depth"]):
        seq = block(g, seq, f"pred.{i}", d, h)
    seq = layernorm(g, seq, "pred.norm", d)
    queries = g.param("pred.queries", [1, c["latents"], d], normal(INIT_STD))
    plan = g.add(queries, attention(g, queries, seq, "pred.read", d, h))
    return layernorm(g, plan, "pred.out", d)


def vl_encode(c, dtype="float32"):
    g = Graph(dtype)
    plan = vl_plan(g, c, "batch")
    g.output(plan, "plan", ["batch", c["latents"], c["dim"]])
    return g


def vl_loss(c, dtype="float32"):
    """smoothL1(plan, target_plan) + anti-collapse terms on the plan's latent vectors."""
    g = Graph(dtype)
    b, k, d = c["batch"], c["latents"], c["dim"]
    plan = vl_plan(g, c, b)
    target = g.input("target_plan", [b, k, d])
    pred_loss = g.mean(smooth_l1(g, plan, target))
    var_t, cov_t, std = vicreg(g, g.reshape(plan, [b * k, d]), b * k, d)
    loss = g.add(pred_loss, g.add(g.scale(var_t, VAR_WEIGHT), g.scale(cov_t, COV_WEIGHT)))
    g.output(loss, "loss", [])
    for value, name in [(pred_loss, "pred_loss"), (var_t, "var_loss"), (cov_t, "cov_loss"),
                        (std, "embed_std")]:
        g.output(value, name, [])
    return g


def txt_context(g, c, batch):
    """tokens (B, T), keep (B, T) -> context encoder output (B, T, D); hidden tokens masked."""
    d, h, t_len = c["dim"], c["heads"], c["text_len"]
    tokens = g.input("tokens", [batch, t_len], TensorProto.INT64)
    keep = g.unsqueeze(g.input("token_keep", [batch, t_len]), [2])
    emb = g.param("txt.embed", [c["vocab"], d], normal(INIT_STD))
    mask_tok = g.param("txt.mask_token", [d], normal(INIT_STD))
    x = g.op("Gather", [emb, tokens], axis=0)
    x = g.add(g.mul(x, keep), g.mul(g.sub(g.const(1.0), keep), mask_tok))
    x = g.add(x, g.const(sincos(t_len, d)))
    for i in range(c["txt_depth"]):
        x = block(g, x, f"txt.{i}", d, h)
    return layernorm(g, x, "txt.norm", d)


def txt_encode(c, dtype="float32"):
    g = Graph(dtype)
    g.output(txt_context(g, c, "batch"), "embeddings", ["batch", c["text_len"], c["dim"]])
    return g


def txt_loss(c, dtype="float32"):
    """Predict the target encoder's embeddings of hidden tokens from the visible ones."""
    g = Graph(dtype)
    b, t_len, d, dp = c["batch"], c["text_len"], c["dim"], c["txt_pred_dim"]
    ctx = txt_context(g, c, b)
    hidden = g.sub(g.const(1.0), g.unsqueeze("token_keep", [2]))
    target = g.input("target_embeddings", [b, t_len, d])
    x = g.add(linear(g, ctx, "txtp.in", d, dp), g.const(sincos(t_len, dp)))
    for i in range(c["txt_pred_depth"]):
        x = block(g, x, f"txtp.{i}", dp, max(1, c["heads"] // 2))
    pred = linear(g, layernorm(g, x, "txtp.norm", dp), "txtp.out", dp, d)
    weighted = g.mul(smooth_l1(g, pred, target), hidden)
    denom = g.add(g.scale(g.sum(hidden), float(d)), g.const(1e-6))
    pred_loss = g.op("Div", [g.sum(weighted), denom])
    var_t, cov_t, std = vicreg(g, g.reshape(ctx, [b * t_len, d]), b * t_len, d)
    loss = g.add(pred_loss, g.add(g.scale(var_t, VAR_WEIGHT), g.scale(cov_t, COV_WEIGHT)))
    g.output(loss, "loss", [])
    for value, name in [(pred_loss, "pred_loss"), (var_t, "var_loss"), (cov_t, "cov_loss"),
                        (std, "embed_std")]:
        g.output(value, name, [])
    return g


def dec_logits_of(g, c, batch):
    """plan (B, K, D), tokens (B, T) -> next-token logits (B, T, V) of the FiLM decoder."""
    d, h, k, t_len, v = c["dim"], c["heads"], c["latents"], c["text_len"], c["vocab"]
    plan = g.input("plan", [batch, k, d])
    tokens = g.input("tokens", [batch, t_len], TensorProto.INT64)
    cond = g.mean(plan, [1])  # (B, D): mean of the K latent vectors
    prefix = linear(g, plan, "dec.prefix", d, d)
    emb = g.param("dec.embed", [v, d], normal(INIT_STD))
    x = g.op("Concat", [prefix, g.op("Gather", [emb, tokens], axis=0)], axis=1)
    x = g.add(x, g.const(sincos(k + t_len, d)))
    n = k + t_len
    allowed = np.tril(np.ones((n, n), dtype=bool))
    allowed[:, :k] = True  # every position sees the whole plan prefix
    mask = g.const(np.where(allowed, 0.0, MASK_NEG))
    for i in range(c["dec_depth"]):
        name = f"dec.{i}"
        hsa = film(g, layernorm(g, x, f"{name}.ln1", d), cond, f"{name}.film_sa", d)
        x = g.add(x, attention(g, hsa, hsa, f"{name}.attn", d, h, mask))
        plan_n = layernorm(g, plan, f"{name}.lnplan", d)
        x = g.add(x, attention(g, layernorm(g, x, f"{name}.lnx", d), plan_n, f"{name}.xattn", d, h))
        hm = film(g, layernorm(g, x, f"{name}.ln2", d), cond, f"{name}.film_mlp", d)
        x = g.add(x, mlp(g, hm, f"{name}.mlp", d))
    x = layernorm(g, x, "dec.norm", d)
    text = g.op("Slice", [x, g.ints([k]), g.ints([n]), g.ints([1])])
    return linear(g, text, "dec.head", d, v, bias=False)


def dec_logits(c, dtype="float32"):
    g = Graph(dtype)
    logits = dec_logits_of(g, c, "batch")
    g.output(logits, "logits", ["batch", c["text_len"], c["vocab"]])
    return g


def dec_loss(c, dtype="float32"):
    """Token cross-entropy of the decoder, weighted (0 on padding)."""
    g = Graph(dtype)
    b, t_len = c["batch"], c["text_len"]
    logits = dec_logits_of(g, c, b)
    targets = g.input("targets", [b, t_len], TensorProto.INT64)
    weights = g.input("target_weights", [b, t_len])
    logp = g.op("LogSoftmax", [logits], axis=-1)
    picked = g.op("GatherElements", [logp, g.unsqueeze(targets, [2])], axis=2)
    picked = g.reshape(picked, [b, t_len])
    total = g.sum(g.mul(picked, weights))
    loss = g.op("Div", [g.op("Neg", [total]), g.add(g.sum(weights), g.const(1e-6))])
    g.output(loss, "loss", [])
    return g


# model name -> (inference graph builder, its output, loss graph builder, data inputs of the loss)
MODELS = {
    "vl": (vl_encode, "plan", vl_loss),
    "txt": (txt_encode, "embeddings", txt_loss),
    "dec": (dec_logits, "logits", dec_loss),
}
