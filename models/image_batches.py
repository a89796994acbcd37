"""Decode and preprocess images in worker processes, in batches; unreadable files are reported, not fatal."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from classfreq.errors import require
from classfreq.models.datasets import Sample, open_rgb

torch = require("torch", extra="models", purpose="model evaluation")


@dataclass
class Failures:
    """Images that could not be read: (path, reason)."""

    items: list = field(default_factory=list)

    def add(self, path: str, reason: str) -> None:
        self.items.append((path, reason[:300]))

    def summary(self) -> dict:
        return {"unreadable_images": len(self.items),
                "unreadable": [{"path": p, "reason": r} for p, r in self.items]}


class _Decoded(torch.utils.data.Dataset):
    def __init__(self, samples: list[Sample], preprocess: Callable):
        self.samples, self.preprocess = samples, preprocess

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        try:
            return i, self.preprocess(open_rgb(self.samples[i].path)), None
        except Exception as exc:  # any decoder error means "unreadable image", reported with its path
            return i, None, f"{type(exc).__name__}: {exc}"


def _collate(items):
    return items


def processor_pixels(image_processor) -> Callable:
    """Turn the model's own image processor into a one-image function (runs in the workers)."""
    def preprocess(image):
        return image_processor(images=image, return_tensors="pt")["pixel_values"][0]
    return preprocess


class ShortEdgeCropPixels:
    """CLIP's preprocessing (bicubic resize of the short edge, centre crop) returning uint8 CHW;
    `normalize` then rescales and normalises a whole batch on the model's device. Same pixels as
    CLIP's image processor, about 4x less CPU time per image, and 4x less to copy to the GPU."""

    def __init__(self, image_processor):
        size, crop = image_processor.size, image_processor.crop_size
        self.short = int(size["shortest_edge"])
        self.crop_h, self.crop_w = int(crop["height"]), int(crop["width"])
        self.resample = int(image_processor.resample)
        self.scale = float(image_processor.rescale_factor)
        self.mean = [float(x) for x in image_processor.image_mean]
        self.std = [float(x) for x in image_processor.image_std]

    @classmethod
    def supports(cls, ip) -> bool:
        size, crop = getattr(ip, "size", None) or {}, getattr(ip, "crop_size", None) or {}
        keys = {k for k, v in dict(size).items() if v is not None}
        return (keys == {"shortest_edge"} and bool(getattr(ip, "do_resize", False))
                and bool(getattr(ip, "do_center_crop", False)) and bool(crop.get("height"))
                and bool(getattr(ip, "do_rescale", False)) and bool(getattr(ip, "do_normalize", False))
                and not getattr(ip, "do_pad", False) and isinstance(getattr(ip, "resample", None), int))

    def __call__(self, image) -> torch.Tensor:
        import numpy as np
        w, h = image.size
        if w <= h:
            new_w, new_h = self.short, int(self.short * h / w)
        else:
            new_w, new_h = int(self.short * w / h), self.short
        image = image.resize((new_w, new_h), resample=self.resample)
        top, left = (new_h - self.crop_h) // 2, (new_w - self.crop_w) // 2
        arr = np.asarray(image)
        if top < 0 or left < 0:  # smaller than the crop: pad with zeros like the processor
            out = np.zeros((max(new_h, self.crop_h), max(new_w, self.crop_w), 3), np.uint8)
            oy, ox = max(-top, 0), max(-left, 0)
            out[oy:oy + new_h, ox:ox + new_w] = arr
            arr, top, left = out, max(top, 0), max(left, 0)
        arr = arr[top:top + self.crop_h, left:left + self.crop_w]
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def normalize(self, pixels: torch.Tensor, device, dtype) -> torch.Tensor:
        mean = torch.tensor(self.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=device).view(1, -1, 1, 1)
        x = pixels.to(device, non_blocking=True).float() * self.scale
        return ((x - mean) / std).to(dtype)


def image_batches(samples: list[Sample], preprocess: Callable, batch_size: int, failures: Failures,
                  workers: int = 0) -> Iterator[tuple[list[Sample], torch.Tensor]]:
    """Yield (samples, pixel tensor) per batch, in order; unreadable images go to `failures`."""
    loader = torch.utils.data.DataLoader(_Decoded(samples, preprocess), batch_size=batch_size, num_workers=workers,
                        collate_fn=_collate, persistent_workers=False,
                        prefetch_factor=4 if workers else None)
    for items in loader:
        good, pixels = [], []
        for i, tensor, error in items:
            if error is not None:
                failures.add(samples[i].path, error)
            else:
                good.append(samples[i])
                pixels.append(tensor)
        if good:
            yield good, torch.stack(pixels)


def single_images(samples: list[Sample], failures: Failures, workers: int = 0):
    """Yield (sample, PIL image) for the generation/likelihood loops, skipping unreadable images."""
    for batch in torch.utils.data.DataLoader(_Decoded(samples, lambda img: img), batch_size=1, num_workers=workers,
                            collate_fn=_collate):
        i, image, error = batch[0]
        if error is not None:
            failures.add(samples[i].path, error)
        else:
            yield samples[i], image


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of `size` items in order, the last one shorter (itertools.batched arrives in 3.12)."""
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def image_groups(samples: list[Sample], failures: Failures, size: int, workers: int = 0):
    """single_images in lists of `size` (sample, PIL image) pairs: the generation and probe batches."""
    return batched(single_images(samples, failures, workers), size)
