//! `Sequential` models: a stack of layers built for an input shape, with Keras's `summary()`.

use std::collections::HashMap;

use crate::analysis::{analysis_table, input_field, next_field, LayerStats, ReceptiveField};
use crate::functional::batch_shape;
use crate::layers::{call_run, snake_name, BuildCtx, Layer, Param};
use crate::random::Rng;
use crate::{shape_err, Device, Result, Tensor};

/// `keras.Sequential([...])`: layers applied in order.
pub struct Sequential {
    name: String,
    layers: Vec<Box<dyn Layer>>,
    shapes: Vec<Vec<usize>>,
    input: Option<Vec<usize>>,
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequential {
    /// An empty model named `sequential`.
    pub fn new() -> Self {
        Self { name: "sequential".into(), layers: Vec::new(), shapes: Vec::new(), input: None }
    }

    /// Appends a layer (builder style).
    pub fn with(mut self, layer: impl Layer + 'static) -> Self {
        self.add(layer);
        self
    }

    /// Appends a layer.
    pub fn add(&mut self, layer: impl Layer + 'static) {
        self.layers.push(Box::new(layer));
        self.input = None;
    }

    /// Sets the model's name.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Names unnamed layers Keras-style (`conv2d`, `conv2d_1`, ...), creates every variable on
    /// `device` from `seed`, and records each layer's output shape. `input_shape` has no batch.
    pub fn build(&mut self, input_shape: &[usize], device: &Device, seed: u64) -> Result<()> {
        let mut rng = Rng::new(seed);
        self.build_with(input_shape, &mut BuildCtx { device, rng: &mut rng }).map(|_| ())
    }

    fn build_with(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut shape = input_shape.to_vec();
        self.shapes.clear();
        for layer in &mut self.layers {
            if layer.name().is_empty() {
                let base = snake_name(layer.kind());
                let n = counts.entry(base.clone()).or_insert(0);
                layer.set_name(if *n == 0 { base } else { format!("{base}_{n}") });
                *n += 1;
            }
            shape = layer.build(&shape, ctx)?;
            self.shapes.push(shape.clone());
        }
        self.input = Some(input_shape.to_vec());
        Ok(shape)
    }

    /// Runs every layer on a batch. A layer followed by a plain activation layer it can fuse
    /// (MaxPool2D / AveragePooling2D → ReLU; BatchNormalization → ReLU in training) runs as one
    /// fused op for the pair ([`crate::layers::call_pair`]): same values and gradients, one
    /// dispatch each way instead of two; a Conv2D without activation followed by MaxPool2D
    /// (and ReLU) runs as [`crate::ops::conv2d_max_pool2d`] ([`crate::layers::call_run`]).
    /// Calling the layers one by one (as the visualisations do) sees every output.
    pub fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if self.input.is_none() {
            return Err(shape_err("Sequential", format!("model '{}' was called before build()", self.name)));
        }
        self.call_layers(x, self.layers.len(), training)
    }

    /// The first `end` layers on `x`, fusing runs of them ([`call_run`]) within those.
    fn call_layers(&self, x: &Tensor, end: usize, training: bool) -> Result<Tensor> {
        let (mut h, mut i) = (x.clone(), 0);
        while i < end {
            let run: Vec<&dyn Layer> = self.layers[i..end].iter().take(3).map(|l| l.as_ref()).collect();
            let (y, covered) = call_run(&run, &h, training)?;
            (h, i) = (y, i + covered);
        }
        Ok(h)
    }

    /// The loss of [`crate::layers::sparse_xent_with_accuracy`]: every layer but the `last`,
    /// then `last` fused with the loss where it can ([`Layer::call_sparse_xent`]).
    fn sparse_xent(&self, x: &Tensor, labels: &Tensor, last: &dyn Layer, training: bool) -> Result<(Tensor, Tensor)> {
        let h = self.call_layers(x, self.layers.len() - 1, training)?;
        crate::layers::sparse_xent_with_accuracy(last, &h, labels, training)
    }

    /// Every variable (trainable first within each layer, in Keras's order).
    pub fn variables(&self) -> Vec<Param> {
        self.layers.iter().flat_map(|l| l.variables()).collect()
    }

    /// The variables the optimizer updates.
    pub fn trainable_variables(&self) -> Vec<Param> {
        self.variables().into_iter().filter(Param::trainable).collect()
    }

    /// Total number of scalars in every variable.
    pub fn count_params(&self) -> usize {
        self.variables().iter().map(Param::numel).sum()
    }

    /// Keras's `model.summary()` table: each layer's output shape and parameter count.
    pub fn summary(&self) -> String {
        let rows: Vec<SummaryRow> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let shape = self.shapes.get(i).map_or("?".into(), |s| batch_shape(s));
                let params: usize = l.variables().iter().map(Param::numel).sum();
                vec![format!("{} ({})", l.name(), l.kind()), shape, thousands(params)]
            })
            .collect();
        summary_table(&self.name, &["Layer (type)", "Output Shape", "Param #"], &rows, &self.variables())
    }

    /// Each layer's output shape (no batch dimension), in order, once built.
    pub fn output_shapes(&self) -> &[Vec<usize>] {
        &self.shapes
    }

    /// Each layer's input shape (no batch dimension), in order, once built.
    fn input_shapes(&self) -> Vec<Vec<usize>> {
        let first = self.input.clone().unwrap_or_default();
        std::iter::once(first).chain(self.shapes.iter().cloned()).take(self.shapes.len()).collect()
    }

    /// Per layer (once built): output shape, receptive field on the model's input, and
    /// multiply-adds per example.
    pub fn layer_stats(&self) -> Vec<LayerStats> {
        let mut field = self.input.as_deref().and_then(input_field);
        let layers = self.layers.iter().zip(self.input_shapes()).zip(&self.shapes);
        layers
            .map(|((l, input), out)| {
                field = next_field(field, l.receptive_field(&input), out);
                let (name, kind) = (l.name().to_string(), l.kind().to_string());
                LayerStats { name, kind, output_shape: out.clone(), receptive_field: field, macs: l.macs(&input) }
            })
            .collect()
    }

    /// [`Self::summary`]'s companion: every layer's receptive field and multiply-adds.
    pub fn analysis(&self) -> String {
        analysis_table(&self.name, &self.layer_stats())
    }
}

impl Layer for Sequential {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn kind(&self) -> &'static str {
        "Sequential"
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        self.build_with(input_shape, ctx)
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Sequential::call(self, x, training)
    }
    fn call_sparse_xent(&self, x: &Tensor, labels: &Tensor, training: bool) -> Option<Result<(Tensor, Tensor)>> {
        let last = self.layers.last().filter(|_| self.input.is_some())?;
        Some(self.sparse_xent(x, labels, last.as_ref(), training))
    }
    fn variables(&self) -> Vec<Param> {
        Sequential::variables(self)
    }
    fn receptive_field(&self, _input_shape: &[usize]) -> Option<ReceptiveField> {
        let steps: Vec<_> = self.layers.iter().zip(self.input_shapes()).map(|(l, s)| l.receptive_field(&s)).collect();
        Some(ReceptiveField::chain(&steps))
    }
    fn macs(&self, _input_shape: &[usize]) -> usize {
        self.layers.iter().zip(self.input_shapes()).map(|(l, s)| l.macs(&s)).fold(0, usize::saturating_add)
    }
}

/// `60074` → `60,074`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras's size suffix: `234.66 KB`.
fn bytes(n: usize) -> String {
    let units = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

/// One summary row: a cell per column; a cell may hold several lines.
pub(crate) type SummaryRow = Vec<String>;

/// Keras's summary: `Model: "name"`, the table, and the totals of `variables`.
pub(crate) fn summary_table(name: &str, head: &[&str], rows: &[SummaryRow], variables: &[Param]) -> String {
    let total: usize = variables.iter().map(Param::numel).sum();
    let trainable: usize = variables.iter().filter(|v| v.trainable()).map(Param::numel).sum();
    let mut out = format!("Model: \"{name}\"\n");
    out += &table(head, rows);
    for (label, n) in [("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)] {
        out += &format!(" {label} params: {} ({})\n", thousands(n), bytes(n * 4));
    }
    out
}

/// A box-drawn table like Keras 3's summary; the "Param #" column is right-aligned.
fn table(head: &[&str], rows: &[SummaryRow]) -> String {
    let mut w: Vec<usize> = [33, 24, 15, 24][..head.len()].to_vec();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.lines().map(|l| l.chars().count() + 2).max().unwrap_or(0));
        }
    }
    let line = |l: &str, m: &str, r: &str, fill: &str| {
        format!("{l}{}{r}\n", w.iter().map(|&n| fill.repeat(n)).collect::<Vec<_>>().join(m))
    };
    let row = |cells: &[&str], bar: &str| {
        let height = cells.iter().map(|c| c.lines().count().max(1)).max().unwrap_or(1);
        (0..height)
            .map(|k| {
                let cell = |i: usize| cells[i].lines().nth(k).unwrap_or("");
                let parts: Vec<String> = (0..cells.len())
                    .map(|i| match head[i] {
                        "Param #" => format!(" {:>n$} ", cell(i), n = w[i] - 2),
                        _ => format!(" {:<n$}", cell(i), n = w[i] - 1),
                    })
                    .collect();
                format!("{bar}{}{bar}\n", parts.join(bar))
            })
            .collect::<String>()
    };
    let mut out = line("┏", "┳", "┓", "━");
    out += &row(head, "┃");
    out += &line("┡", "╇", "┩", "━");
    for (i, r) in rows.iter().enumerate() {
        out += &row(&r.iter().map(String::as_str).collect::<Vec<_>>(), "│");
        if i + 1 < rows.len() {
            out += &line("├", "┼", "┤", "─");
        }
    }
    out + &line("└", "┴", "┘", "─")
}

#[cfg(test)]
mod tests {
    use super::{bytes, thousands};

    #[test]
    fn keras_number_formats() {
        assert_eq!(thousands(60074), "60,074");
        assert_eq!(thousands(335114), "335,114");
        assert_eq!(thousands(12), "12");
        assert_eq!(bytes(60074 * 4), "234.66 KB");
        assert_eq!(bytes(0), "0.00 B");
    }
}
