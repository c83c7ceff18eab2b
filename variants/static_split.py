"""Notebook (TF 1.x, Python 2): tf.split into 28 steps + BasicLSTMCell(128) + static_rnn, Adam 1e-3, 781 steps.

Source: a Jupyter notebook (static_split.md), after aymericdamien's recurrent_network.py. The
graph below is the notebook's, cell by cell. Lines the TensorFlow 2 API forced to change
carry the original beside them as `# TF1:`.
"""
from rnnmnist import kerasport, lazytf
from rnnmnist.printing import numpy113_str
from rnnmnist.curve import BATCH_ACCURACY, BATCH_LOSS, FINAL_TEST_ACCURACY, Point
from rnnmnist.spec import FINAL, STEP, Event, GraphHandles, KerasPort, Reference, Schedule, Variant, steps_while

tf = lazytf.v1  # TF1: import tensorflow as tf
# The data: rnnmnist.dataset is a port of the module TF 2 no longer ships; the runner reads it.
# TF1: from tensorflow.examples.tutorials.mnist import input_data
# TF1: mnist = input_data.read_data_sets('/tmp/', one_hot=True)

# The TensorFlow release it ran on (rnnmnist.eras). tf.split(data, n_steps, axis=0) is 1.0's
# signature (0.12.1's was split(split_dim, num_split, value)), and tf.contrib.rnn.static_rnn first
# came with 1.0.1: 1.0 or later, in Python 2. 1.0 is chosen by how well the seeds fit: the ups and
# downs of its 15 printed losses follow the seeds' mean with a correlation of 0.95 under 1.0's
# file-order first epoch against 0.55 under 1.2's shuffle (accuracies 0.86 against 0.51;
# results/REPORT.md), so 1.0, not 1.1 and later.
TF_ERA = "1.0"

# The notebook sets no seed; rnnmnist's default makes a run repeatable (--seed picks another).
SEED = 0

# Parameters
learning_rate = 0.001
training_iters = 100000
batch_size = 128
display_step = 10

# Network Parameters
n_input = 28  # MNIST data input (img shape: 28*28)
n_steps = 28  # timesteps
n_hidden = 128  # hidden layer num of features
n_classes = 10  # MNIST total classes (0-9 digits)

test_len = 128  # "Calculate accuracy for 128 mnist test images"

# The stored output: (Iter, Minibatch Loss, Training Accuracy), 15 whole lines; cut after that,
# so the final test accuracy is not documented.
DOCUMENTED = (
    (1280, 1.871495, 0.35938), (2560, 1.546391, 0.52344), (3840, 1.225400, 0.54688),
    (5120, 1.023603, 0.62500), (6400, 0.822722, 0.71875), (7680, 1.103695, 0.59375),
    (8960, 0.868721, 0.72656), (10240, 0.601901, 0.82031), (11520, 0.398659, 0.87500),
    (12800, 0.716563, 0.75000), (14080, 0.485264, 0.84375), (15360, 0.366924, 0.88281),
    (16640, 0.470318, 0.90625), (17920, 0.265154, 0.89844), (19200, 0.264342, 0.90625),
)


def build(fixes: frozenset = frozenset()) -> GraphHandles:
    # tf Graph input
    X = tf.placeholder("float", [None, n_steps, n_input])
    Y = tf.placeholder("float", [None, n_classes])

    def RecNeuralNetwork(x):
        # we need split our X into sequences
        data = tf.transpose(x, [1, 0, 2])
        data = tf.reshape(data, [-1, n_input])
        datas = tf.split(data, n_steps, axis=0)

        # 1.RNN Layer
        lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(n_hidden)  # TF1: tf.contrib.rnn.BasicLSTMCell(n_hidden)
        outputs, states = tf.nn.static_rnn(lstm_cell, datas, dtype=tf.float32)
        # TF1: outputs, states = tf.contrib.rnn.static_rnn(lstm_cell, datas, dtype=tf.float32)

        # 2.Readout Layer
        W = tf.Variable(tf.random_normal([n_hidden, n_classes]))
        b = tf.Variable(tf.random_normal([n_classes]))
        output = tf.matmul(outputs[-1], W) + b
        return output

    # train graph
    predict = RecNeuralNetwork(X)
    cost = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=predict, labels=Y))
    train_step = tf.train.AdamOptimizer(learning_rate=learning_rate).minimize(cost)

    # eval graph
    correct = tf.equal(tf.argmax(predict, 1), tf.argmax(Y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct, tf.float32))

    init = tf.global_variables_initializer()  # sess = tf.InteractiveSession(): the runner's Session
    return GraphHandles(x=X, y=Y, train_op=train_step, loss=cost, accuracy=accuracy, init=init, correct=correct,
                        output=predict)


def keras_model(fixes: frozenset = frozenset()) -> KerasPort:
    """The same network in today's Keras 3: keras.layers.RNN over an LSTMCell, unrolled as static_rnn did."""
    keras = kerasport.keras()
    X = keras.Input((n_steps, n_input))
    # BasicLSTMCell(n_hidden, forget_bias=1.0), as Keras arguments (rnnmnist.kerasport)
    cell_as_tf1 = kerasport.basic_lstm_cell(n_input, n_hidden, TF_ERA)
    cell = keras.layers.LSTMCell(n_hidden, **cell_as_tf1)
    last = keras.layers.RNN(cell, unroll=True, name="lstm")(X)  # outputs[-1] of static_rnn's 28 steps
    # W and b: random_normal (stddev 1)
    predict = keras.layers.Dense(n_classes, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0),
                                 bias_initializer=keras.initializers.RandomNormal(stddev=1.0), name="readout")(last)
    return KerasPort(
        model=keras.Model(X, predict),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),  # softmax_cross_entropy_with_logits, mean
        optimizer=kerasport.adam_as_tf1(learning_rate),  # tf.train.AdamOptimizer(learning_rate): TF1's epsilon, 1e-8
        tf1_variables=("lstm/kernel", "lstm/bias", "readout/kernel", "readout/bias"))


def print_event(e: Event) -> list[str]:
    if e.kind == STEP:
        # TF1 (Python 2): print "Iter " + str(step*batch_size) + ", Minibatch Loss= " + ...
        return ["Iter " + str(e.at * batch_size) + ", Minibatch Loss= " +
                "{:.6f}".format(e.values[BATCH_LOSS]) + ", Training Accuracy= " +
                "{:.5f}".format(e.values[BATCH_ACCURACY])]
    if e.kind == FINAL:
        # TF1: print "Optimization Finished!" / print "Testing Accuracy:", sess.run(accuracy, ...)
        return ["Optimization Finished!", "Testing Accuracy: " + numpy113_str(e.values[FINAL_TEST_ACCURACY])]
    return []


VARIANT = Variant(
    name="static-split",
    tutorial='a Jupyter notebook, "使用RNN神经网络分类MNIST数据集" (TF 1.x, Python 2), after '
             "https://github.com/aymericdamien/TensorFlow-Examples/blob/master/examples/3_NeuralNetworks/recurrent_network.py",
    hyperparameters=dict(learning_rate=learning_rate, training_iters=training_iters, batch_size=batch_size,
                         display_step=display_step, n_input=n_input, n_steps=n_steps, n_hidden=n_hidden,
                         n_classes=n_classes, optimizer="Adam", init="random_normal readout W and b",
                         test_len=test_len),
    build=build,
    feed_shape=(n_steps, n_input),  # batch_x.reshape((batch_size, n_steps, n_input))
    # step = 1; while step * batch_size < training_iters: ...; if step % display_step == 0:
    # acc, then loss, on the batch just used -> steps 1..781
    schedule=Schedule(batch_size=batch_size, steps=steps_while(1, batch_size, training_iters), every=display_step,
                      batch_metrics=(BATCH_ACCURACY, BATCH_LOSS), final_test_images=test_len),
    seed=SEED,
    era=TF_ERA,
    print_event=print_event,
    keras=keras_model,
    reference=Reference(
        source="the notebook's 15 printed lines (Iter 1280..19200: minibatch loss and accuracy)",
        points=tuple(p for it, loss, acc in DOCUMENTED
                     for p in (Point(BATCH_LOSS, it // batch_size, loss), Point(BATCH_ACCURACY, it // batch_size, acc))),
    ),
)
