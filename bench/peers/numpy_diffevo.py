"""Diffusion Evolution (docs/algorithm.md §3-§5) in NumPy, float64, vectorized: the "same algorithm in NumPy"
that the cpu backend is compared with. Written for this comparison; it follows the same equations
as the library (energy/identity density, log-domain softmax with the self term, DDIM update)."""
import numpy as np


def cosine_alphas(T, s=0.008):
    # Must match diffevo's make_schedule(cosine); only the timing matters here, not bit equality.
    t = np.arange(T) / (T - 1)
    f = np.cos((t + s) / (1 + s) * np.pi / 2) ** 2
    a = f / f[0]
    return np.clip(a[::-1], 1e-4, 0.9999)


class DiffusionEvolution:
    def __init__(self, n, d, T, eta=1.0, latent=0, scale=1.0, seed=0):
        self.rng = np.random.default_rng(seed)
        self.x = self.rng.standard_normal((n, d))
        self.alphas = cosine_alphas(T)
        self.eta, self.scale, self.t = eta, scale, 0
        self.E = None
        if latent:
            E = self.rng.standard_normal((latent, d))
            self.E = E / np.linalg.norm(E, axis=1, keepdims=True)

    def done(self):
        return self.t >= len(self.alphas) - 1

    def ask(self):
        return self.scale * self.x

    def tell(self, g):
        a_t, a_p = self.alphas[self.t], self.alphas[self.t + 1]
        q = self.x if self.E is None else self.x @ self.E.T
        s = np.sqrt(a_t)
        # ||q_i - s q_j||^2 = |q_i|^2 - 2 s q_i.q_j + a |q_j|^2 (float64)
        n2 = np.sum(q * q, axis=1)
        d2 = n2[:, None] - 2 * s * (q @ q.T) + a_t * n2[None, :]
        with np.errstate(divide="ignore"):
            logw = np.log(np.maximum(g, 0))[None, :] - d2 / (2 * (1 - a_t))
        logw -= logw.max(axis=1, keepdims=True)
        w = np.exp(logw)
        w /= w.sum(axis=1, keepdims=True)
        x0 = w @ self.x
        eps = (self.x - s * x0) / np.sqrt(1 - a_t)
        sigma = self.eta * np.sqrt((1 - a_p) / (1 - a_t) * (1 - a_t / a_p))
        c = np.sqrt(max(1 - a_p - sigma ** 2, 0.0))
        self.x = np.sqrt(a_p) * x0 + c * eps + sigma * self.rng.standard_normal(self.x.shape)
        self.t += 1
        return x0
