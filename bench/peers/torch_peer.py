"""PyTorch peers, shared by compare_cpu.py and compare_gpu.py: the same algorithm as numpy_diffevo.py
written in PyTorch (float32, Gram distances, one softmax and one matrix product per generation), the
authors' PyTorch package (`diffevo` on PyPI) as published, and a batched PyTorch cart-pole."""
import math


def torch_setup(device):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = False  # full float32, as diffevo's cuBLAS pedantic mode
    torch.backends.cudnn.allow_tf32 = False
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return torch, sync


def cosine_alphas(torch, T, device):
    k = torch.arange(T, dtype=torch.float64)
    c = (torch.cos(math.pi * k / (T - 1)) + 1) / 2
    return ((c + 1e-3) * (1 - 1e-3) / (1 + 1e-3)).to(device)


def torch_update(torch, x, log_g, a_t, a_p, E=None, eta=1.0):
    """One generation of docs/algorithm.md §4 in PyTorch float32 (numpy_diffevo.py's algorithm)."""
    q = x if E is None else x @ E.T
    s = math.sqrt(a_t)
    n2 = (q * q).sum(1)
    d2 = n2[:, None] - 2 * s * (q @ q.T) + a_t * n2[None, :]
    w = torch.softmax(log_g[None, :] - d2 / (2 * (1 - a_t)), dim=1)
    x0 = w @ x
    eps = (x - s * x0) / math.sqrt(1 - a_t)
    sigma = eta * math.sqrt((1 - a_p) / (1 - a_t) * (1 - a_t / a_p))
    c = math.sqrt(max(1 - a_p - sigma * sigma, 0.0))
    return math.sqrt(a_p) * x0 + c * eps + sigma * torch.randn_like(x)


def himmelblau_density_torch(torch, p):
    x, y = p[:, 0], p[:, 1]
    f = (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2
    f = torch.where((x.abs() > 4) | (y.abs() > 4), torch.full_like(f, 100.0), f)
    floor = math.exp(-308.803 / 17.01)
    return torch.clamp((torch.exp(-f / 17.01) - floor) / (1 - floor), min=0)


def torch_whole_run(torch, device):
    def once():
        x = torch.randn(512, 2, device=device)
        alphas = cosine_alphas(torch, 25, device).tolist()
        for k in range(24):
            g = himmelblau_density_torch(torch, 4 * x)
            x = torch_update(torch, x, torch.log(g), alphas[24 - k], alphas[23 - k], eta=0.1)
        himmelblau_density_torch(torch, 4 * x)
    return once


def authors_whole_run(torch, device):
    from diffevo import BayesianGenerator, DDIMSchedulerCosine

    def once():
        x = torch.randn(512, 2, device=device)
        for _, alpha in DDIMSchedulerCosine(num_step=25):
            g = himmelblau_density_torch(torch, 4 * x)
            x = BayesianGenerator(x, g, alpha)(noise=0.1)
        himmelblau_density_torch(torch, 4 * x)
    return once


def torch_cell(torch, device, n, d, latent):
    x = torch.randn(n, d, device=device)
    log_g = torch.randn(n, device=device)
    E = None
    if latent:
        E = torch.randn(latent, d, device=device)
        E = E / E.norm(dim=1, keepdim=True)
    return lambda: torch_update(torch, x, log_g, 0.5, 0.6, E)


def authors_cell(torch, device, n, d, latent):
    from diffevo import BayesianGenerator, LatentBayesianGenerator, RandomProjection
    x = torch.randn(n, d, device=device)
    g = torch.exp(torch.randn(n, device=device))
    alpha = (torch.tensor(0.5), torch.tensor(0.6))
    if latent:
        rp = RandomProjection(d, latent, normalize=True).to(device)
        return lambda: LatentBayesianGenerator(x, rp(x).detach(), g, alpha)(noise=1.0)
    return lambda: BayesianGenerator(x, g, alpha)(noise=1.0)


def torch_cartpole(torch, device, n, widths, max_steps=500):
    """docs/algorithm.md §7 cart-pole for n MLP controllers at once (float32 PyTorch, batched matrix products)."""
    # The controllers of `diffevo-bench throughput`: u = theta + theta_dot pushed through every layer
    # (relu(u), relu(-u)), plus N(0, 0.05^2) on every parameter, so episodes last a varied while.
    layers = []
    for li, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        W = 0.05 * torch.randn(n, b, a, device=device)
        if li == 0:
            W[:, 0, 2] += 1
            W[:, 0, 3] += 1
            W[:, 1, 2] -= 1
            W[:, 1, 3] -= 1
        elif li + 2 < len(widths):
            W[:, 0, 0] += 1
            W[:, 1, 1] += 1
        else:
            W[:, 1, 0] += 1
            W[:, 0, 1] += 1
        layers.append((W, 0.05 * torch.randn(n, b, device=device)))
    high = torch.tensor([4.8, 1.0, 0.41887902, 1.0], device=device)

    def once():
        s = (torch.rand(n, 4, device=device) - 0.5) * 0.1
        alive = torch.ones(n, dtype=torch.bool, device=device)
        ret = torch.zeros(n, device=device)
        for t in range(max_steps):
            h = s / high * math.sqrt(3)
            for li, (W, b) in enumerate(layers):
                h = torch.bmm(W, h.unsqueeze(2)).squeeze(2) + b
                if li + 1 < len(layers):
                    h = torch.relu(h)
            F = torch.where(h[:, 1] > h[:, 0], 10.0, -10.0)
            x, xd, th, thd = s.unbind(1)
            sin, cos = torch.sin(th), torch.cos(th)
            tmp = (F + 0.05 * thd * thd * sin) / 1.1
            thacc = (9.8 * sin - cos * tmp) / (0.5 * (4.0 / 3 - 0.1 * cos * cos / 1.1))
            xacc = tmp - 0.05 * thacc * cos / 1.1
            s = torch.stack([x + 0.02 * xd, xd + 0.02 * xacc, th + 0.02 * thd, thd + 0.02 * thacc], 1)
            ret += alive
            alive &= ~((s[:, 0].abs() > 2.4) | (s[:, 2].abs() > 12 * 2 * math.pi / 360))
            if t % 50 == 49 and not bool(alive.any()):  # one host sync every 50 steps
                break
        once.steps = float(ret.sum())
        return ret
    once.steps = 0.0
    return once
