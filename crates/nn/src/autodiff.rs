//! Reverse-mode automatic differentiation. Ops that see an input needing gradients attach a
//! [`GradNode`] to their output: the inputs and a closure mapping the output's gradient to the
//! inputs' gradients, written with the same tensor ops (so backward runs on the GPU when the
//! forward did). `loss.backward()` (or `y.backward_with(&upstream)` for a non-scalar `y`) walks the graph in
//! reverse topological order.
//!
//! A node keeps only what its backward needs: its inputs are recorded as identities and
//! shapes ([`NodeInput`], no data), the backward closure captures the tensors it reads, and
//! `backward` drops each closure (and so its saved tensors) as soon as it has run. A graph can
//! therefore be differentiated once, like TensorFlow's non-persistent `GradientTape`.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

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

/// An input of a recorded op, without its data: what backward needs to route a gradient.
pub(crate) struct NodeInput {
    id: u64,
    shape: Vec<usize>,
    /// The tensor itself when it is a variable (a leaf that lives as long as the model anyway),
    /// for [`Tensor::backward_with_hook`]'s `ready`.
    variable: Option<Tensor>,
    node: Option<Arc<GradNode>>,
}

impl NodeInput {
    fn of(t: &Tensor) -> Self {
        let node = t.node().cloned();
        let variable = (node.is_none() && t.is_variable()).then(|| t.clone());
        Self { id: t.id(), shape: t.shape().to_vec(), variable, node }
    }
}

/// One recorded op: its name, its inputs and its backward rule (taken, and so released, when
/// backward runs it).
pub struct GradNode {
    pub(crate) name: &'static str,
    pub(crate) inputs: Vec<NodeInput>,
    pub(crate) backward: Mutex<Option<Box<dyn Backward>>>,
}

impl GradNode {
    /// Runs and releases the backward rule; an error when an earlier backward used it.
    fn run_once(&self, g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let rule = self.backward.lock().unwrap_or_else(|p| p.into_inner()).take();
        match rule {
            Some(rule) => rule.backward(g),
            None => Err(shape_err(
                self.name,
                "backward through this graph a second time: its saved tensors were released after the \
                 first backward (run the forward again)"
                    .to_string(),
            )),
        }
    }

    /// Drops the backward rule (and the tensors it saved) without running it.
    fn release(&self) {
        drop(self.backward.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
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
    let node = GradNode {
        name,
        inputs: inputs.iter().map(|t| NodeInput::of(t)).collect(),
        backward: Mutex::new(Some(Box::new(backward))),
    };
    out.with_node(Arc::new(node))
}

/// `t`'s data without its graph when `needed` (what a backward rule saves), else nothing.
pub(crate) fn save_if(needed: bool, t: &Tensor) -> Option<Tensor> {
    needed.then(|| t.detach())
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

    /// Sets the gradient for variable `var` (a data-parallel wrapper builds averaged gradients
    /// this way); returns the previous one.
    pub fn insert(&mut self, var: &Tensor, grad: Tensor) -> Option<Tensor> {
        self.map.insert(var.id(), grad)
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

/// Recorded nodes reachable from `root` as (output id, node), inputs before the ops that use
/// them. Holds no tensor data, so intermediate results are freed as their consumers finish.
fn topo_order(root: u64, node: &Arc<GradNode>) -> Vec<(u64, Arc<GradNode>)> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(root, node.clone(), false)];
    while let Some((id, n, expanded)) = stack.pop() {
        if expanded {
            order.push((id, n));
            continue;
        }
        if !seen.insert(id) {
            continue;
        }
        stack.push((id, n.clone(), true));
        for i in &n.inputs {
            if let Some(inner) = &i.node {
                stack.push((i.id, inner.clone(), false));
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

/// How many times each variable appears as an input of a node reachable from the loss.
fn variable_uses(order: &[(u64, Arc<GradNode>)]) -> HashMap<u64, usize> {
    let mut uses = HashMap::new();
    for (_, node) in order {
        for i in node.inputs.iter().filter(|i| i.variable.is_some()) {
            *uses.entry(i.id).or_insert(0) += 1;
        }
    }
    uses
}

impl Tensor {
    /// Computes the gradients of this scalar with respect to every variable it depends on.
    pub fn backward(&self) -> Result<Gradients> {
        self.backward_with_hook(&mut |_, _| Ok(()))
    }

    /// Like [`Tensor::backward`], calling `ready(variable, gradient)` as soon as a variable's
    /// gradient is final (no op left to visit uses it), while later gradients are still being
    /// recorded — a data-parallel step starts reading back and reducing gradients there.
    pub fn backward_with_hook(&self, ready: &mut dyn FnMut(&Tensor, &Tensor) -> Result<()>) -> Result<Gradients> {
        if self.numel() != 1 {
            return Err(shape_err(
                "backward",
                format!("needs a scalar loss, got shape {:?}; use backward_with for other shapes", self.shape()),
            ));
        }
        self.backward_from(Tensor::ones(self.shape(), self.device())?, ready)
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
        self.backward_from(upstream.detach(), &mut |_, _| Ok(()))
    }

    /// Propagates `seed`, the gradient of this tensor, back to the variables, calling `ready`
    /// for each variable whose gradient is final.
    fn backward_from(&self, seed: Tensor, ready: &mut dyn FnMut(&Tensor, &Tensor) -> Result<()>) -> Result<Gradients> {
        no_grad(|| {
            let mut pending: HashMap<u64, Tensor> = HashMap::new();
            pending.insert(self.id(), seed.clone());
            let mut out = Gradients::default();
            let order = self.node().map(|n| topo_order(self.id(), n)).unwrap_or_default();
            let mut uses = variable_uses(&order);
            for (id, node) in order.into_iter().rev() {
                let grads = match pending.remove(&id) {
                    Some(g) => node.run_once(&g)?,
                    None => {
                        // Not reached by the gradient: release its saved tensors all the same.
                        node.release();
                        vec![None; node.inputs.len()]
                    }
                };
                for (input, gi) in node.inputs.iter().zip(grads) {
                    if let Some(gi) = gi {
                        collect_grad(&node, input, gi, &mut pending, &mut out)?;
                    }
                    release_variable(input, &mut uses, &out, ready)?;
                }
            }
            if self.is_variable() && self.node().is_none() {
                out.map.insert(self.id(), seed);
                ready(self, &out.map[&self.id()])?;
            }
            Ok(out)
        })
    }
}

/// Routes an input's gradient to the pending map (inner tensors) or the result (variables).
fn collect_grad(
    node: &GradNode,
    input: &NodeInput,
    gi: Tensor,
    pending: &mut HashMap<u64, Tensor>,
    out: &mut Gradients,
) -> Result<()> {
    if gi.shape() != input.shape.as_slice() {
        return Err(shape_err(
            node.name,
            format!("backward produced a gradient of shape {:?} for an input of shape {:?}", gi.shape(), input.shape),
        ));
    }
    if input.node.is_some() {
        accumulate(pending, input.id, gi)?;
    } else if input.variable.is_some() {
        accumulate(&mut out.map, input.id, gi)?;
    }
    Ok(())
}

/// Counts one visited use of `input`; on its last use, hands a variable's gradient to `ready`.
fn release_variable(
    input: &NodeInput,
    uses: &mut HashMap<u64, usize>,
    out: &Gradients,
    ready: &mut dyn FnMut(&Tensor, &Tensor) -> Result<()>,
) -> Result<()> {
    let Some(var) = &input.variable else { return Ok(()) };
    let Some(n) = uses.get_mut(&input.id) else { return Ok(()) };
    *n -= 1;
    if *n == 0 {
        uses.remove(&input.id);
        if let Some(g) = out.map.get(&input.id) {
            ready(var, g)?;
        }
    }
    Ok(())
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
