"""The networks against the released models (train.lua), layer by layer: every output shape from a
real forward pass of the 4000-unit network, exact parameter counts and multiply-accumulates worked out by hand
from the layer tables, bias-free convolutions, DCGAN initialisation statistics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from inpaintbench_context_encoder.networks import (
    ChannelwiseFC,
    CodeConv,
    CodeDeconv,
    ConditionalDiscriminator,
    Discriminator,
    Generator,
    init_dcgan,
)
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

CONVS = (nn.Conv2d, nn.ConvTranspose2d, ChannelwiseFC)

# Hand counts, 4x4 kernels (16 weights per input-output channel pair), no biases, BN = 2 per channel.
ENCODER_WEIGHTS = 16 * (3 * 64 + 64 * 64 + 64 * 128 + 128 * 256 + 256 * 512)  # 2,820,096
ENCODER_BN = 2 * (64 + 128 + 256 + 512)  # E2-E5: 1,920
CODE_4000 = 16 * 512 * 4000 * 2 + 2 * 4000 + 2 * 512  # conv + transposed conv + BN: 65,545,024
DECODER_WEIGHTS = 16 * (512 * 256 + 256 * 128 + 128 * 64 + 64 * 3)  # D2-D5: 2,755,584
DECODER_BN = 2 * (256 + 128 + 64)  # D2-D4: 896
GENERATOR_4000 = 71_124_544
DISCRIMINATOR_64 = 2_765_568


def test_hand_counts_add_up():
    """The per-part sums behind the constants (about 71.1M for the 4000-unit generator, 2.77M for the
    discriminator)."""
    assert ENCODER_WEIGHTS + ENCODER_BN + CODE_4000 + DECODER_WEIGHTS + DECODER_BN == GENERATOR_4000
    d_weights = 16 * (3 * 64 + 64 * 128 + 128 * 256 + 256 * 512 + 512 * 1)
    assert d_weights + 2 * (128 + 256 + 512) == DISCRIMINATOR_64


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def on_meta(build):
    """Build a network without allocating or initialising its weights (counts and FLOPs only)."""
    with torch.device("meta"):
        return build()


def layer_shapes(net: nn.Module, *inputs: torch.Tensor) -> list[tuple[str, tuple[int, ...]]]:
    """(layer class, output shape) of every convolution-like layer, in call order, in eval mode."""
    seen: list[tuple[str, tuple[int, ...]]] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: seen.append((type(m).__name__, tuple(o.shape[1:]))))
        for m in net.modules()
        if isinstance(m, CONVS)
    ]
    with torch.no_grad():
        net.eval()(*inputs)
    for h in hooks:
        h.remove()
    return seen


@pytest.fixture(scope="module")
def centre_generator() -> Generator:
    """The released centre network (4000-unit code), DCGAN-initialised with seed 0."""
    torch.manual_seed(0)
    gen = Generator(64, 4000)
    init_dcgan(gen)
    return gen


ENCODER_SHAPES = [
    ("Conv2d", (64, 64, 64)),
    ("Conv2d", (64, 32, 32)),
    ("Conv2d", (128, 16, 16)),
    ("Conv2d", (256, 8, 8)),
    ("Conv2d", (512, 4, 4)),
    ("CodeConv", (4000, 1, 1)),
    ("CodeDeconv", (512, 4, 4)),
    ("ConvTranspose2d", (256, 8, 8)),
    ("ConvTranspose2d", (128, 16, 16)),
    ("ConvTranspose2d", (64, 32, 32)),
]


def test_centre_generator_layer_shapes(centre_generator):
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    assert layer_shapes(centre_generator, x) == [*ENCODER_SHAPES, ("ConvTranspose2d", (3, 64, 64))]
    out = centre_generator(x)
    assert out.shape == (1, 3, 64, 64)
    assert out.abs().max() < 1  # Tanh


def test_centre_generator_layer_order():
    """What follows each layer in the released netG: no BN after E1, LeakyReLU 0.2 in the encoder and on the
    code, BN + ReLU in the decoder, Tanh last; all kernels 4x4; strides 2 except the code layers."""
    gen = on_meta(lambda: Generator(64, 4000))
    names = [type(m).__name__ for m in gen]
    enc = ["Conv2d", "BatchNorm2d", "LeakyReLU"]
    dec = ["ConvTranspose2d", "BatchNorm2d", "ReLU"]
    assert names == (
        ["Conv2d", "LeakyReLU", *enc * 4]
        + ["CodeConv", "BatchNorm2d", "LeakyReLU", "CodeDeconv", "BatchNorm2d", "ReLU"]
        + [*dec * 3, "ConvTranspose2d", "Tanh"]
    )
    assert {m.negative_slope for m in gen if isinstance(m, nn.LeakyReLU)} == {0.2}
    convs = [m for m in gen if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert {m.kernel_size for m in convs} == {(4, 4)}
    assert [(m.stride[0], m.padding[0]) for m in convs] == [(2, 1)] * 5 + [(1, 0)] * 2 + [(2, 1)] * 4


def test_random_generator_layer_shapes():
    """train_random.lua at fineSize 128: the same encoder and code, one more 64->64 up-stage."""
    torch.manual_seed(0)
    gen = Generator(128, 64)
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    code = [("CodeConv", (64, 1, 1)), ("CodeDeconv", (512, 4, 4))]
    expected = [*ENCODER_SHAPES[:5], *code, *ENCODER_SHAPES[7:]]
    expected += [("ConvTranspose2d", (64, 64, 64)), ("ConvTranspose2d", (3, 128, 128))]
    assert layer_shapes(gen, x) == expected
    assert gen.eval()(x).shape == (1, 3, 128, 128)


def test_plain_discriminator_layer_shapes():
    disc = Discriminator(64)
    assert layer_shapes(disc, torch.rand(1, 3, 64, 64)) == [
        ("Conv2d", (64, 32, 32)),
        ("Conv2d", (128, 16, 16)),
        ("Conv2d", (256, 8, 8)),
        ("Conv2d", (512, 4, 4)),
        ("Conv2d", (1, 1, 1)),
    ]
    assert disc(torch.rand(2, 3, 64, 64)).shape == (2, 1)  # one logit per image
    assert [type(m).__name__ for m in disc][:2] == ["Conv2d", "LeakyReLU"]  # no BN on the first layer


def test_whole_image_discriminator_layer_shapes():
    shapes = [s for _, s in layer_shapes(Discriminator(128), torch.rand(1, 3, 128, 128))]
    assert shapes == [(64, 64, 64), (64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (1, 1, 1)]


def test_condition_adv_discriminator_layer_shapes():
    shapes = layer_shapes(ConditionalDiscriminator(), torch.rand(1, 3, 64, 64), torch.rand(1, 3, 128, 128))
    assert shapes == [
        ("Conv2d", (64, 64, 64)),  # context stream, 5x5 stride 2 pad 2
        ("Conv2d", (64, 64, 64)),  # prediction stream, 5x5 stride 2 pad 34
        ("Conv2d", (64, 32, 32)),  # 128 (concatenated) -> 64
        ("Conv2d", (128, 16, 16)),
        ("Conv2d", (256, 8, 8)),
        ("Conv2d", (512, 4, 4)),
        ("Conv2d", (1, 1, 1)),
    ]


def test_condition_adv_prediction_lands_at_the_canvas_centre():
    """Padding 34 on the 64 x 64 prediction equals the 5x5 stride-2 pad-2 conv of a 128 x 128 zero
    canvas holding the prediction at [32, 96): what the released conditional discriminator's padding
    emulates."""
    torch.manual_seed(0)
    disc = ConditionalDiscriminator()
    pred = torch.rand(2, 3, 64, 64)
    canvas = torch.zeros(2, 3, 128, 128)
    canvas[:, :, 32:96, 32:96] = pred
    expected = F.conv2d(canvas, disc.pred.weight, stride=2, padding=2)
    torch.testing.assert_close(disc.pred(pred), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("build", "count"),
    [
        (lambda: Generator(64, 4000), GENERATOR_4000),
        (lambda: Generator(128, 4000), 71_190_208),  # + the 64->64 up-stage: 16 * 64 * 64 + 2 * 64
        (lambda: Discriminator(64), DISCRIMINATOR_64),
        (lambda: Discriminator(128), 2_831_232),  # + a 64->64 down-stage: 16 * 64 * 64 + 2 * 64
        # two 5x5 streams (2 * 25 * 3 * 64), the 128->64 stage with BN (16 * 128 * 64 + 2 * 64), then
        # the plain discriminator without its first conv (DISCRIMINATOR_64 - 16 * 3 * 64)
        (lambda: ConditionalDiscriminator(), 2_903_296),
    ],
    ids=["G-centre-4000", "G-random-4000", "D-64", "D-128", "D-conditionAdv"],
)
def test_parameter_counts(build, count):
    assert n_params(on_meta(build)) == count


def test_derived_counts_add_up():
    assert GENERATOR_4000 + 16 * 64 * 64 + 2 * 64 == 71_190_208
    assert DISCRIMINATOR_64 + 16 * 64 * 64 + 2 * 64 == 2_831_232
    conditional = 2 * 25 * 3 * 64 + 16 * 128 * 64 + 2 * 64 + DISCRIMINATOR_64 - 16 * 3 * 64
    assert conditional == 2_903_296


def test_multiply_accumulates_per_image():
    """The released networks: netG about 0.35 GMAC and netD about 0.10 GMAC per image forward. By hand: each
    conv costs out-pixels x Cin x 16, each transposed conv in-pixels x Cout x 16."""
    g_macs = (
        64 * 64 * 3 * 64 * 16  # E1: 12.6M
        + 32 * 32 * 64 * 64 * 16  # E2: 67.1M
        + 3 * 2**25  # E3, E4, E5: 33.6M each
        + 2 * 512 * 16 * 4000  # code conv and D1: 32.8M each
        + 3 * 2**25  # D2, D3, D4: 33.6M each
        + 32 * 32 * 64 * 3 * 16  # D5: 3.1M
    )
    d_macs = 32 * 32 * 3 * 64 * 16 + 3 * 2**25 + 512 * 16
    assert (g_macs, d_macs) == (349_700_096, 103_817_216)
    for build, shape, macs in (
        (Generator, (1, 3, 128, 128), g_macs),
        (Discriminator, (1, 3, 64, 64), d_macs),
    ):
        net = on_meta(build).eval()
        with FlopCounterMode(display=False) as counter:
            net(torch.empty(shape, device="meta"))
        assert counter.get_total_flops() == 2 * macs


@pytest.mark.parametrize(
    "build",
    [
        lambda: Generator(64, 4000),
        lambda: Generator(128, 64),
        lambda: Generator(64, "channelwise"),
        lambda: Discriminator(64),
        lambda: Discriminator(128),
        lambda: ConditionalDiscriminator(),
    ],
    ids=["G-centre", "G-random", "G-channelwise", "D-64", "D-128", "D-conditionAdv"],
)
def test_convolutions_are_bias_free(build):
    net = on_meta(build)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert convs and all(m.bias is None for m in convs)
    for name, _ in net.named_parameters():  # the only biases are batch-norm betas
        if name.endswith("bias"):
            assert isinstance(net.get_submodule(name.rpartition(".")[0]), nn.BatchNorm2d)


def test_dcgan_init_statistics(centre_generator):
    """Conv weights N(0, 0.02), BN gamma N(1, 0.02), beta 0: pooled over 71M weights the sample
    standard deviation is within 0.1% of 0.02; each layer's (>= 3,072 weights) within 10%."""
    convs = [m.weight.detach().flatten() for m in centre_generator.modules() if isinstance(m, CONVS)]
    pooled = torch.cat(convs).double()
    assert pooled.numel() == GENERATOR_4000 - ENCODER_BN - DECODER_BN - 2 * 4000 - 2 * 512
    assert abs(pooled.std().item() - 0.02) < 2e-5
    assert abs(pooled.mean().item()) < 1e-5
    for weights in convs:
        assert weights.double().std().item() == pytest.approx(0.02, rel=0.1)
    bns = [m for m in centre_generator.modules() if isinstance(m, nn.BatchNorm2d)]
    gammas = torch.cat([m.weight.detach() for m in bns]).double()
    assert gammas.mean().item() == pytest.approx(1.0, abs=2e-3)
    assert gammas.std().item() == pytest.approx(0.02, rel=0.1)
    assert all(torch.all(m.bias == 0) for m in bns)


def test_dcgan_init_covers_discriminators_and_channelwise_fc():
    torch.manual_seed(0)
    for net in (ConditionalDiscriminator(), Generator(64, "channelwise")):
        init_dcgan(net)
        for m in net.modules():
            if isinstance(m, CONVS) and m.weight.numel() >= 3000:
                assert m.weight.std().item() == pytest.approx(0.02, rel=0.1)


def test_code_layers_equal_the_standard_convolutions():
    """The matmul forms of the 4x4 code conv and its transpose compute what nn.Conv2d/ConvTranspose2d
    compute with the same weights, also on a channels_last input (the CUDA memory format)."""
    torch.manual_seed(0)
    conv, deconv = CodeConv(512, 96, 4, bias=False), CodeDeconv(96, 512, 4, bias=False)
    x = torch.randn(3, 512, 4, 4)
    code = conv(x)
    torch.testing.assert_close(code, F.conv2d(x, conv.weight), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(conv(x.contiguous(memory_format=torch.channels_last)), code)
    torch.testing.assert_close(deconv(code), F.conv_transpose2d(code, deconv.weight), rtol=1e-4, atol=1e-5)
    assert code.shape == (3, 96, 1, 1)


def test_channelwise_fc_count_shape_and_independence():
    """m n^4 weights (512 * 4^4 = 131,072, vs 512^2 * 4^4 = 67,108,864 for a full FC over the same map),
    each channel mapped by its own 16 x 16 matrix, no mixing across channels."""
    torch.manual_seed(0)
    fc = ChannelwiseFC(512, 4)
    nn.init.normal_(fc.weight, 0.0, 0.02)
    assert n_params(fc) == 512 * 4**4 == 131_072
    assert fc.weight.shape == (512, 16, 16)
    x = torch.randn(2, 512, 4, 4)
    out = fc(x)
    assert out.shape == (2, 512, 4, 4)
    expected = torch.einsum("nci,cij->ncj", x.reshape(2, 512, 16), fc.weight).reshape(2, 512, 4, 4)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    poked = x.clone()
    poked[:, 7, 0, 0] += 1.0
    changed = (fc(poked) - out).abs().amax(dim=(0, 2, 3)) > 0
    assert changed.nonzero().flatten().tolist() == [7]


def test_channelwise_generator():
    """The channel-wise bottleneck (Fig. 9b): channel-wise FC + BN + ReLU, then a stride-1 1x1 conv
    mixing channels + BN + ReLU; the 4x4 map keeps its size, and the network drops to 5.97M."""
    gen = on_meta(lambda: Generator(64, "channelwise"))
    middle_params = 512 * 4**4 + 2 * 512 + 512 * 512 + 2 * 512  # channel-wise FC + BN, 1x1 conv + BN
    assert n_params(gen) == GENERATOR_4000 - CODE_4000 + middle_params == 5_974_784
    torch.manual_seed(0)
    shapes = layer_shapes(Generator(64, "channelwise"), torch.rand(1, 3, 128, 128))
    middle = [("ChannelwiseFC", (512, 4, 4)), ("Conv2d", (512, 4, 4))]
    assert shapes == [*ENCODER_SHAPES[:5], *middle, *ENCODER_SHAPES[7:], ("ConvTranspose2d", (3, 64, 64))]
    assert [m.kernel_size for m in gen if isinstance(m, nn.Conv2d)][-1] == (1, 1)


def test_sizes_other_than_64_and_128_are_refused():
    with pytest.raises(ValueError, match="out_size must be 64 or 128"):
        Generator(32)
    with pytest.raises(ValueError, match="in_size must be 64 or 128"):
        Discriminator(256)
