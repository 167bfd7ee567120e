"""Products of random Gaussian matrices: stable singular values against mpmath products."""

import math

import mpmath as mp
import numpy as np
import pytest
from oracles import exact_m2 as _exact_m2
from oracles import mp_product_singular_values

from gradexp import fuss_catalan_cdf, ginibre_lyapunov_exponents
from gradexp.mc._estimate import estimate
from gradexp.mc.matrices import (
    _log_singular_values,
    _push,
    _row_jacobi,
    bartlett_factor,
    depth_scan,
    product_singular_values,
    singular_values_of_product,
)


def _mp_log_sv(factors, dps):
    return np.array([float(mp.log(v)) for v in mp_product_singular_values(factors, dps)])


def _gauss(rng, N, M):
    return [rng.standard_normal((N, N)) / math.sqrt(N) for _ in range(M)]


@pytest.mark.parametrize(("M", "tol"), [(1, 1e-14), (10, 1e-13), (60, 1e-12)])
def test_stable_against_mpmath(M, tol):
    """QR accumulation keeps every singular value to ~1e-13 relative, kappa up to ~1e40."""
    rng = np.random.default_rng(M)
    Ws = _gauss(rng, 6, M)
    ref = _mp_log_sv(Ws, 40 + M)
    got = singular_values_of_product(Ws, log=True)
    assert np.max(np.abs(np.expm1(got - ref))) < tol
    np.testing.assert_allclose(singular_values_of_product(Ws), np.exp(ref), rtol=tol)


def test_direct_fails_where_stable_holds():
    rng = np.random.default_rng(3)
    Ws = _gauss(rng, 6, 40)  # kappa ~ 1e25
    ref = _mp_log_sv(Ws, 80)
    assert (ref[0] - ref[-1]) / math.log(10) > 20
    direct = singular_values_of_product(Ws, method="direct", log=True)
    assert np.abs(direct[-1] - ref[-1]) > 10  # the smallest singular value is lost entirely
    assert abs(direct[0] - ref[0]) < 1e-13  # the largest is fine
    stable = singular_values_of_product(Ws, method="qr", log=True)
    assert np.max(np.abs(stable - ref)) < 1e-12


@pytest.mark.slow
def test_beyond_double_range_against_mpmath():
    """500 factors of size 6: singular values spread over ~1e300; the scaled Jacobi path is exact too."""
    rng = np.random.default_rng(11)
    Ws = _gauss(rng, 6, 500)
    ref = _mp_log_sv(Ws, 400)
    assert ref[0] - ref[-1] > 600  # beyond the double range
    got = singular_values_of_product(Ws, log=True)
    assert np.max(np.abs(np.expm1(got - ref))) < 1e-11
    assert abs(singular_values_of_product(Ws, method="direct", log=True)[-1] - ref[-1]) > 100


def test_bartlett_product_against_mpmath_and_both_final_svds():
    """The triangular product and both final SVDs (LAPACK on the row-graded matrix, scaled Jacobi)."""
    rng = np.random.default_rng(5)
    Rs = [bartlett_factor(7, rng) for _ in range(80)]
    ref = _mp_log_sv(Rs, 120)
    U, s = np.asfortranarray(np.eye(7)), np.zeros(7)
    for R in Rs:
        U, s = _push(U, s, R)
    a = _log_singular_values(U, s)
    b = _log_singular_values(U, s, force_jacobi=True)
    assert np.max(np.abs(a - ref)) < 1e-12
    assert np.max(np.abs(b - ref)) < 1e-12


def test_push_scaled_path_equals_fast_path(monkeypatch):
    import gradexp.mc.matrices as mm

    rng = np.random.default_rng(8)
    R = bartlett_factor(5, rng)
    U0 = np.asfortranarray(np.linalg.qr(rng.standard_normal((5, 5)))[0])
    s0 = np.array([0.0, -3.0, -7.0, -20.0, -40.0])
    U1, s1 = _push(U0.copy(order="F"), s0.copy(), R)
    monkeypatch.setattr(mm, "_MAX_LOG_RANGE", -1.0)  # forces the entrywise-scaled path
    U2, s2 = _push(U0.copy(order="F"), s0.copy(), R)
    np.testing.assert_allclose(U1, U2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(s1, s2, rtol=1e-14, atol=1e-14)


def test_jacobi_kernel_matches_py_func():
    rng = np.random.default_rng(2)
    U = rng.standard_normal((6, 6))
    U /= np.linalg.norm(U, axis=1)[:, None]
    s = np.array([0.0, -1.0, -50.0, -800.0, -801.0, -2000.0])
    U1, s1, U2, s2 = U.copy(), s.copy(), U.copy(), s.copy()
    n1 = _row_jacobi(U1, s1, 1e-15, 100)
    n2 = _row_jacobi.py_func(U2, s2, 1e-15, 100)
    assert n1 == n2 and n1 < 100
    np.testing.assert_allclose(s1, s2, rtol=1e-14)
    np.testing.assert_allclose(np.abs(U1 @ U1.T), np.eye(6), atol=1e-14)  # rows orthonormal on return


def test_jacobi_in_range_agrees_with_lapack():
    rng = np.random.default_rng(4)
    U = rng.standard_normal((12, 12))
    U /= np.linalg.norm(U, axis=1)[:, None]
    s = -np.sort(rng.uniform(0, 60, 12))
    a = _log_singular_values(U.copy(), s.copy())
    b = _log_singular_values(U.copy(), s.copy(), force_jacobi=True)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)
    ref = np.log(np.linalg.svd(U * np.exp(s)[:, None], compute_uv=False))
    np.testing.assert_allclose(a, ref, atol=1e-12)


def test_bartlett_factor_distribution():
    """R_ii^2 N ~ chi^2_{N-i+1}, R_ij ~ N(0, 1/N): means against their exact values in standard errors."""
    rng = np.random.default_rng(6)
    N, n = 5, 4000
    Rs = np.stack([bartlett_factor(N, rng) for _ in range(n)])
    for i in range(N):
        assert abs(estimate(Rs[:, i, i] ** 2 * N).z_score(N - i)) < 5
    assert abs(estimate(Rs[:, 0, 3] ** 2 * N).z_score(1.0)) < 5
    assert abs(estimate(Rs[:, 1, 2]).z_score(0.0)) < 5
    assert np.all(np.tril(Rs, -1) == 0) and np.all(np.diagonal(Rs, axis1=1, axis2=2) > 0)
    assert bartlett_factor(4, rng).flags.f_contiguous


def test_qr_and_qr_dense_have_the_same_law():
    """Bartlett-sampled R factors give the law of the dense product (two-sample z on log sigma_min/max)."""
    M, N, n = 4, 8, 600
    a = product_singular_values(M, N, reps=n, rng=1, log=True)
    b = product_singular_values(M, N, reps=n, rng=2, method="qr-dense", log=True)
    for col in (0, -1):
        ea, eb = estimate(a[:, col]), estimate(b[:, col])
        assert abs(ea.mean - eb.mean) / math.hypot(ea.stderr, eb.stderr) < 5


def test_moments_exact_finite_n():
    """E N^-1 tr X^T X = 1 and E N^-1 tr (X^T X)^2 = exact recursion, for both stable samplers."""
    for method in ("qr", "qr-dense"):
        x = product_singular_values(3, 12, reps=800, rng=9, method=method) ** 2
        assert abs(estimate(x.mean(axis=1)).z_score(1.0)) < 5
        assert abs(estimate((x**2).mean(axis=1)).z_score(_exact_m2(3, 12))) < 5
    assert _exact_m2(1, 10) == pytest.approx(2 + 1 / 10, rel=1e-15)  # real Wishart: 2 + 1/N


def test_large_n_law():
    """Squared singular values at N = 300 follow Fuss-Catalan: KS distance far below the i.i.d. size."""
    x = np.sort(product_singular_values(3, 300, rng=12) ** 2)
    F = fuss_catalan_cdf(x, 3)
    i = np.arange(1, x.size + 1)
    ks = max(np.max(i / x.size - F), np.max(F - (i - 1) / x.size))
    assert ks < 0.87 / math.sqrt(x.size) / 2
    s = np.sort(np.sqrt(x))  # the singular values themselves do not
    F = fuss_catalan_cdf(s, 3)
    assert max(np.max(i / s.size - F), np.max(F - (i - 1) / s.size)) > 0.1


def test_lyapunov_rate_of_condition_number():
    """Growth of log kappa per factor against lambda_1 - lambda_N (stable method, beyond 1e16)."""
    N, reps = 10, 40
    scan = depth_scan([10, 40], N, reps=reps, rng=21)
    lk = scan.log10_condition * math.log(10)
    inc = estimate((lk[:, 1] - lk[:, 0]) / 30)
    lam = ginibre_lyapunov_exponents(N)
    assert abs(inc.z_score(lam[0] - lam[-1])) < 5
    assert scan.estimate("log10_condition").mean[1] > 16


def test_depth_scan_consistency_and_seeds():
    s1 = depth_scan([1, 3, 5], 20, reps=3, rng=7, method="direct")
    s2 = depth_scan([5, 1, 3, 3], 20, reps=3, rng=7, method="qr-dense")  # same draws, sorted unique depths
    np.testing.assert_array_equal(s1.depths, [1, 3, 5])
    np.testing.assert_allclose(s1.log_sv, s2.log_sv, atol=1e-10)  # kappa small: both exact
    assert s1.log_sv.shape == (3, 3, 20)
    single = product_singular_values(3, 20, reps=3, rng=7, method="direct", log=True)
    np.testing.assert_allclose(single, s1.log_sv[:, 1], atol=1e-12)
    summ = s1.estimate("sigma_max")
    assert summ.mean.shape == summ.stderr.shape == (3,) and summ.n == 3
    assert len(s1.estimates("log10_condition")) == 3
    a = product_singular_values(4, 15, rng=np.random.default_rng(3))
    b = product_singular_values(4, 15, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, product_singular_values(4, 15, rng=4))


def test_sigma_scaling_and_shapes():
    a = product_singular_values(3, 10, rng=5)
    b = product_singular_values(3, 10, rng=5, sigma=2.0)
    np.testing.assert_allclose(b, 8 * a, rtol=1e-13)
    c = product_singular_values(3, 10, rng=5, sigma=[2.0, 1.0, 0.5])
    np.testing.assert_allclose(c, a, rtol=1e-13)
    assert a.shape == (10,) and np.all(np.diff(a) <= 0)
    assert product_singular_values(2, 7, reps=4, rng=1).shape == (4, 7)
    np.testing.assert_allclose(np.exp(product_singular_values(2, 7, rng=1, log=True)),
                               product_singular_values(2, 7, rng=1), rtol=1e-14)


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"M": 0}, ValueError, "M must be >= 1"), ({"M": 2.5}, TypeError, "M must be an integer"),
    ({"N": 0}, ValueError, "N must be >= 1"), ({"method": "svd"}, ValueError, "method must be one of"),
    ({"sigma": -1.0}, ValueError, "sigma must be > 0"), ({"sigma": np.nan}, ValueError, "sigma must not be NaN"),
    ({"sigma": [1.0, 2.0]}, ValueError, "sigma must be a scalar or have length"),
    ({"reps": 0}, ValueError, "reps must be >= 1"), ({"rng": "x"}, TypeError, "rng must be None"),
    ({"rng": -3}, ValueError, "rng must be a non-negative int"),
])
def test_bad_arguments(kwargs, exc, match):
    args = {"M": 3, "N": 4, **kwargs}
    with pytest.raises(exc, match=match):
        product_singular_values(args.pop("M"), args.pop("N"), **args)


def test_bad_arguments_other_functions():
    with pytest.raises(ValueError, match="depths must be"):
        depth_scan([0, 2], 4)
    with pytest.raises(ValueError, match="depths must be"):
        depth_scan([1.5], 4)
    with pytest.raises(ValueError, match="square"):
        singular_values_of_product([np.ones((2, 3))])
    with pytest.raises(ValueError, match="finite"):
        singular_values_of_product([np.full((2, 2), np.nan)])
    with pytest.raises(ValueError, match="at least one"):
        singular_values_of_product([])


def test_small_products_run_single_threaded_blas_and_restore_it():
    """Starts from 2 BLAS threads so that a guard that does nothing fails (skipped where the
    BLAS cannot be set to 2 threads)."""
    from threadpoolctl import threadpool_info

    from gradexp._threads import blas_threads
    from gradexp.mc.matrices import SMALL_N, _blas_for

    def counts():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    with blas_threads(2):
        if not counts() or any(c != 2 for c in counts()):
            pytest.skip("BLAS cannot be set to 2 threads here")
        with _blas_for(SMALL_N - 1):
            assert all(n == 1 for n in counts())
        assert all(n == 2 for n in counts())
        with _blas_for(SMALL_N):
            assert all(n == 2 for n in counts())


def test_same_seed_sequence_twice_gives_the_same_numbers():
    ss = np.random.SeedSequence(42)
    a = product_singular_values(3, 6, reps=2, rng=ss)
    b = product_singular_values(3, 6, reps=2, rng=ss)
    np.testing.assert_array_equal(a, b)
    assert ss.n_children_spawned == 0
    np.testing.assert_array_equal(depth_scan([2], 6, reps=2, rng=ss).log_sv[:, 0],
                                  depth_scan([2], 6, reps=2, rng=ss).log_sv[:, 0])


def test_bartlett_factor_takes_rng_like_the_others():
    np.testing.assert_array_equal(bartlett_factor(5, 3), bartlett_factor(5, rng=3))
    np.testing.assert_array_equal(bartlett_factor(5, rng=3), bartlett_factor(5, np.random.default_rng(3)))
    g = np.random.default_rng(0)
    assert not np.array_equal(bartlett_factor(4, g), bartlett_factor(4, g))  # a Generator is a stream


def test_depth_scan_estimate_is_the_one_standard_error_form():
    scan = depth_scan([1, 3], 8, reps=4, rng=1)
    est = scan.estimate("log10_condition")
    q = scan.log10_condition
    np.testing.assert_allclose(est.mean, q.mean(0))
    np.testing.assert_allclose(est.stderr, q.std(0, ddof=1) / 2)
    assert est.n == 4
    with pytest.raises(ValueError, match="quantity"):
        scan.estimate("N")
