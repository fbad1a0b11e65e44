import os
import re
import tarfile

import numpy as np
import pytest

from keras_auxlt.data import archive
from keras_auxlt.data.errors import DataError
from keras_auxlt.data.loading import DataConfig, load_split, make_source
from keras_auxlt.data.sources import ArraySource, ImageFolderSource, ListFileSource, TFDSSource
from keras_auxlt.data.split import Split
from keras_auxlt.data.validate import check_files_exist, validate_images
from tests.conftest import random_images, write_image_folder


@pytest.fixture
def folder(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=[4, 3, 2])
    (tmp_path / "images" / "train" / "class_00" / "README.txt").write_text("not an image")
    return root


def test_image_folder_classes_files_and_labels(folder):
    source = ImageFolderSource(folder)
    assert source.split_names == ("test", "train")
    assert source.class_names == ("class_00", "class_01", "class_02")
    train = source.load("train")
    assert train.labels.tolist() == [0] * 4 + [1] * 3 + [2] * 2
    assert train.class_counts.tolist() == [4, 3, 2]
    assert os.path.basename(train.paths[0]) == "0000.png"  # README.txt ignored, files sorted
    with pytest.raises(DataError, match="no split 'val'. Available: test, train"):
        source.load("val")


def test_image_folder_archive_is_read_in_place_of_the_directory(folder, tmp_path):
    for suffix, mode in [(".tar.gz", "w:gz"), (".tar", "w")]:
        path = tmp_path / f"images{suffix}"
        with tarfile.open(path, mode) as tar:
            tar.add(folder, arcname="wrapped")  # one wrapping folder, as archives often have
        from_archive = ImageFolderSource(str(path)).load("train")
        from_dir = ImageFolderSource(folder).load("train")
        assert from_archive.labels.tolist() == from_dir.labels.tolist()
        assert [os.path.basename(p) for p in from_archive.paths] == [os.path.basename(p) for p in from_dir.paths]
        # Extracted once: the second open reuses the cache entry keyed on the checksum.
        assert ImageFolderSource(str(path)).root == ImageFolderSource(str(path)).root
        assert str(archive.sha256_of(path))[:16] in ImageFolderSource(str(path)).root


def test_corrupt_archive_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(b"\x1f\x8b this is not gzip")
    with pytest.raises(DataError, match="Cannot extract archive .*broken.tar.gz"):
        ImageFolderSource(str(path))


def test_missing_data_dir(tmp_path):
    with pytest.raises(DataError, match="not found: .*nowhere"):
        ImageFolderSource(str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="--data_dir .*nowhere does not exist"):
        make_source(DataConfig(dataset="cifar10", data_dir=str(tmp_path / "nowhere")))
    (tmp_path / "cifar10.zip").write_bytes(b"PK")  # a file, but no archive this reader takes
    with pytest.raises(DataError, match=r"--data_dir .*cifar10\.zip is a file, and not an archive of an image folder "
                                        r"\(\.tar, \.tar\.gz, \.tgz\)"):
        make_source(DataConfig(dataset="cifar10", data_dir=str(tmp_path / "cifar10.zip")))


def test_a_split_or_a_folder_of_loose_images_given_as_data_dir_is_named_before_any_download(folder, tmp_path):
    """Not a TFDS data directory either: without these errors TFDS would try (and offline, after minutes of
    retries, fail) to download CIFAR-10 into it."""
    split = os.path.join(folder, "train")
    with pytest.raises(DataError, match=rf"--data_dir {split} holds 3 folders, class folders of images \(class_00, "
                                        r"class_01, class_02\), but no train/ folder: an image folder is <root>/train/<class>/"
                                        r"<image>.* If it is one split, pass the folder above it"):
        make_source(DataConfig(dataset="cifar10", data_dir=split, tfds_download=False))
    loose = os.path.join(split, "class_01")
    count = len(os.listdir(loose))
    with pytest.raises(DataError, match=rf"--data_dir {loose} holds {count} image files directly \(0000.png, 0001.png, "
                                        r"0002.png\): an image folder is"):
        make_source(DataConfig(dataset="cifar10", data_dir=loose, tfds_download=False))


def test_an_image_folder_in_one_wrapping_folder_is_read_and_an_empty_folder_is_left_to_tfds(folder, tmp_path):
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir()
    os.rename(folder, wrapper / "cifar10_lt")
    source = make_source(DataConfig(dataset="cifar10", data_dir=str(wrapper)))
    assert isinstance(source, ImageFolderSource) and source.class_names == ("class_00", "class_01", "class_02")
    (tmp_path / "empty").mkdir()  # a TFDS data directory to prepare into
    with pytest.raises(DataError, match="'cifar10' is not prepared in .*empty.* downloading is off"):
        make_source(DataConfig(dataset="cifar10", data_dir=str(tmp_path / "empty"), tfds_download=False))


def write_list(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_list_file_source(folder, tmp_path):
    train = write_list(tmp_path / "train.txt", ["train/class_00/0000.png 0", "train/class_01/0000.png 1",
                                                "", "train/class_02/0001.png 2"])
    names = write_list(tmp_path / "names.txt", ["cat", "dog", "eel"])
    source = ListFileSource({"train": train}, data_root=folder, class_names_file=names)
    split = source.load("train")
    assert split.class_names == ("cat", "dog", "eel")
    assert split.labels.tolist() == [0, 1, 2]
    assert split.paths[2] == os.path.join(folder, "train/class_02/0001.png")
    check_files_exist(split)
    # Without a class-name file the classes are 0..max label.
    assert ListFileSource({"train": train}).class_names == ("0", "1", "2")


@pytest.mark.parametrize("line, message", [
    ("just_a_path.jpg", r"train.txt:2: expected '<relative/path.jpg> <label>', got 'just_a_path.jpg'"),
    ("a.jpg seven", r"train.txt:2: label 'seven' is not an integer"),
    ("a.jpg 1.5", r"train.txt:2: label '1.5' is not an integer"),
    ("a.jpg -1", r"train.txt:2: label -1 is negative"),
])
def test_malformed_list_lines_name_file_and_line(tmp_path, line, message):
    path = write_list(tmp_path / "train.txt", ["ok.jpg 0", line])
    with pytest.raises(DataError, match=message):
        ListFileSource({"train": path})


def test_list_label_out_of_range_of_class_names(tmp_path):
    train = write_list(tmp_path / "train.txt", ["a.jpg 0", "b.jpg 5"])
    names = write_list(tmp_path / "names.txt", ["cat", "dog"])
    with pytest.raises(DataError, match=r"label 5 of example 1 \(b.jpg\) is out of range \[0, 2\)"):
        ListFileSource({"train": train}, class_names_file=names).load("train")


def test_empty_list_file_and_unreadable_list(tmp_path):
    with pytest.raises(DataError, match="has no entries"):
        ListFileSource({"train": write_list(tmp_path / "e.txt", [""])})
    with pytest.raises(DataError, match="Cannot read list file .*missing.txt"):
        ListFileSource({"train": str(tmp_path / "missing.txt")})


def test_a_missing_list_file_names_its_flag_and_where_it_was_looked_for(tmp_path):
    train = write_list(tmp_path / "train.txt", ["a.jpg 0"])
    config = DataConfig(dataset="imagenet_lt", train_list=train, val_list="ImageNet_LT_val.txt")
    with pytest.raises(DataError, match=rf"--val_list ImageNet_LT_val.txt: no such file \(a relative path is read from the "
                                        rf"working directory, {re.escape(os.getcwd())}\). The imagenet_lt list files"):
        make_source(config)


def test_missing_files_are_all_reported(tmp_path, folder):
    train = write_list(tmp_path / "train.txt", ["train/class_00/0000.png 0", "gone/1.png 1", "gone/2.png 1"])
    split = ListFileSource({"train": train}, data_root=folder).load("train")
    with pytest.raises(DataError) as e:
        check_files_exist(split)
    assert "2 missing image files" in str(e.value)
    assert "gone/1.png" in str(e.value) and "gone/2.png" in str(e.value)


def test_validation_finds_every_corrupt_image_and_can_skip_them(folder):
    bad = [os.path.join(folder, "train", "class_00", "0001.png"), os.path.join(folder, "train", "class_01", "0002.png")]
    for path in bad:
        with open(path, "wb") as f:
            f.write(b"\x89PNG broken")
    split = ImageFolderSource(folder).load("train")
    with pytest.raises(DataError) as e:
        validate_images(split, progress=False)
    assert "2 unreadable or corrupt images" in str(e.value) and all(p in str(e.value) for p in bad)
    assert "--skip_bad_images" in str(e.value)
    # the decoder's own words, without TensorFlow's op wrapper ("{{function_node ...}}", "[Op:DecodeImage] name:")
    assert f"{bad[0]}: Unknown image file format. One of JPEG, PNG, GIF, BMP, WebP required.\n" in str(e.value)
    one = split.subset([list(split.paths).index(bad[0])])
    with pytest.raises(DataError, match=r"\[train\]: 1 unreadable or corrupt image:\n"):
        validate_images(one, progress=False)
    kept, skipped = validate_images(split, skip_bad=True, progress=False)
    assert skipped == 2 and len(kept) == len(split) - 2
    assert not set(bad) & set(kept.paths)


def test_zero_image_class_in_training_split(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=[3, 2], splits=("train",))
    (tmp_path / "images" / "train" / "class_02").mkdir()
    config = DataConfig(data_dir=root, validate_images=False)
    with pytest.raises(DataError, match=r"classes with zero images: 2 \(class_02\)"):
        load_split(make_source(config), "train", config)


def test_validation_split_made_from_left_out_training_images(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=[10, 10, 10])
    config = DataConfig(data_dir=root, imbalance_ratio=5, val_per_class=3)
    source = make_source(config)
    train = load_split(source, "train", config, progress=False)
    val = load_split(source, "val", config, progress=False)
    assert train.class_counts.tolist() == [7, 4, 2] and val.class_counts.tolist() == [3, 3, 3]
    assert not set(train.paths) & set(val.paths) and all("/train/" in p for p in val.paths)
    assert val.where.endswith("[val]")
    with pytest.raises(DataError, match=r"\[train\], --val_per_class=10: Class 0 \(class_00\) has 10 training images: "
                                        r"too few for 10 validation images"):
        load_split(source, "train", DataConfig(data_dir=root, imbalance_ratio=5, val_per_class=10), progress=False)


def test_validation_split_is_not_made_when_the_data_has_one(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=[3, 3], splits=("train", "val", "test"))
    config = DataConfig(data_dir=root, val_per_class=1)
    with pytest.raises(DataError, match="--val_per_class=1: the data already has a validation split"):
        load_split(make_source(config), "val", config, progress=False)


def test_load_split_applies_long_tail_to_train_only(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=[10, 10, 10])
    config = DataConfig(data_dir=root, imbalance_ratio=5, validate_images=True)
    source = make_source(config)
    assert isinstance(source, ImageFolderSource)
    assert load_split(source, "train", config, progress=False).class_counts.tolist() == [10, 4, 2]
    assert load_split(source, "test", config, progress=False).class_counts.tolist() == [10, 10, 10]
    with pytest.raises(DataError, match="imbalance_ratio must be >= 1"):
        load_split(source, "train", DataConfig(data_dir=root, imbalance_ratio=0.5))


def test_array_source_and_split_checks():
    images = random_images(6)
    source = ArraySource({"train": (images, np.array([0, 1, 2, 0, 1, 2]))}, class_names=["a", "b", "c"])
    split = source.load("train")
    assert split.images.shape == (6, 8, 8, 3) and split.class_counts.tolist() == [2, 2, 2]
    with pytest.raises(DataError, match="the split is empty"):
        Split("train", np.zeros([0], np.int64), ("a",), images=np.zeros([0, 8, 8, 3], np.uint8))
    with pytest.raises(DataError, match="labels must be integers"):
        Split("train", np.array([0.5, 1.0]), ("a", "b"), images=images[:2])
    with pytest.raises(DataError, match="2 images but 3 labels"):
        Split("train", np.array([0, 1, 1]), ("a", "b"), images=images[:2])
    with pytest.raises(DataError, match=r"label 3 of example 1 \(array index 1\) is out of range \[0, 2\)"):
        Split("train", np.array([0, 3]), ("a", "b"), images=images[:2])


def test_tfds_unknown_name_and_no_download(tmp_path):
    with pytest.raises(DataError, match="TFDS does not know a dataset named 'no_such_dataset_xyz'"):
        TFDSSource("no_such_dataset_xyz", data_dir=str(tmp_path))
    with pytest.raises(DataError, match="'cifar10' is not prepared in .* downloading is off"):
        TFDSSource("cifar10", data_dir=str(tmp_path), download=False)
    assert not any(tmp_path.rglob("*.tfrecord*"))


@pytest.mark.large
def test_shared_cifar10_test_split_and_decoding(shared_cifar10):
    config = DataConfig(data_dir=shared_cifar10)
    source = make_source(config)
    test = load_split(source, "test", config, progress=False)  # decodes all 10,000 images
    assert test.class_counts.tolist() == [1000] * 10
    assert source.class_names[0] == "airplane" and source.class_names[9] == "truck"


def test_tfds_source_loads_a_builder_into_arrays(tmp_path):
    """The real TFDS loading path, fed by TFDS's own mock (no download, no network)."""
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=12):
        source = TFDSSource("cifar10", data_dir=str(tmp_path), download=True)
        train = source.load("train")
    assert train.images.shape == (12, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.num_classes == 10 and train.origin == "tfds:cifar10"


def test_tiny_imagenet_lt_reads_the_same_as_image_folders_and_as_list_files(shared_tiny_imagenet_lt):
    """The shared Tiny-ImageNet-LT archive, read as flags/tiny_imagenet_lt.cfg reads it (list files found inside the
    archive's folder) and as image folders (--train_list=), gives the same files, labels and class names per split;
    its training split is used as it is (490 to 5 images, shot groups 70 / 70 / 60)."""
    lists = DataConfig(dataset="tiny_imagenet_lt", data_dir=shared_tiny_imagenet_lt, imbalance_ratio=1,
                       train_list="TinyImageNet_LT_train.txt", val_list="TinyImageNet_LT_val.txt",
                       test_list="TinyImageNet_LT_test.txt", class_names_file="classes.txt")
    folders = DataConfig(dataset="tiny_imagenet_lt", data_dir=shared_tiny_imagenet_lt, imbalance_ratio=1)
    by_list, by_folder = make_source(lists), make_source(folders)
    assert isinstance(by_list, ListFileSource) and isinstance(by_folder, ImageFolderSource)
    sizes = {}
    for name in ("train", "val", "test"):
        a = load_split(by_list, name, lists, check_images=False)
        b = load_split(by_folder, name, folders, check_images=False)
        assert a.class_names == b.class_names and len(a.class_names) == 200
        order_a, order_b = np.argsort(a.paths), np.argsort(b.paths)
        assert [os.path.normpath(p) for p in a.paths[order_a]] == [os.path.normpath(p) for p in b.paths[order_b]]
        np.testing.assert_array_equal(a.labels[order_a], b.labels[order_b])
        sizes[name] = a.class_counts
    assert sizes["train"].sum() == 21_539 and sizes["train"].max() == 490 and sizes["train"].min() == 5
    assert (sizes["val"] == 10).all() and (sizes["test"] == 50).all()
    assert load_split(by_list, "train", lists, check_images=False).class_counts.tolist() == sizes["train"].tolist()
    from keras_auxlt.data.loading import summary

    assert summary(load_split(by_list, "train", lists, check_images=False))["shot_groups"] == {
        "many": 70, "medium": 70, "few": 60}


def test_tiny_imagenet_lt_greyscale_images_are_read_as_rgb(shared_tiny_imagenet_lt):
    """About 2 % of its JPEGs are greyscale (one channel): the decoder gives them three equal channels."""
    import tensorflow as tf
    from PIL import Image

    from keras_auxlt.data.decoding import decode_rgb

    test = make_source(DataConfig(data_dir=shared_tiny_imagenet_lt)).load("test")
    greyscale = []
    for path in test.paths[::25]:
        with Image.open(path) as image:
            if image.mode == "L":
                greyscale.append(path)
    assert 0 < len(greyscale) < 0.1 * len(test.paths[::25])
    pixels = decode_rgb(tf.io.read_file(greyscale[0])).numpy()
    assert pixels.shape == (64, 64, 3)
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 1])
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 2])


def test_list_files_are_read_from_the_data_dir_when_not_in_the_working_directory(folder, tmp_path):
    write_list(tmp_path / "images" / "train_list.txt", ["train/class_00/0000.png 0", "train/class_01/0000.png 1"])
    source = make_source(DataConfig(dataset="mine", data_dir=folder, train_list="train_list.txt"))
    assert source.load("train").paths[1] == os.path.join(folder, "train/class_01/0000.png")
    with pytest.raises(DataError, match=r"--val_list val.txt: no such file in the working directory \(.*\) nor in "
                                        rf"--data_dir \({re.escape(folder)}\)"):
        make_source(DataConfig(dataset="mine", data_dir=folder, train_list="train_list.txt", val_list="val.txt"))
    with pytest.raises(DataError, match=r"--data_dir .*nowhere: no such folder"):
        make_source(DataConfig(dataset="mine", data_dir=str(tmp_path / "nowhere"), train_list="train_list.txt"))
