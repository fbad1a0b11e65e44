"""The Keras internals module says when it runs on a Keras it was not written for."""

import warnings

import keras
import pytest

from keras_auxlt import keras_compat


def test_the_installed_keras_is_the_one_the_module_was_written_for():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert keras_compat.check_version(keras.__version__)


@pytest.mark.parametrize("version", ["3.16.0", "3.14.2", "4.0.0"])
def test_another_keras_version_is_named_in_a_warning(version):
    with pytest.warns(RuntimeWarning, match=rf"written for Keras 3\.15\.x and this is Keras {version}: it relies on "
                                            r"private Keras APIs"):
        assert not keras_compat.check_version(version)
