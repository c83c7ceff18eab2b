"""Morvan Zhou (2016): input projection + BasicLSTMCell(128) + dynamic_rnn, last output, Adam 1e-3, 782 steps.

Source: Morvan Zhou, "RNN LSTM 循环神经网络 (分类例子)", 2016-11-03, code tensorflowTUT/tf20_RNN2;
the page is `_tutorials/machine-learning/tensorflow/5-08-RNN2.md` in MorvanZhou/morvanzhou.github.io
(PAGE below), published at https://morvanzhou.github.io/tutorials/machine-learning/tensorflow/5-08-RNN2/
(since 2020 redirected to https://mofanpy.com/tutorials/machine-learning/tensorflow/5-08-RNN2/).
The graph below is the tutorial's, in its order. Lines the TensorFlow 2 API forced to change carry
the original beside them as `# TF1:`.

The page as published differs from the copy this was built from in two ways. It ends with the
run's output (DOCUMENTED below), which the copy lacks. And since 2017 its code is written for TF 1.x
(tf.contrib.rnn.BasicLSTMCell, tf.unstack, tf.global_variables_initializer) where the copy, and the
page's revision of 2016-11-26 that first showed the output, have tf.nn.rnn_cell.BasicLSTMCell,
tf.unpack and tf.initialize_all_variables: the same graph under other names. The recipe is the same
in every revision: tf.set_random_seed(1), batch 128, Adam 1e-3, training_iters 100000, and the
accuracy of the batch just trained on, after its update, printed when step % 20 == 0 from step 0.
"""
from rnnmnist import kerasport, lazytf
from rnnmnist.printing import numpy113_str
from rnnmnist.curve import BATCH_ACCURACY, Point
from rnnmnist.spec import STEP, Event, GraphHandles, KerasPort, Reference, Schedule, Variant, steps_while

tf = lazytf.v1  # TF1: import tensorflow as tf
# The data: rnnmnist.dataset is a port of the module TF 2 no longer ships; the runner reads it.
# TF1: from tensorflow.examples.tutorials.mnist import input_data
# TF1: mnist = input_data.read_data_sets('MNIST_data', one_hot=True)

# The TensorFlow release it ran on (rnnmnist.eras). It calls tf.unpack and the positional
# softmax_cross_entropy_with_logits(pred, y): 1.0.1's array_ops.py has only unstack, and its
# nn_ops.py refuses positional arguments (`_sentinel`), while 0.12.1's takes (logits, labels);
# with tf.initialize_all_variables and its date (2016-11-03, before 1.0.1's files, dated
# 2017-03-06 in the wheel), it ran on 0.11 or 0.12. 0.11 is not on PyPI; 0.12.1's sources are the
# nearest that can be read. Its shuffle was unseeded: tf.set_random_seed(1) did not reach NumPy's
# global generator then.
TF_ERA = "0.12"

# tf.set_random_seed(1): the runner sets the graph seed; the shuffle, unseeded under 0.12, draws from a
# generator the run owns, seeded with it, so that a run can be repeated
SEED = 1

# hyperparameters
lr = 0.001                  # learning rate
training_iters = 100000     # train step 上限
batch_size = 128
n_inputs = 28               # MNIST data input (img shape: 28*28)
n_steps = 28                # time steps
n_hidden_units = 128        # neurons in hidden layer
n_classes = 10              # MNIST classes (0-9 digits)

# The page's output, as printed: batch accuracy after the update at steps 0, 20, ..., 320 (the
# page shows these 17 of the run's 40 lines, then `....`). They first appear in the page's revision
# of 2016-11-26, whose code is the TF 0.11/0.12 API above, and are the same in every later one.
PAGE = ("https://github.com/MorvanZhou/morvanzhou.github.io/blob/067dfd1012f7a1273e5d921d98a6ff1ff84c6e33/"
        "_tutorials/machine-learning/tensorflow/5-08-RNN2.md")
DOCUMENTED = (
    0.1875, 0.65625, 0.726562, 0.757812, 0.820312, 0.796875, 0.859375, 0.921875, 0.921875, 0.898438,
    0.828125, 0.890625, 0.9375, 0.921875, 0.9375, 0.929688, 0.953125,
)
EVERY = 20
# A second reference: final-state is the same network, recipe and print cadence (outputs[-1] equals
# final_state.h when no sequence_length is given), and its 125 printed numbers cover all 40 of this
# run's checkpoints (steps 0, 20, ..., 780), where the page stops at 320.
from . import final_state  # noqa: E402


def build(fixes: frozenset = frozenset()) -> GraphHandles:
    # tf Graph input
    x = tf.placeholder(tf.float32, [None, n_steps, n_inputs])
    y = tf.placeholder(tf.float32, [None, n_classes])

    # Define weights
    weights = {
        # (28, 128)
        'in': tf.Variable(tf.random_normal([n_inputs, n_hidden_units])),
        # (128, 10)
        'out': tf.Variable(tf.random_normal([n_hidden_units, n_classes]))
    }
    biases = {
        # (128, )
        'in': tf.Variable(tf.constant(0.1, shape=[n_hidden_units, ])),
        # (10, )
        'out': tf.Variable(tf.constant(0.1, shape=[n_classes, ]))
    }

    def RNN(X, weights, biases):
        # hidden layer for input to cell
        # X ==> (128 batch * 28 steps, 28 inputs)
        X = tf.reshape(X, [-1, n_inputs])
        # X_in = (128 batch * 28 steps, 128 hidden)
        X_in = tf.matmul(X, weights['in']) + biases['in']
        # X_in ==> (128 batch, 28 steps, 128 hidden)
        X_in = tf.reshape(X_in, [-1, n_steps, n_hidden_units])

        # cell: tf.compat.v1.nn.rnn_cell still has BasicLSTMCell, with tf-keras installed
        lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(n_hidden_units, forget_bias=1.0, state_is_tuple=True)
        # lstm cell is divided into two parts (c_state, h_state); zero_state fixes the batch at 128
        init_state = lstm_cell.zero_state(batch_size, dtype=tf.float32)
        outputs, final_state = tf.nn.dynamic_rnn(lstm_cell, X_in, initial_state=init_state, time_major=False)

        # hidden layer for output as the final results
        # unpack to list [(batch, outputs)..] * steps
        outputs = tf.unstack(tf.transpose(outputs, [1, 0, 2]))  # TF1: tf.unpack(tf.transpose(outputs, [1, 0, 2]))
        results = tf.matmul(outputs[-1], weights['out']) + biases['out']
        return results

    pred = RNN(x, weights, biases)
    # TF 0.x took (logits, labels) positionally; since TF 1.0 the arguments must be named, and
    # compat.v1's signature is (labels, logits, ...), so the positional call would swap them.
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=pred, labels=y))
    # TF1: cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(pred, y))
    train_op = tf.train.AdamOptimizer(lr).minimize(cost)

    correct_pred = tf.equal(tf.argmax(pred, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_pred, tf.float32))

    init = tf.initialize_all_variables()  # still in compat.v1, as a deprecated alias
    return GraphHandles(x=x, y=y, train_op=train_op, loss=cost, accuracy=accuracy, init=init, correct=correct_pred, output=pred,
                 fixed_batch=batch_size)


def keras_model(fixes: frozenset = frozenset()) -> KerasPort:
    """The same network in today's Keras 3: the tutorial's projection, keras.layers.LSTM, its readout."""
    keras = kerasport.keras()
    x = keras.Input((n_steps, n_inputs))
    # weights['in'] and biases['in']: random_normal (stddev 1) and 0.1 (Keras: glorot and zeros), each row
    X_in = keras.layers.Dense(n_hidden_units, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                              bias_initializer=keras.initializers.Constant(0.1), name="in")(x)
    # BasicLSTMCell(n_hidden_units, forget_bias=1.0), as Keras arguments (rnnmnist.kerasport)
    cell_as_tf1 = kerasport.basic_lstm_cell(n_hidden_units, n_hidden_units, TF_ERA)
    # dynamic_rnn over a zero_state(batch_size): Keras starts from zeros of the fed batch (the same on 128)
    last = keras.layers.LSTM(n_hidden_units, **cell_as_tf1, name="lstm")(X_in)  # outputs[-1]
    pred = keras.layers.Dense(n_classes, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                              bias_initializer=keras.initializers.Constant(0.1), name="out")(last)
    return KerasPort(
        model=keras.Model(x, pred),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),  # softmax_cross_entropy_with_logits, mean
        optimizer=kerasport.adam_as_tf1(lr),  # tf.train.AdamOptimizer(lr): TF1's epsilon, 1e-8
        tf1_variables=("in/kernel", "out/kernel", "in/bias", "out/bias", "lstm/kernel", "lstm/bias"),
        unlike="zero_state(batch_size) fixes the TF1 graph's batch at 128; Keras's initial state follows the "
               "fed batch (the same zeros on the tutorial's batches of 128)")


def print_event(e: Event) -> list[str]:
    if e.kind != STEP:
        return []
    # print(sess.run(accuracy, feed_dict={x: batch_xs, y: batch_ys})), a float32 in NumPy < 1.14
    return [numpy113_str(e.values[BATCH_ACCURACY])]



VARIANT = Variant(
    name="morvan",
    tutorial='Morvan Zhou, "RNN LSTM 循环神经网络 (分类例子)", 2016-11-03, '
             "https://github.com/MorvanZhou/tutorials/tree/master/tensorflowTUT/tf20_RNN2",
    hyperparameters=dict(lr=lr, training_iters=training_iters, batch_size=batch_size, n_inputs=n_inputs,
                         n_steps=n_steps, n_hidden_units=n_hidden_units, n_classes=n_classes,
                         optimizer="Adam", init="random_normal weights, 0.1 biases"),
    build=build,
    feed_shape=(n_steps, n_inputs),  # batch_xs.reshape([batch_size, n_steps, n_inputs])
    # step = 0; while step * batch_size < training_iters: ...; if step % 20 == 0: print(...)
    schedule=Schedule(batch_size=batch_size, steps=steps_while(0, batch_size, training_iters),
                      every=20, batch_metrics=(BATCH_ACCURACY,)),
    seed=SEED,
    era=TF_ERA,
    print_event=print_event,
    keras=keras_model,
    reference=Reference(
        source=f"Morvan Zhou's tutorial page, its 17 printed batch accuracies (steps 0..320): {PAGE}",
        points=tuple(Point(BATCH_ACCURACY, EVERY * i, v) for i, v in enumerate(DOCUMENTED)),
        also=(Reference(
            source="final-state's first 40 printed batch accuracies (same network and recipe)",
            points=tuple(Point(BATCH_ACCURACY, final_state.EVERY * i, v)
                         for i, v in enumerate(final_state.DOCUMENTED[:40])),
            label="final-state's first 40"),),
    ),
)
