"""Full-batch training with L-BFGS through SciPy, as scikit-learn's ``_fit_lbfgs``.

``scipy.optimize.minimize(method="L-BFGS-B", jac=True)`` minimises ``J`` over the flat
parameter vector, packed in scikit-learn's order (all ``coefs_``, then all
``intercepts_``), with ``maxiter=max_iter``, ``maxfun=max_fun`` and ``gtol=tol``. ``J`` and
its gradient come from the same function (``_objective.loss_grad``), so they always belong
together, for several outputs too (scikit-learn #8349).

Beyond scikit-learn, ``loss_curve_`` records ``J`` after every iteration, and
``validation_loss_curve_`` the validation loss when validation data are given. With batch
normalisation the statistics of the whole training set are used, and kept for prediction.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..propagation import forward
from ._network import sklearn_order
from ._objective import data_loss, loss_grad


def _check_result(result: Any, max_iter: int) -> int:
    """``n_iter_``; warns as scikit-learn does when L-BFGS did not converge."""
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        msg = (f"lbfgs failed to converge after {n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
        if n_iter == max_iter:
            msg += ("\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={max_iter}).")
        msg += ("\nYou might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(msg, ConvergenceWarning, stacklevel=4)
    return n_iter


def fit_lbfgs(est: Any, X, Y, sw, validation) -> None:
    """Train ``est.network_`` in place (see module docstring)."""
    net = est.network_
    params = net.params
    order = sklearn_order(net)
    est.engine_ = "numpy"
    est.engine_reason_ = "solver='lbfgs' (SciPy's L-BFGS-B on the NumPy passes)"
    batch_norm = any(g.batch_norm for g in net.plan.groups)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        params[order] = x
        loss, grad, _ = loss_grad(est, params, X, Y, sw, training=batch_norm)
        return loss, grad[order].astype(np.float64)

    def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        est.loss_curve_.append(float(intermediate_result.fun))
        if est.verbose:
            print(f"Iteration {len(est.loss_curve_)}, loss = {est.loss_curve_[-1]:.8f}")
        if validation is not None:
            params[order] = intermediate_result.x
            if batch_norm:
                _keep_batch_statistics(net, X)
            X_val, Y_val, _, sw_val = validation
            est.validation_loss_curve_.append(data_loss(est, X_val, Y_val, sw_val))

    result = scipy.optimize.minimize(
        fun, params[order].astype(np.float64), method="L-BFGS-B", jac=True,
        callback=callback,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol})
    est.n_iter_ = _check_result(result, est.max_iter)
    est.loss_ = float(result.fun)
    params[order] = result.x
    if batch_norm:
        _keep_batch_statistics(net, X)


def _keep_batch_statistics(net: Any, X) -> None:
    """Store the training-set batch-norm statistics as the ones used for prediction."""
    cache = forward(net.plan, net.params, X, training=True, bn_state=net.bn_state)
    for layer, (_, _, mu, var) in cache.bn.items():
        net.bn_state[layer] = (mu.astype(net.dtype), var.astype(net.dtype))
