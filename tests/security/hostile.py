"""Real hostile models, built the way an attacker would commit them (TensorFlow imported here).

Each builder saves a model whose loading does I/O: a TF2 resource whose initializer writes or
reads a file, a TF1 SavedModel whose main op writes one, a saver whose restore op reads another
checkpoint, a model calling Python. ``trusted_load`` loads one with TensorFlow directly, to show
in each test that the attack is real (the side effect happens when the scan is bypassed).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow as tf


class _Resource(tf.saved_model.experimental.TrackableResource):
    """A resource whose initializer (run by ``tf.saved_model.load``) runs ``action``."""

    def __init__(self, action) -> None:
        super().__init__()
        self._action = action

    def _create_resource(self):
        return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="edgegate_hostile")

    def _initialize(self):
        self._action()


class _Model(tf.Module):
    def __init__(self, action=None) -> None:
        super().__init__()
        if action is not None:
            self.hook = _Resource(action)
        self.w = tf.Variable(np.arange(4, dtype=np.float32).reshape(1, 4))

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def serve(self, x):
        return {"y": x * self.w}


def _save(module: tf.Module, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    return folder


def writes_at_load(folder: Path, sentinel: Path) -> Path:
    """TF2: a ``TrackableResource`` whose ``_initialize`` calls ``tf.io.write_file(sentinel)``."""
    return _save(_Model(lambda: tf.io.write_file(str(sentinel), "written at load")), folder)


def copies_at_load(folder: Path, secret: Path, copy: Path) -> Path:
    """TF2: an initializer reading ``secret`` (the attack read /proc/self/environ) into ``copy``."""
    return _save(_Model(lambda: tf.io.write_file(str(copy), tf.io.read_file(str(secret)))), folder)


def plain(folder: Path) -> Path:
    """A legitimate SavedModel: one variable, one serving signature, no I/O."""
    return _save(_Model(), folder)


class _TableModel(tf.Module):
    """Legitimate too: a lookup table initialized from in-memory keys (an initializer, no file)."""

    def __init__(self) -> None:
        super().__init__()
        init = tf.lookup.KeyValueTensorInitializer(
            tf.constant([0, 1, 2, 3], tf.int64), tf.constant([4.0, 3, 2, 1])
        )
        self.table = tf.lookup.StaticHashTable(init, default_value=0.0)

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def serve(self, x):
        return {"y": x * self.table.lookup(tf.constant([0, 1, 2, 3], tf.int64))}


def table_from_memory(folder: Path) -> Path:
    return _save(_TableModel(), folder)


class _PythonModel(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def serve(self, x):
        return {"y": tf.numpy_function(lambda a: a * 2, [x], tf.float32)}


def calls_python(folder: Path) -> Path:
    """TF2: the serving function calls ``tf.numpy_function`` (a PyFunc op)."""
    return _save(_PythonModel(), folder)


def tf1(folder: Path, *, main_op_writes: Path | None = None, restore_reads: Path | None = None) -> Path:
    """A TF1 SavedModel (``Builder``) with a variable; its ``main_op`` may write ``main_op_writes``,
    or its saver's restore op may also restore from the constant prefix ``restore_reads``."""
    shutil.rmtree(folder, ignore_errors=True)
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 2], name="x")
        v = tf.compat.v1.get_variable("v", initializer=tf.ones([2]))
        y = tf.identity(x * v, name="y")
        main_op = None
        if main_op_writes is not None:
            write = tf.io.write_file(str(main_op_writes), "written by main_op")
            main_op = tf.group(tf.compat.v1.global_variables_initializer(), write)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(folder))
            signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})
            saver = None
            if restore_reads is not None:
                # The saver TensorFlow builds, plus one more restore reading a fixed checkpoint.
                saver = tf.compat.v1.train.Saver(sharded=True)
                other = tf.raw_ops.RestoreV2(
                    prefix=tf.constant(str(restore_reads)),
                    tensor_names=tf.constant(["v"]),
                    shape_and_slices=tf.constant([""]),
                    dtypes=[tf.float32],
                )
                restore_all = session.graph.get_operation_by_name(saver.saver_def.restore_op_name)
                restore_all._add_control_input(other[0].op)
            builder.add_meta_graph_and_variables(
                session, ["serve"], {"serving_default": signature}, main_op=main_op, saver=saver
            )
            builder.save()
    return folder


def trusted_load(folder: Path) -> None:
    """What loading did before the scan: TensorFlow loads the folder (running its initializers)."""
    try:
        tf.saved_model.load(str(folder))
    except Exception:
        pass  # a failing load may still have run what it ran first


class _PrintingModel(tf.Module):
    def __init__(self, stream) -> None:
        super().__init__()
        self._stream = stream

    @tf.function(input_signature=[tf.TensorSpec([1, 4], tf.float32)])
    def serve(self, x):
        tf.print(x, output_stream=self._stream)
        return {"y": x * 2}


def prints(folder: Path, stream) -> Path:
    """``tf.print`` to ``stream``: "file:///path" writes a file, sys.stderr does not."""
    return _save(_PrintingModel(stream), folder)
