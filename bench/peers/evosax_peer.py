"""evosax's DiffusionEvolution as a peer, shared by compare_cpu.py and compare_gpu.py: the whole 2-D
run (N = 512, T = 25 populations, Himmelblau density as in docs/algorithm.md §6 with scale 4) under jit + lax.scan."""


def whole_run():
    """Returns (a callable that runs once and waits for the device, a description)."""
    import jax
    import jax.numpy as jnp
    from evosax.algorithms import DiffusionEvolution as EDE

    es = EDE(population_size=512, solution=jnp.zeros(2), num_generations=25)
    params = es.default_params

    def density(x):
        x4 = 4.0 * x
        f = (x4[:, 0] ** 2 + x4[:, 1] - 11) ** 2 + (x4[:, 0] + x4[:, 1] ** 2 - 7) ** 2
        f = jnp.where((jnp.abs(x4[:, 0]) > 4) | (jnp.abs(x4[:, 1]) > 4), 100.0, f)
        return jnp.exp(-f / 17.01)

    @jax.jit
    def run(key):
        state = es.init(key, jnp.zeros((512, 2)), jnp.zeros(512), params)

        def step(carry, _):
            key, state = carry
            key, k1, k2 = jax.random.split(key, 3)
            pop, state = es.ask(k1, state, params)
            state, _ = es.tell(k2, pop, -density(pop), state, params)  # evosax minimizes
            return (key, state), None

        (key, state), _ = jax.lax.scan(step, (key, state), None, length=24)
        return state

    key = jax.random.key(0)
    note = f"evosax DiffusionEvolution, jax {jax.__version__} {jax.devices()[0].platform}, jit + lax.scan"
    return (lambda: jax.block_until_ready(run(key))), note


def update_cell(n, d, latent):
    """One update of evosax's DiffusionEvolution on a random population of n x d (latent: its random
    projection to `latent` dimensions; 0: plain), as diffevo-bench speed times one tell: evosax updates
    in ask(), jitted, on a state holding the population and its fitness. Returns (a callable that runs
    once and waits, a description), or (None, why not): evosax's x0 materializes an n x n x k array
    (k = latent or d), and a plain run projects through a d x d identity."""
    k = latent if latent else d
    need = 4.0 * n * n * k + (0.0 if latent else 4.0 * d * d)
    if need > 4e9:
        return None, f"not run: evosax's update needs {need / 1e9:.0f} GB (an n x n x k array)"
    import jax
    import jax.numpy as jnp
    from evosax.algorithms import DiffusionEvolution as EDE

    es = EDE(population_size=n, solution=jnp.zeros(d), num_generations=8, num_latent_dims=latent or None)
    params = es.default_params
    key = jax.random.key(1)
    population = jax.random.normal(key, (n, d))
    fitness = jax.random.normal(jax.random.key(2), (n,))
    state = es.init(key, population, fitness, params)
    ask = jax.jit(es.ask)
    return (lambda: jax.block_until_ready(ask(key, state, params))), f"evosax, jax {jax.__version__}"
