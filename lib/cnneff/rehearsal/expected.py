"""What the full run expects under ``${DATA_ROOT}``: one table of data sets
(:data:`DATASETS`) and one of weight files (:data:`WEIGHT_FILES`), read by the
book, the pre-run checks (:func:`data_root_status`) and the rehearsal writer.

Pure data and path checks: importing this module imports neither torch nor PIL.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

__all__ = ["MARKER", "DataSet", "DATASETS", "WeightFile", "WEIGHT_FILES", "data_root_status", "expected_table",
           "is_rehearsal"]

MARKER = "REHEARSAL.json"  # written first (complete: false) and last by rehearsal-data; --force needs it


class DataSet(NamedTuple):
    """One data set of the full run, laid out as its publisher ships it."""

    name: str  # short name (the plan's PUBLISHED_SIZES keys)
    path: str  # folder under DATA_ROOT
    spec: str  # the --data source that reads it (DATA_ROOT left as ${DATA_ROOT})
    layout: str  # what the folder holds
    read_by: str  # the parameters (params/gpu/*.yaml) or commands that read it
    origin: str  # where the real data comes from


DATASETS = (
    DataSet("rmfd", "rmfd", "folder:${DATA_ROOT}/rmfd", "face/<person>/*.jpg + masked/<person>/*.jpg (2 classes)",
            "make_efficientnetv2_more_efficient.data",
            "RMFD (Wang et al. 2020), AFDB folders renamed face/ and masked/"),
    DataSet("rmfd_afdb", "rmfd_afdb", "rmfd:${DATA_ROOT}/rmfd_afdb",
            "AFDB_face_dataset/<person>/*.jpg + AFDB_masked_face_dataset/<person>/*.jpg",
            "-p data rmfd:${DATA_ROOT}/rmfd_afdb (the archive as published)",
            "RMFD, https://github.com/X-zhangyang/Real-World-Masked-Face-Dataset"),
    DataSet("deepweeds", "deepweeds", "deepweeds:${DATA_ROOT}/deepweeds",
            "images/*.jpg + labels.csv (Filename,Label,Species; 9 classes)",
            "foray_into_cnn_efficiency.scratch_data, .transfer_data",
            "DeepWeeds (Olsen et al. 2019), https://github.com/AlexOlsen/DeepWeeds"),
    DataSet("cifar10", "cifar/cifar-10-batches-py", "cifar10:${DATA_ROOT}/cifar",
            "data_batch_1..5, test_batch, batches.meta (python pickles)",
            "-p scratch_data cifar10:${DATA_ROOT}/cifar (foray_into_cnn_efficiency)",
            "CIFAR-10 python version, https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
    DataSet("cifar100", "cifar/cifar-100-python", "cifar100:${DATA_ROOT}/cifar", "train, test, meta (python pickles)",
            "-p scratch_data cifar100:${DATA_ROOT}/cifar (foray_into_cnn_efficiency)",
            "CIFAR-100 python version, https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"),
    DataSet("imagenet100", "imagenet100", "folder:${DATA_ROOT}/imagenet100",
            "train/<wnid>/*.JPEG + val/<wnid>/*.JPEG (100 classes)",
            "efficientnetv2_training.data, tinynet_rubiks_cube.data",
            "100 ImageNet-1k classes (ILSVRC-2012 train and val), https://image-net.org"),
    DataSet("imagenet100_64", "imagenet100_64", "folder:${DATA_ROOT}/imagenet100_64",
            "train/<wnid>/*.JPEG + val/<wnid>/*.JPEG, 64 x 64 px (100 classes)", "simplified_efficientnet.data",
            "ImageNet-100 downsampled to 64 px (or a Tiny-ImageNet-style set of 100 classes)"),
    DataSet("imagenet", "imagenet/val", "imagenet-val:${DATA_ROOT}/imagenet",
            "val/<wnid>/*.JPEG, the 1,000 ILSVRC-2012 classes", "cnneff evaluate MODEL --weights FILE",
            "ILSVRC-2012 validation images sorted into wnid folders, https://image-net.org"),
    DataSet("imagenet_train", "imagenet/train", "folder:${DATA_ROOT}/imagenet",
            "train/<wnid>/*.JPEG beside val/, the 1,000 ILSVRC-2012 classes",
            "tinynet_tables.imagenet_train (paper 004's Table 3 rows without published weights)",
            "ILSVRC-2012 training images in wnid folders, https://image-net.org"),
    DataSet("rps", "rps", "folder:${DATA_ROOT}/rps", "{paper,rock,scissors}/*.png from rps.zip (the run splits it; rps-test-set/ "
            "from rps-test-set.zip, unzipped beside rps/, is not read)",
            "-p scratch_data folder:${DATA_ROOT}/rps (foray_into_cnn_efficiency)",
            "Rock-Paper-Scissors (L. Moroney), https://laurencemoroney.com/datasets.html"),
)


class WeightFile(NamedTuple):
    """One ImageNet weight file the full run (or ``cnneff evaluate``) reads."""

    path: str  # under DATA_ROOT
    model: str  # registry name it loads into (1,000 classes)
    arch: str  # the publisher's architecture name
    format: str  # key style: "torchvision" or "timm"
    origin: str  # where the real file comes from
    read_by: str  # the parameters or commands that read it


TORCHVISION_URL = "https://download.pytorch.org/models/"
TIMM_URL = "https://github.com/rwightman/pytorch-image-models/releases/download/"
HUAWEI_URL = "https://github.com/huawei-noah/CV-Backbones/releases/download/v1.2.0/"


def _torchvision(file: str, model: str, weights: str, read_by: str) -> WeightFile:
    """A torchvision weight file: ``weights`` names its enum (``EfficientNet_B1_Weights``), whose
    IMAGENET1K_V1 entry downloads ``file`` from :data:`TORCHVISION_URL`.  Returns the row."""
    return WeightFile(f"weights/{file}", model, f"torchvision {model.split(':')[-1]}", "torchvision",
                      f"torchvision {weights}.IMAGENET1K_V1, {TORCHVISION_URL}{file}", read_by)


def _timm(file: str, model: str, tag: str, url: str, read_by: str) -> WeightFile:
    """A timm weight file: ``tag`` its pretrained tag (``tinynet_a.in1k``), ``url`` the release folder
    ``file`` is downloaded from.  Returns the row."""
    return WeightFile(f"weights/{file}", model, f"timm {tag.split('.')[0]}", "timm", f"timm {tag}, {url}{file}",
                      read_by)


_TABLE3 = "tinynet_tables (Table 3: {}); cnneff evaluate"
_V2_TABLE = "efficientnetv2_training.imagenet_weights ({})"
WEIGHT_FILES = (
    _torchvision("mobilenet_v2-b0353104.pth", "mobilenet_v2", "MobileNet_V2_Weights",
                 "foray_into_cnn_efficiency.transfer_weights; cnneff evaluate (torchvision format)"),
    _torchvision("efficientnet_b0_rwightman-7f5810bc.pth", "efficientnet_b0", "EfficientNet_B0_Weights",
                 "-p transfer_model efficientnet_b0 -p transfer_weights (foray_into_cnn_efficiency)"),
    _timm("tinynet_e.pth", "tinynet_e", "tinynet_e.in1k", HUAWEI_URL,
          "cnneff evaluate (timm format, same keys as the registry's TinyNet-E)"),
    _timm("efficientnet_b0_ra-3dd342df.pth", "efficientnet_b0", "efficientnet_b0.ra_in1k", TIMM_URL + "v0.1-weights/",
          "cnneff evaluate (timm keys loaded by position into torchvision's B0)"),
    _torchvision("efficientnet_b1_rwightman-bac287d4.pth", "efficientnet_b1", "EfficientNet_B1_Weights",
                 "foray_into_cnn_efficiency.finetune_weights (Table 1: B1 fine-tuned on CIFAR)"),
    _torchvision("efficientnet_b2_rwightman-c35c1473.pth", "efficientnet_b2", "EfficientNet_B2_Weights",
                 "foray_into_cnn_efficiency.finetune_weights "
                 "(Table 1: B2 fine-tuned on CIFAR and Rock-Paper-Scissors)"),
    _torchvision("efficientnet_b4_rwightman-23ab8bcd.pth", "efficientnet_b4", "EfficientNet_B4_Weights",
                 _V2_TABLE.format("Fused-MBConv table, no fused: B4")),
    _torchvision("efficientnet_b6_lukemelas-24a108a5.pth", "efficientnet_b6", "EfficientNet_B6_Weights",
                 _V2_TABLE.format("parameter efficiency: EfficientNet")),
    _torchvision("efficientnet_b7_lukemelas-c5b4e57e.pth", "efficientnet_b7", "EfficientNet_B7_Weights",
                 _V2_TABLE.format("Table 10: V1-B7")),
    _torchvision("efficientnet_v2_s-dd5fe13b.pth", "efficientnet_v2_s", "EfficientNet_V2_S_Weights",
                 _V2_TABLE.format("parameter efficiency: EfficientNetV2")),
    _torchvision("efficientnet_v2_m-dc08266a.pth", "torchvision:efficientnet_v2_m", "EfficientNet_V2_M_Weights",
                 _V2_TABLE.format("Table 10: V2-M")),
    _timm("resnetrs350_i256_ema-5a1aa8f1.pth", "timm:resnetrs350", "resnetrs350.tf_in1k",
          TIMM_URL + "v0.1-rs-weights/", _V2_TABLE.format("parameter efficiency: ResNet-RS")),
    _timm("deit_base_patch16_224-b5f2ef4d.pth", "timm:deit_base_patch16_224",
          "deit_base_patch16_224.fb_in1k (Facebook's DeiT-B)", "https://dl.fbaipublicfiles.com/deit/",
          _V2_TABLE.format("parameter efficiency: DeiT/ViT")),
    *(_timm(f"tinynet_{x}.pth", f"tinynet_{x}", f"tinynet_{x}.in1k", HUAWEI_URL,
            _TABLE3.format(f"TinyNet-{x.upper()}" + (" + RA" if x == "a" else ""))) for x in "abcd"),
    _timm("mnasnet_a1-d9418771.pth", "timm:semnasnet_100", "semnasnet_100.rmsp_in1k", TIMM_URL + "v0.1-weights/",
          _TABLE3.format("MnasNet-A1")),
    _timm("mobilenetv2_050-3d30d450.pth", "timm:mobilenetv2_050", "mobilenetv2_050.lamb_in1k",
          TIMM_URL + "v0.1-weights/", _TABLE3.format("MobileNetV2 0.5x")),
    _timm("mobilenetv3_small_050_lambc-4b7bbe87.pth", "timm:mobilenetv3_small_050", "mobilenetv3_small_050.lamb_in1k",
          TIMM_URL + "v0.1-weights/", _TABLE3.format("MobileNetV3 Small 0.5x")),
    _timm("mobilenetv3_small_075_lambc-384766db.pth", "timm:mobilenetv3_small_075", "mobilenetv3_small_075.lamb_in1k",
          TIMM_URL + "v0.1-weights/", _TABLE3.format("MobileNetV3 Small 0.75x")),
    _torchvision("shufflenetv2_x1_5-3c479a10.pth", "torchvision:shufflenet_v2_x1_5", "ShuffleNet_V2_X1_5_Weights",
                 _TABLE3.format("ShuffleNetV2 1.5x")),
    _torchvision("shufflenetv2_x0.5-f707e7126e.pth", "torchvision:shufflenet_v2_x0_5", "ShuffleNet_V2_X0_5_Weights",
                 _TABLE3.format("ShuffleNetV2 0.5x")),
)


def expected_table():
    """Returns a DataFrame of every data set and weight file the full run reads:
    kind ("data" / "weights"), path under DATA_ROOT, how it is read
    (``--data`` source or registry model and key format), read by, origin."""
    import pandas as pd

    rows = [dict(kind="data", path=d.path, read_as=d.spec, layout=d.layout, read_by=d.read_by, origin=d.origin)
            for d in DATASETS]
    rows += [dict(kind="weights", path=w.path, read_as=f"{w.model} ({w.format} keys)", layout=w.arch,
                  read_by=w.read_by, origin=w.origin) for w in WEIGHT_FILES]
    return pd.DataFrame(rows)


def data_root_status(data_root: str | os.PathLike | None = None) -> list[dict]:
    """Which expected paths exist under ``data_root`` (default ``$DATA_ROOT``):
    one dict per data set and weight file with ``kind``, ``path`` (absolute),
    ``present`` (bool) and ``read_by``.  Returns the list (ValueError when no
    root is given and DATA_ROOT is unset)."""
    root = data_root if data_root is not None else os.environ.get("DATA_ROOT")
    if not root:
        raise ValueError("DATA_ROOT is not set; pass the folder that holds the papers' data sets "
                         "(or write a rehearsal one: cnneff rehearsal-data DIR)")
    root = Path(root).expanduser()
    out = [dict(kind="data", path=str(root / d.path), present=(root / d.path).is_dir(), read_by=d.read_by)
           for d in DATASETS]
    out += [dict(kind="weights", path=str(root / w.path), present=(root / w.path).is_file(), read_by=w.read_by)
            for w in WEIGHT_FILES]
    return out


def is_rehearsal(data_root: str | os.PathLike | None = None) -> bool:
    """Whether ``data_root`` (default ``$DATA_ROOT``) is a rehearsal tree written
    by ``cnneff rehearsal-data`` (it holds :data:`MARKER`): results computed on
    it exercise the full run's code paths but are not the papers' data.
    Returns a bool (False when no root is given and DATA_ROOT is unset)."""
    root = data_root if data_root is not None else os.environ.get("DATA_ROOT")
    return bool(root) and (Path(root).expanduser() / MARKER).is_file()
