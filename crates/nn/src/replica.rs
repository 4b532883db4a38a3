//! Cross-replica reductions for data-parallel training: [`ReplicaGroup`], the transport a
//! data-parallel wrapper installs for the thread that trains, the differentiable
//! [`cross_replica_sum`], and [`sync_batch_norm_training`] — batch normalization whose
//! statistics cover the global batch of every replica (Keras's
//! `BatchNormalization(synchronized=True)`).

use std::cell::RefCell;
use std::sync::Arc;

use crate::autodiff::{record, MaybeSendSync};
use crate::{ops, shape_err, Result, Tensor};

/// Sums buffers across the replicas of a data-parallel job.
pub trait ReplicaGroup: MaybeSendSync {
    /// The element-wise sum of `data` over every replica; all replicas call it in the same order.
    fn all_reduce_sum(&self, data: Vec<f32>) -> Result<Vec<f32>>;
}

thread_local! {
    static GROUP: RefCell<Option<Arc<dyn ReplicaGroup>>> = const { RefCell::new(None) };
}

/// Installs `group` for this thread (`None` removes it); returns the previous one.
pub fn set_replica_group(group: Option<Arc<dyn ReplicaGroup>>) -> Option<Arc<dyn ReplicaGroup>> {
    GROUP.with(|g| std::mem::replace(&mut *g.borrow_mut(), group))
}

/// The replica group installed for this thread, if any.
pub fn replica_group() -> Option<Arc<dyn ReplicaGroup>> {
    GROUP.with(|g| g.borrow().clone())
}

/// A tensor's values on the host (blocking; native targets only).
fn host_values(x: &Tensor) -> Result<Vec<f32>> {
    #[cfg(not(target_arch = "wasm32"))]
    return x.to_vec();
    #[cfg(target_arch = "wasm32")]
    Err(shape_err("cross_replica_sum", format!("needs a native target to read {:?} back", x.shape())))
}

/// `x` summed element-wise over every replica; its gradient is the upstream gradient summed
/// over replicas (each replica's loss depends on every replica's `x`).
pub fn cross_replica_sum(x: &Tensor, group: &Arc<dyn ReplicaGroup>) -> Result<Tensor> {
    let sum = group.all_reduce_sum(host_values(x)?)?;
    if sum.len() != x.numel() {
        let msg = format!("the replica group returned {} values for a tensor of shape {:?}", sum.len(), x.shape());
        return Err(shape_err("cross_replica_sum", msg));
    }
    let out = Tensor::from_vec(sum, x.shape(), x.device())?;
    let g = group.clone();
    Ok(record(out, "cross_replica_sum", &[x], move |up| Ok(vec![Some(cross_replica_sum(up, &g)?)])))
}

/// Training-mode batch normalization over the last axis with the mean and (biased) variance of
/// the global batch: Σx and Σx² over the other axes are summed across replicas. Returns
/// (y, mean, variance) like [`ops::batch_norm_training`].
pub fn sync_batch_norm_training(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    epsilon: f32,
    group: &Arc<dyn ReplicaGroup>,
) -> Result<(Tensor, Tensor, Tensor)> {
    let c = match x.shape().last() {
        Some(&c) if x.rank() >= 2 && gamma.shape() == [c] && beta.shape() == [c] => c,
        _ => {
            let msg = format!(
                "x {:?} needs rank >= 2 and gamma {:?}, beta {:?} of its channels",
                x.shape(),
                gamma.shape(),
                beta.shape()
            );
            return Err(shape_err("sync_batch_norm", msg));
        }
    };
    let axes: Vec<usize> = (0..x.rank() - 1).collect();
    let count = group.all_reduce_sum(vec![(x.numel() / c) as f32])?[0];
    let s1 = cross_replica_sum(&ops::reduce_sum(x, Some(&axes), false)?, group)?;
    let s2 = cross_replica_sum(&ops::reduce_sum(&ops::square(x)?, Some(&axes), false)?, group)?;
    let mean = ops::affine(&s1, 1.0 / count, 0.0)?;
    let var = ops::sub(&ops::affine(&s2, 1.0 / count, 0.0)?, &ops::square(&mean)?)?;
    let scale = ops::div(gamma, &ops::sqrt(&ops::affine(&var, 1.0, epsilon)?)?)?;
    let y = ops::add(&ops::mul(&ops::sub(x, &mean)?, &scale)?, beta)?;
    Ok((y, mean, var))
}
