"""Each plan edit's change to a script's source, on small scripts (no training).

The patched source must compile and say, in the script's own names, what the advisor trained.
"""

from __future__ import annotations

from advisor import plan_edits as e
from advisor.patch import ScriptFacts, patched_source

ADAM = ScriptFacts(optimizer="Adam", learning_rate=1e-3, user_epochs=20)

SEQUENTIAL = """import keras

x_train, y_train = load()
model = keras.Sequential(
    [
        keras.Input(shape=(8,)),
        keras.layers.Dense(32, activation="sigmoid"),  # hidden
        keras.layers.Dense(3, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, validation_split=0.2, epochs=20, verbose=0)
"""

ADDED = """from tensorflow import keras

X, y = load()
model = keras.Sequential()
model.add(keras.Input(shape=(8,)))
model.add(keras.layers.Dense(32, activation="relu"))
model.add(keras.layers.Dense(1, activation="sigmoid"))
model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="binary_crossentropy")
model.fit(X, y, epochs=5)
"""

FUNCTIONAL = """import keras

x_train, y_train = load()
inputs = keras.Input(shape=(8,))
x = keras.layers.Dense(16, activation="tanh")(inputs)
x = keras.layers.Dense(16, activation="tanh")(x)
outputs = keras.layers.Dense(1)(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
model.fit(x_train, y_train, epochs=3, callbacks=[keras.callbacks.TerminateOnNaN()])
"""


def patched(
    source: str, *edits: e.PlanEdit, facts: ScriptFacts = ADAM
) -> tuple[str, tuple[str, ...]]:
    code, not_applied = patched_source(source, edits, facts)
    compile(code, "<patched>", "exec")
    return code, not_applied


def test_dropout_goes_after_each_hidden_dense_in_a_sequential_list() -> None:
    code, not_applied = patched(SEQUENTIAL, e.DropoutAfterHidden("dropout", 0.3))
    assert (
        '        keras.layers.Dense(32, activation="sigmoid"),  # hidden\n'
        "        keras.layers.Dropout(0.3),\n"
        '        keras.layers.Dense(3, activation="softmax"),\n'
    ) in code
    assert code.count("Dropout") == 1 and not not_applied


def test_dropout_in_model_add_statements_and_in_a_functional_chain() -> None:
    added, _ = patched(ADDED, e.DropoutAfterHidden("dropout", 0.25))
    assert (
        'model.add(keras.layers.Dense(32, activation="relu"))\n'
        "model.add(keras.layers.Dropout(0.25))\n"
    ) in added
    functional, _ = patched(FUNCTIONAL, e.DropoutAfterHidden("dropout", 0.25))
    assert functional.count("x = keras.layers.Dropout(0.25)(x)\n") == 2
    assert "outputs = keras.layers.Dense(1)(x)\nmodel" in functional


def test_recurrent_layers_get_recurrent_dropout() -> None:
    source = SEQUENTIAL.replace(
        'keras.layers.Dense(32, activation="sigmoid")', "keras.layers.LSTM(8)"
    )
    code, _ = patched(source, e.DropoutAfterHidden("dropout", 0.2))
    assert "keras.layers.LSTM(8, recurrent_dropout=0.2)" in code


def test_kernel_penalty_on_every_kernel_layer_in_the_scripts_own_names() -> None:
    source = SEQUENTIAL.replace(
        "import keras\n", "from keras import layers, regularizers\nimport keras\n"
    )
    source = source.replace("keras.layers.Dense", "layers.Dense")
    code, _ = patched(source, e.KernelPenalty("elastic-net", l1=1e-4, l2=1e-3))
    assert code.count("kernel_regularizer=regularizers.L1L2(l1=0.0001, l2=0.001)") == 2


def test_keras_is_imported_when_the_script_has_no_name_for_it() -> None:
    source = SEQUENTIAL.replace("import keras\n", "from keras.layers import Dense, Input\n")
    source = source.replace("keras.Sequential", "Sequential").replace("keras.layers.", "")
    source = source.replace("Input(shape", "Input(shape").replace(
        "from keras.layers import Dense, Input\n",
        "from keras.layers import Dense, Input\nfrom keras.models import Sequential\n",
    )
    code, _ = patched(source, e.DropoutAfterHidden("dropout", 0.3))
    assert "from keras.models import Sequential\nimport keras\n" in code
    assert "        keras.layers.Dropout(0.3),\n" in code


def test_swap_activation_changes_hidden_layers_only() -> None:
    swap = e.SwapActivation("relu-he", ("sigmoid", "tanh"), "relu", "he_normal")
    code, _ = patched(FUNCTIONAL, swap)
    assert code.count('activation="relu", kernel_initializer="he_normal"') == 2
    assert "outputs = keras.layers.Dense(1)(x)" in code


def test_layers_after_a_comprehensions_layer_are_made_in_the_same_comprehension() -> None:
    source = SEQUENTIAL.replace(
        '[\n        keras.Input(shape=(8,)),\n        keras.layers.Dense(32, activation="sigmoid"),'
        "  # hidden\n",
        "[keras.Input(shape=(8,))]\n"
        '    + [keras.layers.Dense(32, activation="sigmoid") for _ in range(4)]\n'
        "    + [\n",
    )
    swap = e.SwapActivation("relu-he", ("sigmoid",), "relu", "he_normal")
    swapped, _ = patched(source, swap)
    assert 'keras.layers.Dense(32, activation="relu", kernel_initializer="he_normal") for _' in (
        swapped
    )
    code, not_applied = patched(source, swap, e.BatchNormBeforeActivation("batch-norm"))
    assert not not_applied
    assert (
        "    + [\n"
        "        layer\n"
        "        for _ in range(4)\n"
        "        for layer in (\n"
        '            keras.layers.Dense(32, kernel_initializer="he_normal"),\n'
        "            keras.layers.BatchNormalization(),\n"
        '            keras.layers.Activation("relu"),\n'
        "        )\n"
        "    ]\n"
    ) in code
    short, _ = patched(source, e.DropoutAfterHidden("dropout", 0.2))
    assert "            keras.layers.Dropout(0.2),\n        )\n    ]\n" in short
    widened, not_applied = patched(source, e.WidenHidden("bigger-model", 1.0, 1))
    assert widened == source
    assert not_applied == (
        "bigger-model: the hidden Dense layer to repeat after the last one is made in a "
        "comprehension",
    )


def test_batch_norm_goes_between_the_hidden_layer_and_its_activation() -> None:
    code, _ = patched(SEQUENTIAL, e.BatchNormBeforeActivation("batch-norm"))
    assert (
        "        keras.layers.Dense(32),  # hidden\n"
        "        keras.layers.BatchNormalization(),\n"
        '        keras.layers.Activation("sigmoid"),\n'
    ) in code
    assert 'keras.layers.Dense(3, activation="softmax")' in code


def test_replace_head_sets_the_output_layer_and_the_loss_keeping_metrics() -> None:
    code, _ = patched(SEQUENTIAL, e.ReplaceHead("repair-head", "sigmoid", 1, "binary_crossentropy"))
    assert 'keras.layers.Dense(1, activation="sigmoid")' in code
    assert 'loss="binary_crossentropy", metrics=["accuracy"]' in code


def test_replace_head_moves_the_activation_to_a_trailing_activation_layer() -> None:
    source = FUNCTIONAL.replace(
        "outputs = keras.layers.Dense(1)(x)",
        "x = keras.layers.Dense(1)(x)\noutputs = keras.layers.Softmax()(x)",
    )
    code, _ = patched(source, e.ReplaceHead("repair-head", "linear"))
    assert 'outputs = keras.layers.Activation("linear")(x)' in code


def test_widen_hidden_multiplies_units_and_repeats_the_last_hidden_layer() -> None:
    code, _ = patched(SEQUENTIAL, e.WidenHidden("bigger-model", factor=2.0, extra_layers=1))
    assert code.count('keras.layers.Dense(64, activation="sigmoid")') == 2
    named = SEQUENTIAL.replace('activation="sigmoid")', 'activation="sigmoid", name="hidden")')
    code, _ = patched(
        named,
        e.WidenHidden("bigger-model", factor=2.0, extra_layers=1),
        e.BatchNormBeforeActivation("batch-norm"),
    )
    assert (  # the copy is not named like the original, and gets its BatchNormalization too
        '        keras.layers.Dense(64, name="hidden"),  # hidden\n'
        "        keras.layers.BatchNormalization(),\n"
        '        keras.layers.Activation("sigmoid"),\n'
        "        keras.layers.Dense(64),\n"
        "        keras.layers.BatchNormalization(),\n"
        '        keras.layers.Activation("sigmoid"),\n'
    ) in code
    assert "keras.layers.Dense(3," in code


def test_standardize_adapts_a_normalization_on_the_variable_fit_trains_on() -> None:
    code, _ = patched(ADDED, e.PrependInputStep("standardize", "standardize"))
    assert "normalizer = keras.layers.Normalization()\nnormalizer.adapt(X)\n" in code
    assert "model.add(keras.Input(shape=(8,)))\nmodel.add(normalizer)\n" in code
    functional, _ = patched(FUNCTIONAL, e.PrependInputStep("standardize", "standardize"))
    assert "preprocessed = normalizer(inputs)\n" in functional
    assert 'x = keras.layers.Dense(16, activation="tanh")(preprocessed)' in functional


def test_impute_then_standardize_adapts_on_the_imputed_inputs() -> None:
    code, _ = patched(
        SEQUENTIAL,
        e.PrependInputStep("impute", "impute"),
        e.PrependInputStep("standardize", "standardize"),
    )
    assert "import numpy as np\n" in code
    assert "normalizer.adapt(impute(x_train))" in code
    assert "        keras.Input(shape=(8,)),\n        impute,\n        normalizer,\n" in code


def test_an_input_step_needs_the_training_variable_where_the_model_is_built() -> None:
    source = SEQUENTIAL.replace(
        "model = keras.Sequential(", "def build():\n    return 1\n\n\nmodel = keras.Sequential("
    )
    source = source.replace("x_train, y_train = load()\n", "").replace(
        "model.fit(x_train", "x_train, y_train = load()\nmodel.fit(x_train"
    )
    code, not_applied = patched(source, e.PrependInputStep("standardize", "standardize"))
    assert "Normalization" not in code
    assert not_applied and "`x_train`" in not_applied[0]


def test_augment_puts_the_augmentation_layers_first() -> None:
    layers = (
        e.LayerSpec("RandomZoom", {"height_factor": 0.1}),
        e.LayerSpec("RandomRotation", {"factor": 0.05}),
    )
    code, _ = patched(SEQUENTIAL, e.Augment("augment", layers))
    assert (
        "augmentation = keras.Sequential([\n    keras.layers.RandomZoom(height_factor=0.1),\n"
        in code
    )
    assert "keras.Input(shape=(8,)),\n        augmentation,\n" in code


def test_a_string_optimizer_becomes_its_class_with_the_scaled_rate() -> None:
    code, _ = patched(
        SEQUENTIAL, e.ScaleLearningRate("lower-lr", 0.1), e.ClipGradients("clip-gradients", 1.0)
    )
    assert "optimizer=keras.optimizers.Adam(learning_rate=0.0001, clipnorm=1.0)" in code
    assert 'metrics=["accuracy"]' in code


def test_an_optimizer_call_keeps_its_arguments_or_is_replaced() -> None:
    sgd = ScriptFacts(optimizer="SGD", learning_rate=0.01)
    code, _ = patched(ADDED, e.ScaleLearningRate("lower-lr", 0.1), facts=sgd)
    assert "keras.optimizers.SGD(learning_rate=0.001, momentum=0.9)" in code
    replaced, _ = patched(
        ADDED,
        e.ReplaceOptimizer(
            "adaptive-optimizer", {"class_name": "Adam", "config": {"learning_rate": 0.001}}
        ),
        facts=sgd,
    )
    assert "optimizer=keras.optimizers.Adam(learning_rate=0.001)" in replaced


def test_an_optimizer_made_elsewhere_is_not_guessed() -> None:
    source = SEQUENTIAL.replace('optimizer="adam"', "optimizer=opt")
    code, not_applied = patched(source, e.ScaleLearningRate("lower-lr", 0.1))
    assert code == source
    assert not_applied == ("lower-lr: the optimizer is `opt`, made elsewhere; change it there",)
    # Bound twice (a branch or a loop may pick either): which call to edit would be a guess.
    twice = source.replace(
        "model.compile(",
        "opt = keras.optimizers.SGD(0.1)\nif fast:\n    opt = keras.optimizers.SGD(1.0)\n"
        "model.compile(",
    )
    assert patched(twice, e.ScaleLearningRate("lower-lr", 0.1)) == (twice, not_applied)


def test_an_optimizer_variable_is_edited_where_the_script_makes_it() -> None:
    source = SEQUENTIAL.replace('optimizer="adam"', "optimizer=sgd").replace(
        "model.compile(", "sgd = keras.optimizers.SGD(0.5, momentum=0.9)\nmodel.compile("
    )
    sgd = ScriptFacts(optimizer="SGD", learning_rate=0.5)
    code, not_applied = patched(
        source,
        e.ScaleLearningRate("lower-lr", 0.1),
        e.ClipGradients("clip-gradients", 1.0),
        facts=sgd,
    )
    assert not_applied == ()
    assert "sgd = keras.optimizers.SGD(0.05, momentum=0.9, clipnorm=1.0)\n" in code
    assert "model.compile(optimizer=sgd, " in code
    # Another optimizer class is written into compile; the script's variable is left alone.
    adam = e.ReplaceOptimizer(
        "adaptive-optimizer", {"class_name": "Adam", "config": {"learning_rate": 0.001}}
    )
    for edits in (
        (adam, e.ScaleLearningRate("lower-lr", 0.1)),
        (e.ScaleLearningRate("lower-lr", 0.1), adam),
    ):
        replaced, _ = patched(source, *edits, facts=sgd)
        assert "sgd = keras.optimizers.SGD(0.5, momentum=0.9)\n" in replaced
        # As training does: the plan's factor scales the optimizer it ends with.
        assert "optimizer=keras.optimizers.Adam(learning_rate=0.0001)" in replaced


def test_callbacks_join_the_scripts_list_or_a_new_one() -> None:
    stop = e.AddCallback(
        "early-stopping", e.CallbackSpec("EarlyStopping", {"monitor": "val_loss", "patience": 3})
    )
    code, _ = patched(FUNCTIONAL, stop)
    assert (
        'early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3)\n' in code
    )
    assert "callbacks=[keras.callbacks.TerminateOnNaN(), early_stopping]" in code
    created, _ = patched(SEQUENTIAL, stop)
    assert "callbacks=[early_stopping]" in created


def test_a_callback_on_the_penalty_free_loss_logs_it_unless_evaluate_is_unpacked() -> None:
    stop = e.AddCallback(
        "early-stopping", e.CallbackSpec("EarlyStopping", {"monitor": "val_task_loss"})
    )
    code, _ = patched(SEQUENTIAL, stop)
    assert "task_loss = keras.metrics.MeanMetricWrapper(\n" in code
    assert 'keras.losses.get("sparse_categorical_crossentropy"), name="task_loss"' in code
    assert 'metrics=["accuracy", task_loss]' in code
    unpacked = SEQUENTIAL + "loss, accuracy = model.evaluate(x_train, y_train)\n"
    code, not_applied = patched(unpacked, stop)
    assert 'EarlyStopping(monitor="val_loss")' in code and "MeanMetricWrapper" not in code
    assert "model.evaluate" in not_applied[0]


def test_epochs_class_weight_and_shuffling() -> None:
    code, _ = patched(
        SEQUENTIAL,
        e.SetEpochs("train-longer", 60),
        e.SetClassWeight("class-weight", {0: 1.0, 1: 2.5}),
        e.ShuffleBeforeSplit("shuffle", seed=0),
    )
    assert "epochs=60" in code and "class_weight={0: 1.0, 1: 2.5}" in code
    assert "shuffled = np.random.default_rng(0).permutation(len(x_train))\n" in code
    assert "x_train, y_train = x_train[shuffled], y_train[shuffled]\nmodel.fit(" in code
    by_argument = SEQUENTIAL.replace("epochs=20", "epochs=args.epochs")
    scaled, _ = patched(by_argument, e.SetEpochs("train-longer", 60))
    assert "epochs=args.epochs * 3" in scaled


def test_what_cannot_be_written_is_said_in_words() -> None:
    source = SEQUENTIAL.replace(
        SEQUENTIAL[
            SEQUENTIAL.index("model = keras.Sequential(") : SEQUENTIAL.index("model.compile")
        ],
        'model = keras.models.load_model("base.keras")\n',
    ).replace("model.fit(x_train, y_train,", "model.fit(dataset,")
    code, not_applied = patched(
        source,
        e.DropoutAfterHidden("dropout", 0.3),
        e.ScaleTarget("scale-target"),
        e.SetEpochs("train-longer", 40),
    )
    assert "Dropout" not in code and "epochs=40" in code
    assert not_applied[0].startswith("dropout: the model comes from `keras.models.load_model(")
    assert not_applied[1] == (
        "scale-target: train on standardised targets: fit on (y - y.mean()) / y.std() "
        "(validation targets alike) and put keras.layers.Rescaling(y.std(), offset=y.mean()) "
        "after the model; the patch does not rewrite the targets: the fit takes no separate "
        "targets"
    )


TWO_HEADS = """import keras

x_train, y_train = load()
features = keras.Input(shape=(10,))
hidden = keras.layers.Dense(32, activation="relu")(features)
progression = keras.layers.Dense(1, name="progression")(hidden)
logit = keras.layers.Dense(1)(hidden)
high = keras.layers.Activation("sigmoid", name="high")(logit)
model = keras.Model(features, {"progression": progression, "high": high})
model.compile(optimizer="adam", loss={"progression": "mse", "high": "binary_crossentropy"})
model.fit(x_train, targets(y_train), validation_split=0.2, epochs=10)
"""


def test_a_functional_graph_with_several_outputs_is_edited_on_its_shared_layers() -> None:
    code, not_applied = patched(
        TWO_HEADS,
        e.WidenHidden("bigger-model", 2.0, 1),
        e.DropoutAfterHidden("dropout", 0.1),
        e.PrependInputStep("standardize", "standardize"),
    )
    assert not not_applied
    assert (
        'hidden = keras.layers.Dense(64, activation="relu")(preprocessed)\n'
        "hidden = keras.layers.Dropout(0.1)(hidden)\n"  # the extra layer gets its Dropout too
        'hidden = keras.layers.Dense(64, activation="relu")(hidden)\n'
        "hidden = keras.layers.Dropout(0.1)(hidden)\n"
        'progression = keras.layers.Dense(1, name="progression")(hidden)\n'
        "logit = keras.layers.Dense(1)(hidden)\n"  # each head's Dense is an output: kept
    ) in code
    _, not_applied = patched(TWO_HEADS, e.ReplaceHead("head", "sigmoid"))
    assert not_applied == (
        "head: the model has several outputs; the advisor repairs a single head only",
    )
    two_inputs = TWO_HEADS.replace(
        'hidden = keras.layers.Dense(32, activation="relu")(features)',
        "age = keras.Input(shape=(1,))\n"
        "joined = keras.layers.Concatenate()([features, age])\n"
        'hidden = keras.layers.Dense(32, activation="relu")(joined)',
    ).replace("keras.Model(features,", "keras.Model([features, age],")
    code, not_applied = patched(
        two_inputs,
        e.SwapActivation("relu-he", ("relu",), "gelu", "he_normal"),
        e.PrependInputStep("standardize", "standardize"),
    )
    assert (
        'keras.layers.Dense(32, activation="gelu", kernel_initializer="he_normal")(joined)' in code
    )
    assert not_applied == ("standardize: the functional model has several inputs",)
    _, not_applied = patched(
        TWO_HEADS.replace("logit = keras.layers.Dense(1)(hidden)", "logit = hidden * 2"),
        e.DropoutAfterHidden("dropout", 0.1),
    )
    assert not_applied == (
        "dropout: `logit` is not made by a layer called on variables, as in x = Dense(8)(x)",
    )


def test_scale_target_fits_on_standardised_targets_and_rescales_after_fit() -> None:
    code, not_applied = patched(REGRESSION, e.ScaleTarget("scale-target"))
    assert not not_applied
    assert (
        'target_rows = np.asarray(y_train, dtype="float64")[: int(len(y_train) * (1 - 0.2))]\n'
        "target_mean, target_std = float(target_rows.mean()), float(target_rows.std()) or 1.0\n"
        "model.fit(x_train, (y_train - target_mean) / target_std, validation_split=0.2, "
        "epochs=5)\n"
        "# Trained on standardised targets: predictions in the script's units again.\n"
        "model = keras.Sequential([model, keras.layers.Rescaling(target_std, "
        "offset=target_mean)])\n"
        'model.compile(optimizer="sgd", loss="mse", metrics=["mae"])\n'
        "loss, mae = model.evaluate(x_test, y_test)\n"
    ) in code
    validated = REGRESSION.replace("validation_split=0.2", "validation_data=(x_val, y_val)")
    code, _ = patched(validated, e.ScaleTarget("scale-target"))
    assert 'target_rows = np.asarray(y_train, dtype="float64")\n' in code
    assert "validation_data=(x_val, (y_val - target_mean) / target_std)" in code


def test_scale_target_trains_on_the_measured_targets_and_predicts_in_user_units() -> None:
    """The one applied run: the patched script's model predicts raw targets in the hundreds."""
    import numpy as np

    source = REGRESSION.replace(
        "x_train, y_train = load()",
        "rng = np.random.default_rng(0)\nx_train = rng.normal(size=(64, 3)).astype('float32')\n"
        "y_train = 300 + 40 * x_train[:, 0]\nx_test, y_test = x_train, y_train",
    ).replace("import keras\n", "import keras\nimport numpy as np\n")
    code, _ = patched(source, e.ScaleTarget("scale-target"))
    scope: dict[str, object] = {}
    exec(compile(code, "<patched>", "exec"), scope)
    predicted = scope["model"].predict(scope["x_test"], verbose=0)  # type: ignore[attr-defined]
    assert float(np.mean(predicted)) > 100  # in the targets' units, not standardised


REGRESSION = """import keras

x_train, y_train = load()
model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
model.fit(x_train, y_train, validation_split=0.2, epochs=5)
loss, mae = model.evaluate(x_test, y_test)
"""


FACTORY = """import keras

x_train, y_train = load()


def build_model(width):
    inputs = keras.Input(shape=(8,))
    x = keras.layers.Dense(width, activation="relu")(inputs)
    outputs = keras.layers.Dense(3, activation="relu")(x)
    net = keras.Model(inputs, outputs)
    net.compile(optimizer="adam", loss="categorical_crossentropy")
    return net


model = build_model(16)
model.fit(x_train, y_train, epochs=3)
"""


def test_a_model_built_and_compiled_in_a_function_of_the_script_is_edited_there() -> None:
    head = e.ReplaceHead("repair-head", "softmax")
    code, not_applied = patched(
        FACTORY, e.DropoutAfterHidden("dropout", 0.2), head, e.ScaleLearningRate("lower-lr", 0.1)
    )
    assert not_applied == ()
    assert (
        '    x = keras.layers.Dense(width, activation="relu")(inputs)\n'
        "    x = keras.layers.Dropout(0.2)(x)\n"
        '    outputs = keras.layers.Dense(3, activation="softmax")(x)\n'
    ) in code
    assert "net.compile( optimizer=keras.optimizers.Adam(learning_rate=0.0001)," in " ".join(
        code.split()
    )
    assert code.endswith("model = build_model(16)\nmodel.fit(x_train, y_train, epochs=3)\n")


def test_a_factory_the_patch_cannot_read_plainly_is_not_guessed() -> None:
    two_returns = FACTORY.replace(
        "    return net\n", "    if width > 8:\n        return net\n    return None\n"
    )
    imported = FACTORY.replace("model = build_model(16)", "model = models.build_model(16)")
    for source in (two_returns, imported):
        code, not_applied = patched(source, e.DropoutAfterHidden("dropout", 0.2))
        assert code == source and "which the patch cannot follow" in not_applied[0]


def test_a_fit_in_a_loop_keeps_its_epochs_and_callbacks_and_says_why() -> None:
    source = SEQUENTIAL.replace("model.fit(", "for epoch in range(20):\n    model.fit(").replace(
        "epochs=20", "epochs=1"
    )
    stop = e.AddCallback("early-stopping", e.CallbackSpec("EarlyStopping", {"patience": 3}))
    code, not_applied = patched(
        source, e.SetEpochs("train-longer", 60), stop, e.ScaleLearningRate("lower-lr", 0.1)
    )
    assert "    model.fit(x_train, y_train, validation_split=0.2, epochs=1, verbose=0)" in code
    assert "keras.optimizers.Adam(learning_rate=0.0001)" in code
    assert not_applied == (
        "train-longer: train for 60 epochs in all (the fit runs in a loop, which the advisor's "
        "fits trained as one fit: change the loop's passes or each call's epochs)",
        "early-stopping: the fit runs in a loop, which the advisor's fits trained as one fit, "
        "and EarlyStopping would restart with each call",
    )


def test_a_learning_rate_schedule_is_scaled_where_the_script_makes_it() -> None:
    schedule = ScriptFacts(optimizer="SGD", learning_rate=None)
    bound = SEQUENTIAL.replace('optimizer="adam"', "optimizer=keras.optimizers.SGD(decay)").replace(
        "model.compile(",
        "decay = keras.optimizers.schedules.ExponentialDecay(5.0, 100, 0.9)\nmodel.compile(",
    )
    code, not_applied = patched(bound, e.ScaleLearningRate("lower-lr", 0.1), facts=schedule)
    assert not_applied == ()
    assert "decay = keras.optimizers.schedules.ExponentialDecay(0.5, 100, 0.9)\n" in code
    assert "model.compile(optimizer=keras.optimizers.SGD(decay), " in code  # untouched
    inline = SEQUENTIAL.replace(
        'optimizer="adam"',
        "optimizer=keras.optimizers.SGD(keras.optimizers.schedules.CosineDecay("
        "initial_learning_rate=base, decay_steps=50))",
    )
    code, _ = patched(inline, e.ScaleLearningRate("lower-lr", 0.1), facts=schedule)
    assert "CosineDecay(initial_learning_rate=base * 0.1, decay_steps=50)" in code
    # A schedule without a starting value to scale: said in words, and compile left alone.
    steps = bound.replace(
        "ExponentialDecay(5.0, 100, 0.9)", "PiecewiseConstantDecay([10], [1.0, 0.1])"
    )
    code, not_applied = patched(steps, e.ScaleLearningRate("lower-lr", 0.1), facts=schedule)
    assert code == steps
    assert not_applied == (
        "lower-lr: the learning rate is a schedule; multiply its initial value by 0.1",
    )


def test_a_learning_rate_read_from_a_flag_stays_the_flag_scaled() -> None:
    script = SEQUENTIAL.replace('optimizer="adam"', "optimizer=keras.optimizers.Adam(args.lr)")
    assert "args.lr" in script
    code, _ = patched(script, e.ScaleLearningRate("lower-lr", 0.1))
    assert "keras.optimizers.Adam(learning_rate=args.lr * 0.1)" in code
    guarded = script.replace("Adam(args.lr)", "Adam(args.lr if args.lr else 1e-3)")
    code, _ = patched(guarded, e.ScaleLearningRate("lower-lr", 0.1))
    assert "Adam(learning_rate=(args.lr if args.lr else 1e-3) * 0.1)" in code
    clipped, _ = patched(script, e.ClipGradients("clip-gradients", 1.0))
    assert "Adam(learning_rate=args.lr, clipnorm=1.0)" in clipped
