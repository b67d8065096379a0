"""Data augmentation: random, label-preserving changes to each training minibatch.

An :class:`Augmenter` changes a minibatch of images in place, drawing every random number from
the generator it is given (the Solver's, so that the run's seed fixes every draw and a resumed
run continues the same stream). It is off by default; ``--augment SPEC`` turns it on, e.g.
``--augment shift=2,rotate=10,scale=0.1`` for MNIST or ``--augment shift=4,flip`` for CIFAR-10.
The transforms, in the order they are applied:

- ``rotate=DEG``, ``scale=FRAC``: an affine warp about the image's centre, by an angle drawn
  from U[-DEG, DEG] degrees and a zoom factor from U[1 - FRAC, 1 + FRAC], bilinear;
- ``elastic=ALPHA`` (with ``sigma=SIGMA``, default 4): Simard et al. (2003)'s elastic
  distortion: a displacement field of U[-1, 1] noise smoothed by a Gaussian of ``sigma`` pixels
  and multiplied by ``ALPHA`` (their MNIST setting is alpha 34, sigma 4: moves of about 2
  pixels); combined with the affine warp into one bilinear resampling;
- ``shift=PIXELS``: a translation by whole pixels, independently in each direction from
  {-PIXELS, ..., PIXELS} (a random crop of the image padded by PIXELS zeros);
- ``flip``: a horizontal mirror with probability 1/2 (CIFAR-10; mirrored digits are other
  shapes, so the recipe refuses it for digits and MNIST).

What moves in from outside the image is 0: the background of MNIST and digits, the mean image
of mean-centred CIFAR-10. A setting of 0 is the identity and draws nothing. Only training
minibatches are augmented; the accuracy checks, evaluation and prediction see the images as
they are. The cost per epoch of each transform is in ``docs/augmentation.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from layerwise.errors import ConfigError

__all__ = ["AUGMENT_KEYS", "Augmenter", "check_augment", "format_augment", "parse_augment"]

#: Every setting, with its kind and what it allows (a spec's keys are some of these).
AUGMENT_KEYS: Mapping[str, tuple[type, str]] = {
    "shift": (int, "an integer number of pixels >= 0"),
    "flip": (bool, "true or false"),
    "rotate": (float, "an angle in degrees in [0, 180]"),
    "scale": (float, "a zoom fraction in [0, 1)"),
    "elastic": (float, "a displacement scale alpha >= 0"),
    "sigma": (float, "a smoothing width in pixels > 0"),
}
_DEFAULTS: Mapping[str, Any] = {
    "shift": 0,
    "flip": False,
    "rotate": 0.0,
    "scale": 0.0,
    "elastic": 0.0,
    "sigma": 4.0,
}


def _check_value(key: str, value: Any, name: str) -> Any:
    kind, expected = AUGMENT_KEYS[key]
    bad = ConfigError(f"{name}: {key} must be {expected}; got {value!r}", name)
    if kind is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise bad
        return bool(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise bad
    if kind is int:
        if float(value) != int(value):
            raise bad
        value = int(value)
    else:
        value = float(value)
    ok = math.isfinite(value) and value >= 0
    if key == "rotate":
        ok = ok and value <= 180
    elif key == "scale":
        ok = ok and value < 1
    elif key == "sigma":
        ok = ok and value > 0
    if not ok:
        raise bad
    return value


def check_augment(value: Any, name: str = "augment") -> dict[str, Any]:
    """A spec dict checked and normalised: only the settings that differ from the identity's
    defaults are kept, so equal augmentations compare equal. ConfigError names a bad key or
    value and what is allowed."""
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{name} must be a dict of settings ({', '.join(AUGMENT_KEYS)}); got {value!r}", name
        )
    unknown = sorted(set(value) - set(AUGMENT_KEYS), key=str)
    if unknown:
        raise ConfigError(
            f"{name}: unknown setting(s) {unknown}; expected some of {list(AUGMENT_KEYS)}", name
        )
    spec = {k: _check_value(k, value[k], name) for k in AUGMENT_KEYS if k in value}
    out = {k: v for k, v in spec.items() if v != _DEFAULTS[k]}
    if "sigma" in out and not out.get("elastic"):
        raise ConfigError(
            f"{name}: sigma is the width of the elastic distortion; set elastic", name
        )
    return out


def parse_augment(text: str) -> dict[str, Any]:
    """The spec of ``--augment`` text: ``KEY=VALUE`` or ``flip``, comma-separated, e.g.
    ``shift=2,rotate=10`` or ``shift=4,flip``; ``none`` is no augmentation ({})."""
    if text.strip() == "none":
        return {}
    spec: dict[str, Any] = {}
    for item in text.split(","):
        key, sep, raw = (s.strip() for s in item.partition("="))
        if key not in AUGMENT_KEYS:
            raise ConfigError(
                f"expected KEY=VALUE settings with KEY one of {', '.join(AUGMENT_KEYS)} "
                f"(e.g. shift=2,rotate=10 or shift=4,flip), got {item.strip()!r} in {text!r}"
            )
        kind = AUGMENT_KEYS[key][0]
        if kind is bool:
            if sep and raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ConfigError(f"expected {key} or {key}=true/false, got {item.strip()!r}")
            spec[key] = not sep or raw.lower() in ("1", "true", "yes")
            continue
        try:
            spec[key] = int(raw) if kind is int else float(raw)
        except ValueError:
            raise ConfigError(
                f"expected {key}=VALUE with VALUE {AUGMENT_KEYS[key][1]}, got {item.strip()!r}"
            ) from None
    return check_augment(spec)


def format_augment(spec: Mapping[str, Any]) -> str:
    """The ``--augment`` text of a spec (``parse_augment(format_augment(s)) == s``)."""
    if not spec:
        return "none"
    return ",".join(k if v is True else f"{k}={v:g}" for k, v in spec.items())


class Augmenter:
    """Random transforms of minibatches of images, in place.

    Args:
        spec: the settings (:func:`check_augment`): shift, flip, rotate, scale, elastic, sigma.
        image_shape: one example as an image, (H, W) or (C, H, W); a minibatch is (N, D) with
            D = prod(image_shape), or (N, *image_shape).

    ``augmenter(X, rng)`` transforms the C-contiguous float array X (N, ...) in place with
    draws from the ``numpy.random.Generator`` rng, and returns X.
    """

    def __init__(self, spec: Mapping[str, Any], image_shape: tuple[int, ...]) -> None:
        self.spec = check_augment(spec)
        if len(image_shape) not in (2, 3) or min(image_shape) < 1:
            raise ConfigError(f"image_shape must be (H, W) or (C, H, W); got {image_shape!r}")
        self.image_shape = tuple(int(s) for s in image_shape)
        s = {**_DEFAULTS, **self.spec}
        self.shift, self.flip = int(s["shift"]), bool(s["flip"])
        self.rotate, self.scale = float(s["rotate"]), float(s["scale"])
        self.elastic, self.sigma = float(s["elastic"]), float(s["sigma"])
        self._padded: np.ndarray | None = None  # reused by _translate: its border stays 0
        # The warp's scratch buffers, made again only when the batch shape or dtype changes.
        self._scratch_key: tuple[Any, ...] | None = None
        self._buffers: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return f"Augmenter({format_augment(self.spec)!r}, image_shape={self.image_shape})"

    def __bool__(self) -> bool:
        return bool(self.spec)

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        shape = self.image_shape if len(self.image_shape) == 3 else (1, *self.image_shape)
        if not X.flags.c_contiguous or int(np.prod(X.shape[1:])) != int(np.prod(shape)):
            raise ConfigError(
                f"augment: expected a C-contiguous minibatch of images {self.image_shape} "
                f"({int(np.prod(shape))} values each); got shape {X.shape}"
            )
        images = X.reshape(len(X), *shape)  # a view: the changes land in X
        if self.rotate or self.scale or self.elastic:
            self._warp(images, rng)
        if self.shift:
            self._translate(images, rng)
        if self.flip:
            mirrored = np.flatnonzero(rng.random(len(X)) < 0.5)
            images[mirrored] = images[mirrored, :, :, ::-1]
        return X

    # ----------------------------------------------------------------------------------------

    def _translate(self, images: np.ndarray, rng: np.random.Generator) -> None:
        """Each image moved by (dy, dx) whole pixels, zeros coming in: a crop of the padded
        image. Images with the same move are copied together (at most (2s+1)^2 groups)."""
        n, c, h, w = images.shape
        s = self.shift
        moves = rng.integers(-s, s + 1, size=(2, n))
        padded = self._padded
        if padded is None or padded.shape != (n, c, h + 2 * s, w + 2 * s):
            padded = self._padded = np.zeros((n, c, h + 2 * s, w + 2 * s), images.dtype)
        padded[:, :, s : s + h, s : s + w] = images
        key = (moves[0] + s) * (2 * s + 1) + (moves[1] + s)
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        for group in np.split(order, bounds):
            dy, dx = s + moves[0, group[0]], s + moves[1, group[0]]
            images[group] = padded[group, :, dy : dy + h, dx : dx + w]

    def _warp(self, images: np.ndarray, rng: np.random.Generator) -> None:
        """Rotation, zoom and elastic distortion as one bilinear resampling: each output
        pixel p reads the input at A_n (p - centre) + centre + field_n(p), with zeros outside
        the image (blended in bilinearly at the edges). Every array is a scratch buffer kept
        between calls: fresh ones would cost more in page faults than the arithmetic."""
        n, c, h, w = images.shape
        b = self._scratch(n, h, w, images.dtype)
        sy, sx, wy, wx, tmp = b["sy"], b["sx"], b["wy"], b["wx"], b["tmp"]
        angle = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n)) if self.rotate else 0.0
        zoom = 1.0 + rng.uniform(-self.scale, self.scale, n) if self.scale else 1.0
        cos = np.broadcast_to(np.cos(angle) / zoom, (n,)).astype(sy.dtype)[:, None, None]
        sin = np.broadcast_to(np.sin(angle) / zoom, (n,)).astype(sy.dtype)[:, None, None]
        yy, xx = b["yy"], b["xx"]  # pixel offsets from the centre
        np.multiply(cos, yy, out=sy)
        sy -= np.multiply(sin, xx, out=tmp)
        sy += (h - 1) / 2
        np.multiply(sin, yy, out=sx)
        sx += np.multiply(cos, xx, out=tmp)
        sx += (w - 1) / 2
        if self.elastic:
            noise = b["noise"]  # (2, n, h, w): U[-1, 1) displacements in y and x
            rng.random(dtype=noise.dtype, out=noise)
            noise *= 2
            noise -= 1
            # Gaussian smoothing with zeros beyond the edges (scipy's gaussian_filter, mode
            # "constant"), which is linear and separable, as two matrix products: along x
            # (rows of w values), then along y (alpha folded into its matrix).
            along_x = (noise.reshape(-1, w) @ b["smooth_x"]).reshape(noise.shape)
            field = np.tensordot(b["smooth_y"], along_x, axes=([1], [2]))  # (h, 2, n, w)
            sy += field[:, 0].transpose(1, 0, 2)
            sx += field[:, 1].transpose(1, 0, 2)
        # Bilinear interpolation by gathers from the images padded with zeros: one row and
        # column before, two after, so that every clipped corner is inside the padding.
        wp = w + 3
        np.clip(sy, -1.0, h, out=sy)
        np.clip(sx, -1.0, w, out=sx)
        index, column = b["index"], b["column"]
        np.floor(sy, out=tmp)
        np.subtract(sy, tmp, out=wy)
        np.copyto(index, tmp, casting="unsafe")  # the row above, -1 ... h
        np.floor(sx, out=tmp)
        np.subtract(sx, tmp, out=wx)
        np.copyto(column, tmp, casting="unsafe")
        index += b["first_row"]  # (image * hp + row + 1): the padded row
        index *= wp
        index += column
        index += 1
        padded = b["padded"]
        flat = padded.reshape(-1)
        top, bottom, corner = b["top"], b["bottom"], b["corner"]
        for ch in range(c):
            padded[:, 1 : h + 1, 1 : w + 1] = images[:, ch]
            _lerp(flat, index, 1, wx, top, corner)
            index += wp
            _lerp(flat, index, 1, wx, bottom, corner)
            index -= wp
            bottom -= top  # top + (bottom - top) * wy
            bottom *= wy
            np.add(top, bottom, out=images[:, ch])

    def _scratch(self, n: int, h: int, w: int, dtype: np.dtype) -> dict[str, np.ndarray]:
        key = (n, h, w, np.dtype(dtype))
        if self._scratch_key != key:
            shape = (n, h, w)
            yy, xx = np.mgrid[0:h, 0:w].astype(dtype)
            self._buffers = {
                **{k: np.empty(shape, dtype) for k in ("sy", "sx", "wy", "wx", "tmp")},
                **{k: np.empty(shape, dtype) for k in ("top", "bottom", "corner")},
                "index": np.empty(shape, np.intp),
                "column": np.empty(shape, np.intp),
                "first_row": (np.arange(n, dtype=np.intp) * (h + 3) + 1)[:, None, None],
                "yy": yy - (h - 1) / 2,
                "xx": xx - (w - 1) / 2,
                "padded": np.zeros((n, h + 3, w + 3), dtype),
                "noise": np.empty((2, *shape), dtype),
                "smooth_x": _smoothing(w, self.sigma).T.astype(dtype),
                "smooth_y": (self.elastic * _smoothing(h, self.sigma)).astype(dtype),
            }
            self._scratch_key = key
        return self._buffers


def _lerp(
    flat: np.ndarray,
    index: np.ndarray,
    step: int,
    t: np.ndarray,
    out: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """out = flat[index] * (1 - t) + flat[index + step] * t, i.e. a + (b - a) * t, in place
    (index is restored)."""
    np.take(flat, index, out=out, mode="clip")
    index += step
    np.take(flat, index, out=scratch, mode="clip")
    index -= step
    scratch -= out
    scratch *= t
    out += scratch


def _smoothing(size: int, sigma: float) -> np.ndarray:
    """The (size, size) matrix of a 1-D Gaussian filter with zeros beyond the edges:
    ``_smoothing(h, s) @ x`` is ``scipy.ndimage.gaussian_filter1d(x, s, axis=0,
    mode="constant")`` (each column is the filtered unit vector)."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(np.eye(size), sigma, axis=0, mode="constant")
