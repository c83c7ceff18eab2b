"""Notebook (TF 1.x): projection + BasicLSTMCell(128) + dynamic_rnn, logits from states_[1], Adam 1e-3, 20,000 steps.

Source: a Jupyter notebook with its stored output (final_state.md). The graph
below is the notebook's, cell by cell. Lines the TensorFlow 2 API forced to change carry
the original beside them as `# TF1:`.
"""
from rnnmnist import kerasport, lazytf
from rnnmnist.printing import numpy113_str
from rnnmnist.curve import BATCH_ACCURACY, Point
from rnnmnist.spec import STEP, Event, GraphHandles, KerasPort, Reference, Schedule, Variant

tf = lazytf.v1  # TF1: import tensorflow as tf
# The data: rnnmnist.dataset is a port of the module TF 2 no longer ships; the runner reads it.
# TF1: from tensorflow.examples.tutorials.mnist import input_data
# TF1: minst = input_data.read_data_sets('MINST_data', one_hot = True)

# The TensorFlow release it ran on (rnnmnist.eras). It calls tf.contrib.rnn.BasicLSTMCell, which
# 0.12.1's tf.contrib.rnn lacks and 1.0.1's has; the API alone leaves 1.0 and every later 1.x (the
# contrib names stayed). 1.0 is chosen by how well the seeds fit the documented numbers, and the
# evidence is weak: over the first 20 checkpoints the documented accuracies' ups and downs follow
# the seeds' mean with a correlation of 0.96 under 1.0's file-order first epoch against 0.92 under
# 1.2's shuffle (results/REPORT.md), while the early level fits 1.2 a little better (mean
# difference -0.015 against +0.004).
TF_ERA = "1.0"

# The notebook sets no seed (its weights and data order came from OS entropy);
# rnnmnist's default seed makes a run repeatable. --seed picks another.
SEED = 0

# In [3]
lr = 0.001
iteration = 20000
batch_size = 128

input_size = 28
time_step = 28
neurons = 128
classes = 10

# The stored output: batch accuracy after the update, every 20 steps (0, 20, ..., 2480);
# the notebook's output is cut after these 125 lines.
DOCUMENTED = (
    0.171875, 0.71875, 0.695312, 0.78125, 0.859375, 0.828125, 0.90625, 0.914062, 0.882812, 0.914062,
    0.898438, 0.914062, 0.929688, 0.898438, 0.9375, 0.96875, 0.9375, 0.976562, 0.960938, 0.945312,
    0.960938, 0.953125, 0.984375, 0.953125, 0.96875, 0.976562, 0.960938, 0.976562, 0.953125, 0.953125,
    0.9375, 0.953125, 0.992188, 0.960938, 0.945312, 0.96875, 0.976562, 0.953125, 0.96875, 0.992188,
    0.945312, 0.96875, 0.984375, 0.976562, 0.992188, 0.976562, 0.976562, 0.96875, 0.96875, 0.960938,
    0.992188, 0.984375, 0.976562, 0.984375, 0.976562, 0.976562, 0.984375, 1.0, 0.976562, 0.984375,
    0.984375, 0.976562, 0.984375, 1.0, 0.984375, 0.96875, 0.976562, 0.984375, 1.0, 0.976562,
    0.984375, 0.960938, 0.96875, 0.992188, 0.976562, 0.992188, 0.992188, 0.984375, 1.0, 0.96875,
    0.96875, 0.976562, 0.960938, 0.992188, 0.976562, 0.976562, 0.984375, 0.992188, 1.0, 0.992188,
    0.992188, 0.992188, 0.984375, 1.0, 1.0, 0.992188, 1.0, 1.0, 1.0, 1.0,
    0.976562, 0.984375, 1.0, 1.0, 0.976562, 0.992188, 0.96875, 1.0, 0.984375, 0.984375,
    0.96875, 0.992188, 0.976562, 1.0, 1.0, 0.992188, 0.984375, 0.992188, 0.96875, 1.0,
    1.0, 0.992188, 1.0, 0.992188, 1.0,
)
EVERY = 20

FIXES = {
    "batch-state": "zero_state(tf.shape(in_)[0]): the initial state follows the fed batch, so any number of images fits",
    "no-initial-state": "dynamic_rnn(..., dtype=tf.float32) with no initial_state: TensorFlow makes zeros of the fed size",
}


def build(fixes: frozenset = frozenset()) -> GraphHandles:
    # In [2]: sess = tf.InteractiveSession() -- the runner opens a tf.compat.v1.Session instead

    # In [4]
    xs = tf.placeholder(tf.float32, [None, time_step, input_size])
    ys = tf.placeholder(tf.float32, [None, classes])

    # In [5]
    weight = {
        'in': tf.Variable(tf.random_normal([input_size, neurons])),
        'out': tf.Variable(tf.random_normal([neurons, classes]))
    }
    bias = {
        'in': tf.Variable(tf.constant(0.1, shape=[neurons, ])),
        'out': tf.Variable(tf.constant(0.1, shape=[classes, ]))
    }

    # In [6]
    def RNN(X, W, B):
        X = tf.reshape(X, [-1, input_size])
        in_ = tf.matmul(X, W['in']) + B['in']
        in_ = tf.reshape(in_, [-1, time_step, neurons])

        first_lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(neurons, forget_bias=1.0, state_is_tuple=True)
        # TF1: first_lstm_cell = tf.contrib.rnn.BasicLSTMCell(neurons, forget_bias = 1.0, state_is_tuple = True)
        init_state = first_lstm_cell.zero_state(batch_size, dtype=tf.float32)  # fixes the batch at 128
        if "batch-state" in fixes:
            init_state = first_lstm_cell.zero_state(tf.shape(in_)[0], dtype=tf.float32)

        if "no-initial-state" in fixes:
            out_, states_ = tf.nn.dynamic_rnn(first_lstm_cell, in_, dtype=tf.float32, time_major=False)
        else:
            out_, states_ = tf.nn.dynamic_rnn(first_lstm_cell, in_, initial_state=init_state, time_major=False)

        results = tf.matmul(states_[1], W['out']) + B['out']
        return results

    # In [7]
    pred = RNN(xs, weight, bias)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=ys))
    train = tf.train.AdamOptimizer(lr).minimize(cost)

    # In [8]: tf.arg_max survives in compat.v1 as a deprecated alias of tf.argmax
    correct_pred = tf.equal(tf.arg_max(pred, 1), tf.arg_max(ys, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

    return GraphHandles(x=xs, y=ys, train_op=train, loss=cost, accuracy=accuracy,
                 init=tf.global_variables_initializer(), correct=correct_pred,
                 output=pred, fixed_batch=None if fixes & {"batch-state", "no-initial-state"} else batch_size)


def keras_model(fixes: frozenset = frozenset()) -> KerasPort:
    """The same network in today's Keras 3: the projection, keras.layers.LSTM's final state, the readout.

    Keras cannot express the notebook's bug: an RNN layer makes its zero initial state from the fed
    batch, never of a fixed size, so the model always behaves as with --fix batch-state or
    no-initial-state (both change no number on the tutorial's batches of 128) and takes both fixes as no-ops.
    """
    keras = kerasport.keras()
    xs = keras.Input((time_step, input_size))
    # weight['in'] and bias['in']: random_normal (stddev 1) and 0.1 (Keras: glorot and zeros)
    in_ = keras.layers.Dense(neurons, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                             bias_initializer=keras.initializers.Constant(0.1), name="in")(xs)
    # BasicLSTMCell(neurons, forget_bias=1.0), as Keras arguments (rnnmnist.kerasport)
    cell_as_tf1 = kerasport.basic_lstm_cell(neurons, neurons, TF_ERA)
    out_, h, c = keras.layers.LSTM(neurons, **cell_as_tf1, return_state=True,
                                   name="lstm")(in_)
    # states_[1]: the final state's h (Keras returns [output, h, c])
    pred = keras.layers.Dense(classes, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                              bias_initializer=keras.initializers.Constant(0.1), name="out")(h)
    return KerasPort(
        model=keras.Model(xs, pred),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),  # softmax_cross_entropy_with_logits, mean
        optimizer=kerasport.adam_as_tf1(lr),  # tf.train.AdamOptimizer(lr): TF1's epsilon, 1e-8
        tf1_variables=("in/kernel", "out/kernel", "in/bias", "out/bias", "lstm/kernel", "lstm/bias"),
        unlike="the bug, zero_state(batch_size) of a fixed 128: Keras's initial state follows the fed batch, "
               "as --fix batch-state does (the same zeros on the tutorial's batches of 128)")


def print_event(e: Event) -> list[str]:
    if e.kind != STEP:
        return []
    # print(sess.run(accuracy, feed_dict={xs: batch_xs, ys: batch_ys})), a float32 in NumPy < 1.14
    return [numpy113_str(e.values[BATCH_ACCURACY])]


VARIANT = Variant(
    name="final-state",
    tutorial="a Jupyter notebook with its stored output (TF 1.x; its address was not recorded)",
    hyperparameters=dict(lr=lr, iteration=iteration, batch_size=batch_size, input_size=input_size,
                         time_step=time_step, neurons=neurons, classes=classes,
                         optimizer="Adam", init="random_normal weights, 0.1 biases"),
    build=build,
    feed_shape=(time_step, input_size),  # batch_xs.reshape([batch_size, time_step, input_size])
    # for step in range(20000): ...; if step % 20 == 0: print(...)
    schedule=Schedule(batch_size=batch_size, steps=range(iteration), every=EVERY, batch_metrics=(BATCH_ACCURACY,)),
    seed=SEED,
    era=TF_ERA,
    print_event=print_event,
    keras=keras_model,
    fixes=FIXES,
    reference=Reference(
        source="the notebook's 125 printed batch accuracies (steps 0..2480)",
        points=tuple(Point(BATCH_ACCURACY, EVERY * i, v) for i, v in enumerate(DOCUMENTED)),
    ),
)
