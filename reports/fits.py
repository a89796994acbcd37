"""The two cross-class fits of accuracy on x = log10(docs + 1), with intervals.

- `ols_fit`: accuracy = a + b x, least squares (the literature's linear view; unbounded), with
  HC3 heteroskedasticity-robust intervals.
- `logit_fit`: correct_i ~ Binomial(n_i, expit(a + b x_i)), fitted by IRLS (iteratively reweighted
  least squares, i.e. Fisher scoring for the logit link). Classes differ far more than binomial
  noise allows, so intervals use the quasi-binomial covariance (scaled by the Pearson dispersion
  phi when phi > 1), and predictions for a single class add the between-class variance tau^2 on
  the logit scale (method of moments on empirical logits). Its slope is the POPULATION-AVERAGE one.
- `glmm_fit`: the MAIN bounded fit, logit-normal random intercept (overdispersion as a class effect);
  its slope is the CLASS-LEVEL one, used for outliers and per-class projections.
- `within_cluster`: the slope within WordNet superclasses and the share of variance between them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special, stats


@dataclass
class OLSFit:
    a: float
    b: float
    se_a: float
    se_b: float
    cov: np.ndarray
    sigma: float      # residual standard deviation
    df: int
    r2: float
    x_mean: float
    sxx: float
    cov_hc3: np.ndarray   # heteroskedasticity-robust (HC3) covariance of (a, b): what intervals use

    @property
    def se_b_hc3(self) -> float:
        return float(np.sqrt(self.cov_hc3[1, 1]))

    def ci(self, level: float = 0.95) -> dict:
        """t intervals with HC3 standard errors (the residual variance is not constant in frequency)."""
        t = stats.t.ppf(0.5 + level / 2, self.df)
        se_a, se_b = np.sqrt(np.diag(self.cov_hc3))
        return {"a": (self.a - t * se_a, self.a + t * se_a), "b": (self.b - t * se_b, self.b + t * se_b)}

    def predict(self, x, level: float = 0.95) -> dict:
        """Mean line with its confidence band and the prediction band for one new class."""
        x = np.asarray(x, float)
        t = stats.t.ppf(0.5 + level / 2, self.df)
        mean = self.a + self.b * x
        se_mean = np.sqrt(self.cov_hc3[0, 0] + 2 * x * self.cov_hc3[0, 1] + x * x * self.cov_hc3[1, 1])
        se_pred = np.sqrt(self.sigma ** 2 + se_mean ** 2)
        return {"mean": mean, "mean_lo": mean - t * se_mean, "mean_hi": mean + t * se_mean,
                "pred_lo": mean - t * se_pred, "pred_hi": mean + t * se_pred}


def ols_fit(x, y) -> OLSFit:
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = len(x)
    if n < 3 or np.ptp(x) == 0:
        raise ValueError("the linear fit needs at least 3 classes with different frequencies")
    xm = x.mean()
    sxx = float(((x - xm) ** 2).sum())
    b = float(((x - xm) * (y - y.mean())).sum() / sxx)
    a = float(y.mean() - b * xm)
    resid = y - a - b * x
    df = n - 2
    sigma = float(np.sqrt((resid ** 2).sum() / df))
    se_b = sigma / np.sqrt(sxx)
    se_a = sigma * np.sqrt(1 / n + xm ** 2 / sxx)
    cov = sigma ** 2 * np.array([[1 / n + xm ** 2 / sxx, -xm / sxx], [-xm / sxx, 1 / sxx]])
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float((resid ** 2).sum()) / ss_tot if ss_tot > 0 else np.nan
    X = np.column_stack([np.ones(n), x])
    bread = np.linalg.inv(X.T @ X)
    leverage = np.einsum("ij,jk,ik->i", X, bread, X)
    meat = (X * (resid / (1 - leverage))[:, None] ** 2).T @ X
    return OLSFit(a, b, float(se_a), float(se_b), cov, sigma, df, r2, float(xm), sxx, bread @ meat @ bread)


@dataclass
class LogitFit:
    a: float
    b: float
    cov: np.ndarray          # quasi-binomial covariance of (a, b) (phi-scaled when phi > 1)
    cov_binomial: np.ndarray  # inverse Fisher information, binomial variance
    phi: float               # Pearson dispersion: chi2 / (classes - 2)
    tau2: float              # between-class variance of the true logit around the line
    deviance: float
    iterations: int
    converged: bool

    @property
    def se_a(self) -> float:
        return float(np.sqrt(self.cov[0, 0]))

    @property
    def se_b(self) -> float:
        return float(np.sqrt(self.cov[1, 1]))

    def ci(self, level: float = 0.95) -> dict:
        z = stats.norm.ppf(0.5 + level / 2)
        return {"a": (self.a - z * self.se_a, self.a + z * self.se_a),
                "b": (self.b - z * self.se_b, self.b + z * self.se_b)}

    def eta(self, x):
        return self.a + self.b * np.asarray(x, float)

    def predict(self, x, level: float = 0.95) -> dict:
        """Fitted accuracy with its confidence band (the line) and the band for one new class."""
        return logit_bands(self.eta(x), x, self.cov, self.tau2, level)


def logit_bands(eta, x, cov, new_class_var: float, level: float = 0.95) -> dict:
    """expit of a fitted line with its confidence band (the covariance of (a, b)) and the band for one
    new class (adding the between-class variance on the logit scale)."""
    x = np.asarray(x, float)
    z = stats.norm.ppf(0.5 + level / 2)
    var = cov[0, 0] + 2 * x * cov[0, 1] + x * x * cov[1, 1]
    se, se_pred = np.sqrt(var), np.sqrt(var + new_class_var)
    return {"mean": special.expit(eta), "mean_lo": special.expit(eta - z * se),
            "mean_hi": special.expit(eta + z * se), "pred_lo": special.expit(eta - z * se_pred),
            "pred_hi": special.expit(eta + z * se_pred)}


def empirical_logit(correct, n) -> tuple[np.ndarray, np.ndarray]:
    """log((c + 0.5) / (n - c + 0.5)) and its approximate sampling variance."""
    c, n = np.asarray(correct, float), np.asarray(n, float)
    return np.log((c + 0.5) / (n - c + 0.5)), 1 / (c + 0.5) + 1 / (n - c + 0.5)


def logit_fit(x, correct, n, max_iter: int = 100, tol: float = 1e-10) -> LogitFit:
    x, c, n = (np.asarray(v, float) for v in (x, correct, n))
    keep = n > 0
    x, c, n = x[keep], c[keep], n[keep]
    if len(x) < 3 or np.ptp(x) == 0:
        raise ValueError("the logit fit needs at least 3 classes with different frequencies")
    X = np.column_stack([np.ones_like(x), x])
    y = c / n
    beta = np.zeros(2)
    beta[0] = special.logit(np.clip(y.mean(), 1e-3, 1 - 1e-3))
    converged, iterations = False, 0
    while iterations < max_iter and not converged:  # iteratively reweighted least squares
        iterations += 1
        eta = X @ beta
        mu = special.expit(eta)
        w = n * mu * (1 - mu)
        w = np.maximum(w, 1e-12)
        z = eta + (y - mu) / np.maximum(mu * (1 - mu), 1e-12)
        XtW = X.T * w
        new = np.linalg.solve(XtW @ X, XtW @ z)
        converged = bool(np.max(np.abs(new - beta)) < tol)
        beta = new
    eta = X @ beta
    mu = special.expit(eta)
    w = n * mu * (1 - mu)
    cov_bin = np.linalg.inv((X.T * w) @ X)
    pearson = float((((c - n * mu) ** 2) / np.maximum(n * mu * (1 - mu), 1e-12)).sum())
    phi = pearson / (len(x) - 2)
    cov = cov_bin * max(phi, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev_terms = np.where(c > 0, c * np.log(c / (n * mu)), 0) + \
            np.where(n - c > 0, (n - c) * np.log((n - c) / (n * (1 - mu))), 0)
    emp, v = empirical_logit(c, n)
    tau2 = max(0.0, float(np.mean((emp - eta) ** 2 - v)))
    return LogitFit(float(beta[0]), float(beta[1]), cov, cov_bin, float(phi), tau2,
                    float(2 * dev_terms.sum()), iterations, converged)


def binned_means(x, y, bins: int = 10) -> list[dict]:
    """The literature's figure: equal-width bins of x, mean y per bin (descriptive only)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    edges = np.linspace(x.min(), x.max(), bins + 1)
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
    rows = []
    for k in range(bins):
        sel = which == k
        if sel.any():
            rows.append({"bin": k, "x_lo": float(edges[k]), "x_hi": float(edges[k + 1]),
                         "x_mid": float((edges[k] + edges[k + 1]) / 2), "classes": int(sel.sum()),
                         "mean_accuracy": float(y[sel].mean())})
    return rows


# -- the overdispersed bounded fit ---------------------------------------------------------------

GH_NODES = 20


@dataclass
class GLMMFit:
    """Logit-normal random-intercept model: correct_i ~ Binomial(n_i, expit(a + b x_i + u_i)),
    u_i ~ N(0, sigma^2), fitted by maximum marginal likelihood (adaptive Gauss-Hermite quadrature).

    b is the CLASS-LEVEL slope: how one class's logit moves with its frequency (the population-average
    slope of `logit_fit` is attenuated towards 0 by the spread sigma). cov is the inverse observed
    information of (a, b, log sigma).
    """
    a: float
    b: float
    sigma: float
    cov: np.ndarray
    loglik: float
    converged: bool

    @property
    def se_b(self) -> float:
        return float(np.sqrt(self.cov[1, 1]))

    def ci(self, level: float = 0.95) -> dict:
        z = stats.norm.ppf(0.5 + level / 2)
        se = np.sqrt(np.diag(self.cov))
        log_s = np.log(self.sigma)
        return {"a": (self.a - z * se[0], self.a + z * se[0]), "b": (self.b - z * se[1], self.b + z * se[1]),
                "sigma": (float(np.exp(log_s - z * se[2])), float(np.exp(log_s + z * se[2])))}

    def eta(self, x):
        return self.a + self.b * np.asarray(x, float)

    def predict(self, x, level: float = 0.95) -> dict:
        """Accuracy of the median class (u = 0) with its confidence band, and the band for one new class."""
        return logit_bands(self.eta(x), x, self.cov, self.sigma ** 2, level)

    def class_effects(self, x, correct, n) -> tuple[np.ndarray, np.ndarray]:
        """Each class's own logit a + b x_i + u_i: posterior mean and variance given its counts."""
        return class_posterior(self.a, self.b, self.sigma, x, correct, n)

    def outlier_pvalues(self, x, correct, n) -> np.ndarray:
        """Two-sided p of each class's correct count under the fitted model (its binomial noise AND the
        between-class spread): p = min(1, 2 min(P(Y <= c), P(Y >= c))) from the marginal distribution."""
        return marginal_pvalues(self.a, self.b, self.sigma, x, correct, n)


def _gh() -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the integral of f(t) exp(-t^2 / 2) dt."""
    return np.polynomial.hermite_e.hermegauss(GH_NODES)


def _binomial_const(c, n) -> np.ndarray:
    return special.gammaln(n + 1) - special.gammaln(c + 1) - special.gammaln(n - c + 1)


def _adaptive_nodes(a, b, sigma, x, c, n) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive Gauss-Hermite: per class, nodes z_ik centred on the mode of its integrand over the
    standardised class effect z (Newton steps) and scaled by its curvature. Returns z (classes x
    nodes) and log weights with the N(0, 1) density folded in: the integral of f(z) phi(z) dz is
    sum_k exp(logw_ik) f(z_ik)."""
    base = a + b * x
    z = np.zeros_like(x)
    for _ in range(25):
        p = special.expit(base + sigma * z)
        grad = sigma * (c - n * p) - z
        hess = -sigma ** 2 * n * p * (1 - p) - 1
        step = grad / hess
        z = z - step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = special.expit(base + sigma * z)
    scale = 1 / np.sqrt(sigma ** 2 * n * p * (1 - p) + 1)
    t, w = _gh()
    nodes = z[:, None] + scale[:, None] * t[None, :]
    logw = (np.log(w) + t ** 2 / 2)[None, :] + np.log(scale)[:, None] + stats.norm.logpdf(nodes)
    return nodes, logw


def _node_terms(a, b, sigma, x, c, n) -> tuple[np.ndarray, np.ndarray]:
    """Per class and adaptive node: log(weight x phi x Binomial likelihood), and the node's eta."""
    z, logw = _adaptive_nodes(a, b, sigma, x, c, n)
    eta = (a + b * x)[:, None] + sigma * z
    loglik = _binomial_const(c, n)[:, None] + c[:, None] * eta - n[:, None] * np.logaddexp(0, eta)
    return logw + loglik, eta


def class_posterior(a, b, sigma, x, correct, n) -> tuple[np.ndarray, np.ndarray]:
    x, c, n = (np.asarray(v, float) for v in (x, correct, n))
    terms, eta = _node_terms(a, b, sigma, x, c, n)
    post = np.exp(terms - special.logsumexp(terms, axis=1, keepdims=True))
    mean = (post * eta).sum(axis=1)
    return mean, (post * (eta - mean[:, None]) ** 2).sum(axis=1)


P_GRID = np.linspace(-8, 8, 321)


def marginal_pvalues(a, b, sigma, x, correct, n) -> np.ndarray:
    x, c, n = (np.asarray(v, float) for v in (x, correct, n))
    dz = P_GRID[1] - P_GRID[0]
    w = stats.norm.pdf(P_GRID) * dz                                    # the class effect, on a fine grid
    w = w / w.sum()
    out = np.full(len(x), np.nan)
    for size in np.unique(n[n > 0]):
        sel = np.flatnonzero(n == size)
        k = np.arange(int(size) + 1)
        eta = (a + b * x[sel])[:, None] + sigma * P_GRID[None, :]                       # classes x grid
        log_pmf = (_binomial_const(k, size)[None, :, None] + k[None, :, None] * eta[:, None, :]
                   - size * np.logaddexp(0, eta)[:, None, :])                            # classes x k x grid
        pmf = np.einsum("ikn,n->ik", np.exp(log_pmf), w)
        cdf = np.cumsum(pmf, axis=1)
        rows, ci = np.arange(len(sel)), c[sel].astype(int)
        below = cdf[rows, ci]
        above = 1 - cdf[rows, ci] + pmf[rows, ci]
        out[sel] = np.minimum(1.0, 2 * np.minimum(below, above))
    return out


def _neg_loglik_and_grad(theta, x, c, n) -> tuple[float, np.ndarray]:
    """Minus the marginal log-likelihood of (a, b, log sigma) and its gradient (posterior-weighted scores)."""
    a, b, log_s = theta
    sigma = np.exp(log_s)
    terms, eta = _node_terms(a, b, sigma, x, c, n)
    li = special.logsumexp(terms, axis=1, keepdims=True)
    post = np.exp(terms - li)
    u = eta - (a + b * x)[:, None]                                     # sigma z at each node
    score = post * (c[:, None] - n[:, None] * special.expit(eta))     # d log L_i / d eta at each node
    grad = np.array([score.sum(), (score.sum(axis=1) * x).sum(), (score * u).sum()])
    return -float(li.sum()), -grad


def glmm_fit(x, correct, n) -> GLMMFit:
    x, c, n = (np.asarray(v, float) for v in (x, correct, n))
    keep = n > 0
    x, c, n = x[keep], c[keep], n[keep]
    if len(x) < 3 or np.ptp(x) == 0:
        raise ValueError("the random-intercept fit needs at least 3 classes with different frequencies")
    start = logit_fit(x, c, n)
    theta0 = np.array([start.a, start.b, 0.5 * np.log(max(start.tau2, 0.01))])
    res = optimize.minimize(_neg_loglik_and_grad, theta0, args=(x, c, n), jac=True, method="BFGS",
                            options={"gtol": 1e-7, "maxiter": 500})
    theta = res.x
    cov = np.linalg.inv(_jacobian(lambda t: _neg_loglik_and_grad(t, x, c, n)[1], theta))
    return GLMMFit(float(theta[0]), float(theta[1]), float(np.exp(theta[2])), (cov + cov.T) / 2,
                   float(-res.fun), bool(res.success or np.max(np.abs(res.jac)) < 1e-3))


def _jacobian(g, theta, h: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of the gradient g at theta: the observed information."""
    k = len(theta)
    return np.column_stack([(g(theta + np.eye(k)[i] * h) - g(theta - np.eye(k)[i] * h)) / (2 * h)
                            for i in range(k)])


def within_cluster(x, y, groups, level: float = 0.95) -> dict:
    """The OLS slope of y on x within clusters (cluster fixed effects: both demeaned per cluster) with a
    cluster-robust (CR1) interval, and the share of the variance of y between clusters (ICC(1), the
    one-way ANOVA estimator)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    codes = pd.factorize(pd.Series(np.asarray(groups, dtype=object)).astype(str))[0]
    G, N = codes.max() + 1, len(x)
    size = np.bincount(codes, minlength=G).astype(float)
    xd = x - (np.bincount(codes, x, G) / size)[codes]
    yd = y - (np.bincount(codes, y, G) / size)[codes]
    sxx = float((xd * xd).sum())
    out = {"within_b": np.nan, "within_b_lo": np.nan, "within_b_hi": np.nan, "icc_between": np.nan}
    if sxx > 0 and G > 1:
        b = float((xd * yd).sum() / sxx)
        score = np.bincount(codes, xd * (yd - b * xd), G)
        # CR1; the cluster effects are nested in the clusters, so they do not count as parameters
        var = (score ** 2).sum() / sxx ** 2 * G / (G - 1) * (N - 1) / max(N - 2, 1)
        t = stats.t.ppf(0.5 + level / 2, G - 1)
        out.update(within_b=b, within_b_lo=b - t * np.sqrt(var), within_b_hi=b + t * np.sqrt(var))
    if G > 1 and N > G:
        means = np.bincount(codes, y, G) / size
        msb = float((size * (means - y.mean()) ** 2).sum() / (G - 1))
        msw = float(((y - means[codes]) ** 2).sum() / (N - G))
        n0 = (N - (size ** 2).sum() / N) / (G - 1)
        out["icc_between"] = float(max(0.0, (msb - msw) / (msb + (n0 - 1) * msw))) if msb + (n0 - 1) * msw > 0 else np.nan
    return out
