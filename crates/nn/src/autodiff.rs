//! Reverse-mode automatic differentiation. Ops that see an input needing gradients attach a
//! [`GradNode`] to their output: the inputs and a closure mapping the output's gradient to the
//! inputs' gradients, written with the same tensor ops (so backward runs on the GPU when the
//! forward did). `loss.backward()` (or `y.backward_with(&upstream)` for a non-scalar `y`) walks the graph in
//! reverse topological order.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::tensor::common_device;
use crate::{ops, shape_err, Result, Tensor};

/// `Send + Sync` on native targets; nothing on wasm32, where GPU handles are not `Send`.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync> MaybeSendSync for T {}
/// `Send + Sync` on native targets; nothing on wasm32, where GPU handles are not `Send`.
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSendSync for T {}

/// Maps the gradient of an op's output to the gradients of its inputs (`None`: no gradient).
pub trait Backward: MaybeSendSync {
    /// Computes the input gradients from the output gradient.
    fn backward(&self, grad: &Tensor) -> Result<Vec<Option<Tensor>>>;
}

impl<F> Backward for F
where
    F: Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + MaybeSendSync,
{
    fn backward(&self, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        self(grad)
    }
}

/// One recorded op: its name, its inputs and its backward rule.
pub struct GradNode {
    pub(crate) name: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: Box<dyn Backward>,
}

thread_local! {
    static NO_GRAD: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` without recording gradients (inference, optimizer updates, backward itself).
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    NO_GRAD.with(|c| c.set(c.get() + 1));
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            NO_GRAD.with(|c| c.set(c.get() - 1));
        }
    }
    let _reset = Reset;
    f()
}

/// True when ops should record gradients for these inputs.
pub(crate) fn should_record(inputs: &[&Tensor]) -> bool {
    NO_GRAD.with(|c| c.get() == 0) && inputs.iter().any(|t| t.requires_grad())
}

/// Attaches a backward rule to `out` when any input needs gradients; returns `out`.
pub(crate) fn record(
    out: Tensor,
    name: &'static str,
    inputs: &[&Tensor],
    backward: impl Fn(&Tensor) -> Result<Vec<Option<Tensor>>> + MaybeSendSync + 'static,
) -> Tensor {
    if !should_record(inputs) {
        return out;
    }
    let node = GradNode { name, inputs: inputs.iter().map(|t| (*t).clone()).collect(), backward: Box::new(backward) };
    out.with_node(Arc::new(node))
}

/// Gradients of a scalar with respect to every variable it depends on.
#[derive(Default, Debug)]
pub struct Gradients {
    map: HashMap<u64, Tensor>,
}

impl Gradients {
    /// The gradient for `t` (a tensor marked with [`Tensor::variable`]), if it was reached.
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.map.get(&t.id())
    }

    /// Removes and returns the gradient for `t`.
    pub fn remove(&mut self, t: &Tensor) -> Option<Tensor> {
        self.map.remove(&t.id())
    }

    /// Number of variables with a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no variable received a gradient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Nodes reachable from `root`, inputs before the ops that use them.
fn topo_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = t.node() {
            for i in node.inputs.iter().filter(|i| i.node().is_some()) {
                stack.push((i.clone(), false));
            }
        }
    }
    order
}

/// Adds `g` into the gradient slot of tensor `id`.
fn accumulate(map: &mut HashMap<u64, Tensor>, id: u64, g: Tensor) -> Result<()> {
    let total = match map.remove(&id) {
        Some(prev) => ops::add(&prev, &g)?,
        None => g,
    };
    map.insert(id, total);
    Ok(())
}

impl Tensor {
    /// Computes the gradients of this scalar with respect to every variable it depends on.
    pub fn backward(&self) -> Result<Gradients> {
        if self.numel() != 1 {
            return Err(shape_err(
                "backward",
                format!("needs a scalar loss, got shape {:?}; use backward_with for other shapes", self.shape()),
            ));
        }
        self.backward_from(Tensor::ones(self.shape(), self.device())?)
    }

    /// Gradients of `sum(self · upstream)` with respect to every variable this tensor depends
    /// on: TensorFlow's `tape.gradient(y, vars, output_gradients=upstream)`. `upstream` must
    /// have this tensor's shape and device.
    pub fn backward_with(&self, upstream: &Tensor) -> Result<Gradients> {
        if upstream.shape() != self.shape() {
            return Err(shape_err(
                "backward_with",
                format!("upstream gradient of shape {:?} for a tensor of shape {:?}", upstream.shape(), self.shape()),
            ));
        }
        common_device("backward_with", &[self, upstream])?;
        self.backward_from(upstream.detach())
    }

    /// Propagates `seed`, the gradient of this tensor, back to the variables.
    fn backward_from(&self, seed: Tensor) -> Result<Gradients> {
        no_grad(|| {
            let mut pending: HashMap<u64, Tensor> = HashMap::new();
            pending.insert(self.id(), seed.clone());
            let mut out = Gradients::default();
            for t in topo_order(self).into_iter().rev() {
                let (Some(node), Some(g)) = (t.node(), pending.remove(&t.id())) else { continue };
                let grads = node.backward.backward(&g)?;
                for (input, gi) in node.inputs.iter().zip(grads) {
                    let Some(gi) = gi else { continue };
                    if gi.shape() != input.shape() {
                        return Err(shape_err(
                            node.name,
                            format!(
                                "backward produced a gradient of shape {:?} for an input of shape {:?}",
                                gi.shape(),
                                input.shape()
                            ),
                        ));
                    }
                    if input.node().is_some() {
                        accumulate(&mut pending, input.id(), gi)?;
                    } else if input.is_variable() {
                        accumulate(&mut out.map, input.id(), gi)?;
                    }
                }
            }
            if self.is_variable() && self.node().is_none() {
                out.map.insert(self.id(), seed);
            }
            Ok(out)
        })
    }
}

/// Sums `g` over the axes along which `shape` was broadcast to `g`'s shape, giving `shape`.
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let lead = g.rank() - shape.len();
    let axes: Vec<usize> = (0..g.rank()).filter(|&i| i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)).collect();
    ops::reduce_sum(g, Some(&axes), false)?.reshape(shape)
}
