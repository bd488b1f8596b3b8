"""Training checkpoints; moved to :mod:`deltanet.training.checkpoints` (this name stays)."""

from .training.checkpoints import (  # noqa: F401
    ARRAYS,
    DIGESTS,
    FORMAT,
    VERSION,
    Checkpoint,
    check_fingerprint,
    digest,
    from_json,
    load_checkpoint,
    network_digest,
    restore_run,
    rng_state,
    save_run,
    set_rng_state,
    state_from_parts,
    state_parts,
    to_json,
    write,
)
