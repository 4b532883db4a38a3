//! The functional API (Keras's `keras.Input` and `keras.Model(inputs, outputs)`): calling a
//! layer on a [`SymbolicTensor`] records a node of a graph and infers its output shape;
//! [`Model`] collects the graph between its inputs and outputs, creates every variable on a
//! device with [`Model::build`], and runs the graph on real tensors. Layers may be shared by
//! several calls ([`LayerRef`]); graphs may have several inputs and outputs.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::analysis::{analysis_table, input_field, next_field, LayerStats, ReceptiveField};
use crate::layers::{snake_name, unique_name, BuildCtx, Layer, Param};
use crate::models::{summary_table, SummaryRow};
use crate::random::Rng;
use crate::{shape_err, Device, Result, Tensor};

/// A fresh identity for symbolic tensors and shared layers (increasing: creation order is a
/// topological order of the graph).
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A placeholder for a batch of values in a graph (Keras's `KerasTensor`): a shape without
/// the batch dimension and the layer call that produces it.
#[derive(Clone)]
pub struct SymbolicTensor {
    inner: Arc<SymbolicInner>,
}

struct SymbolicInner {
    id: u64,
    shape: Vec<usize>,
    origin: Origin,
}

/// Where a symbolic tensor comes from.
enum Origin {
    /// A model input (Keras's `InputLayer`).
    Input { name: String },
    /// The `node`-th call of `layer` on `inputs`.
    Call { layer: LayerRef, node: usize, inputs: Vec<SymbolicTensor> },
}

impl SymbolicTensor {
    /// The shape without the batch dimension (Keras prints it after `None`).
    pub fn shape(&self) -> &[usize] {
        &self.inner.shape
    }

    /// The name of the layer (or input) that produces this tensor.
    pub fn producer(&self) -> String {
        match &self.inner.origin {
            Origin::Input { name } => name.clone(),
            Origin::Call { layer, .. } => layer.name(),
        }
    }

    /// Keras's reference to this tensor in `summary()`: `conv2d[1][0]` (layer, call, output).
    fn keras_history(&self) -> String {
        match &self.inner.origin {
            Origin::Input { name } => format!("{name}[0][0]"),
            Origin::Call { layer, node, .. } => format!("{}[{node}][0]", layer.name()),
        }
    }
}

impl std::fmt::Debug for SymbolicTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymbolicTensor(shape={}, from={})", batch_shape(self.shape()), self.producer())
    }
}

/// `keras.Input(shape)`: a model input of `shape` (no batch dimension), auto-named
/// `input_layer`, `input_layer_1`, ...
pub fn input(shape: &[usize]) -> SymbolicTensor {
    input_named(shape, &unique_name("input_layer"))
}

/// `keras.Input(shape, name=...)`.
pub fn input_named(shape: &[usize], name: &str) -> SymbolicTensor {
    let origin = Origin::Input { name: name.to_string() };
    SymbolicTensor { inner: Arc::new(SymbolicInner { id: next_id(), shape: shape.to_vec(), origin }) }
}

/// How far a shared layer is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildState {
    /// Never built.
    Unbuilt,
    /// Built on the CPU only to infer output shapes; [`Model::build`] builds it for real.
    ShapesOnly,
    /// Its variables are final (built by a model or before it was shared).
    Built,
}

/// The input and output shapes of one call of a layer.
#[derive(Debug, Clone)]
struct CallShapes {
    inputs: Vec<Vec<usize>>,
    output: Vec<usize>,
}

struct Entry {
    layer: Box<dyn Layer>,
    state: BuildState,
    calls: Vec<CallShapes>,
}

/// A layer that can be called several times in graphs (a shared layer); clones share it.
#[derive(Clone)]
pub struct LayerRef {
    id: u64,
    entry: Arc<Mutex<Entry>>,
}

impl LayerRef {
    /// Wraps a layer so it can be called on symbolic tensors, possibly several times.
    pub fn new(layer: impl Layer + 'static) -> Self {
        let state = if layer.is_built() { BuildState::Built } else { BuildState::Unbuilt };
        let entry = Entry { layer: Box::new(layer), state, calls: Vec::new() };
        Self { id: next_id(), entry: Arc::new(Mutex::new(entry)) }
    }

    fn lock(&self) -> MutexGuard<'_, Entry> {
        self.entry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls the layer on one symbolic tensor.
    pub fn apply(&self, x: &SymbolicTensor) -> Result<SymbolicTensor> {
        self.apply_many(&[x])
    }

    /// Calls the layer on several symbolic tensors (merge layers such as `Add`).
    pub fn apply_many(&self, xs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
        let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape().to_vec()).collect();
        let mut e = self.lock();
        if e.layer.name().is_empty() {
            let name = unique_name(&snake_name(e.layer.kind()));
            e.layer.set_name(name);
        }
        let output = match e.calls.iter().find(|c| c.inputs == shapes) {
            Some(c) => c.output.clone(),
            None => infer_shape(&mut e, &shapes)?,
        };
        e.calls.push(CallShapes { inputs: shapes, output: output.clone() });
        let node = e.calls.len() - 1;
        drop(e);
        let origin = Origin::Call { layer: self.clone(), node, inputs: xs.iter().map(|x| (*x).clone()).collect() };
        Ok(SymbolicTensor { inner: Arc::new(SymbolicInner { id: next_id(), shape: output, origin }) })
    }

    /// Calls the layer on real tensors, building it first for their shape and device if it
    /// was never built (Keras's lazy build).
    pub fn call(&self, xs: &[Tensor], training: bool) -> Result<Tensor> {
        let mut e = self.lock();
        if e.state != BuildState::Built {
            let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape().get(1..).unwrap_or(&[]).to_vec()).collect();
            let device = xs.first().map_or(Device::Cpu, |x| x.device().clone());
            if e.layer.name().is_empty() {
                let name = unique_name(&snake_name(e.layer.kind()));
                e.layer.set_name(name);
            }
            let mut rng = Rng::new(next_id());
            e.layer.build_multi(&shapes, &mut BuildCtx { device: &device, rng: &mut rng })?;
            e.state = BuildState::Built;
        }
        e.layer.call_multi(xs, training)
    }

    /// The layer's name.
    pub fn name(&self) -> String {
        self.lock().layer.name().to_string()
    }

    /// The layer's Keras class name.
    pub fn kind(&self) -> &'static str {
        self.lock().layer.kind()
    }

    /// The output shape of the layer's first call (no batch dimension), as Keras's
    /// `layer.output.shape`.
    pub fn output_shape(&self) -> Option<Vec<usize>> {
        self.lock().calls.first().map(|c| c.output.clone())
    }

    /// The output shape of every call, in call order.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.lock().calls.iter().map(|c| c.output.clone()).collect()
    }

    /// The layer's variables.
    pub fn variables(&self) -> Vec<Param> {
        self.lock().layer.variables()
    }

    /// Number of scalars in the layer's variables.
    pub fn count_params(&self) -> usize {
        self.variables().iter().map(Param::numel).sum()
    }

    /// Runs `f` on the wrapped layer (e.g. to read layer-specific settings).
    pub fn with_layer<R>(&self, f: impl FnOnce(&dyn Layer) -> R) -> R {
        f(self.lock().layer.as_ref())
    }
}

/// Builds `e`'s layer on the CPU for `shapes` to learn its output shape, unless its variables
/// are final (then a new input shape cannot be accepted without rebuilding them).
fn infer_shape(e: &mut Entry, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
    if e.state == BuildState::Built && !e.layer.variables().is_empty() {
        let built: Vec<String> = e.calls.iter().map(|c| format!("{:?}", c.inputs)).collect();
        return Err(shape_err(
            "functional",
            format!(
                "layer '{}' is already built (for inputs {}); it cannot take inputs {shapes:?}",
                e.layer.name(),
                if built.is_empty() { "given when it was built".into() } else { built.join(", ") }
            ),
        ));
    }
    let mut rng = Rng::new(0);
    let out = e.layer.build_multi(shapes, &mut BuildCtx { device: &Device::Cpu, rng: &mut rng })?;
    if e.state == BuildState::Unbuilt {
        e.state = BuildState::ShapesOnly;
    }
    Ok(out)
}

/// Calling a layer on symbolic tensors (`layers.Conv2D(16, 3)(x)` in Keras).
pub trait Apply {
    /// Calls the layer on one symbolic tensor.
    fn apply(self, x: &SymbolicTensor) -> Result<SymbolicTensor>;
    /// Calls the layer on several symbolic tensors.
    fn apply_many(self, xs: &[&SymbolicTensor]) -> Result<SymbolicTensor>;
}

impl<L: Layer + 'static> Apply for L {
    fn apply(self, x: &SymbolicTensor) -> Result<SymbolicTensor> {
        LayerRef::new(self).apply(x)
    }
    fn apply_many(self, xs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
        LayerRef::new(self).apply_many(xs)
    }
}

/// One layer call of a model's graph: the tensors it reads and the one it writes.
struct GraphNode {
    layer: LayerRef,
    call: usize,
    inputs: Vec<u64>,
    output: u64,
    /// Tensors no later node reads (dropped after this node runs).
    release: Vec<u64>,
    /// The node of a plain activation layer this one may absorb (see [`mark_fusions`]) and
    /// that activation.
    fuse: Option<(usize, crate::Activation)>,
    /// The node of a max pooling layer this one may absorb (see [`mark_fusions`]) and its
    /// options (with that node's own absorbed activation, if any, when it runs).
    pool: Option<(usize, crate::ops::PoolOptions)>,
}

/// `keras.Model(inputs, outputs)`: the layers between symbolic inputs and outputs.
pub struct Model {
    name: String,
    inputs: Vec<SymbolicTensor>,
    outputs: Vec<SymbolicTensor>,
    nodes: Vec<GraphNode>,
    layers: Vec<LayerRef>,
    order: Vec<Slot>,
}

impl Model {
    /// The graph from `inputs` (made by [`input`]) to `outputs`; named `functional`,
    /// `functional_1`, ... Errors name an input the outputs need but `inputs` lacks, and
    /// layer names used twice.
    pub fn new(inputs: &[&SymbolicTensor], outputs: &[&SymbolicTensor]) -> Result<Self> {
        if outputs.is_empty() {
            return Err(shape_err("Model", "needs at least one output"));
        }
        let inputs: Vec<SymbolicTensor> = inputs.iter().map(|t| (*t).clone()).collect();
        for t in &inputs {
            if !matches!(t.inner.origin, Origin::Input { .. }) {
                let p = t.producer();
                return Err(shape_err(
                    "Model",
                    format!("inputs must come from input(), but one comes from layer '{p}'"),
                ));
            }
        }
        let outputs: Vec<SymbolicTensor> = outputs.iter().map(|t| (*t).clone()).collect();
        let mut nodes = collect_nodes(&inputs, &outputs)?;
        mark_releases(&mut nodes, &outputs);
        mark_fusions(&mut nodes, &outputs);
        let (layers, order) = keras_order(&inputs, &nodes, &outputs);
        let model = Self { name: unique_name("functional"), inputs, outputs, nodes, layers, order };
        model.check_unique_names()?;
        Ok(model)
    }

    /// Renames the model (Keras's `name=`).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn check_unique_names(&self) -> Result<()> {
        let mut seen = HashSet::new();
        let names = self.inputs.iter().map(SymbolicTensor::producer).chain(self.layers.iter().map(LayerRef::name));
        for name in names {
            if !seen.insert(name.clone()) {
                return Err(shape_err(
                    "Model",
                    format!("layer name '{name}' is used by two layers; names must be unique"),
                ));
            }
        }
        Ok(())
    }

    /// Creates every variable not built yet on `device`, initialised from `seed` (layers
    /// shared with an already built model keep theirs).
    pub fn build(&mut self, device: &Device, seed: u64) -> Result<()> {
        let mut rng = Rng::new(seed);
        self.build_with(&mut BuildCtx { device, rng: &mut rng })
    }

    fn build_with(&mut self, ctx: &mut BuildCtx) -> Result<()> {
        for layer in &self.layers {
            let mut e = layer.lock();
            if e.state == BuildState::Built {
                continue;
            }
            let Some(first) = e.calls.first().cloned() else { continue };
            let out = e.layer.build_multi(&first.inputs, ctx)?;
            if out != first.output {
                return Err(shape_err(
                    "Model",
                    format!("layer '{}' built to output {out:?}, not {:?}", e.layer.name(), first.output),
                ));
            }
            e.state = BuildState::Built;
        }
        Ok(())
    }

    /// True once every layer's variables exist.
    pub fn is_built(&self) -> bool {
        self.layers.iter().all(|l| l.lock().state == BuildState::Built)
    }

    /// Runs the graph on one batch per input; returns one tensor per output.
    pub fn call_many(&self, xs: &[Tensor], training: bool) -> Result<Vec<Tensor>> {
        if !self.is_built() {
            return Err(shape_err("Model", format!("model '{}' was called before build()", self.name)));
        }
        self.check_inputs(xs)?;
        let env = self.run_nodes(xs, self.nodes.len(), training)?;
        Ok(self.outputs.iter().map(|t| env[&t.inner.id].clone()).collect())
    }

    /// Runs the first `end` nodes on the inputs `xs`; returns the tensors still read later.
    fn run_nodes(&self, xs: &[Tensor], end: usize, training: bool) -> Result<HashMap<u64, Tensor>> {
        let mut env: HashMap<u64, Tensor> = self.inputs.iter().map(|t| t.inner.id).zip(xs.iter().cloned()).collect();
        let mut absorbed = HashSet::new();
        for (i, n) in self.nodes[..end].iter().enumerate() {
            if !absorbed.contains(&i) {
                let args: Vec<Tensor> = n.inputs.iter().map(|id| env[id].clone()).collect();
                let (output, y) = self.run_node(n, &args, training, &mut absorbed)?;
                env.insert(output, y);
            }
            for id in &n.release {
                env.remove(id);
            }
        }
        Ok(env)
    }

    /// The loss of [`crate::layers::sparse_xent_with_accuracy`] for a model whose one output
    /// is its last node's, a single-input layer (`last`): every node before it, then that
    /// layer fused with the loss where it can ([`Layer::call_sparse_xent`]).
    fn sparse_xent(&self, x: &Tensor, labels: &Tensor, last: &GraphNode, training: bool) -> Result<(Tensor, Tensor)> {
        let xs = std::slice::from_ref(x);
        self.check_inputs(xs)?;
        let env = self.run_nodes(xs, self.nodes.len() - 1, training)?;
        let h = &env[&last.inputs[0]];
        crate::layers::sparse_xent_with_accuracy(last.layer.lock().layer.as_ref(), h, labels, training)
    }

    /// Runs node `n` on `args`, fused with the max pooling node (and that node's activation)
    /// it may absorb when its layer can fuse it ([`Layer::call_pooled`]), else with the
    /// activation node it may absorb ([`Layer::call_multi_fused`]); absorbed nodes are added
    /// to `absorbed`. Returns the id of the tensor computed and the tensor.
    fn run_node(
        &self,
        n: &GraphNode,
        args: &[Tensor],
        training: bool,
        absorbed: &mut HashSet<usize>,
    ) -> Result<(u64, Tensor)> {
        let e = n.layer.lock();
        if let (Some((j, pool)), [x]) = (n.pool, args) {
            let act = self.nodes[j].fuse;
            let opts = crate::ops::PoolOptions { activation: act.map_or(crate::Activation::None, |a| a.1), ..pool };
            if let Some(y) = e.layer.call_pooled(x, &opts, training) {
                absorbed.insert(j);
                let last = act.map_or(j, |(k, _)| k);
                absorbed.insert(last);
                return Ok((self.nodes[last].output, y?));
            }
        }
        if let Some((j, act)) = n.fuse {
            if let Some(y) = e.layer.call_multi_fused(args, act, training) {
                absorbed.insert(j);
                return Ok((self.nodes[j].output, y?));
            }
        }
        Ok((n.output, e.layer.call_multi(args, training)?))
    }

    fn check_inputs(&self, xs: &[Tensor]) -> Result<()> {
        if xs.len() != self.inputs.len() {
            let (want, got) = (self.inputs.len(), xs.len());
            return Err(shape_err("Model", format!("model '{}' takes {want} inputs, got {got}", self.name)));
        }
        for (t, x) in self.inputs.iter().zip(xs) {
            if x.shape().get(1..) != Some(t.shape()) {
                return Err(shape_err(
                    "Model",
                    format!("input '{}' expects {}, got {:?}", t.producer(), batch_shape(t.shape()), x.shape()),
                ));
            }
        }
        Ok(())
    }

    /// The model's symbolic inputs.
    pub fn inputs(&self) -> &[SymbolicTensor] {
        &self.inputs
    }

    /// The model's symbolic outputs (their shapes are the output shapes).
    pub fn outputs(&self) -> &[SymbolicTensor] {
        &self.outputs
    }

    /// The layers in Keras's `model.layers` order (inputs left out): deepest first.
    pub fn layers(&self) -> &[LayerRef] {
        &self.layers
    }

    /// The layer called `name` (Keras's `model.get_layer(name)`).
    pub fn get_layer(&self, name: &str) -> Option<LayerRef> {
        self.layers.iter().find(|l| l.name() == name).cloned()
    }

    /// Every variable, layer by layer (a shared layer's once).
    pub fn variables(&self) -> Vec<Param> {
        self.layers.iter().flat_map(LayerRef::variables).collect()
    }

    /// The variables the optimizer updates.
    pub fn trainable_variables(&self) -> Vec<Param> {
        self.variables().into_iter().filter(Param::trainable).collect()
    }

    /// Total number of scalars in every variable.
    pub fn count_params(&self) -> usize {
        self.variables().iter().map(Param::numel).sum()
    }

    /// Keras's functional `summary()`: Layer (type), Output Shape, Param #, Connected to.
    pub fn summary(&self) -> String {
        let tensors = self.tensors();
        let rows: Vec<SummaryRow> = self
            .order
            .iter()
            .map(|slot| match *slot {
                Slot::Input(i) => {
                    let t = &self.inputs[i];
                    vec![format!("{} (InputLayer)", t.producer()), batch_shape(t.shape()), "0".into(), "-".into()]
                }
                Slot::Layer(i) => {
                    let l = &self.layers[i];
                    let shape = l.output_shape().map_or("?".into(), |s| batch_shape(&s));
                    let params = crate::models::thousands(l.count_params());
                    vec![format!("{} ({})", l.name(), l.kind()), shape, params, self.connections(l, &tensors)]
                }
            })
            .collect();
        summary_table(
            &self.name,
            &["Layer (type)", "Output Shape", "Param #", "Connected to"],
            &rows,
            &self.variables(),
        )
    }

    /// Keras's "Connected to" cell: the inputs of every call of `layer` in this model
    /// (`tensors` maps ids to the graph's tensors).
    fn connections(&self, layer: &LayerRef, tensors: &HashMap<u64, SymbolicTensor>) -> String {
        let mut refs = Vec::new();
        for out in self.nodes.iter().filter(|n| n.layer.id == layer.id).map(|n| n.output) {
            if let Some(Origin::Call { inputs, .. }) = tensors.get(&out).map(|t| &t.inner.origin) {
                refs.extend(inputs.iter().map(SymbolicTensor::keras_history));
            }
        }
        refs.join(",\n")
    }

    /// Every symbolic tensor reachable from the outputs, by id (each visited once, so graphs
    /// with many merges stay linear).
    fn tensors(&self) -> HashMap<u64, SymbolicTensor> {
        let mut found = HashMap::new();
        let mut stack: Vec<SymbolicTensor> = self.outputs.clone();
        while let Some(t) = stack.pop() {
            if found.contains_key(&t.inner.id) {
                continue;
            }
            if let Origin::Call { inputs, .. } = &t.inner.origin {
                stack.extend(inputs.iter().cloned());
            }
            found.insert(t.inner.id, t);
        }
        found
    }

    /// Per layer call, in graph order: output shape, receptive field on the model's input
    /// (where paths meet, the larger), and multiply-adds per example.
    pub fn layer_stats(&self) -> Vec<LayerStats> {
        let mut fields: HashMap<u64, Option<ReceptiveField>> =
            self.inputs.iter().map(|t| (t.inner.id, input_field(t.shape()))).collect();
        let mut rows = Vec::new();
        for n in &self.nodes {
            let e = n.layer.lock();
            let Some(call) = e.calls.get(n.call) else { continue };
            let ins = n.inputs.iter().map(|id| fields.get(id).copied().flatten());
            let merged = ins.reduce(|a, b| Some(a?.merge(&b?))).flatten();
            let (step, macs) = match call.inputs.as_slice() {
                [one] => (e.layer.receptive_field(one), e.layer.macs(one)),
                _ => (None, 0),
            };
            let field = next_field(merged, step, &call.output);
            fields.insert(n.output, field);
            let (name, kind) = (e.layer.name().to_string(), e.layer.kind().to_string());
            rows.push(LayerStats { name, kind, output_shape: call.output.clone(), receptive_field: field, macs });
        }
        rows
    }

    /// [`Self::summary`]'s companion: every layer call's receptive field and multiply-adds.
    pub fn analysis(&self) -> String {
        analysis_table(&self.name, &self.layer_stats())
    }

    /// The output shape (no batch) of every call of every layer, as `(layer name, shape)`.
    pub fn output_shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.nodes
            .iter()
            .map(|n| (n.layer.name(), n.layer.lock().calls.get(n.call).map(|c| c.output.clone()).unwrap_or_default()))
            .collect()
    }
}

/// The calls between `inputs` and `outputs`, in creation (topological) order; an error names
/// an input the outputs need that is not a model input.
fn collect_nodes(inputs: &[SymbolicTensor], outputs: &[SymbolicTensor]) -> Result<Vec<GraphNode>> {
    let given: HashSet<u64> = inputs.iter().map(|t| t.inner.id).collect();
    let mut seen = HashSet::new();
    let mut found: Vec<(u64, GraphNode)> = Vec::new();
    let mut stack: Vec<SymbolicTensor> = outputs.to_vec();
    while let Some(t) = stack.pop() {
        if !seen.insert(t.inner.id) || given.contains(&t.inner.id) {
            continue;
        }
        match &t.inner.origin {
            Origin::Input { name } => {
                return Err(shape_err(
                    "Model",
                    format!(
                        "graph disconnected: the outputs need input '{name}', which is not among the model's inputs"
                    ),
                ))
            }
            Origin::Call { layer, node, inputs } => {
                let ids = inputs.iter().map(|i| i.inner.id).collect();
                let (layer, call, output) = (layer.clone(), *node, t.inner.id);
                let gn = GraphNode { layer, call, inputs: ids, output, release: vec![], fuse: None, pool: None };
                found.push((t.inner.id, gn));
                stack.extend(inputs.iter().cloned());
            }
        }
    }
    found.sort_by_key(|(id, _)| *id);
    Ok(found.into_iter().map(|(_, n)| n).collect())
}

/// An entry of Keras's `model.layers`: an input (by index) or a layer (by index).
#[derive(Debug, Clone, Copy)]
enum Slot {
    Input(usize),
    Layer(usize),
}

/// Keras's traversal index (`operation_indices` in `keras.src.ops.function._build_map`): the
/// order in which a depth-first walk from the outputs, each node's inputs in order, first
/// reaches each layer (keyed by its id) and each input (keyed by the tensor's id).
fn traversal_index(outputs: &[SymbolicTensor]) -> HashMap<u64, usize> {
    let mut index = HashMap::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<SymbolicTensor> = outputs.iter().rev().cloned().collect();
    while let Some(t) = stack.pop() {
        if !seen.insert(t.inner.id) {
            continue;
        }
        let key = match &t.inner.origin {
            Origin::Input { .. } => t.inner.id,
            Origin::Call { layer, .. } => layer.id,
        };
        let next = index.len();
        index.entry(key).or_insert(next);
        if let Origin::Call { inputs, .. } = &t.inner.origin {
            stack.extend(inputs.iter().rev().cloned());
        }
    }
    index
}

/// Keras's order of a model's layers (inputs included, as its `InputLayer`s): by depth (the
/// longest path to an output), deepest first, then by Keras's traversal index.
fn keras_order(
    inputs: &[SymbolicTensor],
    nodes: &[GraphNode],
    outputs: &[SymbolicTensor],
) -> (Vec<LayerRef>, Vec<Slot>) {
    let mut depth: HashMap<u64, usize> = outputs.iter().map(|t| (t.inner.id, 0)).collect();
    for n in nodes.iter().rev() {
        let d = depth.get(&n.output).copied().unwrap_or(0);
        for &i in &n.inputs {
            let e = depth.entry(i).or_insert(0);
            *e = (*e).max(d + 1);
        }
    }
    let trav = traversal_index(outputs);
    let rank = |key: u64| trav.get(&key).copied().unwrap_or(usize::MAX);
    let mut layers: Vec<(usize, usize, LayerRef)> = Vec::new();
    for n in nodes {
        let d = depth.get(&n.output).copied().unwrap_or(0);
        match layers.iter_mut().find(|(_, _, l)| l.id == n.layer.id) {
            Some(entry) => entry.0 = entry.0.max(d),
            None => layers.push((d, rank(n.layer.id), n.layer.clone())),
        }
    }
    layers.sort_by_key(|(d, first, _)| (std::cmp::Reverse(*d), *first));
    let mut slots: Vec<(usize, usize, Slot)> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| (depth.get(&t.inner.id).copied().unwrap_or(0), rank(t.inner.id), Slot::Input(i)))
        .chain(layers.iter().enumerate().map(|(i, (d, first, _))| (*d, *first, Slot::Layer(i))))
        .collect();
    slots.sort_by_key(|(d, first, _)| (std::cmp::Reverse(*d), *first));
    (layers.into_iter().map(|(_, _, l)| l).collect(), slots.into_iter().map(|(_, _, s)| s).collect())
}

/// Marks, on the last node that reads each tensor, that it can be dropped (model outputs are
/// kept), so intermediate activations do not outlive their last use.
fn mark_releases(nodes: &mut [GraphNode], outputs: &[SymbolicTensor]) {
    let keep: HashSet<u64> = outputs.iter().map(|t| t.inner.id).collect();
    let mut last: HashMap<u64, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for &id in &n.inputs {
            last.insert(id, i);
        }
    }
    for (id, i) in last {
        if !keep.contains(&id) {
            nodes[i].release.push(id);
        }
    }
}

/// The peephole of [`crate::layers::call_run`] for graphs: node `i` may absorb node `j` when
/// `j` calls a plain activation layer ([`Layer::fusable_activation`]) or a max pooling
/// ([`Layer::fusable_max_pool`]) on `i`'s output alone, `j` is the only reader of that output,
/// and it is not a model output (a sub-model that outputs it, e.g. for visualisation, sees it
/// unfused). Whether `i`'s layer can fuse is known when it runs ([`Layer::call_multi_fused`],
/// [`Layer::call_pooled`]); otherwise both run as usual.
fn mark_fusions(nodes: &mut [GraphNode], outputs: &[SymbolicTensor]) {
    let keep: HashSet<u64> = outputs.iter().map(|t| t.inner.id).collect();
    let producer: HashMap<u64, usize> = nodes.iter().enumerate().map(|(i, n)| (n.output, i)).collect();
    let mut readers: HashMap<u64, usize> = HashMap::new();
    for id in nodes.iter().flat_map(|n| &n.inputs) {
        *readers.entry(*id).or_insert(0) += 1;
    }
    for j in 0..nodes.len() {
        let &[input] = nodes[j].inputs.as_slice() else { continue };
        let Some(&i) = producer.get(&input) else { continue };
        if keep.contains(&input) || readers[&input] != 1 {
            continue;
        }
        let layer = &nodes[j].layer.lock().layer;
        let (act, pool) = (layer.fusable_activation(), layer.fusable_max_pool());
        if let Some(act) = act {
            nodes[i].fuse = Some((j, act));
        }
        if let Some(pool) = pool {
            nodes[i].pool = Some((j, pool));
        }
    }
}

/// Keras's batch shape text: `(None, 8, 8, 3)`, `(None,)` for per-example scalars.
pub(crate) fn batch_shape(shape: &[usize]) -> String {
    match shape {
        [] => "(None,)".into(),
        _ => format!("(None, {})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

impl Layer for Model {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn kind(&self) -> &'static str {
        "Functional"
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let [only] = self.inputs.as_slice() else {
            return Err(shape_err(
                "Model",
                format!("model '{}' has {} inputs; use build()", self.name, self.inputs.len()),
            ));
        };
        if only.shape() != input_shape {
            let want = batch_shape(only.shape());
            return Err(shape_err("Model", format!("model '{}' takes {want}, not {input_shape:?}", self.name)));
        }
        self.build_with(ctx)?;
        match self.outputs.as_slice() {
            [out] => Ok(out.shape().to_vec()),
            _ => Err(shape_err("Model", format!("model '{}' has several outputs; use call_many()", self.name))),
        }
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        let mut out = self.call_many(std::slice::from_ref(x), training)?;
        match out.len() {
            1 => Ok(out.remove(0)),
            n => Err(shape_err("Model", format!("model '{}' has {n} outputs; use call_many()", self.name))),
        }
    }
    fn variables(&self) -> Vec<Param> {
        Model::variables(self)
    }
    fn call_sparse_xent(&self, x: &Tensor, labels: &Tensor, training: bool) -> Option<Result<(Tensor, Tensor)>> {
        let ([out], Some(last)) = (self.outputs.as_slice(), self.nodes.last()) else { return None };
        let single = last.output == out.inner.id && last.inputs.len() == 1 && self.is_built();
        single.then(|| self.sparse_xent(x, labels, last, training))
    }
    fn is_built(&self) -> bool {
        Model::is_built(self)
    }
    fn receptive_field(&self, _input_shape: &[usize]) -> Option<ReceptiveField> {
        let out = self.outputs.first()?.inner.id;
        let stats = self.layer_stats();
        self.nodes.iter().zip(stats).find(|(n, _)| n.output == out).and_then(|(_, s)| s.receptive_field)
    }
    fn macs(&self, _input_shape: &[usize]) -> usize {
        self.layer_stats().iter().map(|s| s.macs).fold(0, usize::saturating_add)
    }
}
