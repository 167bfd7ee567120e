r"""Numba kernels of the chain simulator (private; see :mod:`gradexp.mc.chain`).

Layout: activations are row-major ``(batch, width)`` arrays; the weight of layer n is stored
``(d_in, d_out)`` so that :math:`z = h W` and ``W[i, j]`` is Paik & Choi's :math:`W_{ij}`.
Every chain's arrays live in flat buffers; :func:`_chain_one` takes the per-layer 2-D views.

One compiled entry point, :func:`_run_chains`, serves both engines: wide chains are run one
at a time (the matmuls go to BLAS through ``np.dot(a, b, out)`` into preallocated buffers and
use BLAS's threads; the elementwise passes are fused here), many small chains are spread over
cores by calling it from several Python threads on disjoint buffers (kernels release the
GIL), one chain per thread at a time. A single serial entry point keeps numba's compile time
down: numba re-optimises every callee inside each top-level function it compiles, and a
``parallel=True`` twin would double that.

Kernels are pure: they fill the buffers they are given, never draw random numbers and never
allocate in the layer loop. Every reduction runs in a fixed order (b = 0..B-1, j = 0..d-1)
in float64, also for float32 chains, so results do not depend on the number of threads or
on how chains are batched.
"""

from __future__ import annotations

import math

import numpy as np

from ..activations import RELU, scalar_deriv, scalar_value
from ._jit import kernel

_phi = kernel(scalar_value)
_dphi = kernel(scalar_deriv)

NORM_BATCH, NORM_GROUP, NORM_NONE = 0, 1, 2
LOSS_GAUSSIAN, LOSS_MSE, LOSS_CROSS_ENTROPY, LOSS_LOGISTIC = 0, 1, 2, 3

# The options of a run travel packed: one int64 vector IP, one float64 vector FP and one int64
# layout table LAY (rows below, columns = layers). A new option is one index here plus the line
# of ``chain._pack`` that fills it; the kernels' signatures do not change.
(I_DEPTH, I_BATCH, I_NORM, I_CENTER, I_FULL, I_FROZEN, I_ACT, I_HAS_BIAS, I_HAS_MASK, I_LOSS,
 I_WEIGHT_GRADS, I_KEEP_DW, I_KCORR, I_START, I_BACKWARD) = range(15)
N_IP = 15
P_EPS, P_SCALE, P_ACT_PARAM, P_SQ_HI, P_SQ_LO, P_SHIFT = range(6)
N_FP = 6
# rows of LAY: widths d_n, flat offsets of x^n, W^n, b^n and the statistics of layer n, the
# source layer of the skip that ends after layer n (-1: none), whether x^n feeds a skip, the
# group size of layer n's normalisation (NORM_GROUP)
L_DIMS, L_X_OFF, L_W_OFF, L_B_OFF, L_S_OFF, L_SKIP, L_HAS_ADD, L_GROUP = range(8)
N_LAY = 8

# per-layer output fields (rows of OUT[chain]; columns are layers 0..N)
F_GRAD_SQ = 0  # ||g^n||_F^2
F_GRAD_VAR = 1  # mean_i Var_b(g^n_bi)
F_VAR_PRODUCT = 2  # sum_i Var_b(x^n_bi) Var_b(g^n_bi)   (Paik & Choi Thm 2.2)
F_ACT_GRAD_CORR = 3  # mean_i |corr_b(x_i, g_i)|          (Paik & Choi Fig 3)
F_ACT_VAR = 4  # mean_i Var_b(x^n_bi)
F_ACT_SKEW = 5  # mean_i skewness_b(x^n_i)
F_ACT_KURT = 6  # mean_i excess kurtosis_b(x^n_i)
F_MEAN_STD = 7  # mean_i |mean_b x_i| / std_b x_i         (Paik & Choi Fig 3)
F_ACT_CORR = 8  # mean_{i<j<k} |corr_b(x_i, x_j)|       (Paik & Choi Fig 3)
F_LOG2_SCALE = 9  # e_n: the gradient fields of layer n are those of 2^-e_n g^n (kernel output)
F_LOG_GRAD_NORM = 10  # log ||g^n||_F (filled from F_GRAD_SQ and F_LOG2_SCALE in Python)
F_GRAD_NORM = 11  # ||g^n||_F (filled in Python; +inf past float64)
N_FIELDS = 12
# per-weight outputs (rows of WOUT[chain]; columns are layers 0..N-1)
W_GRAD_SQ, W_GRAD_DOT, W_LOG2_SCALE = 0, 1, 2  # W_LOG2_SCALE: e with dW^n stored as 2^-e dW^n
W_GRAD_NORM = 3  # ||dW^n||_F (filled in Python)
N_WFIELDS = 4
# float64 scratch vectors (rows of VEC[chain])
V_TMP, V_S1, V_S2, V_M3, V_M4, V_GS1, V_GS2, V_GXS = range(8)
N_VEC = 8


# ----------------------------------------------------------------------------- forward
@kernel
def _act_moments(x, code, a, mask, has_mask, h, has_h, mean, m2, m3, m4):
    r"""h = φ(x) (· mask) when ``has_h``; per-column mean and central moments 2..4 of x.

    Two passes over x (the mean first), accumulated in float64.
    """
    nb, d = x.shape
    for j in range(d):
        mean[j] = 0.0
        m2[j] = 0.0
        m3[j] = 0.0
        m4[j] = 0.0
    if not has_h:
        for b in range(nb):
            for j in range(d):
                mean[j] += x[b, j]
    elif code == RELU and not has_mask:  # the common case, kept branch-free so it vectorises
        for b in range(nb):
            for j in range(d):
                v = x[b, j]
                mean[j] += v
                h[b, j] = v if v > 0.0 else 0.0
    else:
        for b in range(nb):
            for j in range(d):
                v = x[b, j]
                mean[j] += v
                hv = _phi(code, a, v)
                if has_mask:
                    hv *= mask[b, j]
                h[b, j] = hv
    for j in range(d):
        mean[j] /= nb
    for b in range(nb):
        for j in range(d):
            t = x[b, j] - mean[j]
            t2 = t * t
            m2[j] += t2
            m3[j] += t2 * t
            m4[j] += t2 * t2
    for j in range(d):
        m2[j] /= nb
        m3[j] /= nb
        m4[j] /= nb


@kernel
def _norm_forward(norm, center, z, bias, has_bias, frozen, mu, sig, tmp, eps, G, shift, skip,
                  has_skip, scale):
    r"""Normalise the matmul output ``z`` in place, add ``shift``; then x ← scale·(x + skip) if
    ``has_skip``.

    z ← z + bias. ``norm`` 0 (batch): per column, :math:`\hat\mu_j` and
    :math:`\hat\sigma_j = \sqrt{\mathrm{var}_b + \epsilon}` (biased), stored in ``mu``, ``sig``
    unless ``frozen`` (then the given ones are used); without ``center``
    :math:`\hat\mu_j = 0` and :math:`\hat\sigma_j^2 = \overline{z_j^2} + \epsilon`;
    1 (group): the same per sample over each group of ``G`` consecutive units (statistic
    b·(d/G) + group; G = d is LayerNorm, no ``center`` is RMSNorm); 2: none (no shift either).
    """
    nb, d = z.shape
    if has_bias:
        for b in range(nb):
            for j in range(d):
                z[b, j] += bias[j]
    if norm == NORM_BATCH:
        if not frozen:
            for j in range(d):
                mu[j] = 0.0
                sig[j] = 0.0
            if center:
                for b in range(nb):
                    for j in range(d):
                        mu[j] += z[b, j]
                for j in range(d):
                    mu[j] /= nb
            for b in range(nb):
                for j in range(d):
                    t = z[b, j] - mu[j]
                    sig[j] += t * t
            for j in range(d):
                sig[j] = math.sqrt(sig[j] / nb + eps)
        for j in range(d):
            tmp[j] = 1.0 / sig[j]
        for b in range(nb):
            for j in range(d):
                z[b, j] = (z[b, j] - mu[j]) * tmp[j] + shift
    elif norm == NORM_GROUP:
        # statistic b·ng + k of sample b, group k; each sum runs over the group's units in
        # order, four samples at a time (four independent chains of additions)
        ng = d // G
        b = 0
        while b < nb:
            nr = min(4, nb - b)
            b1, b2, b3 = min(b + 1, nb - 1), min(b + 2, nb - 1), min(b + 3, nb - 1)
            for k in range(ng):
                lo = k * G
                if not frozen:
                    m0 = m1 = m2 = m3 = 0.0
                    if center:
                        for j in range(lo, lo + G):
                            m0 += z[b, j]
                            m1 += z[b1, j]
                            m2 += z[b2, j]
                            m3 += z[b3, j]
                        m0 /= G
                        m1 /= G
                        m2 /= G
                        m3 /= G
                    q0 = q1 = q2 = q3 = 0.0
                    for j in range(lo, lo + G):
                        t0 = z[b, j] - m0
                        t1 = z[b1, j] - m1
                        t2 = z[b2, j] - m2
                        t3 = z[b3, j] - m3
                        q0 += t0 * t0
                        q1 += t1 * t1
                        q2 += t2 * t2
                        q3 += t3 * t3
                    mu[b * ng + k] = m0
                    sig[b * ng + k] = math.sqrt(q0 / G + eps)
                    if nr > 1:
                        mu[b1 * ng + k] = m1
                        sig[b1 * ng + k] = math.sqrt(q1 / G + eps)
                    if nr > 2:
                        mu[b2 * ng + k] = m2
                        sig[b2 * ng + k] = math.sqrt(q2 / G + eps)
                    if nr > 3:
                        mu[b3 * ng + k] = m3
                        sig[b3 * ng + k] = math.sqrt(q3 / G + eps)
                for r in range(nr):
                    bb = b + r
                    m = mu[bb * ng + k]
                    inv = 1.0 / sig[bb * ng + k]
                    for j in range(lo, lo + G):
                        z[bb, j] = (z[bb, j] - m) * inv + shift
            b += 4
    if has_skip:
        for b in range(nb):
            for j in range(d):
                z[b, j] = scale * (z[b, j] + skip[b, j])


@kernel
def _feature_corr(x, mean, m2, k, acc):
    """mean over pairs i < j < k of |corr_b(x_i, x_j)| (first k features; ``acc`` is k×k)."""
    nb = x.shape[0]
    k = min(k, x.shape[1])
    if k < 2:
        return np.nan
    for i in range(k):
        for j in range(k):
            acc[i, j] = 0.0
    for b in range(nb):
        for i in range(k):
            di = x[b, i] - mean[i]
            for j in range(i + 1, k):
                acc[i, j] += di * (x[b, j] - mean[j])
    tot = 0.0
    cnt = 0
    for i in range(k):
        for j in range(i + 1, k):
            den = math.sqrt(m2[i] * m2[j])
            if den > 0.0:
                tot += abs(acc[i, j] / nb) / den
                cnt += 1
    return tot / cnt if cnt > 0 else np.nan


@kernel
def _summarize_forward(mean, m2, m3, m4, d, out, col):
    """Write act_var, skewness, excess kurtosis and |mean|/std (feature averages) into out[:, col]."""
    var = 0.0
    sk = 0.0
    ku = 0.0
    ms = 0.0
    cnt = 0
    for j in range(d):
        var += m2[j]
        if m2[j] > 0.0:
            s = math.sqrt(m2[j])
            sk += m3[j] / (m2[j] * s)
            ku += m4[j] / (m2[j] * m2[j]) - 3.0
            ms += abs(mean[j]) / s
            cnt += 1
    out[F_ACT_VAR, col] = var / d
    out[F_ACT_SKEW, col] = sk / cnt if cnt > 0 else np.nan
    out[F_ACT_KURT, col] = ku / cnt if cnt > 0 else np.nan
    out[F_MEAN_STD, col] = ms / cnt if cnt > 0 else np.nan


# ----------------------------------------------------------------------------- backward
@kernel
def _norm_backward(norm, center, gx, x, skip, has_skip, scale, shift, sig, full, G, gz, sacc, s1,
                   s2):
    r"""Gradient through one normalisation (and the skip split): gx → gz.

    With a skip, x = scale·(x̂ + shift + skip): the gradient reaching x̂ is scale·gx, stored in
    ``sacc`` for the skip's source too; x̂ = x/scale − skip − shift. BatchNorm, ``full``:
    :math:`g_z = (g - \overline{g} - \hat x\,\overline{g\hat x})/\hat\sigma` (batch means; the
    exact derivative through the batch statistics; without ``center`` the
    :math:`\overline{g}` term is absent); otherwise :math:`g_z = g/\hat\sigma`
    (statistics held constant, Paik & Choi App. A.2 eq. 16). Group norms: the same with means
    over each group of ``G`` units of a sample; none: :math:`g_z = g`.
    """
    nb, d = gx.shape
    g = gx
    if has_skip:
        for b in range(nb):
            for j in range(d):
                sacc[b, j] = scale * gx[b, j]
        g = sacc
    if norm == NORM_NONE:
        for b in range(nb):
            for j in range(d):
                gz[b, j] = g[b, j]
    elif norm == NORM_BATCH:
        if full:
            for j in range(d):
                s1[j] = 0.0
                s2[j] = 0.0
            for b in range(nb):
                for j in range(d):
                    xh = x[b, j] / scale - skip[b, j] - shift if has_skip else x[b, j] - shift
                    s1[j] += g[b, j]
                    s2[j] += g[b, j] * xh
            for j in range(d):
                s1[j] = s1[j] / nb if center else 0.0
                s2[j] /= nb
            for b in range(nb):
                for j in range(d):
                    xh = x[b, j] / scale - skip[b, j] - shift if has_skip else x[b, j] - shift
                    gz[b, j] = (g[b, j] - s1[j] - xh * s2[j]) / sig[j]
        else:
            for b in range(nb):
                for j in range(d):
                    gz[b, j] = g[b, j] / sig[j]
    else:
        # per sample b and group k: t1 = mean g, t2 = mean g·x̂ over the group's units, each
        # sum in order, four samples at a time (independent chains of additions)
        ng = d // G
        b = 0
        while b < nb:
            nr = min(4, nb - b)
            b1, b2, b3 = min(b + 1, nb - 1), min(b + 2, nb - 1), min(b + 3, nb - 1)
            for k in range(ng):
                lo = k * G
                a0 = a1 = a2 = a3 = 0.0
                q0 = q1 = q2 = q3 = 0.0
                if full:
                    for j in range(lo, lo + G):
                        if has_skip:
                            x0 = x[b, j] / scale - skip[b, j] - shift
                            x1 = x[b1, j] / scale - skip[b1, j] - shift
                            x2 = x[b2, j] / scale - skip[b2, j] - shift
                            x3 = x[b3, j] / scale - skip[b3, j] - shift
                        else:
                            x0 = x[b, j] - shift
                            x1 = x[b1, j] - shift
                            x2 = x[b2, j] - shift
                            x3 = x[b3, j] - shift
                        a0 += g[b, j]
                        a1 += g[b1, j]
                        a2 += g[b2, j]
                        a3 += g[b3, j]
                        q0 += g[b, j] * x0
                        q1 += g[b1, j] * x1
                        q2 += g[b2, j] * x2
                        q3 += g[b3, j] * x3
                for r in range(nr):
                    bb = b + r
                    a, q = (a0, q0) if r == 0 else (a1, q1) if r == 1 else (a2, q2) if r == 2 else (a3, q3)
                    t1 = a / G if center else 0.0
                    t2 = q / G
                    inv = 1.0 / sig[bb * ng + k]
                    if has_skip:
                        for j in range(lo, lo + G):
                            xh = x[bb, j] / scale - skip[bb, j] - shift
                            gz[bb, j] = (g[bb, j] - t1 - xh * t2) * inv
                    else:
                        for j in range(lo, lo + G):
                            gz[bb, j] = (g[bb, j] - t1 - (x[bb, j] - shift) * t2) * inv
            b += 4


@kernel
def _grad_finish(g, x, xmean, apply, code, a, mask, has_mask, add, has_add, gs1, gs2, gxs):
    r"""If ``apply``: g ← g·φ'(x)(·mask) (+ add), in place. Always: per-column Σg, Σg²,
    Σ(x − x̄)g for the gradient statistics."""
    nb, d = g.shape
    for j in range(d):
        gs1[j] = 0.0
        gs2[j] = 0.0
        gxs[j] = 0.0
    if apply:
        if code == RELU and not has_mask and not has_add:
            for b in range(nb):
                for j in range(d):
                    if not x[b, j] > 0.0:
                        g[b, j] = 0.0
        else:
            for b in range(nb):
                for j in range(d):
                    v = g[b, j] * _dphi(code, a, x[b, j])
                    if has_mask:
                        v *= mask[b, j]
                    if has_add:
                        v += add[b, j]
                    g[b, j] = v
    for b in range(nb):
        for j in range(d):
            v = g[b, j]
            gs1[j] += v
            gs2[j] += v * v
            gxs[j] += (x[b, j] - xmean[j]) * v


@kernel
def _summarize_backward(gs1, gs2, gxs, xm2, nb, d, out, col):
    """Write ||g||², mean Var(g), Σ Var(x)Var(g) and mean |corr(x_i, g_i)| into out[:, col]."""
    sq = 0.0
    gv = 0.0
    vp = 0.0
    cr = 0.0
    cnt = 0
    for j in range(d):
        sq += gs2[j]
        m = gs1[j] / nb
        v = max(gs2[j] / nb - m * m, 0.0)
        gv += v
        vp += xm2[j] * v
        den = math.sqrt(xm2[j] * v)
        if den > 0.0:
            cr += abs(gxs[j] / nb) / den
            cnt += 1
    out[F_GRAD_SQ, col] = sq
    out[F_GRAD_VAR, col] = gv / d
    out[F_VAR_PRODUCT, col] = vp
    out[F_ACT_GRAD_CORR, col] = cr / cnt if cnt > 0 else np.nan


@kernel
def _frob_dot(u, v):
    """(Σ u², Σ u v) of two equally shaped 2-D arrays, in float64."""
    sq = 0.0
    dot = 0.0
    for i in range(u.shape[0]):
        for j in range(u.shape[1]):
            t = float(u[i, j])
            sq += t * t
            dot += t * v[i, j]
    return sq, dot


@kernel
def _loss_grad(kind, x, up, readout, labels, g, s):
    r"""Loss at the network output ``x`` (B × d) and its gradient into ``g``.

    kind 0 (gaussian): :math:`L = \sum G\odot x`, g = G (``up``: a fixed Gaussian gradient);
    kind 1 (mse): :math:`L = \tfrac12\sum (x - Y)^2` (``up``: the random targets Y);
    kind 2 (cross_entropy): logits = x · readout (d × k), L = Σ_b CE(logits_b, labels_b);
    kind 3 (logistic): :math:`s_b = x_b\cdot r`, :math:`L = \sum_b\log(1 + e^{-t_b s_b})`,
    :math:`t_b = 2\,\mathrm{label}_b - 1`. ``s`` is scratch of length ≥ k.
    """
    nb, d = x.shape
    loss = 0.0
    if kind == LOSS_GAUSSIAN:
        for b in range(nb):
            for j in range(d):
                loss += up[b, j] * x[b, j]
                g[b, j] = up[b, j]
    elif kind == LOSS_MSE:
        for b in range(nb):
            for j in range(d):
                r = x[b, j] - up[b, j]
                loss += 0.5 * r * r
                g[b, j] = r
    elif kind == LOSS_CROSS_ENTROPY:
        k = readout.shape[1]
        for b in range(nb):
            for c in range(k):
                t = 0.0
                for j in range(d):
                    t += x[b, j] * readout[j, c]
                s[c] = t
            mx = s[0]
            for c in range(1, k):
                mx = max(mx, s[c])
            tot = 0.0
            for c in range(k):
                tot += math.exp(s[c] - mx)
            loss += mx + math.log(tot) - s[labels[b]]
            for c in range(k):
                s[c] = math.exp(s[c] - mx) / tot
            s[labels[b]] -= 1.0
            for j in range(d):
                t = 0.0
                for c in range(k):
                    t += s[c] * readout[j, c]
                g[b, j] = t
    else:
        for b in range(nb):
            t = 0.0
            for j in range(d):
                t += x[b, j] * readout[j, 0]
            sgn = 2.0 * labels[b] - 1.0
            u = -sgn * t
            loss += max(u, 0.0) + math.log1p(math.exp(-abs(u)))
            sg = 1.0 / (1.0 + math.exp(-u)) if u >= 0.0 else math.exp(u) / (1.0 + math.exp(u))
            dl = -sgn * sg  # d/ds log(1 + e^{-t s}) = -t σ(-t s)
            for j in range(d):
                g[b, j] = dl * readout[j, 0]
    return loss


# ----------------------------------------------------------------------------- whole chains
@kernel
def _chain_one(IP, FP, LAY, X, H, W, Bv, M, MU, SIG, UP, RO, LAB, G1, G2, GZ, DW, SACC, VEC,
               XMEAN, XM2, CORR, OUT, WOUT):
    r"""Forward pass from :math:`x^{start}` and backward pass down to it, for one chain.

    ``IP``/``FP``/``LAY``: the packed options and layout (``I_*``, ``P_*``, ``L_*`` above); the
    other arguments are the chain's flat buffers. Forward, for n = start..N: h^n = φ(x^n)·m^n
    and the moments of x^n; z = h^n W^n (BLAS); x^{n+1} = Norm(z + b^n) (+ skip). Loss and
    upstream gradient at x^N. Backward, for n = N..start: g^n ← g^n·φ'(x^n)·m^n (+ skip
    gradient) and its statistics; then through layer n−1: g_z = Norm'(g^n),
    ∇W^{n−1} = (h^{n−1})ᵀ g_z, g^{n−1} = g_z (W^{n−1})ᵀ (BLAS). The backward vector is kept
    as :math:`2^{e}\,\tilde g` with a running exponent e (``OUT[F_LOG2_SCALE]``,
    ``WOUT[W_LOG2_SCALE]``), renormalised by powers of two, so any depth is finite. On return
    G1 holds :math:`2^{-e_{start}} g^{start}`. Returns the loss.
    """
    depth = IP[I_DEPTH]
    nb = IP[I_BATCH]
    norm = IP[I_NORM]
    center = IP[I_CENTER] != 0
    full = IP[I_FULL] != 0
    frozen = IP[I_FROZEN] != 0
    code = IP[I_ACT]
    has_bias = IP[I_HAS_BIAS] != 0
    has_mask = IP[I_HAS_MASK] != 0
    kind = IP[I_LOSS]
    weight_grads = IP[I_WEIGHT_GRADS] != 0
    keep_dw = IP[I_KEEP_DW] != 0
    kcorr = IP[I_KCORR]
    start = IP[I_START]
    backward = IP[I_BACKWARD] != 0
    eps = FP[P_EPS]
    scale = FP[P_SCALE]
    a = FP[P_ACT_PARAM]
    shift = FP[P_SHIFT] if norm != NORM_NONE else 0.0
    dims = LAY[L_DIMS]
    groups = LAY[L_GROUP]
    x_off = LAY[L_X_OFF]
    w_off = LAY[L_W_OFF]
    b_off = LAY[L_B_OFF]
    s_off = LAY[L_S_OFF]
    skip_src = LAY[L_SKIP]
    has_add = LAY[L_HAS_ADD]
    tmp = VEC[V_TMP]
    s1 = VEC[V_S1]
    s2 = VEC[V_S2]
    m3 = VEC[V_M3]
    m4 = VEC[V_M4]
    gs1 = VEC[V_GS1]
    gs2 = VEC[V_GS2]
    gxs = VEC[V_GXS]
    # ---------------------------------------------------------------- forward
    for n in range(start, depth + 1):
        d = dims[n]
        x = X[x_off[n]:x_off[n] + nb * d].reshape((nb, d))
        has_h = n < depth
        h = H[x_off[n]:x_off[n] + nb * d].reshape((nb, d)) if has_h else x
        use_mask = has_mask and has_h
        m = M[x_off[n]:x_off[n] + nb * d].reshape((nb, d)) if use_mask else x
        _act_moments(x, code, a, m, use_mask, h, has_h, XMEAN[n], XM2[n], m3, m4)
        _summarize_forward(XMEAN[n], XM2[n], m3, m4, d, OUT, n)
        OUT[F_ACT_CORR, n] = _feature_corr(x, XMEAN[n], XM2[n], kcorr, CORR) if kcorr > 1 else np.nan
        if has_h:
            dout = dims[n + 1]
            w = W[w_off[n]:w_off[n] + d * dout].reshape((d, dout))
            z = X[x_off[n + 1]:x_off[n + 1] + nb * dout].reshape((nb, dout))
            np.dot(h, w, z)
            src = skip_src[n]
            skip = X[x_off[src]:x_off[src] + nb * dout].reshape((nb, dout)) if src >= 0 else z
            bias = Bv[b_off[n]:b_off[n] + dout] if has_bias else Bv[0:1]
            _norm_forward(norm, center, z, bias, has_bias, frozen, MU[s_off[n]:s_off[n + 1]],
                          SIG[s_off[n]:s_off[n + 1]], tmp, eps, groups[n], shift, skip, src >= 0,
                          scale)
    # ---------------------------------------------------------------- loss
    dN = dims[depth]
    xN = X[x_off[depth]:x_off[depth] + nb * dN].reshape((nb, dN))
    loss = _loss_grad(kind, xN, UP, RO, LAB, G1[:nb * dN].reshape((nb, dN)), tmp)
    if not backward:
        return loss
    # ---------------------------------------------------------------- backward
    # The gradient is carried as 2^e g with a running exponent e (``scale_exp``): whenever
    # ||g||^2 leaves [sq_lo, sq_hi] the stored vector is multiplied by a power of two, which is
    # exact in binary floating point, so every depth stays finite and the numbers are those of
    # the unscaled recursion wherever that one does not overflow or underflow.
    sq_hi = FP[P_SQ_HI]
    sq_lo = FP[P_SQ_LO]
    scale_exp = 0.0
    sacc_exp = 0.0  # the exponent of the skip gradient waiting in SACC
    flip = True  # g^n lives in G1 when flip, else in G2
    for n in range(depth, start - 1, -1):
        d = dims[n]
        g = G1[:nb * d].reshape((nb, d)) if flip else G2[:nb * d].reshape((nb, d))
        x = X[x_off[n]:x_off[n] + nb * d].reshape((nb, d))
        apply = n < depth
        use_mask = has_mask and apply
        m = M[x_off[n]:x_off[n] + nb * d].reshape((nb, d)) if use_mask else x
        add_skip = apply and has_add[min(n, depth - 1)] != 0
        if add_skip and sacc_exp != scale_exp:
            f = 2.0 ** (sacc_exp - scale_exp)
            for i in range(nb * d):
                SACC[i] *= f
        _grad_finish(g, x, XMEAN[n], apply, code, a, m, use_mask, SACC[:nb * d].reshape((nb, d)),
                     add_skip, gs1, gs2, gxs)
        _summarize_backward(gs1, gs2, gxs, XM2[n], nb, d, OUT, n)
        OUT[F_LOG2_SCALE, n] = scale_exp
        sq = OUT[F_GRAD_SQ, n]
        if n > start and (sq > sq_hi or 0.0 < sq < sq_lo):
            e = math.floor(0.5 * math.log2(sq))
            f = 2.0 ** (-e)
            for b in range(nb):
                for j in range(d):
                    g[b, j] *= f
            scale_exp += e
        if n > start:
            k = n - 1  # layer k maps x^k to x^n
            din = dims[k]
            src = skip_src[k]
            skip = X[x_off[src]:x_off[src] + nb * d].reshape((nb, d)) if src >= 0 else x
            gz = GZ[:nb * d].reshape((nb, d))
            _norm_backward(norm, center, g, x, skip, src >= 0, scale, shift,
                           SIG[s_off[k]:s_off[k + 1]], full and not frozen, groups[k], gz,
                           SACC[:nb * d].reshape((nb, d)), s1, s2)
            if src >= 0:
                sacc_exp = scale_exp
            w = W[w_off[k]:w_off[k] + din * d].reshape((din, d))
            if weight_grads:
                o = w_off[k] if keep_dw else 0
                dw = DW[o:o + din * d].reshape((din, d))
                hk = H[x_off[k]:x_off[k] + nb * din].reshape((nb, din))
                np.dot(hk.T, gz, dw)
                wsq, wdot = _frob_dot(dw, w)
                WOUT[W_GRAD_SQ, k] = wsq
                WOUT[W_GRAD_DOT, k] = wdot
                WOUT[W_LOG2_SCALE, k] = scale_exp
            gk = G2[:nb * din].reshape((nb, din)) if flip else G1[:nb * din].reshape((nb, din))
            np.dot(gz, w.T, gk)
            flip = not flip
    if not flip:
        for i in range(nb * dims[start]):
            G1[i] = G2[i]
    return loss


@kernel
def _run_chains(IP, FP, LAY, X, H, W, Bv, M, MU, SIG, UP, RO, LAB, G1, G2, GZ, DW, SACC, VEC,
                XMEAN, XM2, CORR, OUT, WOUT, LOSS):
    """:func:`_chain_one` for every chain (leading axis of the buffers), in order.

    The single compiled entry point. It releases the GIL (``nogil``), so the caller spreads
    chains over cores by calling it from several threads on disjoint buffers.
    """
    for c in range(X.shape[0]):
        LOSS[c] = _chain_one(IP, FP, LAY, X[c], H[c], W[c], Bv[c], M[c], MU[c], SIG[c], UP[c],
                             RO[c], LAB[c], G1[c], G2[c], GZ[c], DW[c], SACC[c], VEC[c],
                             XMEAN[c], XM2[c], CORR[c], OUT[c], WOUT[c])
