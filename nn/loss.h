/*
 * loss.h: softmax cross-entropy, the training loss of every classifier in cim.
 */
#ifndef CIM_NN_LOSS_H
#define CIM_NN_LOSS_H

#include <stdint.h>

/* Mean over the b rows of logits [b, classes] of -log softmax(logits)[label].
 * The log-sum-exp is taken after subtracting each row's maximum and accumulated
 * in double, so logits of +-1e30 give finite results. When dlogits is non-NULL
 * it receives the gradient of the mean loss: (softmax - onehot) / b. Labels must
 * be < classes. */
double nn_softmax_xent(const float *logits, const uint8_t *labels, int b, int classes,
                       float *dlogits);

#endif
