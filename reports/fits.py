"""The two cross-class fits of accuracy on x = log10(docs + 1), with intervals.

- `ols_fit`: accuracy = a + b x, least squares (the literature's linear view; unbounded).
- `logit_fit`: correct_i ~ Binomial(n_i, expit(a + b x_i)), fitted by IRLS (iteratively reweighted
  least squares, i.e. Fisher scoring for the logit link). Classes differ far more than binomial
  noise allows, so intervals use the quasi-binomial covariance (scaled by the Pearson dispersion
  phi when phi > 1), and predictions for a single class add the between-class variance tau^2 on
  the logit scale (method of moments on empirical logits).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats


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

    def ci(self, level: float = 0.95) -> dict:
        t = stats.t.ppf(0.5 + level / 2, self.df)
        return {"a": (self.a - t * self.se_a, self.a + t * self.se_a),
                "b": (self.b - t * self.se_b, self.b + t * self.se_b)}

    def predict(self, x, level: float = 0.95) -> dict:
        """Mean line with its confidence band and the prediction band for one new class."""
        x = np.asarray(x, float)
        t = stats.t.ppf(0.5 + level / 2, self.df)
        mean = self.a + self.b * x
        se_mean = self.sigma * np.sqrt(1 / (self.df + 2) + (x - self.x_mean) ** 2 / self.sxx)
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
    return OLSFit(a, b, float(se_a), float(se_b), cov, sigma, df, r2, float(xm), sxx)


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
        x = np.asarray(x, float)
        z = stats.norm.ppf(0.5 + level / 2)
        eta = self.eta(x)
        var = self.cov[0, 0] + 2 * x * self.cov[0, 1] + x * x * self.cov[1, 1]
        se = np.sqrt(var)
        se_pred = np.sqrt(var + self.tau2)
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
