"""Transformer layers written as plain ONNX ops (pre-LN blocks, multi-head attention, FiLM)."""
import math

import numpy as np

from graph import FILM_BIAS, ONES, ZEROS, normal

INIT_STD = 0.02


def sincos(length, dim):
    """Fixed sine-cosine position table (length, dim)."""
    pos = np.arange(length)[:, None].astype(np.float64)
    freq = np.exp(-math.log(10000.0) * (np.arange(0, dim, 2) / dim))[None, :]
    table = np.zeros((length, dim))
    table[:, 0::2] = np.sin(pos * freq)
    table[:, 1::2] = np.cos(pos * freq)
    return table


def linear(g, x, name, d_in, d_out, bias=True, w_init=None, b_init=None):
    w = g.param(f"{name}.w", [d_in, d_out], w_init or normal(INIT_STD))
    y = g.op("MatMul", [x, w])
    if bias:
        y = g.add(y, g.param(f"{name}.b", [d_out], b_init or ZEROS))
    return y


def layernorm(g, x, name, dim):
    s = g.param(f"{name}.scale", [dim], ONES)
    b = g.param(f"{name}.bias", [dim], ZEROS)
    return g.op("LayerNormalization", [x, s, b], axis=-1, epsilon=1e-5)


def gelu(g, x):
    """tanh approximation of GELU (Tanh has double kernels in ONNX Runtime; Erf does not)."""
    cube = g.mul(g.mul(x, x), x)
    inner = g.scale(g.add(x, g.scale(cube, 0.044715)), math.sqrt(2.0 / math.pi))
    return g.mul(g.scale(x, 0.5), g.add(g.const(1.0), g.op("Tanh", [inner])))


def attention(g, xq, xkv, name, dim, heads, mask=None):
    """Multi-head attention of queries xq (B|1, Q, D) over keys/values xkv (B, S, D)."""
    dh = dim // heads

    def split(t):
        return g.transpose(g.reshape(t, [0, 0, heads, dh]), [0, 2, 1, 3])

    q = split(linear(g, xq, f"{name}.q", dim, dim))
    k = split(linear(g, xkv, f"{name}.k", dim, dim))
    v = split(linear(g, xkv, f"{name}.v", dim, dim))
    scores = g.scale(g.op("MatMul", [q, g.transpose(k, [0, 1, 3, 2])]), 1.0 / math.sqrt(dh))
    if mask is not None:
        scores = g.add(scores, mask)
    weights = g.op("Softmax", [scores], axis=-1)
    out = g.transpose(g.op("MatMul", [weights, v]), [0, 2, 1, 3])
    return linear(g, g.reshape(out, [0, 0, dim]), f"{name}.o", dim, dim)


def mlp(g, x, name, dim, ratio=4):
    h = gelu(g, linear(g, x, f"{name}.fc1", dim, dim * ratio))
    return linear(g, h, f"{name}.fc2", dim * ratio, dim)


def block(g, x, name, dim, heads, mask=None):
    """Pre-LN transformer block: x + SelfAttn(LN x); x + MLP(LN x)."""
    h = layernorm(g, x, f"{name}.ln1", dim)
    x = g.add(x, attention(g, h, h, f"{name}.attn", dim, heads, mask))
    return g.add(x, mlp(g, layernorm(g, x, f"{name}.ln2", dim), f"{name}.mlp", dim))


def cross_block(g, x, ctx, name, dim, heads):
    """x + CrossAttn(LN x, LN ctx), then a transformer block (a fusion block)."""
    h = layernorm(g, x, f"{name}.lnq", dim)
    c = layernorm(g, ctx, f"{name}.lnkv", dim)
    x = g.add(x, attention(g, h, c, f"{name}.xattn", dim, heads))
    return block(g, x, f"{name}.self", dim, heads)


def film(g, x, cond, name, dim):
    """FiLM: Linear(D -> 2D) of the condition (B, D), initialised to the identity map."""
    gb = linear(g, cond, name, dim, 2 * dim, w_init=ZEROS, b_init=FILM_BIAS)
    gamma, beta = g.op("Split", [gb, g.ints([dim, dim])], axis=-1, outputs=2)
    return g.add(g.mul(x, g.unsqueeze(gamma, [1])), g.unsqueeze(beta, [1]))


def smooth_l1(g, pred, target):
    """Elementwise smooth L1 (beta 1)."""
    d = g.sub(pred, target)
    a = g.op("Abs", [d])
    quad = g.scale(g.mul(d, d), 0.5)
    lin = g.sub(a, g.const(0.5))
    return g.op("Where", [g.op("Less", [a, g.const(1.0)]), quad, lin])


def vicreg(g, z, n, dim):
    """Variance and covariance terms against collapse (VICReg) over rows z (n, dim).

    variance: mean_j relu(1 - sqrt(var_j + 1e-4)); covariance: sum of squared off-diagonal
    covariances / dim. Returns (variance term, covariance term, mean std).
    """
    zc = g.sub(z, g.mean(z, [0], keepdims=1))
    var = g.scale(g.mean(g.mul(zc, zc), [0]), n / (n - 1.0))
    std = g.op("Sqrt", [g.add(var, g.const(1e-4))])
    var_term = g.mean(g.op("Relu", [g.sub(g.const(1.0), std)]))
    cov = g.scale(g.op("MatMul", [g.transpose(zc, [1, 0]), zc]), 1.0 / (n - 1.0))
    off_diagonal = g.sub(g.const(1.0), g.op("EyeLike", [cov]))
    off = g.mul(g.mul(cov, cov), off_diagonal)
    cov_term = g.scale(g.sum(off), 1.0 / dim)
    return var_term, cov_term, g.mean(std)
