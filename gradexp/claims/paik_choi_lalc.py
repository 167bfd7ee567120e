"""LALC claims of Paik & Choi (``paik-choi-v2``, ``paik-choi-v1``): Algorithm 1 against the
PyTorch listings of Appendix B (Figure 8 of the later version, Figure 7 of the earlier one).

Each check computes its evidence when run; the listings are transcribed to numpy here,
independently of :class:`gradexp.optim.LALC`.
"""

from __future__ import annotations

import numpy as np

from ..optim import LALC, Optimizer
from ._common import sig as _sig
from ._ledger import FAILS, HOLDS, Verdict, claim

V1, V2 = "paik-choi-v1", "paik-choi-v2"


# ============================================================ LALC: Algorithm 1 vs listings
def _lalc_listing(p0, grads, *, lr, momentum, dampening=0.0, weight_decay=0.0, nesterov=False,
                  eta=1e3, eps=1.0, version="001", zero_fallback=True):
    """The PyTorch listing of Appendix B transcribed to numpy, one tensor (``version`` selects
    the indentation of the momentum line as printed in 000 (Figure 8) or 001 (Figure 7))."""
    p = np.array(p0, dtype=float)
    buf = None
    for g in grads:
        d_p = g + weight_decay * p if weight_decay != 0 else np.array(g, dtype=float)
        if momentum != 0:
            if buf is None:
                buf = d_p.copy()
                if version == "000":  # the dedented buf.mul_(momentum).add_(...) runs here too
                    buf = buf * momentum + (1 - dampening) * d_p
            else:
                buf = buf * momentum + (1 - dampening) * d_p
            d_p = d_p + momentum * buf if nesterov else buf
        w_norm = np.mean(p ** 2)
        g_norm = np.mean(d_p ** 2)
        if w_norm * g_norm > 0:
            lr_t = min(1 / (g_norm / w_norm * eta + eps), lr)
        elif zero_fallback:  # the listing's `else: lr_t = lr`
            lr_t = lr
        else:  # Algorithm 1's formula at ||w|| = 0: step 0
            lr_t = 0.0 if w_norm == 0 and g_norm > 0 else lr
        p = p - lr_t * d_p
    return p


def _lalc_algorithm1(p0, grads, *, lr, momentum, weight_decay=0.0, eta=1e3, eps=1.0,
                     zero_norm="formula"):
    opt = Optimizer(rule=LALC(eta=eta, eps=eps, zero_norm=zero_norm), momentum=momentum,
                    weight_decay=weight_decay)
    p = np.asarray(p0, float).reshape(1, -1)
    s = opt.init_state(p)
    with np.errstate(all="ignore"):
        for g in grads:
            p, s, _ = opt.step(p, np.asarray(g, float).reshape(1, -1), s, lr=lr)
    return p.reshape(np.shape(p0))


@claim("pc-lalc-listing", paper=V1, source="Algorithm 1 vs Appendix B listing (Figure 7); Table 1",
       statement="The PyTorch implementation of Appendix B implements LALC as stated in Algorithm 1 "
                 "(and Table 1): step min(gamma_t, 1/(eta ||m||^2/||w||^2 + eps)).",
       falsify={"zero_fallback": False})
def _lalc_listing_claim(fast: bool, zero_fallback: bool = True) -> Verdict:
    """``zero_fallback``: the listing's fallback to gamma_t for zero norms (as printed)."""
    rng = np.random.default_rng(9)
    kw = dict(lr=0.4, momentum=0.9, weight_decay=5e-4, eta=1e3, eps=1.0)
    worst = 0.0
    for shape in ((64, 3, 3, 3), (10, 20), (7,)):
        p0 = rng.standard_normal(shape) * 0.1
        gs = rng.standard_normal((15,) + shape)
        a = _lalc_listing(p0, gs, version="001", **kw)
        b = _lalc_algorithm1(p0, gs, **kw)
        worst = max(worst, float(np.max(np.abs(a - b)) / np.max(np.abs(b))))
    # zero-initialised tensor (a BN shift or bias), no weight decay
    z0 = np.zeros(16)
    gz = rng.standard_normal((5, 16))
    zl = _lalc_listing(z0, gz, version="001", lr=0.4, momentum=0.9, zero_fallback=zero_fallback)
    za = _lalc_algorithm1(z0, gz, lr=0.4, momentum=0.9)
    zero_listing_moves = bool(np.linalg.norm(zl) > 0)
    zero_alg_stays = bool(np.linalg.norm(za) == 0)
    # a zero gradient with zero weights: Algorithm 1 divides 0/0
    nan_case = _lalc_algorithm1(np.zeros(4), np.zeros((1, 4)), lr=0.4, momentum=0.0)
    # the cap 1/eps: both forms bound the step by min(gamma, 1/eps)
    cap = float(LALC().step_size(10.0, 1.0, 1e-9))
    ok = worst < 1e-12 and not (zero_listing_moves and zero_alg_stays)
    return Verdict(HOLDS if ok else FAILS, {
        "nonzero_tensors_max_rel_diff_listing_vs_alg1": _sig(worst, 3),
        "zero_init_tensor_norm_after_5_steps_listing": _sig(np.linalg.norm(zl), 3),
        "zero_init_tensor_norm_after_5_steps_alg1": _sig(np.linalg.norm(za), 3),
        "alg1_zero_weight_zero_grad_gives_nan": bool(np.isnan(nan_case).any()),
        "step_cap_for_lr=10_eps=1": _sig(cap, 3)},
        "they agree (to rounding) on tensors with nonzero weights and update: the listing's mean "
        "squares give the same ratio as the norms, and eps enters the same denominator (step <= "
        "1/eps). They differ on zero tensors: the listing falls back to gamma_t when "
        "w_norm*g_norm == 0, while Algorithm 1 gives step 0 for ||w|| = 0 (a zero-initialised "
        "bias or BN shift never moves) and NaN for 0/0")


@claim("pc-lalc-listing-000", paper=V2, source="Appendix B, Figure 8 vs the earlier version's Figure 7",
       statement="The LALC listing of the later version (Figure 8) is the same optimizer as the "
                 "earlier version's (Figure 7).",
       falsify={"later_version": "001"})
def _lalc_000(fast: bool, later_version: str = "000") -> Verdict:
    """``later_version``: the indentation read from the later listing (as printed: '000')."""
    rng = np.random.default_rng(10)
    p0 = rng.standard_normal((32, 16)) * 0.1
    gs = rng.standard_normal((10, 32, 16))
    kw = dict(lr=0.1, momentum=0.9, weight_decay=0.0, eta=1e-6, eps=1e-8)  # LALC inactive
    first = [_lalc_listing(p0, gs[:1], version=v, **kw) for v in (later_version, "001")]
    step_ratio = float(np.linalg.norm(first[0] - p0) / np.linalg.norm(first[1] - p0))
    later = [_lalc_listing(p0, gs, version=v, **kw) for v in (later_version, "001")]
    diff = float(np.linalg.norm(later[0] - later[1]) / np.linalg.norm(later[1] - p0))
    ok = abs(step_ratio - 1) < 1e-12
    return Verdict(HOLDS if ok else FAILS, {
        "first_update_ratio_later/earlier_listing": _sig(step_ratio, 6), "1+mu": 1.9,
        "rel_diff_after_10_steps": _sig(diff, 3)},
        "as printed, the later listing's momentum line (buf.mul_(momentum).add_(1 - dampening, d_p)) "
        "is dedented out of the else branch, so the first step uses buf = (1 + mu - dampening) g; the "
        "earlier listing (and torch.optim.SGD) uses buf = g. This may be a typesetting artefact; the "
        "LALC part is identical in both")
