"""The plugin author's kit: contract checks a plugin's own tests run against its own components.

What a run relies on is more than the base classes' signatures (outputs in range, masks reproducible
from the seed, one score per image, ...); a component that breaks it fails a run, or worse, skews its
numbers. Each check here runs the component the way the runner does and raises ``ContractError`` (an
AssertionError, so pytest shows it as a failed test) naming the component and every violated clause;
it returns None when the contract holds. Nothing needs a download: images come from scikit-image's
bundled photos (the ``samples`` dataset's test split). The built-in components are held to the same
checks in inpaintbench's own tests.

- ``check_model(model, *, image_size=64, batch_size=3, regimes=("center", "random"), device="cpu",
  seed=0, atol=0.0, batch_atol=1e-5)``: ``model`` already prepared; ``regimes`` are specs of
  registered mask generators. Each call goes through ``inpaint_sealed``, as in a run. Clauses: the raw
  output is a floating tensor of the batch's shape, on its device, finite, in [0, 1]; the scored
  prediction equals the original outside the hole; the batch is sealed and carries the image ids and
  regime; nothing the model does to its batch reaches the runner's images or the score; equal calls
  give equal outputs (bit for bit unless ``atol`` > 0, for nondeterministic GPU kernels); altering
  only the hidden pixels changes nothing; an image inpainted alone gets what it gets inside the batch
  (within ``batch_atol``: a batch of one may run other kernels).
- ``check_mask(generator, *, sizes=((64, 64), (96, 128)), n=16, seed=0)``: every mask is H x W and
  binary, redraws equal from equal seeds (interleaved, so global or kept state shows), and falls in the
  declared ``hole_ratio`` when one is declared.
- ``check_metric(metric, *, device="cpu", image_size=32, batch_size=4)``: ``higher_is_better`` is
  declared as a bool; ``compute`` returns shape (N,); a prediction equal to the target scores at least
  as well as a noisy one, image by image; scores do not depend on batch-mates; inputs are not edited;
  equal calls agree. ``MetricUnavailable`` from ``setup`` propagates (skip the test on it if you like).
- ``check_set_metric(metric, *, device="cpu", image_size=64, n=6)``: for a ``SetMetric`` (FID-like):
  ``higher_is_better`` declared; ``features`` gives a real, finite n x D array, the same for an image
  alone as in a batch and on equal calls, without editing its input; the ground truth's features
  against themselves score at least as well as a noisy copy's.
- ``check_dataset(dataset, *, image_size=32, splits=("test",), limit=50)``: each split yields samples
  with unique string ids and float H x W x 3 images in [0, 1] at the size asked for; ``skipped``
  entries name a ``path`` and a ``reason``.
- ``check_registration(plugin) -> dict[str, list[str]]``: the hooks of a plugin module register only
  classes the host accepts (a name, ``higher_is_better`` on metrics, a description, no clash with a
  built-in); returns the names registered by kind.
- ``prepare_context(*, cache_dir=None, **overrides) -> PrepareContext``: a valid context for
  ``Model.prepare`` in tests (the ``samples`` train split, CPU, seed 0, 64 px, center and random).

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
    "check_dataset",
    "check_mask",
    "check_metric",
    "check_model",
    "check_registration",
    "check_set_metric",
    "prepare_context",
]
