"""Blog (TF 1.x): BasicLSTMCell(100) + dynamic_rnn on raw rows, softmax before the softmax loss, Adam 1e-4, 21 epochs.

Source: a blog post in notebook form (softmax_bug.md). The graph below is the post's, in its order. Lines
the TensorFlow 2 API forced to change carry the original beside them as `# TF1:`.

The tutorial's bug stays in by default: it applies tf.nn.softmax to the logits and then
hands the probabilities to softmax_cross_entropy_with_logits, which applies softmax again.
`--fix softmax` builds the corrected graph (logits straight into the loss) for comparison.
"""
import numpy as np

from rnnmnist import kerasport, lazytf
from rnnmnist.curve import TEST_ACCURACY
from rnnmnist.spec import EPOCH, Event, GraphHandles, KerasPort, Schedule, Variant

tf = lazytf.v1  # TF1: import tensorflow as tf
# The data: rnnmnist.dataset is a port of the module TF 2 no longer ships; the runner reads it.
# TF1: from tensorflow.examples.tutorials.mnist import input_data
# TF1: mnist = input_data.read_data_sets("MNIST_data",one_hot=True)

# The TensorFlow release it ran on (rnnmnist.eras). Its stored traceback names files and lines
# that match TensorFlow 1.14.0's sources exactly (rnn_cell_impl.py:734, variable_scope.py:864 and
# 1496, keras/engine/base_layer.py:591 and 1881, training/tracking/base.py, which 1.13.1 does not
# have); 1.14's next_batch is 1.4's.
TF_ERA = "1.14"

# The post sets no seed; rnnmnist's default makes a run repeatable (--seed picks another).
SEED = 0

#输入图片是28*28
n_inputs = 28  #输入一行，一行有28个数据（有28个神经元）
max_time = 28  #一共28行（输入28次）
lstm_size = 100  #隐藏单元（block）
n_classes = 10  #10个分类（0-9）
batch_size = 50    #一次放50个样本进去
n_batch = 55000 // batch_size   # mnist.train.num_examples // batch_size
epochs = 21
learning_rate = 1e-4

# Documented numbers: none. The stored output is the ValueError raised when the graph cell was
# run a second time in the same kernel (`python -m rnnmnist.pitfalls variable-reuse` shows it).

FIXES = {"softmax": "feed the logits, not softmax(logits), to softmax_cross_entropy_with_logits"}


def build(fixes: frozenset = frozenset()) -> GraphHandles:
    #定义两个placeholder
    x = tf.placeholder(tf.float32, [None, 784])    #[行不确定，列为784]
    y = tf.placeholder(tf.float32, [None, 10])    #数字为0-9，则为10

    #初始化权值
    weights = tf.Variable(tf.truncated_normal([lstm_size, n_classes], stddev=0.1))
    #初始化偏置值
    biases = tf.Variable(tf.constant(0.1, shape=[n_classes]))

    #定义RNN网络
    def RNN(X, weights, biases):
        inputs = tf.reshape(X, [-1, max_time, n_inputs])
        lstm_cell = tf.nn.rnn_cell.BasicLSTMCell(lstm_size)
        #final_state[0]是cell state, final_state[1]是hidden_state
        putputs, final_state = tf.nn.dynamic_rnn(lstm_cell, inputs, dtype=tf.float32)
        logits = tf.matmul(final_state[1], weights) + biases
        if "softmax" in fixes:
            return logits
        results = tf.nn.softmax(logits)  # the bug: these are probabilities, fed below as logits
        return results

    prediction = RNN(x, weights, biases)

    #定义交叉熵代价函数
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=prediction))
    #使用AdamOptimizer进行优化
    train_step = tf.train.AdamOptimizer(learning_rate).minimize(cross_entropy)

    correct_prediction = tf.equal(tf.argmax(prediction, 1), tf.argmax(y, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))

    init = tf.global_variables_initializer()
    return GraphHandles(x=x, y=y, train_op=train_step, loss=cross_entropy, accuracy=accuracy, init=init,
                 correct=correct_prediction, output=prediction)


def keras_model(fixes: frozenset = frozenset()) -> KerasPort:
    """The same network in today's Keras 3: keras.layers.LSTM's final state, the readout, the same bug."""
    keras = kerasport.keras()
    x = keras.Input((784,))
    inputs = keras.layers.Reshape((max_time, n_inputs))(x)
    # BasicLSTMCell(lstm_size, forget_bias=1.0), as Keras arguments (rnnmnist.kerasport)
    cell_as_tf1 = kerasport.basic_lstm_cell(n_inputs, lstm_size, TF_ERA)
    _, h, c = keras.layers.LSTM(lstm_size, **cell_as_tf1, return_state=True,
                                name="lstm")(inputs)  # final_state[1]
    # weights: truncated_normal(stddev=0.1); biases: 0.1
    prediction = keras.layers.Dense(n_classes, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
                                    bias_initializer=keras.initializers.Constant(0.1), name="readout")(h)
    if "softmax" not in fixes:
        prediction = keras.layers.Softmax()(prediction)  # the bug: probabilities, taken below as logits

    def cross_entropy(y, prediction):
        # softmax_cross_entropy_with_logits(labels=y, logits=prediction), written out: softmax again on the
        # bug's output. Keras's own CategoricalCrossentropy(from_logits=True) cannot keep the bug on the
        # TensorFlow backend: it sees that its input came from a softmax and silently takes the logits
        # before it instead (with only a warning); on the JAX backend it would keep it.
        return -keras.ops.sum(y * keras.ops.log_softmax(prediction, axis=-1), axis=-1)

    return KerasPort(
        model=keras.Model(x, prediction),
        loss=cross_entropy,  # tf.reduce_mean: Keras averages a loss function's values over the batch
        optimizer=kerasport.adam_as_tf1(learning_rate),  # tf.train.AdamOptimizer(learning_rate): TF1's epsilon, 1e-8
        tf1_variables=("readout/kernel", "readout/bias", "lstm/kernel", "lstm/bias"))


def print_event(e: Event) -> list[str]:
    if e.kind != EPOCH:
        return []
    acc = np.float32(e.values[TEST_ACCURACY])  # str() of a float32 in NumPy >= 1.14, as in 2019
    return ["Iter" + str(e.at - 1) + ",Testing Accuracy" + str(acc)]


VARIANT = Variant(
    name="softmax-bug",
    tutorial="a blog post in Jupyter form (TF 1.x; its address was not recorded)",
    hyperparameters=dict(n_inputs=n_inputs, max_time=max_time, lstm_size=lstm_size, n_classes=n_classes,
                         batch_size=batch_size, n_batch=n_batch, epochs=epochs, learning_rate=learning_rate,
                         optimizer="Adam", init="truncated_normal(stddev=0.1) weights, 0.1 biases"),
    build=build,
    feed_shape=(784,),  # batch_xs is fed as it comes: [50, 784]
    # for epoch in range(21): for batch in range(n_batch): ...; then accuracy on mnist.test
    schedule=Schedule(batch_size=batch_size, steps=range(epochs * n_batch), steps_per_epoch=n_batch,
                      epoch_eval=(TEST_ACCURACY,)),
    seed=SEED,
    era=TF_ERA,
    print_event=print_event,
    keras=keras_model,
    reference=None,
    fixes=FIXES,
)
