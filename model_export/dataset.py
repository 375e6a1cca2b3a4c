"""Training samples built on the fly: every step sees fresh geometry, backgrounds and light.

``load_sources`` reads the sources once (labelled photos, unlabelled photos and video frames,
wallpapers), each labelled by the teacher at full resolution when it is on (cached on disk,
model_export.teacher), and downscales them to ``max_source_side``. ``SampleDataset`` then renders
sample (step, index) in a DataLoader worker from a random generator seeded by (seed, step, index):
a resumed run, or another machine, sees exactly the same data. Labels go through the very warps of
the image (model_export.geometry), so they stay aligned.

Sample kinds (probabilities in ``DataConfig``):
- ``crop``: a labelled photo through a random view (its own framing stretched to 16:9, as the
  evaluation does, or a webcam-like head-and-shoulders / half-body crop);
- ``composite``: one or two people cut out by their masks, colour-matched and pasted onto a real
  background (a person-free region of a photo or video frame) or a wallpaper, sometimes behind an
  occluder, in low light or against strong backlight; with ``teacher_person_prob`` a pasted person is
  one of the teacher-labelled photos instead, cut out by the teacher's soft label (more people);
- ``pseudo``: an unlabelled photo or a video frame, labelled by the teacher (only with the teacher);
- ``empty``: a background with nobody in it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from model_export import colour, composite as comp
from model_export.geometry import ALL_SIDES, person_box, render_view, sample_view
from model_export.paths import BACKGROUNDS_DIR, PORTRAITS_DIR, UNLABELLED_DIR, VIDEOS_DIR
from model_export.sources import (
    cv2, downscale, list_images, list_pairs, list_videos, load_pair, read_image, read_video_frames,
)
from model_export.splits import VAL_FRACTION, VAL_SEED, pairs_not_in, validation_stems

# Environment overrides for the folders (a CLI flag wins over these).
DATA_ENV = "VBG_PORTRAITS"
BACKGROUNDS_ENV = "VBG_BACKGROUNDS"
KINDS = ("crop", "composite", "pseudo", "empty")
# A teacher label below this (0..255) is "sure there is nobody": such regions become real backgrounds.
NOBODY_LABEL = 8
MIN_TEACHER_PERSON_FRACTION = 0.03  # a teacher-labelled photo is pasted as a person only above this share
WALLPAPER_MAX_SIDE = 512  # wallpapers are only ever cropped and shrunk to 256x144


@dataclass
class DataConfig:
    """Where the sources are and how samples are drawn from them; saved in every checkpoint."""

    data_dir: str = os.environ.get(DATA_ENV, str(PORTRAITS_DIR))
    backgrounds_dir: str = os.environ.get(BACKGROUNDS_ENV, str(BACKGROUNDS_DIR))
    unlabelled_dir: str = str(UNLABELLED_DIR)
    videos_dir: str = str(VIDEOS_DIR)
    height: int = 144
    width: int = 256
    # Held-out photos: "val" (the seeded split), "none" (train on every photo), or the path of a JSON
    # list of stems (a cross-validation fold).
    holdout: str = "val"
    val_fraction: float = VAL_FRACTION
    val_seed: int = VAL_SEED
    # Probabilities of the sample kinds (renormalised; "pseudo" drops out without the teacher).
    kind_probs: dict = field(default_factory=lambda: {"crop": 0.3, "composite": 0.45, "pseudo": 0.2, "empty": 0.05})
    video_stride: int = 1  # every n-th frame of each video
    video_frame_prob: float = 0.4  # share of pseudo-labelled samples taken from video frames
    max_source_side: int = 640  # sources are downscaled to this once, to keep warps cheap
    own_framing_prob: float = 0.3  # crops: the photo's own framing, stretched like evaluation
    real_background_prob: float = 0.7  # composites: a person-free region of a real photo, else a wallpaper
    colour_match: tuple = (0.2, 0.6)  # composites: share of the person-to-background colour gap closed
    two_people_prob: float = 0.12
    # Composites: the pasted person is, with this probability, one of the teacher-labelled photos (cut out
    # by the teacher's soft label), else one of the labelled photos: more people than the human masks hold.
    teacher_person_prob: float = 0.0
    occluder_prob: float = 0.1
    low_light_prob: float = 0.08
    backlight_prob: float = 0.06
    max_rotation_deg: float = 12.0
    tps_amplitude: float = 0.03  # thin-plate control-point jitter, fraction of the view size


SOURCE_FLAGS = (  # (flag, DataConfig field, help): the folders every training command can point elsewhere
    ("--data", "data_dir", f"folder with images/ and masks/ (default ../shared/data/portraits, env {DATA_ENV})"),
    ("--backgrounds", "backgrounds_dir", f"folder of wallpapers (default ../shared/data/backgrounds, env {BACKGROUNDS_ENV})"),
    ("--unlabelled", "unlabelled_dir", "folder of photos without masks, labelled by the teacher"),
    ("--videos", "videos_dir", "folder of videos whose every frame the teacher labels"),
)


def add_source_flags(parser) -> None:
    """Add --data, --backgrounds, --unlabelled and --videos to an argparse parser."""
    for flag, _, text in SOURCE_FLAGS:
        parser.add_argument(flag, default=None, help=text)


def data_config_from_flags(args, **values) -> DataConfig:
    """A DataConfig with the source folders the flags name (others default) and VALUES."""
    cfg = DataConfig(**values)
    for flag, attr, _ in SOURCE_FLAGS:
        value = getattr(args, flag.lstrip("-"))
        if value is not None:
            setattr(cfg, attr, str(value))
    return cfg


def held_out_stems(cfg: DataConfig) -> list[str]:
    """The stems training must not see (and validation scores), per cfg.holdout."""
    if cfg.holdout == "val":
        return validation_stems(cfg.data_dir, cfg.val_fraction, cfg.val_seed)
    if cfg.holdout == "none":
        return []
    try:
        stems = json.loads(Path(cfg.holdout).read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"holdout: cannot read a JSON list of stems from {cfg.holdout}: {exc}") from exc
    if not isinstance(stems, list):
        raise ValueError(f"holdout: {cfg.holdout} holds no JSON list of stems")
    return sorted(stems)


@dataclass
class Sources:
    """Everything samples are drawn from, downscaled once; labels uint8 (H, W), soft None without teacher."""

    photos: list  # (image, mask, soft | None) labelled photos outside the held-out stems
    pseudo: list  # (image, soft) unlabelled photos and video frames (only with the teacher)
    pseudo_is_frame: list  # bool per pseudo item
    wallpapers: list  # (H, W, 3)
    real_backgrounds: list  # person-free regions of photos and frames
    # (image, soft, soft): teacher-labelled photos with a person in them, to paste like a labelled photo.
    teacher_people: list = field(default_factory=list)

    @property
    def teacher(self) -> bool:
        return bool(self.pseudo) or any(soft is not None for _, _, soft in self.photos)


def load_sources(cfg: DataConfig, teacher: bool, label_cache=None, progress: bool = False) -> Sources:
    """Read and (with TEACHER) label every source once; see the module docstring."""
    if cv2 is None:
        raise RuntimeError("building training samples needs opencv-python-headless")
    if teacher and label_cache is None:
        from model_export.teacher import LabelCache

        label_cache = LabelCache()
    from model_export.teacher import file_id

    def log(msg):
        if progress:
            print(msg, flush=True)

    small = lambda a: downscale(a, cfg.max_source_side)  # noqa: E731
    photos = []
    for _, image_path, mask_path in pairs_not_in(list_pairs(cfg.data_dir), held_out_stems(cfg)):
        image, mask = load_pair(image_path, mask_path)
        soft = label_cache.label(image, file_id(image_path)) if teacher else None
        photos.append((small(image), small(mask), None if soft is None else small(soft)))
    if not photos:
        raise ValueError(f"no training photos left in {cfg.data_dir} after holding out {cfg.holdout!r}")
    log(f"{len(photos)} labelled photos")
    pseudo, is_frame = [], []
    if teacher:
        for path in list_images(cfg.unlabelled_dir):
            image = read_image(path)
            pseudo.append((small(image), small(label_cache.label(image, file_id(path)))))
            is_frame.append(False)
        for video in list_videos(cfg.videos_dir):
            vid = file_id(video)
            for index, frame in enumerate(read_video_frames(video, cfg.video_stride)):
                label = label_cache.label(frame, f"{vid}-f{index * cfg.video_stride:05d}")
                pseudo.append((small(frame), small(label)))
                is_frame.append(True)
        log(f"{len(pseudo)} teacher-labelled unlabelled photos and video frames")
    wallpapers = [downscale(read_image(p), WALLPAPER_MAX_SIDE) for p in list_images(cfg.backgrounds_dir)]
    real = [r for image, mask, _ in photos for r in comp.person_free_regions(image, mask > 16)]
    real += [r for image, soft in pseudo for r in comp.person_free_regions(image, soft > NOBODY_LABEL)]
    if not wallpapers and not real:
        raise ValueError(f"no backgrounds in {cfg.backgrounds_dir} and no person-free regions in the photos")
    people = [(image, soft, soft) for (image, soft), frame in zip(pseudo, is_frame)
              if not frame and np.mean(soft > 127) >= MIN_TEACHER_PERSON_FRACTION]
    return Sources(photos, pseudo, is_frame, wallpapers, real, people)


def kind_probabilities(cfg: DataConfig, sources: Sources) -> np.ndarray:
    """Probability of each of KINDS for these sources (pseudo is 0 without teacher-labelled images)."""
    p = np.array([float(cfg.kind_probs.get(kind, 0.0)) for kind in KINDS])
    if not sources.pseudo:
        p[KINDS.index("pseudo")] = 0.0
    if p.sum() <= 0:
        raise ValueError(f"kind_probs {cfg.kind_probs} leave no sample kind to draw")
    return p / p.sum()


def sample_rng(seed: int, step: int, index: int) -> np.random.Generator:
    """The generator of sample INDEX of optimizer step STEP: the same on every run and after --resume."""
    return np.random.default_rng((int(seed), int(step), int(index)))


class SampleDataset(torch.utils.data.Dataset):
    """Sample (step, index) rendered on demand: dict of uint8 arrays image, image_b (a photometric twin
    for the consistency loss, for the first TWINS samples of a step), mask, soft (H, W), and bools
    has_mask, has_soft."""

    def __init__(self, sources: Sources, cfg: DataConfig, seed: int = 0, augment: bool = True, twins: int | None = None):
        self.sources, self.cfg, self.seed, self.augment = sources, cfg, seed, augment
        self.twins = twins  # samples 0..twins-1 of a step get a photometric twin (None: all of them)
        self.kind_p = kind_probabilities(cfg, sources)
        self.frames = [i for i, f in enumerate(sources.pseudo_is_frame) if f]
        self.stills = [i for i, f in enumerate(sources.pseudo_is_frame) if not f]

    def __len__(self) -> int:  # samples are indexed by (step, index), not by position
        return 0

    def __getitem__(self, key: tuple[int, int]) -> dict:
        step, index = key
        rng = sample_rng(self.seed, step, index)
        kind = KINDS[int(rng.choice(len(KINDS), p=self.kind_p))]
        image, mask, soft, has_mask = getattr(self, f"_{kind}")(rng)
        a = colour.photometric(image, rng) if self.augment else image
        wants_twin = self.augment and (self.twins is None or index < self.twins)
        b = colour.photometric(image, rng) if wants_twin else a  # a second view costs a second photometric pass
        has_soft = soft is not None
        return {
            "image": a,
            "image_b": b,
            "mask": mask,
            "soft": soft if has_soft else np.zeros_like(mask),
            "has_mask": has_mask,
            "has_soft": has_soft,
            "kind": KINDS.index(kind),
        }

    # Each kind returns (image, mask, soft | None, has_mask), all at the output size.

    def _crop(self, rng):
        image, mask, soft = self.sources.photos[int(rng.integers(len(self.sources.photos)))]
        view = sample_view(mask.shape, person_box(mask), rng, self.cfg, own_framing_prob=self.cfg.own_framing_prob,
                           keep_inside=ALL_SIDES)
        out, (out_mask, out_soft) = render_view(image, (mask, soft), view, self.cfg, rng, cv2.BORDER_REFLECT_101)
        out = self._light(out, out_mask, rng)
        return out, out_mask, out_soft, True

    def _composite(self, rng):
        cfg, photos = self.cfg, self.sources.photos
        image = self._background(rng)
        alpha = np.zeros(image.shape[:2], np.uint8)
        soft = np.zeros_like(alpha) if self.sources.teacher else None
        people = self.sources.teacher_people
        for _ in range(2 if rng.random() < cfg.two_people_prob else 1):
            # Drawn only when asked for, so a recipe without teacher people renders the samples it always did.
            if cfg.teacher_person_prob > 0 and people and rng.random() < cfg.teacher_person_prob:
                photo = people[int(rng.integers(len(people)))]
            else:
                photo = photos[int(rng.integers(len(photos)))]
            image, alpha, soft = comp.paste_person(image, alpha, soft, photo, rng, cfg)
        if rng.random() < cfg.occluder_prob:
            image, (alpha, soft) = comp.occlude(image, (alpha, soft), self._background(rng), rng)
        return self._light(image, alpha, rng), alpha, soft, True

    def _pseudo(self, rng):
        sources, cfg, frames, stills = self.sources, self.cfg, self.frames, self.stills
        # Frames of one video are near-duplicates: draw them only as often as cfg.video_frame_prob says.
        pool = frames if frames and (not stills or rng.random() < cfg.video_frame_prob) else stills
        image, soft = sources.pseudo[pool[int(rng.integers(len(pool)))]]
        h, w = image.shape[:2]
        # No mask to frame on: a random window of 40..100% of the frame, or the whole frame.
        zoom = float(rng.uniform(0.4, 1.0))
        box = (w * (1 - zoom) / 2, h * (1 - zoom) / 2, w * (1 + zoom) / 2, h * (1 + zoom) / 2)
        view = sample_view((h, w), box, rng, cfg, own_framing_prob=0.4, keep_inside=ALL_SIDES)
        out, (out_soft,) = render_view(image, (soft,), view, cfg, rng, cv2.BORDER_REFLECT_101)
        return self._light(out, out_soft, rng), out_soft, out_soft, False

    def _empty(self, rng):
        background = self._background(rng)
        nobody = np.zeros(background.shape[:2], np.uint8)
        return self._light(background, nobody, rng), nobody, (nobody if self.sources.teacher else None), True

    def _background(self, rng) -> np.ndarray:
        real, walls = self.sources.real_backgrounds, self.sources.wallpapers
        use_real = real and (not walls or rng.random() < self.cfg.real_background_prob)
        return comp.sample_background(real if use_real else walls, rng, self.cfg)

    def _light(self, image, alpha, rng):
        """Low light or backlight, now and then (labels do not change)."""
        u = rng.random()
        if u < self.cfg.low_light_prob:
            return colour.low_light(image, float(rng.uniform(*colour.LOW_LIGHT_GAIN)), float(rng.uniform(2, 8)), rng)
        if u < self.cfg.low_light_prob + self.cfg.backlight_prob:
            return colour.backlight(image, alpha, float(rng.uniform(*colour.BACKLIGHT_GAIN)),
                                    float(rng.uniform(*colour.BACKLIGHT_BOOST)))
        return image


class StepBatchSampler(torch.utils.data.Sampler):
    """Batch of step s = [(s, 0), ..., (s, batch_size - 1)] for s in [start_step, end_step)."""

    def __init__(self, start_step: int, end_step: int, batch_size: int):
        self.start_step, self.end_step, self.batch_size = start_step, end_step, batch_size

    def __len__(self) -> int:
        return max(0, self.end_step - self.start_step)

    def __iter__(self):
        for step in range(self.start_step, self.end_step):
            yield [(step, i) for i in range(self.batch_size)]
