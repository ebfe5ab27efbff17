"""Real models built inside the tests: a Keras MLP SavedModel, a dtype-echo SavedModel, a TorchScript
module, a hand-written PMML regression, C processors compiled with gcc, and Python apps."""

from __future__ import annotations

import os
import subprocess
import textwrap
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_keras_mlp(directory: Path, *, hidden: int = 32, epochs: int = 2, name: str = "mnist_saved_model") -> Path:
    """MNIST-shaped MLP trained on synthetic data, exported with the seeds' `predict_images`
    signature (input `images` [-1, 784] float, output `scores` [-1, 10])."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(7)
    images = rng.random((512, 784), dtype=np.float32)
    labels = (images[:, :10].argmax(axis=1)).astype(np.int64)
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(hidden, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=epochs, batch_size=64, verbose=0)

    class Exported(tf.Module):
        def __init__(self, wrapped) -> None:
            super().__init__()
            self.model = wrapped

        @tf.function(input_signature=[tf.TensorSpec([None, 784], tf.float32, name="images")])
        def predict_images(self, images):
            return {"scores": self.model(images)}

    exported = Exported(model)
    path = directory / name
    tf.saved_model.save(exported, str(path), signatures={"predict_images": exported.predict_images})
    return path


def build_dtype_model(directory: Path) -> Path:
    """A SavedModel whose default signature takes and returns every EAS dtype family."""
    import tensorflow as tf

    class Echo(tf.Module):
        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.string, name="text"),
            tf.TensorSpec([None], tf.bool, name="flag"),
            tf.TensorSpec([None], tf.int64, name="big"),
            tf.TensorSpec([None, 2], tf.int32, name="small"),
            tf.TensorSpec([None], tf.float64, name="precise"),
            tf.TensorSpec([None], tf.uint8, name="byte"),
        ])
        def serve(self, text, flag, big, small, precise, byte):
            return {
                "upper": tf.strings.upper(text),
                "negated": tf.logical_not(flag),
                "doubled": big * 2,
                "summed": tf.reduce_sum(small, axis=1),
                "halved": precise / 2.0,
                "inverted": 255 - byte,
            }

    module = Echo()
    path = directory / "dtype_model"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def build_torchscript(directory: Path) -> Path:
    """A scripted two-input module returning a tuple (linear layer output, elementwise product)."""
    import torch

    class TwoHeads(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor, y: torch.Tensor):
            return torch.relu(self.linear(x)), x * y

    torch.manual_seed(3)
    with warnings.catch_warnings():  # TorchScript is what EAS serves, deprecated or not
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.script(TwoHeads().eval())
    path = directory / "two_heads.pt"
    module.save(str(path))
    return path


PMML_REGRESSION = """<?xml version="1.0" encoding="UTF-8"?>
<PMML version="4.3" xmlns="http://www.dmg.org/PMML-4_3">
  <Header description="hand-written linear regression for the runtime tests"/>
  <DataDictionary numberOfFields="6">
    <DataField name="x1" optype="continuous" dataType="double"/>
    <DataField name="x2" optype="continuous" dataType="double"/>
    <DataField name="count" optype="continuous" dataType="integer"/>
    <DataField name="flag" optype="categorical" dataType="boolean">
      <Value value="true"/><Value value="false"/>
    </DataField>
    <DataField name="color" optype="categorical" dataType="string">
      <Value value="red"/><Value value="blue"/><Value value=""/>
    </DataField>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>
  <RegressionModel functionName="regression" modelName="runtime_test_regression">
    <MiningSchema>
      <MiningField name="x1"/>
      <MiningField name="x2" missingValueReplacement="10"/>
      <MiningField name="count"/>
      <MiningField name="flag"/>
      <MiningField name="color"/>
      <MiningField name="y" usageType="target"/>
    </MiningSchema>
    <RegressionTable intercept="1.5">
      <NumericPredictor name="x1" coefficient="2.0"/>
      <NumericPredictor name="x2" coefficient="-0.5"/>
      <NumericPredictor name="count" coefficient="0.25"/>
      <CategoricalPredictor name="flag" value="true" coefficient="3.0"/>
      <CategoricalPredictor name="flag" value="false" coefficient="-3.0"/>
      <CategoricalPredictor name="color" value="red" coefficient="100.0"/>
      <CategoricalPredictor name="color" value="blue" coefficient="200.0"/>
      <CategoricalPredictor name="color" value="" coefficient="7.0"/>
    </RegressionTable>
  </RegressionModel>
</PMML>
"""


def pmml_formula(x1=0.0, x2=10.0, count=0, flag=False, color="") -> float:
    """What the regression above must compute; defaults are the values a missing field gets."""
    colors = {"red": 100.0, "blue": 200.0, "": 7.0}
    return 1.5 + 2.0 * x1 - 0.5 * x2 + 0.25 * count + (3.0 if flag else -3.0) + colors[color]


def write_pmml(directory: Path) -> Path:
    path = directory / "regression.pmml"
    path.write_text(PMML_REGRESSION)
    return path


# The echo processor of the EAS C/C++ processor docs (seed 004), with the parameter names of
# its own declaration (the published snippet uses `inputSize`/`outputData` in the body).
SEED_ECHO_PROCESSOR = """
#include <stdio.h>
#include <string.h>
extern "C" {
 void *initialize(const char *model_entry, const char *model_config, int *state)
 {
   *state = 0;
   return NULL;
 }
 int process(void *model_buf, const void *input_data, int input_size,
     void **output_data, int *output_size)
 {
   if (input_size == 0) {
     const char *errmsg = "input data should not be empty";
     *output_data = strndup(errmsg, strlen(errmsg));
     *output_size = strlen(errmsg);
     return 400;
   }
   *output_data = strndup((char *)input_data, input_size);
   *output_size = input_size;
   return 200;
 }
}
"""

# A C processor for the failure paths: "crash" segfaults, "code<N>" returns status N, "sleep<ms>"
# sleeps, anything else is echoed with the model entry/config prepended.
BEHAVIOUR_PROCESSOR = """
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct model { char prefix[512]; };

void *initialize(const char *model_entry, const char *model_config, int *state) {
  if (strcmp(model_config, "fail") == 0) { *state = 7; return NULL; }
  struct model *m = malloc(sizeof(struct model));
  snprintf(m->prefix, sizeof(m->prefix), "%s|%s|", model_entry, model_config);
  *state = 0;
  return m;
}

int process(void *buf, const void *input, int size, void **output, int *output_size) {
  struct model *m = buf;
  char text[64] = {0};
  memcpy(text, input, size < 63 ? size : 63);
  if (strncmp(text, "crash", 5) == 0) { raise(SIGSEGV); }
  if (strncmp(text, "code", 4) == 0) { *output = strdup("coded"); *output_size = 5; return atoi(text + 4); }
  if (strncmp(text, "sleep", 5) == 0) { usleep(atoi(text + 5) * 1000); }
  size_t prefix = strlen(m->prefix);
  char *out = malloc(prefix + size);
  memcpy(out, m->prefix, prefix);
  memcpy(out + prefix, input, size);
  *output = out;
  *output_size = prefix + size;
  return 0;
}
"""


def compile_library(directory: Path, name: str, source: str, compiler: str) -> Path:
    suffix = ".cc" if compiler == "g++" else ".c"
    source_path = directory / f"{name}{suffix}"
    source_path.write_text(source)
    library = directory / f"lib{name}.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source_path)], check=True)
    return library


# A Java processor with the seed's class shape (seed 004, 6.4.3). "boom" throws, "sleep" holds a
# worker thread for 200 ms while counting how many run at once, "most" answers that count;
# anything else is echoed behind a prefix built by a class from a second jar (a dependency).
JAVA_PROCESSOR = {
    "com/alibaba/eas/TestProcessor.java": """
package com.alibaba.eas;
import java.util.concurrent.atomic.AtomicInteger;
import com.example.format.Prefix;
public class TestProcessor {
    private final String modelEntry;
    private final String modelConfig;
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger most = new AtomicInteger();
    public TestProcessor(String modelEntry, String modelConfig) {
        this.modelEntry = modelEntry;
        this.modelConfig = modelConfig;
    }
    public void Load() {
        if (modelConfig.equals("fail")) throw new IllegalStateException("model config says fail");
    }
    public byte[] Process(byte[] input) throws InterruptedException {
        String text = new String(input, java.nio.charset.StandardCharsets.ISO_8859_1);
        if (text.equals("boom")) throw new RuntimeException("bad json format, boom");
        if (text.equals("most")) return Integer.toString(most.get()).getBytes();
        if (text.equals("sleep")) {
            most.accumulateAndGet(running.incrementAndGet(), Math::max);
            Thread.sleep(200);
            running.decrementAndGet();
        }
        byte[] prefix = Prefix.of(modelEntry, modelConfig).getBytes();
        byte[] out = new byte[prefix.length + input.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(input, 0, out, prefix.length, input.length);
        return out;
    }
}
""",
    "com/alibaba/eas/StringProcessor.java": """
package com.alibaba.eas;
public class StringProcessor {
    public StringProcessor(String modelEntry, String modelConfig) { }
    public void Load() { }
    public String Process(byte[] input) { return "length=" + input.length; }
}
""",
}
JAVA_DEPENDENCY = {
    "com/example/format/Prefix.java": """
package com.example.format;
public class Prefix {
    public static String of(String entry, String config) { return entry + "|" + config + "|"; }
}
""",
}


def build_jar(directory: Path, name: str, sources: dict[str, str], classpath: list[Path] = ()) -> Path:
    """Compile the sources with javac and package them with jar, as a Java developer would."""
    source_root, classes = directory / f"{name}-src", directory / f"{name}-classes"
    files = []
    for relative, text in sources.items():
        path = source_root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        files.append(str(path))
    command = ["javac", "-d", str(classes)]
    if classpath:
        command += ["-cp", ":".join(map(str, classpath))]
    subprocess.run([*command, *files], check=True)
    jar = directory / f"{name}.jar"
    subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True)
    return jar


def build_java_processor(package: Path) -> Path:
    """A processor package: processor.jar at the top, its dependency in lib/."""
    (package / "lib").mkdir(parents=True)
    build = package.parent / f"{package.name}-build"
    build.mkdir()
    dependency = build_jar(build, "format", JAVA_DEPENDENCY)
    dependency.rename(package / "lib" / dependency.name)
    processor = build_jar(build, "processor", JAVA_PROCESSOR, classpath=[package / "lib" / dependency.name])
    return processor.rename(package / processor.name)


# The Python processor example of the EAS docs (seed 004), verbatim.
SEED_PYTHON_APP = '''# -*- coding: utf-8 -*-
import allspark
class MyProcessor(allspark.BaseProcessor):
 """ MyProcessor is a example
   you can send mesage like this to predict
   curl -v http://127.0.0.1:8080/api/predict/service_name -d '2 105'
 """
 def initialize(self):
   """ load module, executed once at the start of the service
     do service intialization and load models in this function.
   """
   self.module = {'w0': 100, 'w1': 2}
 def pre_process(self, data):
   """ data format pre process
   """
   x, y = data.split(b' ')
   return int(x), int(y)
 def post_process(self, data):
   """ process after process
   """
   return bytes(data, encoding='utf8')
 def process(self, data):
   """ process the request data
   """
   x, y = self.pre_process(data)
   w0 = self.module['w0']
   w1 = self.module['w1']
   y1 = w1 * x + w0
   if y1 >= y:
     return self.post_process("True"), 200
   else:
     return self.post_process("False"), 400
if __name__ == '__main__':
 # paramter worker_threads indicates concurrency of processing
 runner = MyProcessor(worker_threads=10)
 runner.run()
'''

# A processor exercising the runtime's edges; behaviour is chosen by the request body.
BEHAVIOUR_APP = textwrap.dedent('''
    import ctypes
    import json
    import os
    import time

    import allspark
    import envlib  # lives in the package's ENV/lib/pythonX.Y/site-packages


    class Behaviour(allspark.BaseProcessor):
        def initialize(self):
            time.sleep(float(os.environ.get("BEHAVIOUR_INIT_SECONDS", "0")))
            self.initialized_in = os.getpid()
            self.seen = 0

        def process(self, data):
            self.seen += 1
            command, _, argument = data.decode().partition(" ")
            if command == "sleep":
                time.sleep(float(argument))
                return b"slept", 200
            if command == "raise":
                raise ValueError(argument or "boom")
            if command == "exit":
                os._exit(5)
            if command == "segfault":
                ctypes.string_at(0)
            if command == "status":
                return b"custom status", int(argument)
            if command == "seen":
                return str(self.seen).encode(), 200
            return json.dumps({
                "pid": os.getpid(),
                "initialized_in": self.initialized_in,
                "path": self.request_path,
                "model_path": self.model_path,
                "model_config": self.model_config,
                "envlib": envlib.MARKER,
                "cwd": os.getcwd(),
            }), 0


    if __name__ == "__main__":
        Behaviour(worker_threads=4, worker_processes=int(os.environ.get("BEHAVIOUR_PROCESSES", "1"))).run()
''')


def write_python_app(directory: Path, source: str, name: str = "app.py") -> Path:
    """A processor package in the `pysdk pack` layout: the entry file plus an ENV folder."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(source)
    import sys

    site_packages = directory / "ENV" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    site_packages.mkdir(parents=True, exist_ok=True)
    (site_packages / "envlib.py").write_text('MARKER = "from-ENV"\n')
    return directory
