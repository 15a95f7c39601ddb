"""The plugin author's kit: contract checks a plugin's own tests run against its own components.

What a run relies on is more than the base classes' signatures (outputs in range, masks reproducible
from the seed, one score per image, ...); a component that breaks it fails a run, or worse, skews its
numbers. Each check here runs the component the way the runner does and raises ``ContractError`` (an
AssertionError, so pytest shows it as a failed test) naming the component and every violated clause;
it returns None when the contract holds. Nothing needs a download: images come from scikit-image's
bundled photos (the ``samples`` dataset's test split). The built-in components are held to the same
checks in inpaintbench's own tests.

The checks (``check_model``, ``check_mask``, ``check_metric``, ``check_set_metric``,
``check_dataset``, ``check_registration``), ``prepare_context``, and the in-process command line
(``invoke``, ``run_rows``), with their signatures and clauses,
are tabled once in docs/plugins.md ("Testing a plugin"); a test holds that table to the code.

Example, in a plugin's ``tests/test_contract.py`` (``inpaintbench new plugin NAME`` writes one)::

    from inpaintbench.testing import check_metric, check_model, check_registration, prepare_context

    import my_plugin
    from my_plugin import MyMetric, MyModel

    def test_registration():
        assert check_registration(my_plugin) == {"model": ["my_model"], "metric": ["my_metric"]}

    def test_model(tmp_path):
        model = MyModel()
        model.prepare(prepare_context(cache_dir=tmp_path))
        check_model(model)

    def test_metric():
        check_metric(MyMetric())
"""

from .cli import Result, invoke, run_rows
from .dataset import check_dataset
from .inputs import prepare_context
from .mask import check_mask
from .metric import check_metric
from .model import check_model
from .registration import check_registration
from .report import ContractError
from .set_metric import check_set_metric

__all__ = [
    "ContractError",
    "Result",
    "check_dataset",
    "check_mask",
    "check_metric",
    "check_model",
    "check_registration",
    "check_set_metric",
    "invoke",
    "prepare_context",
    "run_rows",
]
