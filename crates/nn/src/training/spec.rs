//! What `compile` takes: the [`Loss`] to minimise and the [`Metric`]s to report, with Keras's
//! names (the keys of the training logs) and Keras's resolution of `"accuracy"`.

use crate::ops;
use crate::{Result, Tensor};

/// A Keras loss, averaged over the batch (`"sum_over_batch_size"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// `keras.losses.SparseCategoricalCrossentropy(from_logits)`: class ids `[n]` (or `[n, 1]`).
    SparseCategoricalCrossentropy {
        /// True when the model outputs logits rather than probabilities.
        from_logits: bool,
    },
    /// `keras.losses.CategoricalCrossentropy(from_logits)`: one-hot or probability labels.
    CategoricalCrossentropy {
        /// True when the model outputs logits rather than probabilities.
        from_logits: bool,
    },
    /// `keras.losses.BinaryCrossentropy(from_logits)`: 0/1 labels of the output's shape.
    BinaryCrossentropy {
        /// True when the model outputs logits rather than probabilities.
        from_logits: bool,
    },
    /// `keras.losses.MeanSquaredError()`.
    MeanSquaredError,
}

impl Loss {
    /// Keras's function name (`sparse_categorical_crossentropy`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
        }
    }

    /// The scalar loss (shape `[]`) of a batch, differentiable in `y_pred`.
    pub fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        match *self {
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                ops::sparse_categorical_crossentropy(&sparse_ids(y_true, y_pred)?, y_pred, from_logits)
            }
            Loss::CategoricalCrossentropy { from_logits } => ops::categorical_crossentropy(y_true, y_pred, from_logits),
            Loss::BinaryCrossentropy { from_logits } => ops::binary_crossentropy(y_true, y_pred, from_logits),
            Loss::MeanSquaredError => ops::mean_squared_error(y_true, y_pred),
        }
    }
}

/// A Keras metric, averaged over samples across the batches of an epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// `"accuracy"`: Keras picks binary, sparse or categorical accuracy from the shapes
    /// (prediction last axis 1 → binary; labels of lower rank, or a last axis of 1 against
    /// several classes → sparse; else categorical). Logged as `accuracy`.
    Accuracy,
    /// `sparse_categorical_accuracy`: label id == first argmax of the prediction.
    SparseCategoricalAccuracy,
    /// `categorical_accuracy`: argmax of the one-hot label == argmax of the prediction.
    CategoricalAccuracy,
    /// `binary_accuracy`: label == (prediction > threshold); Keras's threshold is 0.5.
    BinaryAccuracy {
        /// Decision threshold.
        threshold: f32,
    },
    /// `sparse_top_k_categorical_accuracy`: label id in the top k (`tf.math.in_top_k`).
    SparseTopKCategoricalAccuracy {
        /// How many top classes count (Keras: 5).
        k: usize,
    },
    /// `top_k_categorical_accuracy`: argmax of the one-hot label in the top k.
    TopKCategoricalAccuracy {
        /// How many top classes count (Keras: 5).
        k: usize,
    },
}

impl Metric {
    /// `binary_accuracy` with Keras's threshold 0.5.
    pub fn binary_accuracy() -> Self {
        Metric::BinaryAccuracy { threshold: 0.5 }
    }

    /// `sparse_top_k_categorical_accuracy` with Keras's k = 5.
    pub fn sparse_top_k() -> Self {
        Metric::SparseTopKCategoricalAccuracy { k: 5 }
    }

    /// `top_k_categorical_accuracy` with Keras's k = 5.
    pub fn top_k() -> Self {
        Metric::TopKCategoricalAccuracy { k: 5 }
    }

    /// The key in the logs and the history (Keras's default metric name).
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::SparseCategoricalAccuracy => "sparse_categorical_accuracy",
            Metric::CategoricalAccuracy => "categorical_accuracy",
            Metric::BinaryAccuracy { .. } => "binary_accuracy",
            Metric::SparseTopKCategoricalAccuracy { .. } => "sparse_top_k_categorical_accuracy",
            Metric::TopKCategoricalAccuracy { .. } => "top_k_categorical_accuracy",
        }
    }

    /// The concrete metric `"accuracy"` stands for with these shapes (Keras 3's rule); other
    /// metrics are returned unchanged.
    pub fn resolve(&self, y_true: &Tensor, y_pred: &Tensor) -> Metric {
        if *self != Metric::Accuracy {
            return *self;
        }
        let (t, p) = (y_true.shape(), y_pred.shape());
        let (t_last, p_last) = (t.last().copied().unwrap_or(1), p.last().copied().unwrap_or(1));
        if p_last == 1 {
            Metric::binary_accuracy()
        } else if t.len() < p.len() || (t_last == 1 && p_last > 1) {
            Metric::SparseCategoricalAccuracy
        } else {
            Metric::CategoricalAccuracy
        }
    }

    /// The batch's metric value, a mean over its samples (shape `[]`, no gradient).
    pub fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        crate::no_grad(|| match self.resolve(y_true, y_pred) {
            Metric::SparseCategoricalAccuracy => ops::accuracy(&sparse_ids(y_true, y_pred)?, y_pred),
            Metric::CategoricalAccuracy => ops::categorical_accuracy(y_true, y_pred),
            Metric::BinaryAccuracy { threshold } => ops::binary_accuracy(y_true, y_pred, threshold),
            Metric::SparseTopKCategoricalAccuracy { k } => {
                ops::sparse_top_k_categorical_accuracy(&sparse_ids(y_true, y_pred)?, y_pred, k)
            }
            Metric::TopKCategoricalAccuracy { k } => ops::top_k_categorical_accuracy(y_true, y_pred, k),
            Metric::Accuracy => unreachable!("resolve() picks a concrete accuracy"),
        })
    }
}

/// Sparse labels as `[n]`: Keras also accepts `[n, 1]` (labels of the prediction's rank).
fn sparse_ids(y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
    match y_true.rank() == y_pred.rank() && y_true.shape().last() == Some(&1) {
        true => y_true.reshape(&y_true.shape()[..y_true.rank() - 1]),
        false => Ok(y_true.clone()),
    }
}
