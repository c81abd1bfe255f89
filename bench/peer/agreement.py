"""Agreement of two implementations' outcome counts: a two-sample z-test per
outcome (pooled proportion), Holm-corrected over the outcomes."""

import math


def z_test(count_a, n_a, count_b, n_b):
    """Two-sided p-value of H0: equal proportions (pooled). 1.0 when the pooled proportion is 0 or 1."""
    pooled = (count_a + count_b) / (n_a + n_b)
    var = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if var <= 0:
        return 1.0
    z = (count_a / n_a - count_b / n_b) / math.sqrt(var)
    return math.erfc(abs(z) / math.sqrt(2))


def holm(p_values, alpha):
    """Holm's step-down: a list of booleans, True where the hypothesis is rejected."""
    order = sorted(range(len(p_values)), key=lambda k: p_values[k])
    rejected = [False] * len(p_values)
    m = len(p_values)
    for rank, k in enumerate(order):
        if p_values[k] > alpha / (m - rank):
            break
        rejected[k] = True
    return rejected


def compare(names, counts_a, n_a, counts_b, n_b, alpha=0.001):
    """Rows (name, p_a, p_b, z-test p-value, rejected) and whether every event agrees; counts_x[k] of
    the n_x replications had event names[k]."""
    p = [z_test(a, n_a, b, n_b) for a, b in zip(counts_a, counts_b)]
    rejected = holm(p, alpha)
    rows = [(name, a / n_a, b / n_b, pv, r) for name, a, b, pv, r in zip(names, counts_a, counts_b, p, rejected)]
    return rows, not any(rejected)
