"""Stand-ins for released model files, built offline with random weights: a small network with LaMa's
``big-lama.pt`` signature saved as TorchScript, as a ``torch.export`` program and as ONNX, and a tiny
Stable Diffusion inpainting pipeline folder made from configs. They exercise the adapters' plumbing
(and a plugin author's spec) exactly as the real files would; their outputs mean nothing as inpainting.

- ``LamaLike(width=16)``: ``forward(image, mask)``, image N x 3 x H x W in [0, 1], mask N x 1 x H x W
  (1 = hole), H and W multiples of 4; as big-lama.pt, it blanks the hole itself, predicts from the
  masked image and the mask, and returns the prediction inside the hole and the image outside, in [0, 1].
- ``save_torchscript(path, model=None)``, ``save_exported(path, model=None, dynamic=True)``,
  ``save_onnx(path, model=None)``: the file, from ``model`` or a fresh ``LamaLike`` (seeded).
- ``save_diffusers_pipeline(folder, seed=0, shapes="tiny")``: a ``StableDiffusionInpaintPipeline``
  (9-channel UNet, VAE, CLIP text encoder and a tokenizer of 55 tokens) of a few thousand weights at
  32 px; ``shapes="sd15"`` gives Stable Diffusion 1.5 inpainting's layer shapes instead (about a
  billion random weights, 512 px: as slow as the real one, for timing).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import nn


class LamaLike(nn.Module):
    """An encoder-decoder of LaMa's signature: two stride-2 convolutions down, two up."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(4, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 3, 3, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        masked = image * (1 - mask)
        predicted = self.net(torch.cat([masked, mask], dim=1))
        return mask * predicted + (1 - mask) * image


def _model(model: nn.Module | None) -> nn.Module:
    if model is None:
        torch.manual_seed(0)
        model = LamaLike()
    return model.eval()


def _example(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(2, 3, size, size), (torch.rand(2, 1, size, size) > 0.5).float()


def save_torchscript(path: str | Path, model: nn.Module | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # deprecated, but what ships
        torch.jit.save(torch.jit.script(_model(model)), str(path))
    return Path(path)


def save_exported(path: str | Path, model: nn.Module | None = None, dynamic: bool = True) -> Path:
    """A ``.pt2`` program; ``dynamic`` lets batch, height and width vary (height and width in steps of 8)."""
    shapes = None
    if dynamic:
        batch = torch.export.Dim("batch", max=1024)
        height, width = (8 * torch.export.Dim(side, min=1, max=1024) for side in ("height", "width"))
        sides = {0: batch, 2: height, 3: width}
        shapes = {"image": sides, "mask": sides}
    program = torch.export.export(_model(model), _example(), dynamic_shapes=shapes)
    torch.export.save(program, str(path))
    return Path(path)


def save_onnx(path: str | Path, model: nn.Module | None = None) -> Path:
    """An ONNX file with dynamic batch, height and width (torch's TorchScript-based exporter, which needs
    no extra package)."""
    axes = {0: "batch", 2: "height", 3: "width"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _model(model), _example(), str(path), input_names=["image", "mask"], output_names=["inpainted"],
            dynamic_axes={"image": axes, "mask": axes, "inpainted": axes}, dynamo=False,
        )  # fmt: skip
    return Path(path)


def save_diffusers_pipeline(folder: str | Path, seed: int = 0, shapes: str = "tiny") -> Path:
    """A Stable Diffusion inpainting pipeline with random weights, saved with ``save_pretrained``:
    ``tiny`` (32 px, for tests) or ``sd15`` (Stable Diffusion 1.5 inpainting's shapes, 512 px)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionInpaintPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    if shapes == "sd15":  # diffusers' UNet defaults are SD 1.5's, but for the text width
        unet = UNet2DConditionModel(sample_size=64, in_channels=9, out_channels=4, cross_attention_dim=768)
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4,
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        )  # fmt: skip
        text = {
            "hidden_size": 768,
            "intermediate_size": 3072,
            "num_attention_heads": 12,
            "num_hidden_layers": 12,
        }
    else:
        unet = UNet2DConditionModel(
            block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=9, out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4,
        )  # fmt: skip
        vae = AutoencoderKL(
            block_out_channels=(8, 16), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=4,
            down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        )  # fmt: skip
        text = {"hidden_size": 16, "intermediate_size": 32, "num_attention_heads": 2, "num_hidden_layers": 1}
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for k, letter in enumerate("abcdefghijklmnopqrstuvwxyz"):
        vocab[letter], vocab[letter + "</w>"] = 3 + k, 29 + k
    words = folder / "vocabulary"
    words.mkdir(parents=True, exist_ok=True)
    (words / "vocab.json").write_text(json.dumps(vocab))
    (words / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(words / "vocab.json"), str(words / "merges.txt"), model_max_length=77, pad_token="<|endoftext|>"
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(vocab), max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
            **text,
        )
    )  # fmt: skip
    pipe = StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=DDIMScheduler(steps_offset=1), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )  # fmt: skip
    pipe.save_pretrained(folder)
    for file in words.iterdir():
        file.unlink()
    words.rmdir()
    return folder
