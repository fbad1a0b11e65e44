"""SGD with momentum in PyTorch's form, the optimiser of the reference code.

Keras's SGD keeps the learning rate inside the velocity (m <- mu m - lr g; w <- w + m); PyTorch
keeps it outside (v <- mu v + g; w <- w - lr v). With a constant learning rate the two are the
same optimiser. When the learning rate drops they are not: Keras's velocity still holds steps
taken at the old rate and carries the weights on by about mu / (1 - mu) = 9 of them with almost
no gradient correction, while PyTorch's next step is already at the new rate. On the CIFAR
recipe (lr x0.01 at a milestone) that carry-over raises the training loss for the epoch after
each decay instead of lowering it.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_auxlt")
class TorchSGD(keras.optimizers.SGD):
    """`keras.optimizers.SGD` with PyTorch's momentum update.

    v <- momentum * v + g;  w <- w - lr * v   (nesterov: w <- w - lr * (g + momentum * v)).
    Same arguments and state variables (`momentums` hold v, not Keras's lr-scaled m).
    """

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        momentum = ops.cast(self.momentum, variable.dtype)
        v = self.momentums[self._get_variable_index(variable)]
        self.assign(v, ops.add(ops.multiply(v, momentum), gradient))
        step = ops.add(gradient, ops.multiply(v, momentum)) if self.nesterov else v
        self.assign_sub(variable, ops.multiply(step, learning_rate))
